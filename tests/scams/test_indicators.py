"""Scammer indicators: one spelling per number, domain and account; nothing that links unrelated scams."""

from __future__ import annotations

import pytest

from shopshield.scams.indicators import (
    Indicator,
    contact_indicator,
    link_indicator,
    payee_indicator,
    phone_number,
    registered_domain,
)


@pytest.mark.parametrize(
    ("spelling", "number"),
    [
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width, as Chinese input methods type it
        ("+86 20 3712 8846", "02037128846"),
        ("020-3712-8846", "02037128846"),
        ("(020) 37128846", "02037128846"),
        ("+1 415 555 0100", "+14155550100"),
        ("95188", "95188"),
        ("10690000", "10690000"),
    ],
)
def test_each_spelling_of_a_number_is_one_number(spelling: str, number: str) -> None:
    assert phone_number(spelling) == number


def test_callers_without_digits_and_placeholders_link_nothing() -> None:
    assert contact_indicator("call", "unknown") is None
    assert contact_indicator("call", "隐藏号码") is None
    assert contact_indicator("sms", "未知") is None
    assert contact_indicator("im", "N/A") is None


def test_senders_and_handles_are_compared_without_case_or_extra_spaces() -> None:
    assert contact_indicator("sms", "JD  Refund") == Indicator("sms_sender", "jd refund")
    assert contact_indicator("sms", "+86 138 1234 5678") == Indicator("phone", "13812345678")
    assert contact_indicator("im", "QQ:Refund_Help") == Indicator("handle", "qq:refund_help")
    assert contact_indicator("call", "020-3712 8846") == contact_indicator("sms", "+862037128846")


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("a.b.example.com.cn", "example.com.cn"),
        ("example.com.cn", "example.com.cn"),
        ("www.example.com", "example.com"),
        ("EXAMPLE.com.", "example.com"),
        ("shop.example.co.uk", "example.co.uk"),
        ("refund.jumei.gd.cn", "jumei.gd.cn"),  # a provincial suffix, from the Public Suffix List
        ("shop.x.github.io", "x.github.io"),  # a private suffix: each user's site is its own
        ("refund.jd.zzzz", "jd.zzzz"),  # an ending the list does not know: the last two labels
        ("203.0.113.5", "203.0.113.5"),
        ("退款.例子.cn", "xn--fsqu00a.cn"),
        ("退款。例子。cn", "xn--fsqu00a.cn"),
    ],
)
def test_the_registered_domain_is_what_someone_registered(host: str, domain: str) -> None:
    assert registered_domain(host) == domain


def test_links_are_identified_by_domain_or_on_shorteners_by_the_whole_link() -> None:
    assert link_indicator("http://user@a.b.example.com.cn:8080/x?y=1") == Indicator("domain", "example.com.cn")
    assert link_indicator("refund.example.cn/login") == Indicator("domain", "example.cn")
    # "http://jumei.com@evil.cn" goes to evil.cn: the part before @ is only a user name.
    assert link_indicator("http://jumei.com@evil.cn/refund") == Indicator("domain", "evil.cn")
    assert link_indicator("https://t.cn/AbC12") == Indicator("link", "t.cn/AbC12")
    assert link_indicator("https://t.cn/AbC12") != link_indicator("https://t.cn/Zz999")


def test_payee_accounts_compare_by_digits_or_folded_names() -> None:
    assert payee_indicator("6222 0202-0000 1234") == Indicator("payee", "6222020200001234")
    assert payee_indicator("Hunan Tongxinyuan  Network\tTechnology") == payee_indicator(
        "hunan tongxinyuan network technology"
    )
    assert payee_indicator("unknown") is None
