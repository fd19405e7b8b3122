"""The corpus: filter shards, exact confirmation, counts, ranges byte for byte, padding, rebuilds."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from shopshield.core.errors import InvalidInput
from shopshield.passwords import fuse, hibp
from shopshield.passwords.service import BreachedPasswords, current_generation
from tests.support.password_lists import PASSWORDS, build, counts_of, hibp_file, plain_list, prefix_folder, sha1


def random_keys(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)


def test_filter_has_no_false_negatives_and_few_false_positives(tmp_path: Path) -> None:
    keys = np.unique(random_keys(200_000, 1))
    path = tmp_path / "filter-00000.bin"
    path.write_bytes(fuse.build_shard(keys))
    loaded = fuse.ShardedFilter.load([path], 0)
    try:
        others = np.setdiff1d(random_keys(200_000, 2), keys)
        assert loaded.contains_many(keys).all()
        rate = loaded.contains_many(others).mean()
        assert 0 < rate < 0.005
        assert loaded.size_in_bytes() * 8 / len(keys) < 9.5
    finally:
        loaded.close()


def test_sharded_filter_finds_every_key_in_its_shard(tmp_path: Path) -> None:
    keys = np.sort(np.unique(random_keys(40_000, 3)))
    bits = 2
    paths = []
    for shard in range(1 << bits):
        part = keys[(keys >> np.uint64(64 - bits)) == shard]
        paths.append(tmp_path / f"filter-{shard:05d}.bin")
        paths[-1].write_bytes(fuse.build_shard(part))
    loaded = fuse.ShardedFilter.load(paths, bits)
    try:
        assert loaded.keys == len(keys)
        assert loaded.contains_many(keys).all()
    finally:
        loaded.close()


def test_shard_count_grows_with_the_corpus() -> None:
    assert fuse.shard_bits_for(0) == 0
    assert fuse.shard_bits_for(fuse.TARGET_SHARD_KEYS) == 0
    two_billion = fuse.shard_bits_for(2_000_000_000)
    assert two_billion == 8  # 256 shards of ~7.8 million keys
    assert 2_000_000_000 / (1 << two_billion) <= fuse.TARGET_SHARD_KEYS


def test_a_truncated_shard_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "filter-00000.bin"
    path.write_bytes(fuse.build_shard(random_keys(1000, 4))[:-10])

    with pytest.raises(fuse.FilterError, match="bytes"):
        fuse.ShardedFilter.load([path], 0)


def test_counts_from_every_format_together(tmp_path: Path) -> None:
    hibp_counts = {sha1(p): 100 + i for i, p in enumerate(PASSWORDS[:3])}
    folder_counts = {sha1(p): 7 for p in PASSWORDS[3:]}
    plain = ["password", "password", "only-in-plain"]
    build(
        tmp_path / "pw",
        hibp_file(tmp_path / "h.txt", hibp_counts),
        prefix_folder(tmp_path / "folder", folder_counts),
        plain_list(tmp_path / "plain.txt", plain),
    )
    corpus = BreachedPasswords.open(tmp_path / "pw")

    assert corpus.count(sha1("password")) == 100 + 2  # HIBP's count plus the plain list's two
    assert corpus.count(sha1("123456")) == 101
    assert corpus.count(sha1("qwerty")) == 7
    assert corpus.count(sha1("only-in-plain")) == 1
    assert corpus.count(sha1("never-seen").lower()) == 0
    assert corpus.status()["hashes"] == len(PASSWORDS) + 1
    corpus.close()


def test_exact_store_removes_the_filters_false_positives(tmp_path: Path) -> None:
    stored = [f"stored-{i}" for i in range(20_000)]
    build(tmp_path / "pw", plain_list(tmp_path / "plain.txt", stored))
    corpus = BreachedPasswords.open(tmp_path / "pw")
    stored_hashes = {sha1(p) for p in stored}
    candidates = [hashlib.sha1(f"absent-{i}".encode()).hexdigest() for i in range(60_000)]  # noqa: S324 - HIBP's format
    fooled = [h for h in candidates if corpus.filter().maybe_contains(int(h[:16], 16))]

    assert fooled, "the filter let no absent hash through; the test would prove nothing"
    assert len(fooled) / len(candidates) < 0.005
    assert not stored_hashes & {h.upper() for h in fooled}
    assert [corpus.count(h) for h in fooled] == [0] * len(fooled)
    assert all(corpus.count(h) == 1 for h in list(stored_hashes)[:2000])
    corpus.close()


@pytest.mark.parametrize("bad", ["", "abc", "Z" * 40, sha1("x")[:39] + " ", " " + sha1("x")[:39], sha1("x") + "0"])
def test_count_refuses_anything_but_40_hex_digits(tmp_path: Path, bad: str) -> None:
    corpus = BreachedPasswords(tmp_path / "none")

    with pytest.raises(InvalidInput):
        corpus.count(bad)


def test_missing_corpus_is_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = BreachedPasswords(tmp_path / "nothing-here")

    assert corpus.count(sha1("password")) == 0
    assert corpus.range("5BAA6") == []
    assert corpus.range_body("5BAA6") == b""
    assert corpus.status()["state"] == "absent"
    assert "no breached-password corpus" in caplog.text


def test_range_is_byte_exact(tmp_path: Path) -> None:
    # Three hashes under one prefix (found by search), one elsewhere.
    by_prefix: dict[str, list[str]] = {}
    i = 0
    while not any(len(v) >= 3 for v in by_prefix.values()):
        by_prefix.setdefault(sha1(f"p{i}")[:3], []).append(f"p{i}")
        i += 1
    group = next(v for v in by_prefix.values() if len(v) >= 3)[:3]
    counts = {sha1(p): c for p, c in zip(group, (1, 2_000_000_000, 42), strict=True)} | {sha1("other"): 5}
    build(tmp_path / "pw", hibp_file(tmp_path / "h.txt", counts))
    corpus = BreachedPasswords.open(tmp_path / "pw")

    for prefix in {h[:5] for h in counts}:
        expected = "\r\n".join(f"{h[5:]}:{c}" for h, c in sorted(counts.items()) if h.startswith(prefix))
        assert corpus.range_body(prefix) == expected.encode()
        assert corpus.range_body(prefix.lower()) == expected.encode()
    assert corpus.range(sha1("other")[:5]) == [(sha1("other")[5:], 5)]
    corpus.close()


def test_padding_reaches_hibps_range_and_keeps_the_real_entries(tmp_path: Path) -> None:
    build(tmp_path / "pw", plain_list(tmp_path / "plain.txt", PASSWORDS))
    corpus = BreachedPasswords.open(tmp_path / "pw")
    prefix = sha1("password")[:5]
    sizes = set()
    for _ in range(30):
        lines = corpus.range_body(prefix, padding=True).decode().split("\r\n")
        sizes.add(len(lines))
        real = [line for line in lines if not line.endswith(":0")]
        assert real == [f"{sha1('password')[5:]}:1"]
        assert lines == sorted(lines)
        assert all(len(line.split(":")[0]) == 35 and line.split(":")[0].isupper() is True for line in lines)
    assert min(sizes) >= 800 and max(sizes) <= 1000 and len(sizes) > 5
    corpus.close()


def test_padding_beyond_800_real_entries_adds_up_to_200() -> None:
    records = hibp.fake_records(0xABCDE, 950)
    records["count"] = 3
    sizes = {len(hibp.pad(records, 0xABCDE)) for _ in range(30)}

    assert min(sizes) >= 950 and max(sizes) <= 1150 and len(sizes) > 5


def test_replace_is_the_default_and_merge_adds_counts(tmp_path: Path) -> None:
    first = hibp_file(tmp_path / "first.txt", {sha1("a"): 10, sha1("b"): 1})
    second = hibp_file(tmp_path / "second.txt", {sha1("a"): 5, sha1("c"): 2})
    build(tmp_path / "pw", first)
    old = current_generation(tmp_path / "pw", "corpus")
    build(tmp_path / "pw", second)
    replaced = BreachedPasswords.open(tmp_path / "pw")
    build(tmp_path / "pw", first, merge=True)
    merged = BreachedPasswords.open(tmp_path / "pw")

    assert [replaced.count(sha1(p)) for p in "abc"] == [5, 0, 2]
    assert [merged.count(sha1(p)) for p in "abc"] == [15, 1, 2]
    assert old is not None and not old.exists()  # the replaced generation is gone
    assert len(list((tmp_path / "pw").glob("corpus-*"))) == 1
    replaced.close()
    merged.close()


def test_files_are_owner_only(tmp_path: Path) -> None:
    before = os.umask(0o022)  # a common umask that would leave new files world-readable
    try:
        build(tmp_path / "pw", plain_list(tmp_path / "plain.txt", PASSWORDS))
    finally:
        os.umask(before)
    paths = [tmp_path / "pw", *(tmp_path / "pw").rglob("*")]

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in paths}
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes
    assert not list((tmp_path / "pw").glob(".work-*"))


def test_a_failed_build_leaves_the_current_corpus(tmp_path: Path) -> None:
    build(tmp_path / "pw", hibp_file(tmp_path / "good.txt", counts_of(["a"])))
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{sha1('b')}:1\nbroken\n")

    with pytest.raises(Exception, match="line 2"):
        build(tmp_path / "pw", bad)

    assert BreachedPasswords.open(tmp_path / "pw").count(sha1("a")) == 1
    assert len([p for p in (tmp_path / "pw").iterdir() if p.is_dir()]) == 1
