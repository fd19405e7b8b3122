"""One spelling for each official channel value, and for what a customer says contacted them.

Phone numbers take the spelling the scam-report clusters use (``scams.indicators.phone_number``):
a Chinese mobile as its 11 digits, a landline in its domestic form with the trunk 0 and area code
(``01012345678``, ``075512345678``), 400/800 and 95xxx service numbers and the carriers' short
numbers as dialled, any other country's number as ``+`` and its E.164 digits. So a number the
registry holds, a number a contact was logged from and a number in a scam report compare equal
however each was typed: with +86 or 0086, spaces, dashes, dots, brackets, or the full-width digits
and punctuation Chinese input methods produce.

Every function raises ``InvalidInput`` naming the field and what a right value looks like, never
the value: a customer may type their own number where the caller's belongs.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Final

from shopshield.core.errors import InvalidInput


class Kind(StrEnum):
    """The kinds of official channel. ``brand_name`` extends issue 14's contract: the store's
    brand in Chinese or English (京东, jd), which the link checker's pinyin and abbreviation rules
    read; it is never matched against a contact."""

    PHONE = "phone"
    SMS_SENDER = "sms_sender"
    EMAIL_DOMAIN = "email_domain"
    WEB_DOMAIN = "web_domain"
    PAYEE_ACCOUNT = "payee_account"
    BRAND_NAME = "brand_name"


# Longer than any number or domain anyone types; the cap keeps pathological input cheap.
MAX_RAW: Final = 300

PHONE_RULE: Final = (
    "a phone number: a Chinese mobile (11 digits starting 13-19), a landline with its area code "
    "(010-12345678, 0755-1234567), a 400/800 number (400-123-4567), a 95xxx service number, "
    "or +country and number"
)
SENDER_RULE: Final = "an SMS sender id: 106 and 5-17 more digits, a 95xxx service number, or a carrier's 1xxxx number"
DOMAIN_RULE: Final = "a domain name only, such as shop.example.com (no scheme, path, user or port)"
PAYEE_RULE: Final = "4-40 letters and digits (spaces and dashes are dropped)"
BRAND_RULE: Final = "1-40 Chinese characters, Latin letters, digits, spaces, '&', '.', '-' or an apostrophe"

# What people type between groups of digits. NFKC has folded full-width forms to these already.
_SEPARATORS: Final = re.compile(r"[\s\-.()/\u2010-\u2015\u2212\u30fc]+")
_DIGITS: Final = re.compile(r"\+?[0-9]+")
_MOBILE: Final = re.compile(r"1[3-9][0-9]{9}")
# 010 and 020-029 have 8-digit subscriber numbers; the other area codes are 4 digits with 7 or 8.
_LANDLINE: Final = re.compile(r"0(?:10|2[0-9])[0-9]{8}|0[3-9][0-9]{2}[0-9]{7,8}")
_SERVICE: Final = re.compile(r"(?:400|800)[0-9]{7}")
_NINETY_FIVE: Final = re.compile(r"95[0-9]{3,6}")
# Carriers' and public service short numbers: 10086, 10010, 12315.
_SHORT: Final = re.compile(r"1[0-2][0-9]{3}")
_SENDER: Final = re.compile(r"106[0-9]{5,17}")
_E164: Final = re.compile(r"[1-9][0-9]{7,14}")
_LABEL: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.-]*://")
_DOTS: Final = str.maketrans({"。": ".", "．": ".", "｡": "."})
_PAYEE: Final = re.compile(r"[A-Z0-9]{4,40}")
_PAYEE_SEPARATORS: Final = re.compile(r"[\s\-]+")
_BRAND: Final = re.compile(r"[a-z0-9\u3400-\u4dbf\u4e00-\u9fff &.'-]{1,40}")
_BRAND_HAS_WORD: Final = re.compile(r"[a-z\u3400-\u4dbf\u4e00-\u9fff]")


def _text(raw: str, field: str) -> str:
    if len(raw) > MAX_RAW:
        raise InvalidInput(f"{field}: at most {MAX_RAW} characters", field=field)
    return unicodedata.normalize("NFKC", raw).strip()


def phone(raw: str, *, field: str = "value") -> str:
    """A phone number in its one spelling (see the module); ``InvalidInput`` for what cannot be one."""
    compact = _SEPARATORS.sub("", _text(raw, field))
    if not _DIGITS.fullmatch(compact):
        raise InvalidInput(f"{field}: must be {PHONE_RULE}", field=field)
    if compact.startswith(("+", "00")):
        international = compact[1:] if compact.startswith("+") else compact[2:]
        if not international.startswith("86"):
            if _E164.fullmatch(international):
                return f"+{international}"
            raise InvalidInput(f"{field}: must be {PHONE_RULE}", field=field)
        national = international[2:]
        if not (_MOBILE.fullmatch(national) or _SERVICE.fullmatch(national) or national.startswith("0")):
            # From abroad a landline is dialled without its trunk 0: +86 10 12345678.
            national = f"0{national}"
    else:
        national = compact
        if len(national) == 13 and national.startswith("86") and _MOBILE.fullmatch(national[2:]):
            national = national[2:]  # 86 and a mobile, without the +
    for shape in (_MOBILE, _LANDLINE, _SERVICE, _NINETY_FIVE, _SHORT):
        if shape.fullmatch(national):
            return national
    if _SENDER.fullmatch(national):
        raise InvalidInput(f"{field}: a 106 number is an SMS sender id: add it as kind sms_sender", field=field)
    raise InvalidInput(f"{field}: must be {PHONE_RULE}", field=field)


def sms_sender(raw: str, *, field: str = "value") -> str:
    """An SMS sender id as digits: 106..., 95xxx, or a carrier's short number."""
    compact = _SEPARATORS.sub("", _text(raw, field))
    for prefix in ("+86", "0086"):
        compact = compact.removeprefix(prefix)
    for shape in (_SENDER, _NINETY_FIVE, _SHORT):
        if shape.fullmatch(compact):
            return compact
    raise InvalidInput(f"{field}: must be {SENDER_RULE}", field=field)


