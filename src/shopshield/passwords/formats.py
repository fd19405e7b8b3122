"""Reading breached-password sources: Have I Been Pwned's downloads and plain password lists.

Three formats are read, and told apart by their first line (or the ``format`` argument):

- ``hibp``: one file of ``HASH:COUNT`` lines, 40 hex digits of SHA-1 (any case), CRLF or LF;
- ``hibp-prefix``: files named by a 5-hex prefix (``00000.txt`` … ``FFFFF.txt``, a folder of them
  or single files) holding ``SUFFIX:COUNT`` lines with the other 35 hex digits;
- ``plain``: one password per line, UTF-8; each line counts once, so duplicates add up.

NTLM downloads (32 hex digits, or 27 after a prefix) are refused: the corpus is SHA-1 only.

Hash lines are parsed a block at a time with numpy (one vector operation per column of the line,
not a Python loop per line), into the three integer words of each SHA-1: ``hi`` (bytes 0-7),
``mid`` (bytes 8-15) and ``lo`` (bytes 16-19), all read big-endian, so that ordering the words
orders the hashes. Errors name the file and the line, never the line's content: a plain list's
lines are passwords.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from shopshield.core.errors import InvalidInput

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

# Bytes read from a file at a time (a block ends at its last newline; the rest goes to the next).
BLOCK_BYTES: Final = 16 << 20
# Prefix files are small (about 30 KB each in HIBP's download): many are parsed as one block.
PREFIX_BLOCK_BYTES: Final = 8 << 20
MAX_COUNT: Final = 0xFFFF_FFFF  # counts are stored in 32 bits; a larger one is kept at this ceiling
MAX_COUNT_DIGITS: Final = 10
PREFIX_NAME: Final = re.compile(r"([0-9A-Fa-f]{5})\.txt")
_NEWLINE: Final = 10
_CR: Final = 13
_COLON: Final = 58
_ZERO: Final = 48
_INVALID: Final = 255
_BOM: Final = b"\xef\xbb\xbf"

# Nibble value of each byte, 255 for anything that is not a hex digit.
_HEX: Final = np.full(256, _INVALID, dtype=np.uint8)
for _value, _chars in enumerate(zip("0123456789abcdef", "0123456789ABCDEF", strict=True)):
    for _char in _chars:
        _HEX[ord(_char)] = _value

_SHA1_LINE: Final = re.compile(rb"[0-9A-Fa-f]{40}:[0-9]{1,10}\r?")
_SUFFIX_LINE: Final = re.compile(rb"[0-9A-Fa-f]{35}:[0-9]{1,10}\r?")
_NTLM_LINE: Final = re.compile(rb"[0-9A-Fa-f]{32}:[0-9]{1,10}\r?")
_NTLM_SUFFIX_LINE: Final = re.compile(rb"[0-9A-Fa-f]{27}:[0-9]{1,10}\r?")


class SourceFormat(StrEnum):
    auto = "auto"
    hibp = "hibp"
    hibp_prefix = "hibp-prefix"
    plain = "plain"


class SourceError(InvalidInput):
    """A source cannot be read: which file, which line (1-based, when there is one), and why."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        where = f"{path}, line {line:,}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Hashes:
    """A block of SHA-1s as three big-endian words, with a count each."""

    hi: U64
    mid: U64
    lo: U64  # only the low 32 bits are used: bytes 16-19
    count: U32

    def __len__(self) -> int:
        return len(self.hi)


@dataclass(frozen=True, slots=True)
class Source:
    """One thing to read: a file in a known format, or a folder of prefix files."""

    path: Path
    format: SourceFormat
    files: tuple[Path, ...]  # the files to read, in order

    @property
    def size(self) -> int:
        return sum(f.stat().st_size for f in self.files)


@dataclass
class Skipped:
    """Lines left out when invalid lines are skipped rather than refused."""

    lines: int = 0
    first: list[str] | None = None

    def add(self, path: Path, lines: Sequence[int]) -> None:
        self.lines += len(lines)
        if self.first is None:
            self.first = []
        for line in lines[: max(0, 5 - len(self.first))]:
            self.first.append(f"{path.name}:{line}")


