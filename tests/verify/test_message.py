"""The message checker on messages in the 2016 report's style and the store's own (verify/message.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopshield.verify.message import (
    MAX_MESSAGE_CHARS,
    MessageTooLong,
    check_message,
    extract_links,
    extract_numbers,
)
from shopshield.verify.official import Official

JUMEI = Official.of(["jumei.com"], ["聚美优品"])
PHONES = ["400-123-4567", "95588"]


def codes(text: str, **kw: list[str]) -> tuple[str, set[str]]:
    found = check_message(text, JUMEI, phones=kw.get("phones", PHONES), payee_accounts=kw.get("accounts", []))
    return found.verdict, {r.code for r in found.reasons}


def test_the_fake_refund_message_is_a_likely_scam_with_every_reason() -> None:
    verdict, found = codes(
        "【聚美优品】您好，您的退货订单出现异常，退款失败，请立即登录 http://refund.jumei-help.com.cn/login "
        "填写银行卡号和身份证号，并告知验证码完成退款。客服电话：020-3712 8846"
    )
    assert verdict == "scam_likely"
    assert {
        "link_lookalike",
        "refund_problem",
        "login_link",
        "card_request",
        "id_request",
        "code_request",
        "service_claim",
        "urgency",
        "number_not_official",
    } <= found


def test_the_same_in_english() -> None:
    verdict, found = codes(
        "Customer service: there is a problem with your refund. Log in at jumei-refund.top within 24 hours and "
        "enter your card number and the SMS code we send you."
    )
    assert verdict == "scam_likely"
    assert {"link_lookalike", "refund_problem", "card_request", "code_request", "urgency", "login_link"} <= found


def test_the_store_s_own_one_time_code_message_shows_no_signs() -> None:
    verdict, found = codes("【聚美优品】您的验证码是 482913，5分钟内有效，请勿泄露给他人。")
    assert verdict == "no_signs"
    assert "code_request" not in found


def test_an_official_link_and_number_show_no_signs() -> None:
    verdict, found = codes("您的退款已到账，详情见 https://www.jumei.com/orders ，如有疑问请致电 400-123-4567。")
    assert verdict == "no_signs"
    assert {"link_official", "number_official", "no_signs"} <= found


def test_a_request_to_move_money_to_another_account() -> None:
    verdict, found = codes(
        "请将款项转入安全账户 6222 0202 0000 1234 567，否则订单将冻结", accounts=["6222000011112222"]
    )
    assert verdict == "scam_likely"
    assert {"account_not_official", "payment_request"} <= found


def test_a_refund_story_with_an_unknown_number_is_suspicious() -> None:
    verdict, _ = codes("亲，退款异常，请联系客服 138-1234-5678")
    assert verdict == "suspicious"


def test_links_are_found_with_full_width_punctuation_and_glued_to_chinese() -> None:
    verdict, found = codes("访问ｊｕｍｅｉ－ｋｅｆｕ．ｔｏｐ办理")
    assert verdict == "scam_likely" and "link_lookalike" in found
    assert [u for u, _ in extract_links("见jumei.com。谢谢 and hxxp://x.top/a, mail a@b.com, pi 3.14")] == [
        "jumei.com",
        "hxxp://x.top/a",
    ]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("电话13812345678", ["mobile"]),
        ("+86 138-1234-5678", ["mobile"]),
        ("0086 13812345678", ["mobile"]),
        ("400-123-4567 或 800 123 4567", ["service", "service"]),
        ("95588", ["service"]),
        ("020-3712 8846", ["landline"]),
        ("+86 20 3712 8846", ["landline"]),
        ("10690000123", ["sms_sender"]),
        ("卡号 6222 0202 0000 1234 567", ["account"]),
        ("金额 47200 元，验证码 482913", []),
    ],
)
def test_numbers_in_the_forms_people_write_them(text: str, kinds: list[str]) -> None:
    assert [kind for kind, _ in extract_numbers(text)] == kinds


def test_a_huge_message_is_refused_with_its_limit() -> None:
    with pytest.raises(MessageTooLong, match="10,000"):
        check_message("退" * (MAX_MESSAGE_CHARS + 1), JUMEI)


def test_answers_name_kinds_not_values() -> None:
    found = check_message("拨打 13812345678，卡号 6222020200001234567", JUMEI).as_json()
    assert "13812345678" not in str(found) and "6222020200001234567" not in str(found)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_the_message_checker_never_raises(text: str) -> None:
    assert check_message(text, JUMEI).verdict in {"scam_likely", "suspicious", "no_signs"}
