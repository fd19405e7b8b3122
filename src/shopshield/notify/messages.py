"""Customer messages rendered from templates, in Simplified Chinese and English, per channel.

Every message says what happened, when (in the customer's time zone), a masked reference where
the event has one, the customer's anti-phishing code when they set one, and always the anti-scam
line: the store never asks for bank card numbers, ID numbers or SMS verification codes, and
refunds happen only inside the store's own app. It never carries a full personal value or a
price: its only variable parts are the checked ``Details`` (catalogue.py), the time, the brand
and the code.

Templates live in ``templates/<language>/``: one per event (blocks ``title``, ``sms`` and
``what``) and one per channel part (``sms.j2``, ``email_subject.j2``, ``email_text.j2``,
``push_title.j2``, ``push_body.j2``), which place an event's rendered blocks and include the one
anti-scam line (``antiscam.j2``). They run in Jinja2's immutable sandbox with ``StrictUndefined``:
a template edited to reach for an attribute it should not, or for a variable nobody passes,
fails with a reason instead of rendering a message with a hole in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from jinja2 import PackageLoader, StrictUndefined, TemplateError, UndefinedError, select_autoescape
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shopshield.core import ids
from shopshield.core.errors import InvalidInput
from shopshield.core.times import utc
from shopshield.notify.catalogue import Channel, Details, Event

__all__ = [
    "Audience",
    "Email",
    "Language",
    "Message",
    "Push",
    "RenderFailed",
    "Renderer",
    "Sms",
    "sms_segments",
]


class Language(StrEnum):
    ZH_CN = "zh-CN"
    EN = "en"


class RenderFailed(InvalidInput):
    """A template could not be rendered for the details given (a variable missing, a sandbox
    refusal). The reason names the template and the variable, never a value."""

    code = "render_failed"


@dataclass(frozen=True, slots=True)
class Sms:
    body: str
    encoding: str  # "gsm7" or "ucs2"
    segments: int


@dataclass(frozen=True, slots=True)
class Email:
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class Push:
    title: str
    body: str


Message = Sms | Email | Push


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a message is for, as far as its wording goes: their language, their time zone, and the
    anti-phishing code they set (None when they set none; the vault unseals it for the worker)."""

    language: Language
    zone: ZoneInfo
    code: str | None


# SMS segmentation (3GPP TS 23.038) -----------------------------------------------------------------

# The GSM 7-bit default alphabet, without the escape character, and its extension table, whose
# characters take two septets (escape + character).
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION: Final = frozenset("^{}\\[~]|€\f")
GSM7: Final = "gsm7"
UCS2: Final = "ucs2"
# Characters (GSM: septets; UCS-2: UTF-16 units) in one SMS, and in each part of a concatenated one
# (the user data header takes the rest).
_SINGLE: Final = MappingProxyType({GSM7: 160, UCS2: 70})
_PART: Final = MappingProxyType({GSM7: 153, UCS2: 67})


def sms_segments(body: str) -> tuple[str, int]:
    """The encoding ``body`` needs and how many SMS segments it takes.

    Any character outside the GSM-7 alphabet makes the whole message UCS-2: 70 characters fit in
    one segment, 67 in each part when concatenated; GSM-7 fits 160, 153 per part, an extension
    character counting two. A two-unit unit (an escape pair, a surrogate pair) is never split across
    parts, as phones do not split them, which can cost a part more than plain division.
    """
    if all(ch in _GSM_BASIC or ch in _GSM_EXTENSION for ch in body):
        encoding = GSM7
        units = [2 if ch in _GSM_EXTENSION else 1 for ch in body]
    else:
        encoding = UCS2
        units = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
    if sum(units) <= _SINGLE[encoding]:
        return encoding, 1
    part, segments, used = _PART[encoding], 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return encoding, segments


# Words for codes ----------------------------------------------------------------------------------

