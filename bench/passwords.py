"""Breached-password benchmark: filter size and build rate, lookups, ingestion, range queries.

Everything runs in-process on a synthetic corpus of random SHA-1s (uniform, like real ones) in a
temporary directory:

1. filter build from keys: ``fuse.build_shards`` over N random 64-bit keys, sharded as a corpus of
   that size would be; bits per stored hash from the serialized shards;
2. ingestion: a HIBP ``HASH:COUNT`` text file of M hashes (written before timing) through
   ``service.build_corpus`` (parse, bucket, sort, exact store, filter), and parsing alone;
   baseline: a line-by-line Python parser (split, int(…, 16)) over a slice of the same file;
3. lookups through ``BreachedPasswords.count`` on that corpus: absent SHA-1s (negative: the filter
   alone) and stored ones (positive: filter and exact store); baseline: the bare
   ``binary_fuse8_contain`` C call through cffi in the same kind of loop;
4. range queries: ``range_body`` for random prefixes, without and with padding; baseline: the same
   records formatted with one f-string per line.
"""

from __future__ import annotations

import binascii
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from bench.common import (
    Measurement,
    Options,
    Ratio,
    console,
    markdown_results,
    phase,
    print_results,
    run_stamp,
    write_section,
)
from shopshield.passwords import formats, fuse, hibp, service
from shopshield.passwords.service import BreachedPasswords

NAME = "passwords"
AIM_BITS = 9.1
AIM_LOOKUP_US = 1.0
AIM_BUILD_RATE = 5_000_000
RAW_CALL_CLAIM_US = 0.15  # the figure for the bare C call


@dataclass(frozen=True)
class Scale:
    filter_keys: int
    text_hashes: int
    lookups: int
    positives: int
    ranges: int
    baseline_lines: int


FULL = Scale(
    filter_keys=50_000_000,
    text_hashes=20_000_000,
    lookups=2_000_000,
    positives=200_000,
    ranges=5_000,
    baseline_lines=1_000_000,
)
QUICK = Scale(
    filter_keys=2_000_000, text_hashes=500_000, lookups=200_000, positives=20_000, ranges=500, baseline_lines=100_000
)


def write_hibp_text(path: Path, n: int, seed: int) -> np.ndarray:
    """``n`` random SHA-1s with counts as one HIBP file (CRLF); returns the raw digests (n, 20)."""
    rng = np.random.default_rng(seed)
    with path.open("wb") as out:
        digests = []
        for start in range(0, n, 1_000_000):
            m = min(1_000_000, n - start)
            raw = rng.integers(0, 256, size=(m, 20), dtype=np.uint8)
            counts = rng.zipf(1.6, size=m).clip(1, 10**9)
            hexed = np.frombuffer(binascii.hexlify(raw.tobytes()).upper(), dtype=np.uint8).reshape(m, 40)
            width = 40 + 1 + 10 + 2
            lines = np.zeros((m, width), dtype=np.uint8)
            lines[:, :40] = hexed
            lines[:, 40] = ord(":")
            value = counts.astype(np.uint64)
            for column in range(50, 40, -1):
                value, digit = np.divmod(value, np.uint64(10))
                lines[:, column] = digit.astype(np.uint8) + ord("0")
            lines[:, 51], lines[:, 52] = ord("\r"), ord("\n")
            digits = np.floor(np.log10(counts)).astype(np.int64) + 1
            keep = np.ones((m, width), dtype=np.bool_)
            keep[:, 41:51] = np.arange(10)[None, :] >= (10 - digits)[:, None]
            out.write(lines[keep].tobytes())
            digests.append(raw)
    return np.concatenate(digests)


def python_parse(path: Path, lines: int) -> float:
    """Seconds for a line-by-line Python parse of the first ``lines`` lines (the baseline)."""
    with path.open("rb") as handle:
        head = [handle.readline() for _ in range(lines)]
    started = time.perf_counter()
    out = []
    for line in head:
        text, _, count = line.rstrip(b"\r\n").partition(b":")
        value = int(text, 16)
        out.append((value >> 96, (value >> 32) & 0xFFFF_FFFF_FFFF_FFFF, value & 0xFFFF_FFFF, int(count)))
    return time.perf_counter() - started


T = TypeVar("T")


