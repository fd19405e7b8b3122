"""Messages: every template for every event in both languages, scanned for full values; the
anti-scam line and the anti-phishing code in every one; SMS segments counted right; a missing
variable fails with a reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shopshield.core.errors import InvalidInput
from shopshield.notify.catalogue import CATALOGUE, Channel, Details, Event, parse_details
from shopshield.notify.messages import Audience, Email, Language, Push, Renderer, RenderFailed, Sms, sms_segments
from tests.support.notify_samples import ALL_DETAILS, FULL_VALUES, details_for, required_only

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# 06:30 UTC: 14:30 in Beijing, 01:30 in New York (EST).
AT = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
ANTISCAM = {
    Language.ZH_CN: "本店不会索要银行卡号、身份证号或短信验证码，退款只在本店App内办理。",
    Language.EN: ("We never ask for bank card or ID numbers or SMS codes; refunds happen only in our app."),
}
# The longest codes a customer may set: twelve Han characters, or twelve ASCII letters.
HAN_CODE = "春眠不觉晓处处闻啼鸟夜来风"[:12]
ASCII_CODE = "BlueFoxBlueF"
BRANDS = {Language.ZH_CN: "示例商城", Language.EN: "Example Shop"}


@pytest.fixture(scope="module")
def renderers() -> dict[Language, Renderer]:
    return {language: Renderer(brand) for language, brand in BRANDS.items()}


def texts(message: Sms | Email | Push) -> list[str]:
    match message:
        case Sms():
            return [message.body]
        case Email():
            return [message.subject, message.text]
        case Push():
            return [message.title, message.body]


def body(message: Sms | Email | Push) -> str:
    return texts(message)[-1]


CASES = [(lang, event, channel) for lang in Language for event in Event for channel in Channel]


@pytest.mark.parametrize(("language", "event", "channel"), CASES)
def test_every_message_carries_the_code_the_anti_scam_line_and_no_full_value(
    renderers: dict[Language, Renderer], language: Language, event: Event, channel: Channel
) -> None:
    renderer = renderers[language]
    for code in (HAN_CODE, ASCII_CODE, None):
        for details in (details_for(event), required_only(event)):
            for zone in (SHANGHAI, NEW_YORK):
                message = renderer.render(channel, event, details, AT, Audience(language, zone, code))
                everything = "\n".join(texts(message))
                for value in FULL_VALUES:
                    assert value not in everything, (event, channel, language)
                assert ANTISCAM[language] in body(message)
                assert renderer.brand in texts(message)[0]
                if code is not None:
                    assert code in body(message)
                assert "None" not in everything
                assert "{" not in everything and "}" not in everything
                if isinstance(message, Sms | Push):
                    assert not any("\n" in text for text in texts(message))


@pytest.mark.parametrize("event", list(Event))
def test_the_masked_reference_and_the_time_are_in_the_message(
    renderers: dict[Language, Renderer], event: Event
) -> None:
    details = details_for(event)
    zh = renderers[Language.ZH_CN].email(event, details, AT, Audience(Language.ZH_CN, SHANGHAI, None))
    en = renderers[Language.EN].email(event, details, AT, Audience(Language.EN, NEW_YORK, None))
    assert "2026年12月5日 14:30（北京时间）" in zh.text
    assert "5 Dec 2026, 01:30 (America/New_York, UTC-05:00)" in en.text
    for message in (zh, en):
        if "order_ref" in CATALOGUE[event].accepted:
            assert str(ALL_DETAILS["order_ref"]) in message.text
        if "mobile" in CATALOGUE[event].accepted:
            assert str(ALL_DETAILS["mobile"]) in message.text
    # A warning is about what may come, not about a moment; every other SMS says when.
    if event not in {Event.BREACH_WARNING, Event.SCAM_WARNING}:
        sms = renderers[Language.ZH_CN].sms(event, details, AT, Audience(Language.ZH_CN, SHANGHAI, None))
        assert "12月5日14:30" in sms.body
        sms = renderers[Language.EN].sms(event, details, AT, Audience(Language.EN, NEW_YORK, None))
        assert "5 Dec 01:30" in sms.body


def test_a_customer_without_a_code_is_told_how_to_set_one(renderers: dict[Language, Renderer]) -> None:
    details = details_for(Event.REFUND_ISSUED)
    zh = renderers[Language.ZH_CN]
    assert "尚未设置防伪码" in zh.email(Event.REFUND_ISSUED, details, AT, Audience(Language.ZH_CN, SHANGHAI, None)).text
    assert "防伪码" not in zh.sms(Event.REFUND_ISSUED, details, AT, Audience(Language.ZH_CN, SHANGHAI, None)).body
    assert "防伪码春眠" in zh.sms(Event.REFUND_ISSUED, details, AT, Audience(Language.ZH_CN, SHANGHAI, HAN_CODE)).body


@pytest.mark.parametrize("event", list(Event))
def test_sms_stay_within_two_segments_and_say_how_many(renderers: dict[Language, Renderer], event: Event) -> None:
    details = details_for(event)
    for code in (HAN_CODE, ASCII_CODE):
        zh = renderers[Language.ZH_CN].sms(event, details, AT, Audience(Language.ZH_CN, SHANGHAI, code))
        assert zh.encoding == "ucs2"
        # Chinese text: 70 characters in one segment, 67 in each part of a longer one.
        assert zh.segments == (1 if len(zh.body) <= 70 else math.ceil(len(zh.body) / 67))
        assert zh.segments <= 2, (event, len(zh.body))
    en = renderers[Language.EN].sms(event, details, AT, Audience(Language.EN, SHANGHAI, ASCII_CODE))
    if en.encoding == "gsm7":
        assert en.segments == (1 if len(en.body) <= 160 else math.ceil(len(en.body) / 153))
        assert en.segments <= 2, (event, len(en.body))
    else:  # a Chinese place or partner name makes English UCS-2 too
        assert en.segments == math.ceil(len(en.body) / 67)


def test_english_sms_with_only_latin_details_are_gsm7(renderers: dict[Language, Renderer]) -> None:
    details = parse_details(Event.DATA_EXPORTED, {"partner": "SF Express"})
    sms = renderers[Language.EN].sms(Event.DATA_EXPORTED, details, AT, Audience(Language.EN, SHANGHAI, ASCII_CODE))
    assert sms.encoding == "gsm7"


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "gsm7", 1),
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # extension characters take two septets
        ("€" * 81, "gsm7", 2),
        ("a" * 152 + "€" * 77, "gsm7", 3),  # 306 septets, but an escape pair is never split
        ("中" * 70, "ucs2", 1),
        ("中" * 71, "ucs2", 2),
        ("中" * 134, "ucs2", 2),
        ("中" * 135, "ucs2", 3),
        ("a" * 69 + "中", "ucs2", 1),  # one Chinese character makes the whole message UCS-2
        ("a" * 160 + "中", "ucs2", 3),
        ("😀" * 35, "ucs2", 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, "ucs2", 2),
        ("a" * 66 + "😀" * 34, "ucs2", 3),  # 134 units, but a surrogate pair is never split
    ],
)
def test_segments_are_counted_as_phones_count_them(text: str, encoding: str, segments: int) -> None:
    assert sms_segments(text) == (encoding, segments)


def test_a_missing_variable_fails_with_a_reason(renderers: dict[Language, Renderer]) -> None:
    audience = Audience(Language.ZH_CN, SHANGHAI, None)
    with pytest.raises(RenderFailed) as caught:
        renderers[Language.ZH_CN].sms(Event.REFUND_ISSUED, Details(), AT, audience)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.field == "details"
    assert "zh-CN/refund.issued.j2" in caught.value.message
    assert "'order_ref' is undefined" in caught.value.message


def test_the_templates_run_in_the_immutable_sandbox(renderers: dict[Language, Renderer]) -> None:
    env = renderers[Language.EN].environment
    assert isinstance(env, ImmutableSandboxedEnvironment)
    with pytest.raises(SecurityError):
        env.from_string("{{ brand.__class__.__mro__ }}").render(brand="x")
    with pytest.raises(SecurityError):
        env.from_string("{% set x = [] %}{{ x.append(1) }}").render()


def test_there_is_a_template_for_every_event_in_every_language() -> None:
    root = resources.files("shopshield.notify") / "templates"
    layouts = {"antiscam.j2", "sms.j2", "email_subject.j2", "email_text.j2", "push_title.j2", "push_body.j2"}
    for language in Language:
        names = {entry.name for entry in (root / str(language)).iterdir()}
        assert names == layouts | {f"{event}.j2" for event in Event}


def test_a_brand_must_be_short_and_no_personal_value() -> None:
    with pytest.raises(ValueError, match="brand"):
        Renderer("13812345678")
    with pytest.raises(ValueError, match="brand"):
        Renderer("An Exceedingly Long Store")


def test_a_role_or_purpose_code_the_store_did_not_word_is_never_shown(renderers: dict[Language, Renderer]) -> None:
    # Roles and purposes are shown in words; a code without words (an actor id passed by mistake)
    # becomes the generic word, so an agent's id never reaches the customer.
    details = parse_details(Event.DATA_REVEALED, {"role": "staff_0417", "purpose": "agent_0417", "fields": ["mobile"]})
    for language, generic in ((Language.ZH_CN, "工作人员"), (Language.EN, "A member of staff")):
        email = renderers[language].email(Event.DATA_REVEALED, details, AT, Audience(language, SHANGHAI, None))
        assert "0417" not in email.text
        assert generic in email.text
