"""The normalisers of official channel values, without a database: every spelling of one number
or domain is one value, and what cannot be one is refused with the rule, never the value."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopshield.channels import numbers
from shopshield.channels.numbers import Kind
from shopshield.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８－１２３４－５６７８", "13812345678"),  # full-width digits and dash from an input method
        ("（０１０）１２３４５６７８", "01012345678"),  # full-width brackets
        ("010-12345678", "01012345678"),
        ("+86 10 12345678", "01012345678"),  # dialled from abroad, without the trunk 0
        ("0755-1234567", "07551234567"),
        ("0755 12345678", "075512345678"),
        ("+86 755 8888 6666", "075588886666"),
        ("400-820-1234", "4008201234"),
        ("400 820 1234", "4008201234"),
        ("800.820.1234", "8008201234"),
        ("95588", "95588"),
        ("95 118", "95118"),
        ("10086", "10086"),
        ("+44 20 7946 0958", "+442079460958"),
        ("001 212 555 0100", "+12125550100"),
    ],
)
def test_every_spelling_of_a_number_is_one_value(raw: str, expected: str) -> None:
    assert numbers.phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "abc", "138-1234-567", "1381234567890", "0123", "+86", "+0 123", "138 1234 5678 ext 2", "٣٨١٢٣٤٥٦٧٨١"],
)
def test_what_cannot_be_a_number_is_refused_with_the_rule(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        numbers.phone(raw)
    assert refused.value.field == "value"
    assert "Chinese mobile" in refused.value.message
    if raw.strip():
        assert raw.strip() not in refused.value.message


def test_a_106_number_is_pointed_to_the_sender_kind() -> None:
    with pytest.raises(InvalidInput, match="sms_sender"):
        numbers.phone("1069 0000 8888")
    assert numbers.sms_sender("1069 0000 8888") == "106900008888"
    assert numbers.sms_sender("+86 95588") == "95588"
    with pytest.raises(InvalidInput, match="SMS sender id"):
        numbers.sms_sender("13812345678")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("https://www.example.com/", "www.example.com"),
        ("www.example.com.", "www.example.com"),
        ("例子。中国", "xn--fsqu00a.xn--fiqs8s"),  # an ideographic dot, IDNA-encoded
        ("京东.com", "xn--xhq9m.com"),
    ],
)
def test_domains_are_lower_case_idna_without_scheme(raw: str, expected: str) -> None:
    assert numbers.domain(raw) == expected


@pytest.mark.parametrize(
    "raw", ["example", "example.com/login", "user@example.com", "example.com:8080", "-bad.com", "1.2.3.4", "a b.com"]
)
def test_a_domain_with_more_than_a_name_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="domain name only"):
        numbers.domain(raw)


def test_email_domains_payees_and_brands() -> None:
    assert numbers.email_domain("@Mail.Example.cn") == "mail.example.cn"
    assert numbers.sender_address_domain("客服 <KeFu@mail.example.cn>") == "mail.example.cn"
    with pytest.raises(InvalidInput, match="e-mail address"):
        numbers.sender_address_domain("mail.example.cn")
    assert numbers.payee_account("1100 2233-4455 ab") == "110022334455AB"
    with pytest.raises(InvalidInput, match="letters and digits"):
        numbers.payee_account("张三")
    assert numbers.brand_name("  示例商城   Example  ") == "示例商城 example"
    with pytest.raises(InvalidInput, match="Chinese characters"):
        numbers.brand_name("ехаmple")  # Cyrillic е and х: a homoglyph of a Latin brand
    assert numbers.within("notice.mail.example.cn", "mail.example.cn")
    assert not numbers.within("evilmail.example.cn", "mail.example.cn")


def test_input_longer_than_anyone_types_is_refused_before_any_work() -> None:
    for kind in Kind:
        with pytest.raises(InvalidInput, match="at most 300"):
            numbers.normalize(kind, "1" * 10_000)


SEPARATORS = st.sampled_from(["", " ", "-", ".", "  ", "\u3000", "－", "\u2010"])


@st.composite
def mobile_spellings(draw: st.DrawFn) -> tuple[str, str]:
    digits = draw(st.sampled_from("3456789")) + "".join(
        draw(st.lists(st.sampled_from("0123456789"), min_size=9, max_size=9))
    )
    number = f"1{digits}"
    groups = [number[:3], number[3:7], number[7:]]
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "86", "+86-"]))
    text = prefix + draw(SEPARATORS).join(groups)
    if draw(st.booleans()):
        text = text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789+-"})  # full width
    return text, number


@settings(max_examples=300, deadline=None)
@given(mobile_spellings())
def test_property_any_spelling_of_a_mobile_normalises_to_its_11_digits(spelled: tuple[str, str]) -> None:
    text, number = spelled
    assert numbers.phone(text) == number
    assert numbers.phone(numbers.phone(text)) == number  # idempotent


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_property_any_text_is_a_number_or_a_refusal_naming_no_value(text: str) -> None:
    for kind in Kind:
        refusal: InvalidInput | None = None
        try:
            value = numbers.normalize(kind, text)
        except InvalidInput as refused:
            refusal = refused
        if refusal is not None:
            assert refusal.field == "value"
            assert refusal.message.startswith("value:")
            continue
        # Whatever is accepted is already in its one spelling.
        assert numbers.normalize(kind, value) == value