# -- detection ------------------------------------------------------------------------------------


def open_source(path: Path, fmt: SourceFormat = SourceFormat.auto) -> Source:
    """What ``path`` holds, checked before anything is read in bulk."""
    if not path.exists():
        raise SourceError(path, "no such file or folder")
    if path.is_dir():
        if fmt not in (SourceFormat.auto, SourceFormat.hibp_prefix):
            raise SourceError(path, f"a folder can only hold prefix files, not the {fmt.value} format")
        files = []
        for child in sorted(path.iterdir(), key=lambda p: p.name.upper()):
            if child.name.startswith("."):
                continue  # editors' and sync tools' hidden files
            if not child.is_file() or not PREFIX_NAME.fullmatch(child.name):
                raise SourceError(
                    child, "a folder of HIBP downloads may only hold files named by a 5-hex prefix (00000.txt)"
                )
            files.append(child)
        if not files:
            raise SourceError(path, "the folder holds no prefix files (00000.txt …)")
        _check_prefix_file(files[0])
        return Source(path, SourceFormat.hibp_prefix, tuple(files))
    if fmt is SourceFormat.auto:
        fmt = _detect(path)
    if fmt is SourceFormat.hibp_prefix:
        if not PREFIX_NAME.fullmatch(path.name):
            raise SourceError(path, "SUFFIX:COUNT lines need their prefix from the file name (00000.txt … FFFFF.txt)")
        _check_prefix_file(path)
    return Source(path, fmt, (path,))


def _first_line(path: Path) -> tuple[int, bytes] | None:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.removeprefix(_BOM) if number == 1 else raw
            line = line.rstrip(b"\n")
            if line.strip(b"\r"):
                return number, line
            if number > 1000:
                break
    return None


def _detect(path: Path) -> SourceFormat:
    first = _first_line(path)
    if first is None:
        raise SourceError(path, "the file is empty")
    number, line = first
    if _SHA1_LINE.fullmatch(line):
        return SourceFormat.hibp
    if _NTLM_LINE.fullmatch(line) or _NTLM_SUFFIX_LINE.fullmatch(line):
        raise SourceError(path, "this is an NTLM download (32 hex digits per hash); only SHA-1 is supported", number)
    if _SUFFIX_LINE.fullmatch(line):
        return SourceFormat.hibp_prefix
    return SourceFormat.plain


def _check_prefix_file(path: Path) -> None:
    first = _first_line(path)
    if first is None:
        return  # an empty prefix is possible, if unlikely
    number, line = first
    if _NTLM_SUFFIX_LINE.fullmatch(line):
        raise SourceError(path, "this is an NTLM download (27 hex digits per suffix); only SHA-1 is supported", number)
    if not _SUFFIX_LINE.fullmatch(line):
        raise SourceError(path, "expected SUFFIX:COUNT lines (35 hex digits, ':', a count)", number)


# -- reading --------------------------------------------------------------------------------------


def read(source: Source, *, skip_invalid: Skipped | None = None) -> Iterator[tuple[Hashes, int]]:
    """The source's hashes a block at a time, each with the number of input bytes it covers.

    With ``skip_invalid``, bad lines are counted there and left out; without, the first one
    raises :class:`SourceError`.
    """
    if source.format is SourceFormat.hibp:
        yield from _read_hash_file(source.path, skip_invalid)
    elif source.format is SourceFormat.hibp_prefix:
        yield from _read_prefix_files(source.files, skip_invalid)
    elif source.format is SourceFormat.plain:
        yield from _read_plain(source.path, skip_invalid)
    else:  # pragma: no cover - auto is resolved by open_source
        raise SourceError(source.path, f"unresolved format {source.format}")


