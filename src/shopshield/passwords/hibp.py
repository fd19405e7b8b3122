"""The HIBP range API's answer, byte for byte: prefix checks, ``SUFFIX:COUNT`` lines, padding.

Have I Been Pwned answers ``GET /range/{prefix}`` with the 35 upper-case hex digits that follow the
prefix and the count, one per line, lines separated by CRLF (no line break after the last). With
the request header ``Add-Padding: true`` it adds fake suffixes with count 0, so that a response's
size does not tell which prefix was asked: at least 800 entries, plus 0-200 more at random
(HIBP's documentation and Cloudflare's announcement of padding). Here padding entries are
drawn from the operating system's random source and sorted in among the real ones; clients
drop them by their count of 0, as they must with HIBP.

Lines are formatted with numpy for the whole range at once (a range holds a few thousand entries
for a corpus of two billion hashes).
"""

from __future__ import annotations

import binascii
import os
import secrets
from typing import Final

import numpy as np

from shopshield.core.errors import InvalidInput
from shopshield.passwords.store import CORPUS, Records

PREFIX_DIGITS: Final = 5
SUFFIX_DIGITS: Final = 35
PADDING_MINIMUM: Final = 800
PADDING_EXTRA: Final = 200
MEDIA_TYPE: Final = "text/plain; charset=utf-8"
# HIBP's own wording for a bad prefix, so clients that show or match the message keep working.
BAD_LENGTH: Final = "The hash prefix was not in a valid format"
BAD_HEX: Final = "The hash prefix was not valid hexadecimal"
NTLM_UNSUPPORTED: Final = "NTLM hashes are not supported by this server; ask without mode=ntlm for SHA-1"

_ALL_HEX: Final = frozenset("0123456789abcdefABCDEF")
_COUNT_DIGITS: Final = 10
_POWERS_UP: Final = np.array([10**k for k in range(_COUNT_DIGITS)], dtype=np.uint64)
_COLUMNS: Final = np.arange(_COUNT_DIGITS)
_COUNT_START: Final = SUFFIX_DIGITS + 1
_COUNT_END: Final = _COUNT_START + _COUNT_DIGITS
_WIDTH: Final = _COUNT_END + 2
_SMALL: Final = 8
_COLON, _CR, _LF, _ZERO = (ord(c) for c in ":\r\n0")


class BadPrefix(InvalidInput, ValueError):
    """The prefix is not 5 hex digits; the message is HIBP's."""


def parse_prefix(text: str) -> int:
    """The 20-bit value of a 5-hex-digit prefix, either case."""
    if len(text) != PREFIX_DIGITS:
        raise BadPrefix(BAD_LENGTH)
    if not _ALL_HEX.issuperset(text):
        raise BadPrefix(BAD_HEX)
    return int(text, 16)


def wants_padding(header: str | None) -> bool:
    """HIBP pads when the header's value is ``true`` in any case."""
    return header is not None and header.strip().lower() == "true"


def padding_size(real: int) -> int:
    """How many fake entries to add to ``real`` ones: up to 800, then 0-200 more."""
    return max(0, PADDING_MINIMUM - real) + secrets.randbelow(PADDING_EXTRA + 1)


def fake_records(prefix: int, count: int) -> Records:
    """``count`` random hashes under ``prefix`` with count 0."""
    fake = np.zeros(count, dtype=CORPUS.dtype)
    if count == 0:
        return fake
    words = np.frombuffer(os.urandom(16 * count), dtype=np.uint64).reshape(count, 2)
    shift = np.uint64(64 - 20)
    # The top 20 bits are the prefix; the rest of the first word, the second word and 32 bits more
    # are random.
    fake["hi"] = (np.uint64(prefix) << shift) | (words[:, 0] >> np.uint64(20))
    fake["mid"] = words[:, 1]
    fake["lo"] = np.frombuffer(os.urandom(4 * count), dtype=np.uint32)
    return fake


def pad(records: Records, prefix: int) -> Records:
    """``records`` with padding sorted in among them."""
    merged = np.concatenate([records, fake_records(prefix, padding_size(len(records)))])
    return merged[np.lexsort((merged["lo"], merged["mid"], merged["hi"]))]


def render(records: Records) -> bytes:
    """``SUFFIX:COUNT`` lines, CRLF between them, for records of one prefix (in the order given)."""
    n = len(records)
    if n == 0:
        return b""
    if n <= _SMALL:
        # A few lines cost less one by one than the vectorised path's fixed overhead.
        return "\r\n".join(
            f"{int(r['hi']):016X}{int(r['mid']):016X}{int(r['lo']):08X}"[PREFIX_DIGITS:] + f":{int(r['count'])}"
            for r in records
        ).encode()
    # Each line is laid out at a fixed width (35 suffix digits, ':', the count right-aligned in 10
    # columns, CR, LF); a mask then drops the count's leading columns and the last line break.
    lines = np.empty((n, _WIDTH), dtype=np.uint8)
    raw = np.empty((n, 20), dtype=np.uint8)
    raw[:, 0:8] = records["hi"].astype(">u8").view(np.uint8).reshape(n, 8)
    raw[:, 8:16] = records["mid"].astype(">u8").view(np.uint8).reshape(n, 8)
    raw[:, 16:20] = records["lo"].astype(">u4").view(np.uint8).reshape(n, 4)
    # binascii's hexlify of all hashes at once is several times faster than a lookup per nibble.
    hexed = np.frombuffer(binascii.hexlify(raw.tobytes()).upper(), dtype=np.uint8).reshape(n, 40)
    lines[:, :SUFFIX_DIGITS] = hexed[:, PREFIX_DIGITS:]
    lines[:, SUFFIX_DIGITS] = _COLON
    counts = records["count"].astype(np.uint32)
    value = counts.copy()
    for column in range(_COUNT_END - 1, _COUNT_START - 1, -1):
        value, digit = np.divmod(value, np.uint32(10))
        lines[:, column] = digit
    lines[:, _COUNT_START:_COUNT_END] += _ZERO
    lines[:, -2] = _CR
    lines[:, -1] = _LF
    significant = np.maximum(1, np.searchsorted(_POWERS_UP, counts, side="right"))
    keep = np.ones((n, _WIDTH), dtype=np.bool_)
    keep[:, _COUNT_START:_COUNT_END] = _COLUMNS[None, :] >= (_COUNT_DIGITS - significant)[:, None]
    keep[-1, -2:] = False  # no line break after the last line
    return lines[keep].tobytes()
