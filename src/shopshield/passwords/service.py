"""The breached-password corpus and the leaked pairs: building them, and answering from them.

Layout of ``SHOPSHIELD_PASSWORDS_DIR`` (owner-only; see docs/passwords.md)::

    corpus.current            name of the corpus generation in use
    corpus-<time>-<rand>/     manifest.json, records.bin, index.bin, filter-00000.bin …
    pairs.current
    pairs-<time>-<rand>/      manifest.json, records.bin, index.bin

A build writes a new generation beside the one in use and then replaces the ``.current`` file
(an atomic rename), so a reader sees the old corpus or the new one, never half of one. A running
server keeps the generation it loaded (its files stay readable after deletion) until restarted.

``BreachedPasswords.count`` asks the in-memory filter first and reads the exact store only when
the filter says "maybe"; a missing corpus is an empty one, and says so in a log line and in
``status()``.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import orjson

from shopshield.core.errors import InvalidInput
from shopshield.passwords import formats, fuse, hibp
from shopshield.passwords.formats import Hashes, Skipped, Source
from shopshield.passwords.models import CORPUS, MANIFEST_FILE, PAIRS, BuildReport, Manifest
from shopshield.passwords.pairs import PairHasher, digest_words, parse_sha1_hex, read_pairs
from shopshield.passwords.store import (
    BUCKETS,
    INDEX_BITS,
    BucketFiles,
    Layout,
    Records,
    SortedStore,
    SortedWriter,
    make_private_dir,
    open_private,
    sort_and_merge,
)
from shopshield.passwords.store import (
    CORPUS as CORPUS_LAYOUT,
)
from shopshield.passwords.store import (
    PAIRS as PAIRS_LAYOUT,
)

log = logging.getLogger(__name__)

SHA1_HEX_DIGITS: Final = 40
SHA1_BYTES: Final = 20
_BAD_SHA1: Final = "expected the password's SHA-1 as 40 hexadecimal digits"


class Progress(Protocol):
    """What a long build reports to whoever shows it (the command line's progress bar)."""

    def phase(self, description: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


class _Silent:
    """Progress for callers without a bar (tests, the bench, the guard's replay): reports nothing."""

    def phase(self, description: str, total: int) -> None:
        """Nothing to show."""

    def advance(self, amount: int) -> None:
        """Nothing to show."""


# -- generations ----------------------------------------------------------------------------------


def current_generation(root: Path, kind: str) -> Path | None:
    """The generation of ``kind`` in use under ``root``, or None when there is none."""
    try:
        name = (root / f"{kind}.current").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = root / name
    if not name.startswith(f"{kind}-") or "/" in name or not path.is_dir():
        raise ValueError(f"{root / f'{kind}.current'} names no generation of the {kind} store")
    return path


def _new_generation(root: Path, kind: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return root / f"{kind}-{stamp}-{secrets.token_hex(4)}"


def _publish(root: Path, kind: str, generation: Path) -> None:
    """Make ``generation`` current, then delete the generations it replaces."""
    pointer = root / f"{kind}.current"
    tmp = root / f".{kind}.current.{os.getpid()}.tmp"
    with open_private(tmp) as handle:
        handle.write(generation.name.encode())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, pointer)
    for old in root.glob(f"{kind}-*"):
        if old.is_dir() and old.name != generation.name:
            shutil.rmtree(old, ignore_errors=True)


def _read_manifest(generation: Path) -> Manifest:
    return Manifest.from_json(orjson.loads((generation / MANIFEST_FILE).read_bytes()))


def _write_manifest(generation: Path, manifest: Manifest) -> None:
    with open_private(generation / MANIFEST_FILE) as handle:
        handle.write(orjson.dumps(manifest.json(), option=orjson.OPT_INDENT_2))


# -- building -------------------------------------------------------------------------------------


def _records(hashes: Hashes) -> Records:
    records = np.empty(len(hashes), dtype=CORPUS_LAYOUT.dtype)
    records["hi"] = hashes.hi
    records["mid"] = hashes.mid
    records["lo"] = hashes.lo
    records["count"] = hashes.count
    return records


@dataclass
class _Sorted:
    generation: Path
    read: int
    kept: int
    seconds: float


def _external_sort(
    *,
    root: Path,
    kind: str,
    layout: Layout,
    blocks: Iterable[tuple[Records, int]],
    previous: SortedStore | None,
    total_bytes: int,
    progress: Progress,
) -> _Sorted:
    """Records from ``blocks`` (and ``previous``, merged in) sorted into a new generation."""
    started = time.perf_counter()
    generation = _new_generation(root, kind)
    work = root / f".work-{generation.name}"
    buckets = BucketFiles(work, layout)
    try:
        kept = 0
        if previous is not None:
            progress.phase("merging the current store", len(previous))
            for chunk in previous.chunks():
                buckets.add(chunk)
                kept += len(chunk)
                progress.advance(len(chunk))
        progress.phase("reading", total_bytes)
        read = 0
        for records, size in blocks:
            buckets.add(records)
            read += len(records)
            progress.advance(size)
        buckets.finish()
        progress.phase("sorting", BUCKETS)
        writer = SortedWriter(generation, layout)
        for bucket in range(BUCKETS):
            writer.write(sort_and_merge(buckets.bucket(bucket), layout))
            buckets.remove(bucket)
            progress.advance(1)
        writer.finish()
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    finally:
        buckets.finish()
        shutil.rmtree(work, ignore_errors=True)
    return _Sorted(generation, read, kept, time.perf_counter() - started)


def build_filter(
    *, store: SortedStore, generation: Path, progress: Progress | None = None, threads: int | None = None
) -> tuple[int, list[str], int, int]:
    """Filter shards over the first 8 bytes of every hash in ``store``, written beside it.

    Returns the shard bits, the shard file names, the filters' bytes and their number of keys.
    """
    progress = progress or _Silent()
    bits = fuse.shard_bits_for(len(store))
    shards = 1 << bits
    names = [f"filter-{shard:05d}.bin" for shard in range(shards)]
    sizes = [0] * shards
    keys = [0] * shards
    per_shard = INDEX_BITS - bits

    def source(shard: int) -> fuse.Keys:
        start, end = store.span(shard << per_shard, (shard + 1) << per_shard)
        first = np.array(store.slice(start, end)["hi"])
        # Sorted already; distinct hashes can share their first 8 bytes, and a key goes in once.
        distinct = np.ones(len(first), dtype=np.bool_)
        distinct[1:] = first[1:] != first[:-1]
        return first[distinct]

    def write(shard: int, blob: bytes) -> None:
        with open_private(generation / names[shard]) as handle:
            handle.write(blob)
        sizes[shard] = len(blob)
        keys[shard] = fuse.stored_keys(blob)

    progress.phase("building the filter", shards)
    fuse.build_shards(source, shards, write, threads=threads, done=lambda _shard: progress.advance(1))
    return bits, names, sum(sizes), sum(keys)


def build_corpus(
    *,
    sources: Sequence[Source],
    directory: Path,
    merge: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    threads: int | None = None,
) -> BuildReport:
    """Build a new corpus generation from ``sources`` and make it current.

    Without ``merge`` the new corpus replaces the current one (a new HIBP download holds the
    counts to date, so adding them to the old ones would count twice); with it, the current
    corpus is read in as one more source and equal hashes' counts add up.
    """
    progress = progress or _Silent()
    root = make_private_dir(directory)
    skipped = Skipped() if skip_invalid else None
    previous = _open_store(root, CORPUS, CORPUS_LAYOUT) if merge else None
    blocks = (
        (_records(hashes), size) for source in sources for hashes, size in formats.read(source, skip_invalid=skipped)
    )
    result = _external_sort(
        root=root,
        kind=CORPUS,
        layout=CORPUS_LAYOUT,
        blocks=blocks,
        previous=previous,
        total_bytes=sum(s.size for s in sources),
        progress=progress,
    )
    started = time.perf_counter()
    try:
        store = SortedStore(result.generation, CORPUS_LAYOUT)
        occurrences = sum(int(chunk["count"].sum(dtype=np.uint64)) for chunk in store.chunks())
        bits, names, size, keys = build_filter(
            store=store, generation=result.generation, progress=progress, threads=threads
        )
        manifest = Manifest(
            kind=CORPUS,
            created_at=datetime.now(UTC).isoformat(),
            records=len(store),
            occurrences=occurrences,
            shard_bits=bits,
            shards=names,
            filter_bytes=size,
            filter_keys=keys,
            sources=[s.path.name for s in sources],
        )
        del store
        _write_manifest(result.generation, manifest)
    except BaseException:
        shutil.rmtree(result.generation, ignore_errors=True)
        raise
    _publish(root, CORPUS, result.generation)
    log.info("breached-password corpus built: %d hashes, %d filter shards", manifest.records, len(names))
    return _report(manifest, result, skipped, extra_seconds=time.perf_counter() - started)


def _report(manifest: Manifest, result: _Sorted, skipped: Skipped | None, *, extra_seconds: float = 0.0) -> BuildReport:
    return BuildReport(
        manifest=manifest,
        directory=str(result.generation),
        read_lines=result.read,
        kept_from_before=result.kept,
        skipped_lines=skipped.lines if skipped else 0,
        first_skipped=(skipped.first or []) if skipped else [],
        seconds=result.seconds + extra_seconds,
    )


def ingest_pairs(
    *,
    files: Sequence[Path],
    directory: Path,
    key: bytes,
    replace: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Add the ``username:password`` lines of ``files`` to the leaked pairs, as keyed hashes only.

    The pairs already stored are merged in unless ``replace``: breach lists arrive one at a time
    and each adds to what is known.
    """
    progress = progress or _Silent()
    root = make_private_dir(directory)
    for path in files:
        if not path.is_file():
            raise formats.SourceError(path, "no such file")
    skipped = Skipped() if skip_invalid else None
    hasher = PairHasher(key)
    previous = None if replace else _open_store(root, PAIRS, PAIRS_LAYOUT)
    blocks = (block for path in files for block in read_pairs(path, hasher, skipped=skipped))
    result = _external_sort(
        root=root,
        kind=PAIRS,
        layout=PAIRS_LAYOUT,
        blocks=blocks,
        previous=previous,
        total_bytes=sum(p.stat().st_size for p in files),
        progress=progress,
    )
    try:
        records = len(SortedStore(result.generation, PAIRS_LAYOUT))
        manifest = Manifest(
            kind=PAIRS, created_at=datetime.now(UTC).isoformat(), records=records, sources=[p.name for p in files]
        )
        _write_manifest(result.generation, manifest)
    except BaseException:
        shutil.rmtree(result.generation, ignore_errors=True)
        raise
    _publish(root, PAIRS, result.generation)
    log.info("leaked pairs stored: %d pairs", records)
    return _report(manifest, result, skipped)


def _open_store(root: Path, kind: str, layout: Layout) -> SortedStore | None:
    generation = current_generation(root, kind)
    return None if generation is None else SortedStore(generation, layout)


# -- answering ------------------------------------------------------------------------------------


class _NoFilter:
    """The filter of an empty corpus: everything is certainly absent."""

    keys = 0
    bits = 0

    def maybe_contains(self, key: int) -> bool:
        return False

    def size_in_bytes(self) -> int:
        return 0

    def close(self) -> None:
        """An absent corpus holds no filter memory to free."""


@dataclass(frozen=True)
class _Corpus:
    filter: fuse.ShardedFilter | _NoFilter
    store: SortedStore | None
    manifest: Manifest | None
    generation: Path | None


def _never(key: int, handle: Any) -> bool:
    return False


class BreachedPasswords:
    """The breached-password corpus of one directory, loaded on first use (or by ``load()``).

    A corpus of two billion hashes takes about 2.3 GB of filter and some seconds to load, so
    nothing is read until a lookup or ``load()`` asks; ``serve`` loads at start-up, commands that
    never look a password up never pay for it.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._corpus: _Corpus | None = None
        # The lookup's working set as plain attributes, read once per call: every attribute hop
        # and function call costs a measurable share of a lookup that must stay within 1 µs.
        self._handles: list[Any] | None = None
        self._contain: Callable[[int, Any], bool] = _never
        self._shift = 64
        self._store: SortedStore | None = None

    @classmethod
    def open(cls, directory: Path | None) -> BreachedPasswords:
        """Opened and loaded now."""
        opened = cls(directory)
        opened.load()
        return opened

    def load(self) -> _Corpus:
        corpus = self._corpus
        if corpus is not None:
            return corpus
        with self._lock:
            if self._corpus is None:
                corpus = self._read()
                # ``_handles`` last: a lookup on another thread takes it as the sign that the rest is set.
                self._store = corpus.store
                if isinstance(corpus.filter, fuse.ShardedFilter):
                    self._contain = corpus.filter.raw()[0]
                    self._shift = 64 - corpus.filter.bits
                    self._handles = corpus.filter.handles()
                else:
                    self._handles = [None]
                self._corpus = corpus
            return self._corpus

    def _read(self) -> _Corpus:
        generation = None if self.directory is None else current_generation(self.directory, CORPUS)
        if generation is None:
            log.warning(
                "no breached-password corpus in %s: every password counts as not breached "
                "(build one with `shopshield passwords build`)",
                self.directory,
            )
            return _Corpus(_NoFilter(), None, None, None)
        manifest = _read_manifest(generation)
        started = time.perf_counter()
        loaded = fuse.ShardedFilter.load([generation / name for name in manifest.shards], manifest.shard_bits)
        store = SortedStore(generation, CORPUS_LAYOUT)
        log.info(
            "breached-password corpus %s loaded: %d hashes, %.1f MB of filter in %.1fs",
            generation.name,
            len(store),
            loaded.size_in_bytes() / 1e6,
            time.perf_counter() - started,
        )
        return _Corpus(loaded, store, manifest, generation)

    def count(self, sha1_hex: str) -> int:
        """How often the password with this SHA-1 (40 hex digits, either case) was seen in
        breaches; 0 when never. Raises InvalidInput for anything but 40 hex digits."""
        handles = self._handles
        if handles is None:
            self.load()
            handles = self._handles
            assert handles is not None
        # The length first: bytes.fromhex skips whitespace, so 40 characters with a space among
        # them come out shorter than 20 bytes and are refused below.
        if len(sha1_hex) != SHA1_HEX_DIGITS:
            raise InvalidInput(_BAD_SHA1, field="sha1")
        try:
            digest = bytes.fromhex(sha1_hex)
        except ValueError:
            raise InvalidInput(_BAD_SHA1, field="sha1") from None
        if len(digest) != SHA1_BYTES:
            raise InvalidInput(_BAD_SHA1, field="sha1")
        hi = int.from_bytes(digest[:8], "big")
        if not self._contain(hi, handles[hi >> self._shift]):
            return 0
        store = self._store
        assert store is not None
        found = store.find(hi, int.from_bytes(digest[8:16], "big"), int.from_bytes(digest[16:], "big"))
        return 0 if found is None else int(found["count"])

    def range_records(self, prefix: int) -> Records:
        """The stored records under a 20-bit prefix, in order."""
        corpus = self._corpus or self.load()
        if corpus.store is None:
            return np.zeros(0, dtype=CORPUS_LAYOUT.dtype)
        return corpus.store.prefix(prefix)

    def range(self, prefix: str) -> list[tuple[str, int]]:
        """``(suffix, count)`` for every hash under a 5-hex-digit prefix, suffixes in upper case."""
        try:
            value = hibp.parse_prefix(prefix)
        except hibp.BadPrefix as exc:
            raise InvalidInput(str(exc), field="prefix") from None
        body = hibp.render(self.range_records(value))
        return [
            (suffix, int(count))
            for suffix, _, count in (line.partition(":") for line in body.decode().split("\r\n") if line)
        ]

    def range_body(self, prefix: str, *, padding: bool = False) -> bytes:
        """The HIBP range API's response body for ``prefix`` (raises hibp.BadPrefix)."""
        value = hibp.parse_prefix(prefix)
        records = self.range_records(value)
        if padding:
            records = hibp.pad(records, value)
        return hibp.render(records)

    def status(self) -> dict[str, Any]:
        """What the corpus in use holds (from its manifest; nothing is loaded for this)."""
        corpus = self._corpus
        generation = corpus.generation if corpus is not None else _current_or_none(self.directory, CORPUS)
        if generation is None:
            return {"state": "absent", "directory": str(self.directory), "hashes": 0}
        manifest = corpus.manifest if corpus is not None and corpus.manifest else _read_manifest(generation)
        return {
            "state": "loaded" if corpus is not None else "built",
            "directory": str(self.directory),
            "generation": generation.name,
            "created_at": manifest.created_at,
            "hashes": manifest.records,
            "occurrences": manifest.occurrences,
            "shards": len(manifest.shards),
            "filter_bytes": manifest.filter_bytes,
            "bits_per_key": round(manifest.bits_per_key, 3),
        }

    def filter(self) -> fuse.ShardedFilter | _NoFilter:
        return self.load().filter

    def close(self) -> None:
        with self._lock:
            corpus, self._corpus = self._corpus, None
            self._handles, self._contain, self._store = None, _never, None
        if corpus is not None:
            corpus.filter.close()


class LeakedPairs:
    """Leaked username+password pairs of one directory, as keyed hashes; opened on first use."""

    def __init__(self, directory: Path | None, key: bytes | Callable[[], bytes]) -> None:
        self.directory = directory
        self._key = key
        self._lock = threading.Lock()
        self._loaded: tuple[SortedStore | None, PairHasher] | None = None

    def load(self) -> tuple[SortedStore | None, PairHasher]:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                key = self._key() if callable(self._key) else self._key
                generation = None if self.directory is None else current_generation(self.directory, PAIRS)
                if generation is None:
                    log.warning("no leaked pairs in %s: no login is flagged for a leaked pair", self.directory)
                self._loaded = (
                    None if generation is None else SortedStore(generation, PAIRS_LAYOUT),
                    PairHasher(key),
                )
            return self._loaded

    def contains(self, username: str, password_sha1_hex: str) -> bool:
        """Whether this username (any spelling the vault normalises alike) with the password of
        this SHA-1 is on a breach list that was ingested."""
        store, hasher = self._loaded or self.load()
        try:
            sha1 = parse_sha1_hex(password_sha1_hex)
        except ValueError:
            raise InvalidInput("expected the password's SHA-1 as 40 hexadecimal digits", field="sha1") from None
        if store is None:
            return False
        return store.find(*digest_words(hasher.digest(username, sha1))) is not None

    def status(self) -> dict[str, Any]:
        return pairs_status(self.directory)


def pairs_status(directory: Path | None) -> dict[str, Any]:
    """What the leaked pairs in use hold (from the manifest)."""
    generation = _current_or_none(directory, PAIRS)
    if generation is None:
        return {"state": "absent", "directory": str(directory), "pairs": 0}
    manifest = _read_manifest(generation)
    return {
        "state": "built",
        "directory": str(directory),
        "generation": generation.name,
        "created_at": manifest.created_at,
        "pairs": manifest.records,
    }


def _current_or_none(directory: Path | None, kind: str) -> Path | None:
    return None if directory is None else current_generation(directory, kind)
