"""The lookalike generator: deterministic, every name one the checker catches (verify/lookalikes.py)."""

from __future__ import annotations

import pytest

from shopshield.verify.links import check_link
from shopshield.verify.lookalikes import FAMILIES, lookalikes
from shopshield.verify.official import Official


@pytest.mark.parametrize(
    ("domain", "brand"), [("jd.com", "京东"), ("amazon.com", None), ("jumei.com", "聚美优品"), ("ebay.com", None)]
)
def test_every_candidate_is_caught_by_the_checker(domain: str, brand: str | None) -> None:
    official = Official.of([domain], [brand] if brand else [])
    found = lookalikes(official)
    assert len(found) > 100
    assert {c.family for c in found} <= set(FAMILIES)
    missed = [c.domain for c in found if check_link(c.domain, official).verdict != "lookalike"]
    assert missed == []


def test_the_list_is_the_same_every_run_and_each_name_once() -> None:
    official = Official.of(["jd.com"], ["京东"])
    first, second = lookalikes(official), lookalikes(official)
    assert first == second
    assert len({c.domain for c in first}) == len(first)
    assert "jd.com" not in {c.domain for c in first}


def test_families_of_a_chinese_store_and_the_ascii_form() -> None:
    found = lookalikes(Official.of(["jd.com"], ["京东"]))
    families = {c.family for c in found}
    assert {"tld_swap", "brand_with_words", "official_in_subdomain", "brand_pinyin", "brand_chinese"} <= families
    # A two-letter brand gets no one-slip typos: each would be some other site's name.
    assert "typo" not in families
    chinese = next(c for c in found if c.family == "brand_chinese")
    assert chinese.ascii.startswith("xn--") and chinese.ascii.isascii()


def test_the_limit_cuts_the_list() -> None:
    assert len(lookalikes(Official.of(["amazon.com"]), limit=7)) == 7
