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
    assert not set(meta["dev"]) & set(meta["held_out"])
    for row in rows:
        assert row.brand in meta[row.split]
        assert row.official == (row.brand,)
    assert {r.label for r in rows} == {"official", "lookalike", "unrelated"}


def test_a_small_run_scores() -> None:
    _, rows = load()
    sample = [r for r in rows if r.split == "dev"][:60]
    scores = score(sample, shopshield_detector())
    assert scores.official_rate == 1.0