def loop_us(fn: Callable[[T], object], args: Sequence[T]) -> float:
    """Microseconds per call of ``fn(arg)`` in a plain for loop (best of three)."""
    best = float("inf")
    call = fn  # local, as in the measured code
    for _ in range(3):
        started = time.perf_counter()
        for arg in args:
            call(arg)
        best = min(best, time.perf_counter() - started)
    return 1e6 * best / len(args)


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    stamp = run_stamp(options)
    rows: list[Measurement] = []
    ratios: list[Ratio] = []
    with tempfile.TemporaryDirectory(prefix="bench-passwords-") as tmp:
        root = Path(tmp)

        # 1. filter build from keys
        keys = np.unique(np.random.default_rng(1).integers(0, 2**64 - 1, size=scale.filter_keys, dtype=np.uint64))
        bits = fuse.shard_bits_for(len(keys))
        shift = np.uint64(64 - bits)
        bounds = np.searchsorted(keys >> shift if bits else np.zeros(len(keys), np.uint64), np.arange((1 << bits) + 1))
        sizes: list[int] = []
        with phase(f"building the filter over {len(keys):,} keys in {1 << bits} shard(s)") as timed:
            fuse.build_shards(
                lambda s: keys[bounds[s] : bounds[s + 1]], 1 << bits, lambda _s, blob: sizes.append(len(blob))
            )
        build_rate = len(keys) / timed.seconds
        threads = min(os.cpu_count() or 1, 4, 1 << bits)
        bits_per_key = 8 * sum(sizes) / len(keys)
        one = keys[bounds[0] : bounds[1]]
        with phase(f"one shard of {len(one):,} keys on one thread") as single:
            fuse.build_shard(one)
        rows.append(
            Measurement(
                "filter build from keys",
                build_rate,
                "/s",
                count=len(keys),
                note=f"{timed.seconds:.2f}s; {1 << bits} shard(s), {threads} threads; {bits_per_key:.3f} bits/hash",
            )
        )
        rows.append(Measurement("filter build, one shard, one thread", len(one) / single.seconds, "/s", count=len(one)))

        # 2. ingestion from HIBP text
        text = root / "pwned-passwords-sha1.txt"
        with phase(f"writing a HIBP file of {scale.text_hashes:,} hashes (not timed)"):
            digests = write_hibp_text(text, scale.text_hashes, seed=2)
        megabytes = text.stat().st_size / 1e6
        source = formats.open_source(text)
        with phase("parsing it alone") as parsing:
            parsed = sum(len(h) for h, _ in formats.read(source))
        with phase(f"python line-by-line parse of {scale.baseline_lines:,} lines (baseline)"):
            python_rate = scale.baseline_lines / python_parse(text, scale.baseline_lines)
        with phase("building the corpus from it (parse, bucket, sort, exact store, filter)") as ingest:
            report = service.build_corpus(sources=[source], directory=root / "pw")
        rows.append(
            Measurement(
                "ingestion from HIBP text, whole build",
                scale.text_hashes / ingest.seconds,
                "/s",
                count=scale.text_hashes,
                note=f"{megabytes:,.0f} MB in {ingest.seconds:.1f}s; {report.manifest.bits_per_key:.3f} bits/hash",
            )
        )
        rows.append(Measurement("parsing HIBP text alone (numpy)", parsed / parsing.seconds, "/s", count=parsed))
        rows.append(
            Measurement("baseline: parsing line by line in Python", python_rate, "/s", count=scale.baseline_lines)
        )
        text.unlink()

        # 3. lookups
        corpus = BreachedPasswords.open(root / "pw")
        rng = np.random.default_rng(3)
        absent = [os.urandom(20).hex() for _ in range(scale.lookups)]
        present = [digests[i].tobytes().hex() for i in rng.integers(0, len(digests), scale.positives)]
        contain, handle = corpus.filter().raw()  # type: ignore[union-attr]
        raw_keys = [int(h[:16], 16) for h in absent]
        with phase(f"{scale.lookups:,} negative lookups, count() and the bare C call"):
            raw_us = loop_us(lambda k: contain(k, handle), raw_keys)
            raw_bare = _bare_loop_us(contain, handle, raw_keys)
            negative_us = loop_us(corpus.count, absent)
        with phase(f"{scale.positives:,} positive lookups"):
            positive_us = loop_us(corpus.count, present)
        assert all(corpus.count(h) > 0 for h in present[:1000])
        fooled = sum(corpus.filter().maybe_contains(k) for k in raw_keys)
        rows.append(
            Measurement(
                "negative lookups, BreachedPasswords.count",
                1e6 / negative_us,
                "/s",
                count=scale.lookups,
                note=f"{negative_us:.3f} µs each; filter false positives {fooled / len(raw_keys):.3%}",
            )
        )
        rows.append(
            Measurement(
                "baseline: bare binary_fuse8_contain",
                1e6 / raw_bare,
                "/s",
                count=scale.lookups,
                note=f"{raw_bare:.3f} µs each (`for k in keys: contain(k, f)`); {raw_us:.3f} µs through a lambda",
            )
        )
        rows.append(
            Measurement(
                "positive lookups (filter + exact store)",
                1e6 / positive_us,
                "/s",
                count=scale.positives,
                note=f"{positive_us:.2f} µs each",
            )
        )

        # 4. ranges
        prefixes = [f"{p:05X}" for p in rng.integers(0, 1 << 20, scale.ranges)]
        with phase(f"{scale.ranges:,} range queries, plain and padded"):
            range_us = loop_us(corpus.range_body, prefixes)
            padded_us = loop_us(lambda p: corpus.range_body(p, padding=True), prefixes)
            # Formatting compared on padded ranges (800-1,000 entries), the size of a range of a
            # two-billion-hash corpus, where formatting is most of a query's cost.
            records = [hibp.pad(corpus.range_records(int(p, 16)), int(p, 16)) for p in prefixes]
            naive_us = loop_us(_naive_render, records)
            render_us = loop_us(hibp.render, records)
        per_range = report.manifest.records / (1 << 20)
        rows.append(
            Measurement(
                "range queries (range_body)",
                1e6 / range_us,
                "/s",
                count=scale.ranges,
                note=f"{range_us:.0f} µs each; {per_range:.0f} entries per range on average",
            )
        )
        rows.append(
            Measurement(
                "range queries, padded",
                1e6 / padded_us,
                "/s",
                count=scale.ranges,
                note=f"{padded_us:.0f} µs each; 800-1,000 entries",
            )
        )
        rows.append(
            Measurement(
                "baseline: formatting a range with an f-string per line",
                1e6 / naive_us,
                "/s",
                count=scale.ranges,
                note=f"{naive_us:.0f} µs per padded range, against {render_us:.0f} µs for hibp.render",
            )
        )
        corpus.close()

    ratios += [
        Ratio(
            "bits per hash: aim / measured",
            AIM_BITS / bits_per_key,
            1.0,
            f"≤ {AIM_BITS} bits",
            f"{bits_per_key:.3f} bits per stored hash",
        ),
        Ratio(
            "negative lookup: 1 µs / measured",
            AIM_LOOKUP_US / negative_us,
            1.0,
            f"≤ {AIM_LOOKUP_US} µs",
            f"{negative_us:.3f} µs",
        ),
        Ratio(
            "bare C call / negative lookup",
            raw_bare / negative_us,
            RAW_CALL_CLAIM_US / AIM_LOOKUP_US,
            "≥ 0.15 (0.15 µs of 1 µs)",
            f"{raw_bare:.3f} / {negative_us:.3f} µs",
        ),
        Ratio(
            "filter build: rate / 5 million per s",
            build_rate / AIM_BUILD_RATE,
            1.0,
            "≥ 5,000,000 /s",
            f"{build_rate:,.0f} /s",
        ),
        Ratio("numpy parse / line-by-line Python", (parsed / parsing.seconds) / python_rate, 1.0, "≥ 1", ""),
        Ratio("hibp.render / f-string per line", naive_us / render_us, 1.0, "≥ 1", "speed-up of range formatting"),
    ]
    title = "Breached passwords" + (" (quick)" if options.quick else "")
    print_results(title, rows, ratios)
    if options.write_docs:
        body = "\n\n".join(
            [
                "## Breached passwords",
                f"Run: {stamp}. Command: `.venv/bin/python -m bench passwords"
                + (" --quick`." if options.quick else "`."),
                markdown_results(rows, ratios),
                _notes(scale),
            ]
        )
        path = write_section(NAME, body, stamp)
        console.print(f"wrote the {NAME} section of {path}")


