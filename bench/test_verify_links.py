"""The link benchmark's data: the committed file is what its generator makes, and the split is by brand."""

from __future__ import annotations

import hashlib

import orjson

from bench.data import make_links
from bench.verify_links import DATA, load, score, shopshield_detector

EARLIER_ROWS_SHA256 = "2cc5024e562ed9260e9fd47052aeee19db9e99c4edbc2e64d26be7b9bda3f570"


def test_the_committed_set_is_what_the_generator_makes() -> None:
    committed = [orjson.loads(line) for line in DATA.read_bytes().splitlines()[1:]]
    assert committed == make_links.rows()


def test_the_split_is_by_brand_and_recorded_in_the_file() -> None:
    meta, rows = load()
    assert meta["split_by"] == "brand"
    splits = ("dev", "held_out", "fresh", "fresh2")
    for i, first in enumerate(splits):
        for second in splits[i + 1 :]:
            assert not set(meta[first]) & set(meta[second]), (first, second)
    assert {r.split for r in rows} == set(splits)
    for row in rows:
        assert row.brand in meta[row.split]
        assert row.official == (row.brand,)
    assert {r.label for r in rows} == {"official", "lookalike", "unrelated"}


def test_the_unrelated_domains_of_the_splits_do_not_overlap() -> None:
    """A close or popular domain is used in one split only, so each later split's are unseen."""
    groups = [
        set(make_links.POPULAR_DEV) | set(make_links.CLOSE_DEV) | set(make_links.CLOSE_DEV_MORE),
        set(make_links.POPULAR_HELD_OUT) | set(make_links.CLOSE_HELD_OUT),
        set(make_links.POPULAR_FRESH) | set(make_links.CLOSE_FRESH),
        set(make_links.POPULAR_FRESH2) | set(make_links.CLOSE_FRESH2),
    ]
    for i, first in enumerate(groups):
        for second in groups[i + 1 :]:
            assert not first & second
    fresh_brands = {c.domain for c in make_links.FRESH}
    assert not fresh_brands & (groups[0] | groups[1])
    earlier_brands = {c.domain for c in make_links.DEV + make_links.HELD_OUT + make_links.FRESH}
    fresh2_brands = {c.domain for c in make_links.FRESH2}
    assert not fresh2_brands & (groups[0] | groups[1] | groups[2] | groups[3] | earlier_brands)


def test_the_earlier_splits_rows_are_unchanged_by_the_later_ones() -> None:
    """Each later split draws from its own generator: the rows before it are as they were."""
    made = make_links.rows()
    splits = [r["split"] for r in made]
    assert splits == sorted(splits, key=("dev", "held_out", "fresh", "fresh2").index)
    earlier = b"\n".join(orjson.dumps(r) for r in made if r["split"] != "fresh2")
    # The 3,062 rows of dev, held_out and fresh as committed before fresh2 was added.
    assert hashlib.sha256(earlier).hexdigest() == EARLIER_ROWS_SHA256


def test_a_small_run_scores() -> None:
    _, rows = load()
    sample = [r for r in rows if r.split == "dev"][:60]
    scores = score(sample, shopshield_detector())
    assert scores.official_rate == 1.0


def test_the_common_word_threshold_costs_development_nothing() -> None:
    """The threshold was set on dev (decision 0030, revised again 2026-12-05): at it, no dev
    lookalike is lost and no one-slip typo of a dev brand counts as a word."""
    from bench.verify_links import word_threshold_curve
    from shopshield.verify.words import COMMON_WORD_ZIPF

    curve = {threshold: rest for threshold, *rest in word_threshold_curve("dev")}
    lost, _saved, as_words, slips = curve[COMMON_WORD_ZIPF]
    assert lost == 0
    assert as_words == 0
    assert slips > 800
    # Lower, the brands' own misspellings (amazin, mazon) start to count as words.
    assert curve[1.5][0] > 0
    assert curve[1.5][2] > 0