def domain(raw: str, *, field: str = "value") -> str:
    """A host name, lower-case and IDNA-encoded (京东.com is xn--...), without a trailing dot.

    A leading ``http://`` or ``https://`` and a trailing ``/`` are dropped, since that is how people
    copy a site; a path, query, user or port is refused rather than guessed away."""
    text = _text(raw, field).translate(_DOTS).lower()
    text = _SCHEME.sub("", text, count=1).removesuffix("/").removesuffix(".")
    if not text or any(ch in text for ch in "/?#@:\\ \t") or len(text) > 253:
        raise InvalidInput(f"{field}: must be {DOMAIN_RULE}", field=field)
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidInput(
                f"{field}: must be {DOMAIN_RULE}; this name cannot be IDNA-encoded", field=field
            ) from None
    labels = text.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise InvalidInput(f"{field}: must be {DOMAIN_RULE}", field=field)
    return text


def email_domain(raw: str, *, field: str = "value") -> str:
    """The domain the store sends e-mail from: ``@example.com`` or ``example.com``."""
    text = _text(raw, field)
    return domain(text.removeprefix("@").removeprefix("＠"), field=field)


def sender_address_domain(raw: str, *, field: str = "from") -> str:
    """The domain of an e-mail address a customer received mail from (``kefu@mail.example.com``)."""
    text = _text(raw, field)
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1]  # "Customer Service <kefu@example.com>"
    local, at, host = text.rpartition("@")
    if not at or not local or any(ch.isspace() for ch in local):
        raise InvalidInput(f"{field}: must be an e-mail address such as service@example.com", field=field)
    return domain(host, field=field)


def payee_account(raw: str, *, field: str = "value") -> str:
    """A payee account as upper-case letters and digits: the store's own account, not personal data."""
    text = _PAYEE_SEPARATORS.sub("", _text(raw, field)).upper()
    if not _PAYEE.fullmatch(text):
        raise InvalidInput(f"{field}: must be {PAYEE_RULE}", field=field)
    return text


def brand_name(raw: str, *, field: str = "value") -> str:
    """The store's brand: one spacing, Latin letters lower-case, Chinese characters as they are.

    One script family only besides Latin and Han: a Cyrillic 'а' in a brand would make a homoglyph
    of it official."""
    text = " ".join(_text(raw, field).casefold().split())
    if not _BRAND.fullmatch(text) or not _BRAND_HAS_WORD.search(text):
        raise InvalidInput(f"{field}: must be {BRAND_RULE}", field=field)
    return text


NORMALIZERS: Final = {
    Kind.PHONE: phone,
    Kind.SMS_SENDER: sms_sender,
    Kind.EMAIL_DOMAIN: email_domain,
    Kind.WEB_DOMAIN: domain,
    Kind.PAYEE_ACCOUNT: payee_account,
    Kind.BRAND_NAME: brand_name,
}


def normalize(kind: Kind, raw: str, *, field: str = "value") -> str:
    """``raw`` as the registry stores a value of ``kind``."""
    return NORMALIZERS[kind](raw, field=field)


def within(host: str, official: str) -> bool:
    """Whether ``host`` is ``official`` or one of its subdomains (both normalised)."""
    return host == official or host.endswith(f".{official}")