def _bare_loop_us(contain: object, handle: object, keys: list[int]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for k in keys:
            contain(k, handle)  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return 1e6 * best / len(keys)


def _naive_render(records: np.ndarray) -> bytes:
    return "\r\n".join(
        f"{int(r['hi']):016X}{int(r['mid']):016X}{int(r['lo']):08X}"[5:] + f":{int(r['count'])}" for r in records
    ).encode()


def _notes(scale: Scale) -> str:
    return "\n".join(
        [
            "Setup:",
            "",
            f"- Filter: {scale.filter_keys:,} random 64-bit keys (numpy), sorted and sharded by their top bits as "
            "`build_corpus` would (`fuse.shard_bits_for`), built with `fuse.build_shards` (pyfusefilter's "
            "`binary_fuse8_populate` through cffi, shards on up to 4 threads; the C code runs without the GIL). "
            "Bits per hash: serialized shard bytes × 8 / keys.",
            f"- Ingestion: one HIBP `HASH:COUNT` file (CRLF, upper case, Zipf counts) of {scale.text_hashes:,} "
            "random SHA-1s, written before timing; `service.build_corpus` reads it in 16 MB blocks, parses each "
            "block with numpy, spreads records over 256 bucket files, sorts and merges each bucket, writes "
            "`records.bin` and `index.bin`, then builds the filter shards. Baseline: `int(hex, 16)` per line.",
            "- Lookups: `BreachedPasswords.count(sha1_hex)` in a plain for loop over precomputed 40-hex strings, "
            "best of three passes; negative ones are random SHA-1s (absent), positive ones are stored hashes "
            "(filter, then the exact store's 20-bit-prefix slice via numpy memmap). The baseline is the bare "
            "cffi call `binary_fuse8_contain(key, filter)` in the same kind of loop over precomputed integer keys.",
            "- Ranges: `range_body(prefix)` (exact store slice + vectorised `hibp.render`), and with padding "
            "(`hibp.pad`: random suffixes with count 0, sorted in). In-process; the HTTP route adds FastAPI's cost.",
        ]
    )
