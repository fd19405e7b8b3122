"""The link benchmark's data: the committed file is what its generator makes, and the split is by brand."""

from __future__ import annotations

import orjson

from bench.data import make_links
from bench.verify_links import DATA, load, score, shopshield_detector


def test_the_committed_set_is_what_the_generator_makes() -> None:
    committed = [orjson.loads(line) for line in DATA.read_bytes().splitlines()[1:]]
    assert committed == make_links.rows()


def test_the_split_is_by_brand_and_recorded_in_the_file() -> None:
    meta, rows = load()
    assert meta["split_by"] == "brand"
    splits = ("dev", "held_out", "fresh")
    for i, first in enumerate(splits):
        for second in splits[i + 1 :]:
            assert not set(meta[first]) & set(meta[second]), (first, second)
    assert {r.split for r in rows} == set(splits)
    for row in rows:
        assert row.brand in meta[row.split]
        assert row.official == (row.brand,)
    assert {r.label for r in rows} == {"official", "lookalike", "unrelated"}


def test_the_unrelated_domains_of_the_three_splits_do_not_overlap() -> None:
    """A close or popular domain is used in one split only, so the fresh split's are unseen."""
    groups = [
        set(make_links.POPULAR_DEV) | set(make_links.CLOSE_DEV) | set(make_links.CLOSE_DEV_MORE),
        set(make_links.POPULAR_HELD_OUT) | set(make_links.CLOSE_HELD_OUT),
        set(make_links.POPULAR_FRESH) | set(make_links.CLOSE_FRESH),
    ]
    assert not groups[0] & groups[1]
    assert not groups[0] & groups[2]
    assert not groups[1] & groups[2]
    fresh_brands = {c.domain for c in make_links.FRESH}
    assert not fresh_brands & (groups[0] | groups[1])


def test_a_small_run_scores() -> None:
    _, rows = load()
    sample = [r for r in rows if r.split == "dev"][:60]
    scores = score(sample, shopshield_detector())
    assert scores.official_rate == 1.0