def _blocks(path: Path, block_bytes: int = BLOCK_BYTES) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines and the number of the block's first line."""
    line = 1
    rest = b""
    with path.open("rb") as handle:
        first = True
        while True:
            data = handle.read(block_bytes)
            if first:
                data = data.removeprefix(_BOM)
                first = False
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            block, rest = data[:cut], data[cut:]
            yield block, line
            line += block.count(b"\n")
    if rest:
        yield rest + b"\n", line


def _read_hash_file(path: Path, skipped: Skipped | None) -> Iterator[tuple[Hashes, int]]:
    for block, first_line in _blocks(path):
        parsed, bad = parse_lines(block, hex_digits=40)
        if len(bad):
            lines = (bad + first_line).tolist()
            if skipped is None:
                raise SourceError(path, _LINE_RULE[40], lines[0])
            skipped.add(path, lines)
        yield parsed, len(block)


def _read_prefix_files(files: Sequence[Path], skipped: Skipped | None) -> Iterator[tuple[Hashes, int]]:
    # Many small files go into one block, with each line's prefix taken from its file's name.
    batch: list[tuple[Path, bytes]] = []
    size = 0
    for path in files:
        data = path.read_bytes().removeprefix(_BOM)
        if data and not data.endswith(b"\n"):
            data += b"\n"
        batch.append((path, data))
        size += len(data)
        if size >= PREFIX_BLOCK_BYTES:
            yield _parse_prefix_batch(batch, skipped), size
            batch, size = [], 0
    if batch:
        yield _parse_prefix_batch(batch, skipped), size


def _parse_prefix_batch(batch: Sequence[tuple[Path, bytes]], skipped: Skipped | None) -> Hashes:
    lines_per_file = np.array([data.count(b"\n") for _path, data in batch], dtype=np.int64)
    prefixes = np.array([int(path.name[:5], 16) for path, _data in batch], dtype=np.uint64)
    parsed, bad = parse_lines(
        b"".join(data for _path, data in batch), hex_digits=35, prefix=np.repeat(prefixes, lines_per_file)
    )
    if len(bad):
        starts = np.cumsum(lines_per_file) - lines_per_file
        owner = np.searchsorted(starts, bad, side="right") - 1
        if skipped is None:
            path = batch[int(owner[0])][0]
            raise SourceError(path, _LINE_RULE[35], int(bad[0] - starts[owner[0]]) + 1)
        for index, line in zip(owner.tolist(), (bad - starts[owner] + 1).tolist(), strict=True):
            skipped.add(batch[index][0], [line])
    return parsed


_LINE_RULE: Final = {
    40: "expected HASH:COUNT (40 hex digits of SHA-1, ':', a count of up to 10 digits)",
    35: "expected SUFFIX:COUNT (35 hex digits, ':', a count of up to 10 digits)",
}