_Words = Mapping[str, str]
_ROLES: Final[Mapping[Language, _Words]] = {
    Language.ZH_CN: {
        "cs_agent": "客服",
        "cs_supervisor": "客服主管",
        "courier": "快递员",
        "merchant": "商家",
        "partner": "合作方",
        "security_analyst": "安全人员",
        "admin": "管理员",
        "service": "系统服务",
    },
    Language.EN: {
        "cs_agent": "a customer service agent",
        "cs_supervisor": "a customer service supervisor",
        "courier": "a courier",
        "merchant": "a merchant",
        "partner": "a partner",
        "security_analyst": "the security team",
        "admin": "an administrator",
        "service": "a store system",
    },
}
_SOME_ROLE: Final = {Language.ZH_CN: "工作人员", Language.EN: "a member of staff"}
_PURPOSES: Final[Mapping[Language, _Words]] = {
    Language.ZH_CN: {
        "refund_dispute": "处理退款争议",
        "delivery_problem": "处理配送问题",
        "identity_verification": "核验身份",
        "account_recovery": "找回账号",
        "fraud_investigation": "调查诈骗",
        "legal_request": "依法调取",
        "customer_request": "您本人的请求",
    },
    Language.EN: {
        "refund_dispute": "a refund dispute",
        "delivery_problem": "a delivery problem",
        "identity_verification": "identity verification",
        "account_recovery": "account recovery",
        "fraud_investigation": "a fraud investigation",
        "legal_request": "a legal request",
        "customer_request": "your own request",
    },
}
_SOME_PURPOSE: Final = {Language.ZH_CN: "已登记的用途", Language.EN: "a recorded purpose"}
_FIELDS: Final[Mapping[Language, _Words]] = {
    Language.ZH_CN: {
        "name": "姓名",
        "mobile": "手机号",
        "email": "邮箱",
        "id_number": "身份证号",
        "recipient": "收件人",
        "phone": "收件电话",
        "region": "所在地区",
        "street": "详细地址",
        "items": "商品信息",
        "returns": "退货信息",
    },
    Language.EN: {
        "name": "name",
        "mobile": "mobile number",
        "email": "e-mail address",
        "id_number": "ID number",
        "recipient": "recipient's name",
        "phone": "delivery phone number",
        "region": "region",
        "street": "street address",
        "items": "order items",
        "returns": "returns",
    },
}
_CONTACTS: Final[Mapping[Language, _Words]] = {
    Language.ZH_CN: {"mobile": "手机号", "email": "邮箱", "address": "收货地址"},
    Language.EN: {"mobile": "mobile number", "email": "e-mail address", "address": "delivery address"},
}
_REASONS: Final[Mapping[Language, _Words]] = {
    Language.ZH_CN: {
        "breached_password": "您的密码出现在公开泄露的密码库中",
        "suspicious_login": "您的账号有可疑登录",
        "store_breach": "本店发现了一起安全事件",
    },
    Language.EN: {
        "breached_password": "your password appears in a public list of leaked passwords",
        "suspicious_login": "there was a suspicious login to your account",
        "store_breach": "the store found a security incident",
    },
}
_PATTERNS: Final[Mapping[Language, _Words]] = {
    Language.ZH_CN: {
        "refund": "“退款失败、需要重新办理”",
        "return": "“退货出现问题、需要核实”",
        "delivery": "“快递丢失、需要理赔”",
        "account": "“账号异常、需要验证”",
    },
    Language.EN: {
        "refund": 'a refund that "failed" and must be redone',
        "return": 'a return with a "problem" to confirm',
        "delivery": 'a "lost parcel" to be compensated',
        "account": 'an account "problem" to verify',
    },
}
_LIST_JOIN: Final = {Language.ZH_CN: "、", Language.EN: ", "}
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Zones whose clocks read Beijing time, which is how Chinese customers name it.
_BEIJING: Final = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC"})
_BRAND_MAX: Final = 12
_EIGHT_HOURS: Final = timedelta(hours=8)
# An SMS names at most this many fields; the rest are counted ("and 3 more").
_SMS_FIELDS: Final = 2


