"""Reading HIBP's downloads and plain lists: formats told apart, every hash and count exact, NTLM and
bad lines refused by file and line without echoing the line."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

import numpy as np
import pytest

from shopshield.passwords import formats
from shopshield.passwords.formats import Skipped, SourceError, SourceFormat, open_source, parse_lines
from tests.support.password_lists import PASSWORDS, counts_of, hibp_file, plain_list, prefix_folder, sha1


def read_all(path: Path, fmt: SourceFormat = SourceFormat.auto, skipped: Skipped | None = None) -> dict[str, int]:
    """Every (hash, count) the reader yields, as hex -> summed count."""
    found: dict[str, int] = {}
    for block, _size in formats.read(open_source(path, fmt), skip_invalid=skipped):
        for hi, mid, lo, count in zip(block.hi, block.mid, block.lo, block.count, strict=True):
            key = f"{int(hi):016X}{int(mid):016X}{int(lo):08X}"
            found[key] = found.get(key, 0) + int(count)
    return found


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("lower", [False, True])
def test_hibp_file_is_read_exactly(tmp_path: Path, newline: str, lower: bool) -> None:
    counts = {sha1(p): i * 1000 + 1 for i, p in enumerate(PASSWORDS)}
    path = hibp_file(tmp_path / "pwned-passwords-sha1-ordered-by-hash-v8.txt", counts, newline=newline, lower=lower)

    assert open_source(path).format is SourceFormat.hibp
    assert read_all(path) == counts


def test_last_line_without_newline_blank_lines_and_big_counts(tmp_path: Path) -> None:
    a, b, c = sha1("a"), sha1("b"), sha1("c")
    path = tmp_path / "h.txt"
    path.write_bytes(f"{a}:1\r\n\r\n{b}:9999999999\n{c}:4294967295".encode())

    assert read_all(path) == {a: 1, b: 0xFFFF_FFFF, c: 0xFFFF_FFFF}


def test_prefix_folder_puts_the_prefix_back(tmp_path: Path) -> None:
    counts = {sha1(p): len(p) for p in PASSWORDS} | {sha1(f"x{i}"): i + 1 for i in range(300)}
    folder = prefix_folder(tmp_path / "hibp", counts)

    assert open_source(folder).format is SourceFormat.hibp_prefix
    assert read_all(folder) == counts


def test_single_prefix_file(tmp_path: Path) -> None:
    h = sha1("password")
    path = tmp_path / f"{h[:5].lower()}.txt"
    path.write_text(f"{h[5:]}:3\r\n")

    assert read_all(path) == {h: 3}


def test_plain_list_counts_duplicates_and_handles_bom_and_crlf(tmp_path: Path) -> None:
    passwords = ["password", "hunter2", "password", "刘杰1988", "password", " spaced "]
    path = tmp_path / "list.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(passwords).encode() + b"\r\n\r\n")

    assert open_source(path).format is SourceFormat.plain
    assert read_all(path) == counts_of(passwords)


def test_format_can_be_forced(tmp_path: Path) -> None:
    # A plain list whose first password happens to look like a HIBP line.
    line = f"{sha1('x')}:1"
    path = plain_list(tmp_path / "odd.txt", [line, "other"])

    assert read_all(path, SourceFormat.plain) == counts_of([line, "other"])


@pytest.mark.parametrize("digits", [32, 27])
def test_ntlm_is_refused(tmp_path: Path, digits: int) -> None:
    path = tmp_path / "ntlm.txt"
    path.write_text("\n" + "A" * digits + ":12\n")

    with pytest.raises(SourceError) as caught:
        open_source(path)

    assert caught.value.line == 2
    assert "NTLM" in str(caught.value) and str(path) in str(caught.value)


def test_ntlm_prefix_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ntlm"
    folder.mkdir()
    (folder / "00000.txt").write_text("A" * 27 + ":5\r\n")

    with pytest.raises(SourceError, match="NTLM"):
        open_source(folder)


def test_a_bad_line_names_file_and_line_but_not_the_line(tmp_path: Path) -> None:
    good = [f"{sha1(str(i))}:{i + 1}" for i in range(5)]
    secret_line = f"{sha1('x')[:39]}Z:7"
    path = tmp_path / "h.txt"
    path.write_text("\n".join([*good[:3], secret_line, *good[3:]]) + "\n")

    with pytest.raises(SourceError) as caught:
        read_all(path)

    assert caught.value.path == path and caught.value.line == 4
    assert secret_line not in str(caught.value) and secret_line[:20] not in str(caught.value)


@pytest.mark.parametrize(
    "line",
    [
        f"{sha1('x')}:",  # no count
        f"{sha1('x')}:12345678901",  # 11 digits
        f"{sha1('x')}:1x",
        f"{sha1('x')} :1",
        f"{sha1('x')[:39]}:1",
        f"{sha1('x')}0:1",
        f"{sha1('x')}:1\r\r",
        f"{sha1('x')}:-1",
    ],
)
def test_malformed_hibp_lines(tmp_path: Path, line: str) -> None:
    path = tmp_path / "h.txt"
    path.write_text(f"{sha1('first')}:1\n{line}\n")

    with pytest.raises(SourceError) as caught:
        read_all(path)

    assert caught.value.line == 2


def test_bad_line_in_a_prefix_folder_names_its_file(tmp_path: Path) -> None:
    folder = prefix_folder(tmp_path / "hibp", {sha1("a"): 1, sha1("b"): 2})
    broken = sorted(folder.iterdir())[-1]
    broken.write_bytes(broken.read_bytes() + b"\r\nnot a suffix:1\r\n")

    with pytest.raises(SourceError) as caught:
        read_all(folder)

    assert caught.value.path == broken and caught.value.line == 2


def test_folder_with_a_stranger_is_refused(tmp_path: Path) -> None:
    folder = prefix_folder(tmp_path / "hibp", {sha1("a"): 1})
    (folder / "README.md").write_text("hello")

    with pytest.raises(SourceError, match=r"README\.md"):
        open_source(folder)


def test_plain_list_that_is_not_utf8_names_the_line_and_never_the_password(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"fine\nzq9\xe9secret-xv\xf6\nfine too\n")

    with pytest.raises(SourceError) as caught:
        read_all(path)

    assert caught.value.line == 2
    assert "zq9" not in str(caught.value) and "secret-xv" not in str(caught.value)


def test_skip_invalid_counts_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "h.txt"
    path.write_text(f"{sha1('a')}:1\nbad\n{sha1('b')}:2\nworse:1\n")
    skipped = Skipped()

    assert read_all(path, skipped=skipped) == {sha1("a"): 1, sha1("b"): 2}
    assert skipped.lines == 2 and skipped.first == ["h.txt:2", "h.txt:4"]


def test_empty_and_missing_sources(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(SourceError, match="empty"):
        open_source(tmp_path / "empty.txt")
    with pytest.raises(SourceError, match="no such"):
        open_source(tmp_path / "missing.txt")


def test_vectorised_parser_agrees_with_a_line_by_line_reference() -> None:
    rng = random.Random(5)
    lines: list[str] = []
    expected: list[tuple[bytes, int] | None] = []
    for _ in range(3000):
        digest = os.urandom(20)
        count = rng.choice([0, 1, 9, 10, 99, 12345, 4294967295, 10**9, rng.randrange(1, 10**10)])
        text = digest.hex()
        text = text.upper() if rng.random() < 0.5 else text
        line = f"{text}:{count}" + ("\r" if rng.random() < 0.5 else "")
        if rng.random() < 0.05:
            line = line.replace(":", ";")  # a bad one
            expected.append(None)
        else:
            expected.append((digest, min(count, 0xFFFF_FFFF)))
        lines.append(line)
    parsed, bad = parse_lines(("\n".join(lines) + "\n").encode(), hex_digits=40)

    good = [e for e in expected if e is not None]
    got = [
        (int(h).to_bytes(8, "big") + int(m).to_bytes(8, "big") + int(lo).to_bytes(4, "big"), int(c))
        for h, m, lo, c in zip(parsed.hi, parsed.mid, parsed.lo, parsed.count, strict=True)
    ]
    assert got == good
    assert bad.tolist() == [i for i, e in enumerate(expected) if e is None]


def test_plain_hashes_match_hashlib() -> None:
    hashes = formats.hash_passwords([b"password", b"", b"\xe5\x88\x98", b"x\r"])
    words = np.column_stack([hashes.hi, hashes.mid, hashes.lo])
    expected = [hashlib.sha1(p).digest() for p in (b"password", b"\xe5\x88\x98", b"x")]  # noqa: S324 - HIBP's format

    assert [
        int(a).to_bytes(8, "big") + int(b).to_bytes(8, "big") + int(c).to_bytes(4, "big") for a, b, c in words
    ] == expected
