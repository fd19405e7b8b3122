"""The anti-phishing code's rules: length, characters, normalisation, and nothing a leak holds."""

from __future__ import annotations

import pytest

from shopshield.core.errors import InvalidInput
from shopshield.notify.antiphishing import MAX_LENGTH, MIN_LENGTH, normalize_code
from tests.support.notify_samples import EMAIL, ID_NUMBER, MOBILE, NAME

PERSONAL = (NAME, MOBILE, EMAIL, ID_NUMBER)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("小猫钓鱼", "小猫钓鱼"),
        ("  BlueFox7 ", "BlueFox7"),
        ("ＢｌｕｅＦｏｘ７", "BlueFox7"),  # full-width, as Chinese input methods type it
        ("春天-2026", "春天-2026"),
        ("a_b_c_d", "a_b_c_d"),
        ("x" * MAX_LENGTH, "x" * MAX_LENGTH),
    ],
)
def test_good_codes_are_normalised(raw: str, stored: str) -> None:
    assert normalize_code(raw, personal=PERSONAL) == stored


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("abc", f"{MIN_LENGTH}-{MAX_LENGTH} characters"),
        ("x" * (MAX_LENGTH + 1), f"{MIN_LENGTH}-{MAX_LENGTH} characters"),
        ("blue fox", "only letters"),
        ("blue!fox", "only letters"),
        ("fox🦊fox", "only letters"),
        ("bluеfox", "only letters"),  # a Cyrillic е among Latin letters
        ("blue\u202efox", "only letters"),
        ("483920", "digits alone"),
        ("２０２６１２", "digits alone"),
    ],
)
def test_bad_codes_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_code(raw)
    assert caught.value.field == "code"
    assert reason in caught.value.message
    assert raw not in caught.value.message


def test_a_code_that_is_a_personal_value_is_refused() -> None:
    # 11 digits would fail "digits alone" first; a mobile with a letter beside it is still one.
    with pytest.raises(InvalidInput, match="mobile number"):
        normalize_code("a13812345678")


@pytest.mark.parametrize(
    "raw",
    [
        f"{NAME}的猫",
        f"cat{MOBILE[-4:]}",
        f"{ID_NUMBER[-4:]}dog",
        "LiuJie2026",
        "Alice99",
    ],
)
def test_a_code_built_from_the_customers_own_values_is_refused(raw: str) -> None:
    personal = (*PERSONAL, "Alice Smith")
    with pytest.raises(InvalidInput) as caught:
        normalize_code(raw, personal=personal)
    assert "leaked order data" in caught.value.message
    assert raw not in caught.value.message
    # Without the customer's values the same code is fine: the rule is about this customer.
    assert normalize_code(raw) == raw


def test_an_id_number_ending_in_x_is_a_fragment_with_its_x() -> None:
    with pytest.raises(InvalidInput):
        normalize_code("fox123x", personal=("11010119900307123X",))