def _offset(local: datetime) -> str:
    minutes = int((local.utcoffset() or timedelta(0)).total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _times(moment: datetime, zone: ZoneInfo, language: Language) -> dict[str, str]:
    """``when`` (full, with the zone) for e-mail and push, ``when_short`` for SMS, in ``zone``."""
    local = utc(moment).astimezone(zone)
    clock = f"{local:%H:%M}"
    beijing = zone.key in _BEIJING and local.utcoffset() == _EIGHT_HOURS
    if language is Language.ZH_CN:
        label = "北京时间" if beijing else _offset(local)
        return {
            "when": f"{local.year}年{local.month}月{local.day}日 {clock}（{label}）",
            "when_short": f"{local.month}月{local.day}日{clock}",
        }
    label = "Beijing time" if beijing else f"{zone.key}, {_offset(local)}"
    return {
        "when": f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {clock} ({label})",
        "when_short": f"{local.day} {_MONTHS[local.month - 1]} {clock}",
    }


def _words(details: Details, language: Language) -> dict[str, object]:
    """What a template sees: the details given, and words for their codes (only for details that
    were given, so a template that needs a missing one fails)."""
    context: dict[str, object] = {k: str(v) if isinstance(v, StrEnum) else v for k, v in details.given().items()}
    join = _LIST_JOIN[language]
    if details.role is not None:
        context["role_name"] = _ROLES[language].get(details.role, _SOME_ROLE[language])
    if details.purpose is not None:
        context["purpose_name"] = _PURPOSES[language].get(details.purpose, _SOME_PURPOSE[language])
    if details.fields is not None:
        names = [_FIELDS[language][f] for f in details.fields]
        context["field_names"] = _listed(names, language)
        short = names[:_SMS_FIELDS]
        rest = len(names) - len(short)
        context["field_names_short"] = (
            _listed(short, language) if not rest else join.join(short) + _more(rest, len(names), language)
        )
    if details.contact is not None:
        context["contact_name"] = _CONTACTS[language][details.contact]
    if details.reason is not None:
        context["reason_text"] = _REASONS[language][details.reason]
    if details.pattern is not None:
        context["pattern_text"] = _PATTERNS[language][details.pattern]
    return context


def _listed(names: list[str], language: Language) -> str:
    """Names as a list reads in each language: 姓名、手机号 in Chinese, "name, mobile number and ID
    number" in English."""
    if language is Language.ZH_CN or len(names) < 2:
        return _LIST_JOIN[language].join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _more(rest: int, total: int, language: Language) -> str:
    return f"等{total}项信息" if language is Language.ZH_CN else f" and {rest} more"


_SPACES: Final = re.compile(r"\s+")
_LINE_BREAKS_ZH: Final = re.compile(r"\s*\n\s*")


class Renderer:
    """Renders messages for one store; build it once (templates are compiled on first use and
    cached by Jinja2) and share it: rendering holds no state."""

    def __init__(self, brand: str) -> None:
        brand = " ".join(brand.split())
        if not 1 <= len(brand) <= _BRAND_MAX or ids.personal_kind(brand) is not None:
            raise ValueError(f"brand: 1-{_BRAND_MAX} characters, no personal value")
        self.brand = brand
        self._env = ImmutableSandboxedEnvironment(
            loader=PackageLoader("shopshield.notify", "templates"),
            undefined=StrictUndefined,
            # Text templates are not escaped (an SMS must not show "&amp;"); any later *.html
            # template is, so an HTML body cannot be broken out of by a detail.
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # Templates ship with the package and change only with it: without this, every
            # get_template (six per message) asks the file system whether the file changed.
            auto_reload=False,
        )

    @property
    def environment(self) -> ImmutableSandboxedEnvironment:
        """The sandboxed environment the templates run in (tests check what it refuses)."""
        return self._env

    def sms(self, event: Event, details: Details, occurred_at: datetime, audience: Audience) -> Sms:
        context = self._context(event, details, occurred_at, audience)
        body = self._line(self._layout("sms", context), context)
        encoding, segments = sms_segments(body)
        return Sms(body, encoding, segments)

    def email(self, event: Event, details: Details, occurred_at: datetime, audience: Audience) -> Email:
        context = self._context(event, details, occurred_at, audience)
        subject = self._line(self._layout("email_subject", context), context)
        return Email(subject, self._layout("email_text", context).strip() + "\n")

    def push(self, event: Event, details: Details, occurred_at: datetime, audience: Audience) -> Push:
        context = self._context(event, details, occurred_at, audience)
        title = self._line(self._layout("push_title", context), context)
        return Push(title, self._line(self._layout("push_body", context), context))

    def render(
        self, channel: Channel, event: Event, details: Details, occurred_at: datetime, audience: Audience
    ) -> Message:
        match channel:
            case Channel.SMS:
                return self.sms(event, details, occurred_at, audience)
            case Channel.EMAIL:
                return self.email(event, details, occurred_at, audience)
            case Channel.PUSH:
                return self.push(event, details, occurred_at, audience)

    # What a layout receives: the event's blocks already rendered, the times, the brand, the code.
    def _context(self, event: Event, details: Details, occurred_at: datetime, audience: Audience) -> dict[str, object]:
        language = audience.language
        values = {**_words(details, language), **_times(occurred_at, audience.zone, language)}
        values.update(brand=self.brand, code=audience.code, language=str(language))
        name = f"{language}/{event}.j2"
        template = self._env.get_template(name)
        blocks = {}
        for block in ("title", "sms", "what"):
            try:
                blocks[block] = "".join(template.blocks[block](template.new_context(values))).strip()
            except (UndefinedError, SecurityError) as exc:
                raise RenderFailed(f"template {name}, block {block}: {exc.message}", field="details") from None
            except TemplateError as exc:  # a broken template is the store's bug, not the caller's input
                raise RuntimeError(f"template {name}, block {block} is broken: {exc.message}") from exc
        return {**values, **blocks}

    def _layout(self, part: str, context: Mapping[str, object]) -> str:
        name = f"{context['language']}/{part}.j2"
        try:
            return self._env.get_template(name).render(context)
        except (UndefinedError, SecurityError) as exc:
            raise RenderFailed(f"template {name}: {exc.message}", field="details") from None
        except TemplateError as exc:  # a broken template is the store's bug, not the caller's input
            raise RuntimeError(f"template {name} is broken: {exc.message}") from exc

    @staticmethod
    def _line(text: str, context: Mapping[str, object]) -> str:
        """One line: Chinese text joins its lines directly, English with a space."""
        if context["language"] == Language.ZH_CN:
            return _LINE_BREAKS_ZH.sub("", text.strip())
        return _SPACES.sub(" ", text.strip())
