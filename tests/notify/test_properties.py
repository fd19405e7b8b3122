"""Properties over generated input: what the rules promise for every value, not only the examples."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopshield.core import ids
from shopshield.core.errors import InvalidInput
from shopshield.notify.antiphishing import MAX_LENGTH, MIN_LENGTH, normalize_code
from shopshield.notify.catalogue import Event, parse_details
from shopshield.notify.messages import sms_segments

# Digits, separators and letters in the proportions that make mobiles, ID and card numbers likely.
digits_and_more = st.text(alphabet="0123456789 -+xX@.abc中", min_size=0, max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_a_normalised_code_is_a_fixed_point(raw: str) -> None:
    refused: InvalidInput | None = None
    try:
        code = normalize_code(raw)
    except InvalidInput as caught:
        refused = caught
    if refused is not None:
        assert refused.field == "code"
        return
    assert normalize_code(code) == code
    assert MIN_LENGTH <= len(code) <= MAX_LENGTH
    assert ids.personal_kind(code) is None


@settings(max_examples=300, deadline=None)
@given(digits_and_more)
def test_no_personal_value_passes_as_a_device(raw: str) -> None:
    refused: InvalidInput | None = None
    try:
        details = parse_details(Event.LOGIN_NEW_DEVICE, {"device": raw})
    except InvalidInput as caught:
        refused = caught
    if refused is not None:
        assert refused.field == "details.device"
        return
    assert details.device is not None
    assert ids.personal_kind(details.device) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("a€中😀 "), max_size=400))
def test_segments_hold_the_text_and_waste_at_most_one_unit_per_part(text: str) -> None:
    encoding, segments = sms_segments(text)
    gsm = encoding == "gsm7"
    assert gsm == all(ch in "a€ " for ch in text)
    units = sum(2 if (ch == "€" if gsm else ord(ch) > 0xFFFF) else 1 for ch in text)
    single, part = (160, 153) if gsm else (70, 67)
    if units <= single:
        assert segments == 1
    else:
        # Never fewer parts than plain division, and a pair kept whole costs at most one unit a part.
        assert math.ceil(units / part) <= segments <= math.ceil(units / (part - 1))


@pytest.mark.parametrize("length", [MIN_LENGTH, MAX_LENGTH])
def test_the_bounds_are_inclusive(length: int) -> None:
    assert normalize_code("猫" * length) == "猫" * length
