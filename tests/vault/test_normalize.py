"""Tests for the normalisation and validation of personal identifiers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopshield.core.normalize import (
    InvalidIdentifier,
    id_number_check_char,
    normalize_email,
    normalize_id_number,
    normalize_mobile,
    normalize_name,
)

# No deadline: the first example pays for compiling regex strategies, and shared CI runners stall.
_property = settings(deadline=None)

Normalizer = Callable[[str], str]


def _reject(normalize: Normalizer, raw: str, field: str, reason_part: str) -> InvalidIdentifier:
    """Assert that ``raw`` is refused for ``reason_part`` and that the message does not echo it."""
    with pytest.raises(InvalidIdentifier) as caught:
        normalize(raw)
    error = caught.value
    assert error.field == field
    assert reason_part in error.reason
    assert str(error) == f"{field}: {error.reason}"
    _assert_not_leaked(str(error), raw)
    return error


def _assert_not_leaked(message: str, raw: str) -> None:
    core = raw.strip()
    # Very short fragments ("a", "@") can occur in any sentence; they identify no one.
    if len(core) >= 4:
        assert core not in message
    digits = "".join(char for char in raw if char.isdigit())
    if len(digits) >= 6:
        assert digits not in message


def _id_number(region: str = "110105", birth: str = "19491231", sequence: str = "002") -> str:
    first17 = region + birth + sequence
    return first17 + id_number_check_char(first17)


# InvalidIdentifier ------------------------------------------------------------------------------


def test_invalid_identifier_is_a_value_error_carrying_field_and_reason() -> None:
    error = InvalidIdentifier("mobile", "must be a mobile number")
    assert isinstance(error, ValueError)
    assert error.field == "mobile"
    assert error.reason == "must be a mobile number"
    assert str(error) == "mobile: must be a mobile number"


def test_mobile_message_matches_the_documented_wording() -> None:
    error = _reject(normalize_mobile, "12345", "mobile", "Chinese mobile")
    assert str(error) == (
        "mobile: must be a Chinese mobile number (11 digits starting with 1) or an E.164 number starting with +"
    )


# Mobile numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "86 13812345678",
        "8613812345678",
        "+86-138-1234-5678",
        "+8613812345678",
        "(+86) 138.1234.5678",
        "138 1234 5678",
        "138-1234-5678",
        "  13812345678\t",
        "１３８１２３４５６７８",  # full-width digits from a Chinese input method
        "＋８６ １３８ １２３４ ５６７８",
    ],
)
def test_chinese_mobile_spellings_normalise_to_eleven_digits(raw: str) -> None:
    assert normalize_mobile(raw) == "13812345678"


@pytest.mark.parametrize("second_digit", "3456789")
def test_every_valid_second_digit_is_accepted(second_digit: str) -> None:
    number = f"1{second_digit}912345678"
    assert normalize_mobile(number) == number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+49.151.2345.6789", "+4915123456789"),
        ("+12345678", "+12345678"),  # 8 digits, the shortest accepted
        ("+123456789012345", "+123456789012345"),  # 15 digits, the E.164 maximum
    ],
)
def test_international_numbers_normalise_to_e164(raw: str, expected: str) -> None:
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "12812345678",  # second digit 2 is not a mobile prefix
        "10812345678",
        "23812345678",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "861381234567",  # 86 prefix but only 10 digits after it
        "86138123456789",
        "008613812345",
        "+1234567",  # 7 digits
        "+1234567890123456",  # 16 digits
        "+0123456789",  # country codes never start with 0
        "0044 7700 900123",  # only 0086 is accepted as an international prefix
        "447700900123",  # foreign numbers need the +
        "++8613812345678",
        "13812345678+",
        "138-1234-567a",
        "tel:13812345678",
        "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits are not folded by NFKC
        "138\u00a01234\u00a05678\u00a0x",
    ],
)
def test_malformed_mobiles_are_rejected_without_echoing_them(raw: str) -> None:
    _reject(normalize_mobile, raw, "mobile", "Chinese mobile number")


@pytest.mark.parametrize("raw", ["+86 10 1234 5678", "+86 755 8888 6666", "+8612812345678"])
def test_chinese_landlines_are_rejected(raw: str) -> None:
    _reject(normalize_mobile, raw, "mobile", "+86 number must be a Chinese mobile")


_cn_mobiles = st.from_regex(r"\A1[3-9][0-9]{9}\Z")
_separators = st.sampled_from(["", " ", "-", ".", " - "])


@_property
@given(
    number=_cn_mobiles,
    prefix=st.sampled_from(["", "+86", "0086", "86", "+86 ", "0086-", "(+86)"]),
    separator=_separators,
)
def test_any_spelling_of_a_chinese_mobile_normalises_to_it(number: str, prefix: str, separator: str) -> None:
    spelled = prefix + separator.join([number[:3], number[3:7], number[7:]])
    assert normalize_mobile(spelled) == number


@_property
@given(digits=st.from_regex(r"\A[1-9][0-9]{7,14}\Z"))
def test_normalised_mobiles_are_fixed_points(digits: str) -> None:
    try:
        once = normalize_mobile("+" + digits)
    except InvalidIdentifier:
        assert digits.startswith("86")
        return
    assert normalize_mobile(once) == once


# E-mail addresses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("liujie@example.cn", "liujie@example.cn"),
        ("  LiuJie@Example.CN \n", "liujie@example.cn"),
        ("a.b+tag@mail.sub.example.com", "a.b+tag@mail.sub.example.com"),
        ("x@y.z", "x@y.z"),
        ("刘杰@例子.中国", "刘杰@例子.中国"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


def test_email_of_254_characters_is_accepted() -> None:
    address = "a" * 64 + "@" + "b" * 185 + ".com"
    assert len(address) == 254
    assert normalize_email(address) == address


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("a" * 64 + "@" + "b" * 186 + ".com", "at most 254"),
        ("liu jie@example.cn", "whitespace"),
        ("liujie@exam\tple.cn", "whitespace"),
        ("liujie@example.cn\x00", "control"),
        ("liujie\u3000x@example.cn", "whitespace"),
        ("liujie.example.cn", "exactly one @"),
        ("liujie@@example.cn", "exactly one @"),
        ("liu@jie@example.cn", "exactly one @"),
        ("@example.cn", "before the @"),
        ("liujie@localhost", "dot"),
        ("liujie@", "dot"),
        ("liujie@.example.cn", "empty labels"),
        ("liujie@example.cn.", "empty labels"),
        ("liujie@example..cn", "empty labels"),
    ],
)
def test_malformed_emails_are_rejected_without_echoing_them(raw: str, reason_part: str) -> None:
    _reject(normalize_email, raw, "email", reason_part)


@_property
@given(local=st.from_regex(r"\A[a-zA-Z0-9._+-]{1,40}\Z"), domain=st.from_regex(r"\A[a-z0-9]{1,20}\.[a-z]{2,6}\Z"))
def test_valid_emails_round_trip_lower_cased(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert normalize_email(f" {address.upper()} ") == address.lower()
    assert normalize_email(address.lower()) == address.lower()


# Chinese resident identity numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        ("11010519491231002", "X"),  # the worked example of GB 11643-1999
        ("44030819900101001", id_number_check_char("44030819900101001")),
        ("11010119900307123", "3"),
        ("00000000000000000", "1"),  # weighted sum 0 maps to "1"
    ],
)
def test_check_char_follows_iso_7064_mod_11_2(first17: str, expected: str) -> None:
    assert id_number_check_char(first17) == expected


@_property
@given(first17=st.from_regex(r"\A[0-9]{17}\Z"))
def test_check_char_matches_an_independent_computation(first17: str) -> None:
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # the standard's definition of the weights
    remainder = sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11
    value = (12 - remainder) % 11
    assert id_number_check_char(first17) == ("X" if value == 10 else str(value))


@pytest.mark.parametrize("first17", ["", "1101051949123100", "110105194912310021", "1101051949123100X", "abc"])
def test_check_char_needs_exactly_17_digits(first17: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        id_number_check_char(first17)
    assert caught.value.field == "id_number"
    _assert_not_leaked(str(caught.value), first17)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("  11010519491231002x ", "11010519491231002X"),
        ("110105 19491231 002X", "110105 19491231 002X".replace(" ", "")),
        ("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),  # full-width input
        (_id_number(birth="19000101"), _id_number(birth="19000101")),
        (_id_number(birth="20000229"), _id_number(birth="20000229")),
    ],
)
def test_valid_id_numbers_are_normalised(raw: str, expected: str) -> None:
    assert normalize_id_number(raw) == expected


def test_id_number_born_today_is_accepted() -> None:
    value = _id_number(birth=date.today().strftime("%Y%m%d"))
    assert normalize_id_number(value) == value


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "11010519491231002", "11010519491231002XX", "110105194912310021X", "11010549123100"],
)
def test_id_numbers_of_the_wrong_length_are_rejected(raw: str) -> None:
    _reject(normalize_id_number, raw, "id_number", "length")


@pytest.mark.parametrize(
    "raw",
    [
        "X1010519491231002X",
        "1101051949123100X2",
        "11010519491231A02X",
        "11010519491231002Y",
        "-1010519491231002X",
    ],
)
def test_id_numbers_with_wrong_characters_are_rejected(raw: str) -> None:
    _reject(normalize_id_number, raw, "id_number", "17 digits followed by a digit or X")


@pytest.mark.parametrize("raw", ["110105194912310021", "110105194912310020", "11010519491231003X"])
def test_id_numbers_with_a_wrong_check_char_are_rejected(raw: str) -> None:
    _reject(normalize_id_number, raw, "id_number", "checksum")


@pytest.mark.parametrize("birth", ["19900230", "19901301", "19900001", "19900100", "19000229", "20230229"])
def test_id_numbers_with_impossible_birth_dates_are_rejected(birth: str) -> None:
    _reject(normalize_id_number, _id_number(birth=birth), "id_number", "birth date")


def test_id_numbers_born_before_1900_are_rejected() -> None:
    _reject(normalize_id_number, _id_number(birth="18991231"), "id_number", "between 1900-01-01 and today")


def test_id_numbers_born_in_the_future_are_rejected() -> None:
    # Two days ahead so that a test run straddling midnight cannot make the date valid.
    future = (date.today() + timedelta(days=2)).strftime("%Y%m%d")
    _reject(normalize_id_number, _id_number(birth=future), "id_number", "between 1900-01-01 and today")


@_property
@given(
    region=st.from_regex(r"\A[1-9][0-9]{5}\Z"),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date.today()),
    sequence=st.from_regex(r"\A[0-9]{3}\Z"),
    lower_x=st.booleans(),
)
def test_any_17_digits_with_their_check_char_round_trip(region: str, birth: date, sequence: str, lower_x: bool) -> None:
    first17 = region + birth.strftime("%Y%m%d") + sequence
    value = first17 + id_number_check_char(first17)
    spelled = value[:-1] + "x" if lower_x and value.endswith("X") else value
    assert normalize_id_number(spelled) == value


@_property
@given(
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date.today()),
    position=st.integers(min_value=0, max_value=16),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_breaks_the_checksum(birth: date, position: int, shift: int) -> None:
    value = _id_number(birth=birth.strftime("%Y%m%d"))
    changed_digit = str((int(value[position]) + shift) % 10)
    altered = value[:position] + changed_digit + value[position + 1 :]
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_id_number(altered)
    # The checksum is tested before the birth date, so an altered date digit is also a checksum failure.
    assert "checksum" in caught.value.reason
    _assert_not_leaked(str(caught.value), altered)


# Names ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("刘小明", "刘小明"),
        ("  刘小明  ", "刘小明"),
        ("Alice   Smith", "Alice Smith"),
        ("\tAlice\n\nSmith\r\n", "Alice Smith"),
        ("Alice\u3000Smith", "Alice Smith"),  # ideographic space
        ("Jose\u0301", "José"),  # decomposed accent composes under NFC
        ("买买提·艾力", "买买提·艾力"),
        ("X", "X"),
    ],
)
def test_names_are_trimmed_collapsed_and_nfc(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_name_of_100_characters_is_accepted() -> None:
    assert normalize_name("  " + "a" * 100 + "  ") == "a" * 100


def test_name_length_is_counted_after_nfc() -> None:
    # 99 letters plus e + combining acute: 101 code points in, 100 after composition.
    raw = "a" * 99 + "e\u0301"
    assert normalize_name(raw) == "a" * 99 + "é"


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        ("", "must not be empty"),
        ("  \t\n ", "must not be empty"),
        ("a" * 101, "at most 100"),
        ("Alice\x00Smith", "control"),
        ("Alice\x07", "control"),
        ("\x1bAlice Smith", "control"),
        ("Alice\x7fSmith", "control"),
        ("Alice\x85Smith", "control"),
        ("Alice\x1fSmith", "control"),
        ("Ali\u202ece Smith", "control"),  # right-to-left override
        ("Alice\u2066Smith", "control"),
        ("Alice\ud800Smith", "control"),  # lone surrogate
    ],
)
def test_invalid_names_are_rejected_without_echoing_them(raw: str, reason_part: str) -> None:
    _reject(normalize_name, raw, "name", reason_part)


@_property
@given(raw=st.text(max_size=120))
def test_normalised_names_are_canonical_and_fixed_points(raw: str) -> None:
    try:
        name = normalize_name(raw)
    except InvalidIdentifier:
        return
    assert 1 <= len(name) <= 100
    assert name == name.strip()
    assert "  " not in name
    assert normalize_name(name) == name


# No normaliser echoes its input -----------------------------------------------------------------

_secrets = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789", min_size=8, max_size=30)


@_property
@given(
    secret=_secrets,
    normalize=st.sampled_from([normalize_mobile, normalize_email, normalize_id_number, normalize_name]),
    shape=st.sampled_from(["{}", "+{}", "{}@", "@{}", "{}@nodot", "{}@a..b", "{} x@a.cn", "{}\x00", "{}" * 30]),
)
def test_rejections_never_contain_the_input(secret: str, normalize: Normalizer, shape: str) -> None:
    raw = shape.replace("{}", secret)
    try:
        normalize(raw)
    except InvalidIdentifier as error:
        message = str(error)
    else:
        return
    assert secret not in message
    assert raw not in message
