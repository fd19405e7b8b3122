"""Scammer indicators that link reports: a calling or texting number, an SMS sender name, an IM
handle, a link's registered domain, a payee account.

Each is brought to one spelling, so that "+86 20 8888-1234" and "020 88881234" are one number and
a.b.example.com.cn and example.com.cn one domain. Values that would link unrelated scams are left
out: placeholders such as "unknown" and links on shared shorteners (their domain is everyone's).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from shopshield.core import domains
from shopshield.core.normalize import InvalidIdentifier, normalize_mobile
from shopshield.scams.formats import ScamReport

PHONE: Final = "phone"
SMS_SENDER: Final = "sms_sender"
HANDLE: Final = "handle"
DOMAIN: Final = "domain"
LINK: Final = "link"
PAYEE: Final = "payee"

# Link shorteners and the like: thousands of unrelated links share their domain, so a link there
# is identified by its host and path (the short code) instead.
SHARED_HOSTS: Final = frozenset(
    {"t.cn", "url.cn", "dwz.cn", "suo.im", "bit.ly", "tinyurl.com", "t.co", "goo.gl", "is.gd", "ow.ly", "cutt.ly"}
)
# What people write when they do not know: shared by unrelated reports, so never an indicator.
PLACEHOLDERS: Final = frozenset(
    {"unknown", "none", "null", "n/a", "na", "-", "?", "private", "hidden", "anonymous", "withheld",
     "未知", "无", "不详", "不知道", "隐藏号码", "未显示"}
)  # fmt: skip

_SEPARATORS: Final = re.compile(r"[\s\-.()]+")
_NUMBER: Final = re.compile(r"\+?[0-9]{5,20}")
_DOTS: Final = str.maketrans({"。": ".", "．": ".", "｡": "."})


@dataclass(frozen=True, order=True, slots=True)
class Indicator:
    """One canonical scammer indicator: what kind, and its canonical value."""

    kind: str
    value: str


def of_report(report: ScamReport) -> frozenset[Indicator]:
    """Every indicator a report carries."""
    found: set[Indicator | None] = {
        contact_indicator(report.channel, report.contact_from) if report.contact_from else None,
        link_indicator(report.url) if report.url else None,
        payee_indicator(report.payee_account) if report.payee_account else None,
    }
    return frozenset(i for i in found if i is not None)


def contact_indicator(channel: str, contact_from: str) -> Indicator | None:
    """A caller's or sender's number (in one spelling), an SMS sender name, or an IM/e-mail handle."""
    if channel in ("call", "sms"):
        number = phone_number(contact_from)
        if number is not None:
            return Indicator(PHONE, number)
        if channel == "call":
            # A caller shown without digits ("unknown", "private") says nothing about who called.
            return None
        return _worded(SMS_SENDER, contact_from)
    return _worded(HANDLE, contact_from)


def phone_number(raw: str) -> str | None:
    """One spelling per number: a Chinese mobile as 11 digits (vault's rule), a Chinese landline in
    its domestic form with the leading 0, other numbers as digits (with "+" when given)."""
    with contextlib.suppress(InvalidIdentifier):
        return normalize_mobile(raw)
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            rest = compact.removeprefix(prefix)
            compact = rest if rest.startswith("0") else f"0{rest}"
            break
    return compact if _NUMBER.fullmatch(compact) else None


def link_indicator(url: str) -> Indicator | None:
    """The registered domain a link points to; the whole link on a shared shortener."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host = parts.hostname
    except ValueError:
        return None
    if not host:
        return None
    host = _host(host)
    if host in SHARED_HOSTS:
        return Indicator(LINK, f"{host}{parts.path.rstrip('/')}")
    return Indicator(DOMAIN, _registered(host))


def registered_domain(host: str) -> str:
    """The domain someone registered (eTLD+1): example.com.cn for a.b.example.com.cn, example.com
    for www.example.com. An IP address is its own."""
    return _registered(_host(host))


def _registered(host: str) -> str:
    labels = host.split(".")
    # Only a host ending in digits, or with a colon, can be an IP address: the others skip the
    # costly failed parse (this runs once per report in every summary).
    if (labels[-1].isdigit() or ":" in host) and _is_ip(host):
        return host
    # The Public Suffix List, as the link checker reads it (``core.domains``), so a cluster and a link verdict agree on
    # what was registered (x.github.io is its own; jd.com.cn is not com.cn's).
    found = domains.registered_domain(host)
    if found is not None:
        return found[0]
    # An ending the list does not know (a made-up one, a typo): the last two labels.
    return ".".join(labels[-2:])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def payee_indicator(raw: str) -> Indicator | None:
    """An account number in digits only, or a payee's name folded to one case and spacing."""
    text = unicodedata.normalize("NFKC", raw)
    digits = re.sub(r"[\s-]+", "", text)
    if digits.isascii() and digits.isdigit():
        return Indicator(PAYEE, digits)
    return _worded(PAYEE, text)


def _host(host: str) -> str:
    """Lower case, ideographic dots as dots, no trailing dot, international names in their ASCII
    (punycode) form, so that each spelling of one host compares equal."""
    if not host.isascii():
        host = unicodedata.normalize("NFKC", host).translate(_DOTS)
        # A name IDNA cannot encode stays as it is: still one spelling, only not the ASCII one.
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    return host.strip(".").lower()


def _worded(kind: str, raw: str) -> Indicator | None:
    value = " ".join(unicodedata.normalize("NFKC", raw).casefold().split())
    if not value or value in PLACEHOLDERS:
        return None
    return Indicator(kind, value)
