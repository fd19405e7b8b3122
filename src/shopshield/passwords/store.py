"""Sorted fixed-width records on disk with an offset index by the first 20 bits, read through
numpy memmap; and the external sort that writes them with bounded memory.

Both stores of this domain use it: the breached-password corpus (``CORPUS``: a SHA-1 as three
words and a count, 24 bytes) and the leaked pairs (``PAIRS``: a 16-byte keyed hash as two words).
The first word of a record is big-endian-read bytes 0-7 of the hash, so numeric order is the
hashes' byte order and its top 20 bits are the HIBP range prefix. ``index.bin`` holds 2^20 + 1
offsets: the records of prefix ``p`` are ``records[index[p]:index[p + 1]]``, a few thousand at
most, so a lookup reads one small slice instead of binary-searching the whole file.

Building: records are appended, in any order, to 256 bucket files by their top 8 bits; then each
bucket is read back alone, sorted, merged (equal hashes become one record; counts add up) and
appended to ``records.bin``. Memory holds one bucket at a time: 1/256 of the input.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final, cast

import numpy as np
import numpy.typing as npt

INDEX_BITS: Final = 20
BUCKET_BITS: Final = 8
BUCKETS: Final = 1 << BUCKET_BITS
RECORDS_FILE: Final = "records.bin"
INDEX_FILE: Final = "index.bin"
MAX_COUNT: Final = 0xFFFF_FFFF
FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700

Records = npt.NDArray[Any]  # a structured array of one of the layouts below


@dataclass(frozen=True)
class Layout:
    """A record layout: its dtype, the fields that make up the key (most significant first), and
    the field holding a count that equal keys add up (None: equal keys are simply merged)."""

    dtype: np.dtype[Any]
    key: tuple[str, ...]
    count: str | None


CORPUS: Final = Layout(
    np.dtype([("hi", "<u8"), ("mid", "<u8"), ("lo", "<u4"), ("count", "<u4")]), ("hi", "mid", "lo"), "count"
)
PAIRS: Final = Layout(np.dtype([("hi", "<u8"), ("lo", "<u8")]), ("hi", "lo"), None)


def make_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path, mode: str = "wb") -> BinaryIO:
    """A new file readable by its owner only, whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return cast(BinaryIO, os.fdopen(fd, mode))


# -- building -------------------------------------------------------------------------------------


class BucketFiles:
    """Unsorted records spread over 256 files by their top 8 bits (the external sort's first pass)."""

    def __init__(self, directory: Path, layout: Layout) -> None:
        self.directory = make_private_dir(directory)
        self.layout = layout
        self.records = 0
        self._files = [open_private(self._path(b), "ab") for b in range(BUCKETS)]

    def _path(self, bucket: int) -> Path:
        return self.directory / f"bucket-{bucket:03d}.bin"

    def add(self, records: Records) -> None:
        if not len(records):
            return
        bucket = (records["hi"] >> np.uint64(64 - BUCKET_BITS)).astype(np.uint8)
        # A stable sort of 8-bit values is a radix sort in numpy: cheap, and keeps input order.
        order = np.argsort(bucket, kind="stable")
        grouped = records[order]
        bounds = np.searchsorted(bucket[order], np.arange(BUCKETS + 1), side="left")
        for b in np.flatnonzero(np.diff(bounds)).tolist():
            grouped[bounds[b] : bounds[b + 1]].tofile(self._files[b])
        self.records += len(records)

    def finish(self) -> None:
        for handle in self._files:
            handle.close()

    def bucket(self, number: int) -> Records:
        return np.fromfile(self._path(number), dtype=self.layout.dtype)

    def remove(self, number: int) -> None:
        self._path(number).unlink(missing_ok=True)


def sort_and_merge(records: Records, layout: Layout) -> Records:
    """``records`` in key order, equal keys merged into one (their counts added, at most 2^32-1)."""
    if len(records) < 2:
        return records
    first = records[layout.key[0]]
    # The first word alone almost always decides (the keys are hashes); a full lexicographic sort
    # is needed only when some first words repeat, as in a plain list's duplicate passwords.
    order = np.argsort(first, kind="stable")
    ordered = first[order]
    if np.any(ordered[1:] == ordered[:-1]):
        order = np.lexsort(tuple(records[name] for name in reversed(layout.key)))
    records = records[order]
    starts = np.ones(len(records), dtype=np.bool_)
    for name in layout.key:
        column = records[name]
        starts[1:] &= column[1:] == column[:-1]
    starts = ~starts
    starts[0] = True
    if starts.all():
        return records
    heads = np.flatnonzero(starts)
    merged = records[heads]
    if layout.count is not None:
        totals = np.add.reduceat(records[layout.count].astype(np.uint64), heads)
        merged[layout.count] = np.minimum(totals, MAX_COUNT)
    return merged