def parse_lines(block: bytes, *, hex_digits: int, prefix: U64 | None = None) -> tuple[Hashes, npt.NDArray[np.int64]]:
    """Parse whole ``HEX:COUNT`` lines (each ending in LF, with an optional CR before it).

    ``hex_digits`` is 40 for full hashes or 35 for suffixes, whose first 5 hex digits come from
    ``prefix`` (one 20-bit value per line). Empty lines are ignored. Returns the valid lines'
    hashes and the 0-based numbers of invalid lines.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(data == _NEWLINE)
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    width = hex_digits + 1 + MAX_COUNT_DIGITS
    # Room past the end, so that a fixed-width window from any line start stays in the buffer.
    padded = np.concatenate([data, np.zeros(width + 1, dtype=np.uint8)])
    has_cr = (ends > starts) & (padded[np.maximum(ends - 1, 0)] == _CR)
    length = ends - starts - has_cr
    digits = length - hex_digits - 1
    # Every line's first ``width`` bytes as one row: a sliding window over the buffer (no copy),
    # gathered at the line starts (one copy of ``width`` bytes per line).
    rows = np.lib.stride_tricks.sliding_window_view(padded, width)[starts]
    nibbles = _HEX[rows[:, :hex_digits]]
    valid = (digits >= 1) & (digits <= MAX_COUNT_DIGITS) & (rows[:, hex_digits] == _COLON)
    valid &= (nibbles != _INVALID).all(axis=1)
    if prefix is not None:
        lead = 40 - hex_digits
        shifts = np.arange(4 * (lead - 1), -1, -4, dtype=np.uint64)
        head = ((prefix[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.uint8)
        nibbles = np.concatenate([head, nibbles], axis=1)
    packed = (nibbles[:, 0::2] << 4) | (nibbles[:, 1::2] & 15)
    words = _words(packed)
    # The count: up to 10 digits after the colon; columns past the line's end are zeroed before
    # the digits are weighted by powers of ten that depend on the line's own number of digits.
    columns = rows[:, hex_digits + 1 :] - np.uint8(_ZERO)  # wraps below '0', so a non-digit is > 9
    inside = _COUNT_COLUMNS[None, :] < digits[:, None]
    valid &= ~(inside & (columns > 9)).any(axis=1)
    exponent = np.clip(digits[:, None] - 1 - _COUNT_COLUMNS[None, :], 0, MAX_COUNT_DIGITS - 1)
    count = ((columns * inside).astype(np.uint64) * _POWERS[exponent]).sum(axis=1, dtype=np.uint64)
    blank = length == 0
    keep = valid & ~blank
    bad = np.flatnonzero(~valid & ~blank)
    np.minimum(count, MAX_COUNT, out=count)
    return Hashes(words[0][keep], words[1][keep], words[2][keep], count[keep].astype(np.uint32)), bad


_COUNT_COLUMNS: Final = np.arange(MAX_COUNT_DIGITS)
_POWERS: Final = np.array([10**k for k in range(MAX_COUNT_DIGITS)], dtype=np.uint64)


def _words(packed: npt.NDArray[np.uint8]) -> tuple[U64, U64, U64]:
    """Rows of 20 SHA-1 bytes as the three big-endian words."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    hi = packed[:, 0:8].copy().view(">u8").ravel().astype(np.uint64)
    mid = packed[:, 8:16].copy().view(">u8").ravel().astype(np.uint64)
    lo = packed[:, 16:20].copy().view(">u4").ravel().astype(np.uint64)
    return hi, mid, lo


def _read_plain(path: Path, skipped: Skipped | None) -> Iterator[tuple[Hashes, int]]:
    for block, first_line in _blocks(path):
        lines = block.split(b"\n")[:-1]
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = _undecodable(lines)
            if skipped is None:
                raise SourceError(
                    path, "not UTF-8 text (plain lists hold one UTF-8 password per line)", first_line + bad[0]
                ) from exc
            skipped.add(path, [first_line + b for b in bad])
            bad_set = set(bad)
            lines = [b"" if i in bad_set else line for i, line in enumerate(lines)]
        yield hash_passwords(lines), len(block)


def _undecodable(lines: Sequence[bytes]) -> list[int]:
    bad = []
    for index, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(index)
    return bad


def hash_passwords(lines: Sequence[bytes]) -> Hashes:
    """SHA-1 of each non-empty line (its UTF-8 bytes, without the line ending), count 1 each."""
    sha1 = hashlib.sha1
    # Hashing is the one step per password that has to be a Python call; everything after is numpy.
    digests = b"".join([sha1(line.removesuffix(b"\r")).digest() for line in lines if line and line != b"\r"])
    return hashes_from_digests(digests)


def hashes_from_digests(digests: bytes) -> Hashes:
    """Concatenated 20-byte SHA-1 digests as :class:`Hashes`, count 1 each."""
    hi, mid, lo = _words(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 20))
    return Hashes(hi, mid, lo, np.ones(len(hi), dtype=np.uint32))


def digest_words(digest: bytes) -> tuple[int, int, int]:
    """The three words of one 20-byte SHA-1."""
    return int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big"), int.from_bytes(digest[16:], "big")
