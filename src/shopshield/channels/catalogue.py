"""The closed vocabularies of the contact log and the verification, with their words for customers
in Chinese and English: contact channels, reason codes, the roles a customer is told about, and
the verification's reason codes.

Codes are what is stored and what machines read; the words are only ever rendered from them, so
no free text an agent typed can reach a customer's screen.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, NamedTuple

from shopshield.channels.numbers import Kind


class Language(StrEnum):
    ZH = "zh-CN"
    EN = "en"


class Words(NamedTuple):
    zh: str
    en: str

    def say(self, language: Language) -> str:
        return self.zh if language is Language.ZH else self.en


class ContactChannel(StrEnum):
    """How the store contacted a customer (and how a customer says they were contacted)."""

    CALL = "call"
    SMS = "sms"
    EMAIL = "email"


# Which registry kinds an official ``from`` of each channel may be: an SMS may come from a sender
# id or from one of the store's numbers (a 95xxx line sends texts too).
FROM_KINDS: Final[dict[ContactChannel, tuple[Kind, ...]]] = {
    ContactChannel.CALL: (Kind.PHONE,),
    ContactChannel.SMS: (Kind.SMS_SENDER, Kind.PHONE),
    ContactChannel.EMAIL: (Kind.EMAIL_DOMAIN,),
}

CHANNEL_WORDS: Final = {
    ContactChannel.CALL: Words("电话", "phone call"),
    ContactChannel.SMS: Words("短信", "text message"),
    ContactChannel.EMAIL: Words("邮件", "e-mail"),
}

# Why the store contacted a customer. Closed: a contact with another code is refused (422).
REASONS: Final = {
    "return": Words("您的退货", "your return"),
    "refund": Words("您的退款", "your refund"),
    "delivery": Words("您的配送", "your delivery"),
    "order_issue": Words("您的订单问题", "a problem with your order"),
    "account_security": Words("您的账户安全", "your account's security"),
    "survey": Words("服务回访", "a service survey"),
    "installation": Words("安装预约", "an installation appointment"),
    "complaint": Words("您的投诉", "your complaint"),
}

# What a customer is told about who contacted them: a role, never a name or an id.
ROLES: Final = {
    "cs_agent": Words("客服", "customer service"),
    "cs_supervisor": Words("客服主管", "a customer-service supervisor"),
    "security_analyst": Words("安全团队", "the security team"),
    "courier": Words("快递员", "the courier"),
    "merchant": Words("商家", "the merchant"),
    "service": Words("自动服务", "the store's automated service"),
}
STAFF: Final = Words("商城工作人员", "store staff")


def role_words(role: str) -> Words:
    return ROLES.get(role, STAFF)


class Verdict(StrEnum):
    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"
    UNKNOWN = "unknown"


class Reason(StrEnum):
    """The verification's reason codes (docs/contact-verification.md)."""

    CONTACT_LOGGED = "contact_logged"
    NOT_OFFICIAL = "not_official"
    OFFICIAL_NO_RECORD = "official_no_record"
    PAYEE_NOT_OFFICIAL = "payee_not_official"
    URL_NOT_OFFICIAL = "url_not_official"
    FROM_UNREADABLE = "from_unreadable"


REASON_WORDS: Final = {
    Reason.CONTACT_LOGGED: Words(
        "这是我们的{channel}：{role}就{reason}联系过您{order}。",
        "This is one of ours: {role} contacted you by {channel} about {reason}{order}.",
    ),
    Reason.NOT_OFFICIAL: Words(
        "这不是我们的官方号码或发送方，请勿相信其要求。",
        "This is not one of our numbers or senders; do not act on what it asks.",
    ),
    Reason.OFFICIAL_NO_RECORD: Words(
        "这是我们的号码，但我们没有在这个时间联系您的记录。来电显示可以伪造，请挂断并通过官方应用联系我们。",
        "This is one of our numbers, but we have no record of contacting you at that time. Caller ID "
        "can be spoofed: hang up and contact us through the official app.",
    ),
    Reason.PAYEE_NOT_OFFICIAL: Words(
        "退款从不会打到这个账户，请勿向其转账。",
        "Refunds are never paid to this account, and we never ask you to pay into it.",
    ),
    Reason.URL_NOT_OFFICIAL: Words(
        "这个链接不在我们的官方网站上，请勿在其中登录或填写银行卡信息。",
        "This link is not on one of our websites: do not log in or enter card details there.",
    ),
    Reason.FROM_UNREADABLE: Words(
        "无法识别这个号码或发送方（可能被隐藏），我们无法判断。请通过官方应用联系我们。",
        "We cannot read this number or sender (it may be hidden), so we cannot tell. Contact us "
        "through the official app.",
    ),
}
ORDER_WORDS: Final = Words("（订单尾号 {ref}）", " (order ending {ref})")
