"""Leaked username+password pairs: found in any spelling the vault normalises alike, merged on
re-ingest, and never on disk in plain text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shopshield.core.errors import InvalidInput
from shopshield.core.normalize import normalize_username
from shopshield.keys.envelope import blind_index
from shopshield.passwords.formats import SourceError
from shopshield.passwords.pairs import PairHasher, derive_pairs_key
from shopshield.passwords.service import LeakedPairs, ingest_pairs

KEY_MATERIAL = bytes(range(32))
KEY = derive_pairs_key(KEY_MATERIAL)
PAIRS = [
    ("liujie@example.cn", "Tianhe#385"),
    ("+86 138-1234-5678", "refund2016"),
    ("wang.fang", "pass:with:colons"),
    ("zhao_lei_88", "盗号密码qq"),
]


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest()  # noqa: S324 - HIBP's format


def write_list(path: Path, pairs: list[tuple[str, str]], *, extra: str = "") -> Path:
    path.write_text("".join(f"{u}:{p}\r\n" for u, p in pairs) + extra, encoding="utf-8")
    return path


def test_pairs_are_found_in_any_spelling_of_the_username(tmp_path: Path) -> None:
    ingest_pairs(files=[write_list(tmp_path / "breach.txt", PAIRS)], directory=tmp_path / "pw", key=KEY)
    pairs = LeakedPairs(tmp_path / "pw", KEY)

    assert pairs.contains("  LiuJie@Example.CN ", sha1("Tianhe#385"))
    assert pairs.contains("13812345678", sha1("refund2016").upper())
    assert pairs.contains("0086 13812345678", sha1("refund2016"))
    assert pairs.contains("wang.fang", sha1("pass:with:colons"))
    assert pairs.contains("zhao_lei_88", sha1("盗号密码qq"))
    assert not pairs.contains("liujie@example.cn", sha1("refund2016"))  # someone else's password
    assert not pairs.contains("13812345679", sha1("refund2016"))
    assert pairs.status()["pairs"] == len(PAIRS)


def test_a_different_key_finds_nothing(tmp_path: Path) -> None:
    ingest_pairs(files=[write_list(tmp_path / "breach.txt", PAIRS)], directory=tmp_path / "pw", key=KEY)

    assert not LeakedPairs(tmp_path / "pw", derive_pairs_key(bytes(32))).contains(PAIRS[0][0], sha1(PAIRS[0][1]))


def test_reingest_merges_and_replace_starts_over(tmp_path: Path) -> None:
    ingest_pairs(files=[write_list(tmp_path / "a.txt", PAIRS[:2])], directory=tmp_path / "pw", key=KEY)
    ingest_pairs(files=[write_list(tmp_path / "b.txt", PAIRS[1:])], directory=tmp_path / "pw", key=KEY)
    merged = LeakedPairs(tmp_path / "pw", KEY)
    assert all(merged.contains(u, sha1(p)) for u, p in PAIRS)
    assert merged.status()["pairs"] == len(PAIRS)

    ingest_pairs(files=[tmp_path / "a.txt"], directory=tmp_path / "pw", key=KEY, replace=True)
    replaced = LeakedPairs(tmp_path / "pw", KEY)
    assert replaced.contains(*PAIRS[0][:1], sha1(PAIRS[0][1]))
    assert not replaced.contains(PAIRS[3][0], sha1(PAIRS[3][1]))


def test_nothing_is_stored_in_plain_text(tmp_path: Path) -> None:
    pairs = [*PAIRS, *((f"user{i}@mail.example", f"Secret-{i}-pw") for i in range(60))]
    ingest_pairs(files=[write_list(tmp_path / "breach.txt", pairs)], directory=tmp_path / "pw", key=KEY)
    files = [p for p in (tmp_path / "pw").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"records.bin", "index.bin", "manifest.json"}
    stored = b"".join(p.read_bytes() for p in files)

    needles: list[bytes] = []
    for username, password in pairs:
        normalised = normalize_username(username)
        digest = hashlib.sha1(password.encode()).digest()  # noqa: S324 - HIBP's format
        needles += [
            username.encode(),
            normalised.encode(),
            password.encode(),
            digest,
            digest[:8],
            digest.hex().encode(),
        ]
        needles.append(digest.hex().upper().encode())
    found = [n for n in needles if len(n) >= 6 and n in stored]
    assert found == []
    assert b"13812345678" not in stored


def test_the_pairs_key_is_not_the_blind_index_key() -> None:
    hasher = PairHasher(KEY)
    digest = hasher.digest("13812345678", hashlib.sha1(b"x").digest())  # noqa: S324 - HIBP's format

    assert KEY != KEY_MATERIAL
    assert digest != blind_index(KEY_MATERIAL, "mobile", "13812345678")
    assert len(digest) == 16


def test_missing_pairs_contain_nothing(tmp_path: Path) -> None:
    pairs = LeakedPairs(tmp_path / "none", KEY)

    assert not pairs.contains("anyone", sha1("x"))
    with pytest.raises(InvalidInput):
        pairs.contains("anyone", "not a sha1")


def test_bad_lines_are_refused_by_number(tmp_path: Path) -> None:
    path = write_list(tmp_path / "breach.txt", PAIRS, extra="no-colon-here-s3cret\r\n")

    with pytest.raises(SourceError) as caught:
        ingest_pairs(files=[path], directory=tmp_path / "pw", key=KEY)

    assert caught.value.line == len(PAIRS) + 1
    assert "s3cret" not in str(caught.value)
    assert LeakedPairs(tmp_path / "pw", KEY).status()["state"] == "absent"


def test_normalisation() -> None:
    assert normalize_username(" Foo@Bar.COM ") == "foo@bar.com"
    assert normalize_username("+86 138-1234-5678") == "13812345678"
    assert normalize_username("１３８１２３４５６７８") == "13812345678"
    assert normalize_username("12345678") == "12345678"  # digits, but no mobile number