class SortedWriter:
    """Appends sorted buckets to ``records.bin`` and writes ``index.bin`` at the end."""

    def __init__(self, directory: Path, layout: Layout) -> None:
        self.directory = make_private_dir(directory)
        self.layout = layout
        self.records = 0
        self._counts = np.zeros(1 << INDEX_BITS, dtype=np.uint64)
        self._out = open_private(directory / RECORDS_FILE)

    def write(self, records: Records) -> None:
        """Append ``records`` (sorted, and after everything written before)."""
        if not len(records):
            return
        prefixes = records["hi"] >> np.uint64(64 - INDEX_BITS)
        self._counts += np.bincount(prefixes.astype(np.int64), minlength=1 << INDEX_BITS).astype(np.uint64)
        records.tofile(self._out)
        self.records += len(records)

    def finish(self) -> None:
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        index = np.zeros((1 << INDEX_BITS) + 1, dtype="<u8")
        np.cumsum(self._counts, out=index[1:])
        with open_private(self.directory / INDEX_FILE) as handle:
            index.tofile(handle)
            handle.flush()
            os.fsync(handle.fileno())


# -- reading --------------------------------------------------------------------------------------


class SortedStore:
    """``records.bin`` through a memmap and ``index.bin`` in memory (8 MB)."""

    def __init__(self, directory: Path, layout: Layout) -> None:
        self.layout = layout
        path = directory / RECORDS_FILE
        self._index = np.fromfile(directory / INDEX_FILE, dtype="<u8")
        if len(self._index) != (1 << INDEX_BITS) + 1:
            raise ValueError(f"{directory / INDEX_FILE} is not an index of 2^{INDEX_BITS} prefixes")
        size = path.stat().st_size
        total = int(self._index[-1])
        if size != total * layout.dtype.itemsize:
            raise ValueError(f"{path} holds {size} bytes; its index counts {total} records")
        # A zero-length file cannot be mapped; an empty store needs no map.
        self._records: Records = (
            np.memmap(path, dtype=layout.dtype, mode="r") if total else np.zeros(0, dtype=layout.dtype)
        )
        self._shift = np.uint64(64 - INDEX_BITS)

    def __len__(self) -> int:
        return len(self._records)

    def prefix(self, prefix: int) -> Records:
        """Every record whose first 20 bits are ``prefix``, as an in-memory copy, in order."""
        return np.array(self._records[int(self._index[prefix]) : int(self._index[prefix + 1])])

    def span(self, first_prefix: int, end_prefix: int) -> tuple[int, int]:
        """Record positions of prefixes ``first_prefix`` up to (not including) ``end_prefix``."""
        return int(self._index[first_prefix]), int(self._index[end_prefix])

    def slice(self, start: int, end: int) -> Records:
        return self._records[start:end]

    def find(self, *words: int) -> Records | None:
        """The record whose key words are ``words`` (the first word picks the prefix), or None."""
        hi = words[0]
        prefix = hi >> (64 - INDEX_BITS)
        start, end = int(self._index[prefix]), int(self._index[prefix + 1])
        if start == end:
            return None
        block = self._records[start:end]
        firsts = np.asarray(block["hi"])
        at = int(np.searchsorted(firsts, np.uint64(hi)))
        names = self.layout.key
        while at < len(block) and int(firsts[at]) == hi:
            record = block[at]
            if all(int(record[name]) == word for name, word in zip(names[1:], words[1:], strict=True)):
                return record  # type: ignore[no-any-return]
            at += 1
        return None

    def chunks(self, rows: int = 1 << 22) -> Iterator[Records]:
        """Every record, in order, a chunk at a time (to merge an old store into a new one)."""
        for start in range(0, len(self._records), rows):
            yield np.array(self._records[start : start + rows])
