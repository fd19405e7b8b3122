"""The message checker: the text of an SMS or chat message a customer received, read for what
the 2016 fake-refund scam looked like.

Pure. Finds the links (with a scheme, or bare domains ending in a known suffix; full-width
punctuation and ideographic dots included), the phone numbers (+86 mobiles, 400/800 service
numbers, 95xxx short numbers, landlines with area codes, 106 SMS senders; spaced or dashed) and
the long account numbers in it; checks the links with the link checker and the numbers and
accounts against the store's official ones; and looks for the scam's wording: a refund or return
"problem", a link to log in, a request for a card number, an ID number or an SMS verification
code, a claim to be customer service, urgency. The verdict:

- ``scam_likely``: a lookalike link, or a request for a card, ID, code or money together with any
  other sign;
- ``suspicious``: one such request alone, or two weaker signs (a refund problem, a claim to be
  customer service, urgency, a link or number that is not the store's, a login link);
- ``no_signs``: nothing of the above; which does not prove that the store sent it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from shopshield.core.errors import InvalidInput
from shopshield.scams.indicators import phone_number
from shopshield.verify import hosts
from shopshield.verify.links import LOOKALIKE, MALFORMED, OFFICIAL, LinkVerdict, check_link
from shopshield.verify.official import Official
from shopshield.verify.reasons import Reason, reason

MAX_MESSAGE_CHARS: Final = 10_000
MAX_ITEMS: Final = 50

SCAM_LIKELY: Final = "scam_likely"
SUSPICIOUS: Final = "suspicious"
NO_SIGNS: Final = "no_signs"

# Links: with a scheme, up to white space or a character a URL does not carry unescaped;
# bare: ASCII labels ending in a letter label (the suffix is then checked against the PSL).
_URL: Final = re.compile(r"(?:https?|hxxps?|ftp)://[^\s<>\"'，。！？、；：（）【】《》「」]+", re.IGNORECASE)
_BARE: Final = re.compile(
    r"(?<![a-z0-9@.\-])(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,24}|xn--[a-z0-9\-]{1,59})"
    r"(?::\d{1,5})?(?:/[!-~]*)?(?![a-z0-9\-])",
    re.IGNORECASE,
)
_EMAIL: Final = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
# A run of digits with single spaces or dashes between groups, optionally led by + or (0xx).
_NUMBER: Final = re.compile(r"(?<![a-zA-Z0-9.])\+?\d(?:[ \-]?\d){4,22}(?![a-zA-Z0-9])")
_TRAILING: Final = ".,;:!?)]}'\""
# Ideographic full stops, which scam texts also put between a link's labels (jd。com).
_FULL_STOPS: Final = {ord("。"): ".", ord("｡"): "."}


@dataclass(frozen=True, slots=True)
class Signal:
    """One pattern of the scam: its code, and whether it is a request for what a scam takes."""

    code: str
    pattern: re.Pattern[str]
    strong: bool


def _p(text: str) -> re.Pattern[str]:
    return re.compile(text, re.IGNORECASE)


# A request the store never makes (card, ID, code, money, screen) is strong; a story a scam tells
# (the refund "problem", customer service, hurry) is weak on its own, since the store's real
# messages say such things too.
SIGNALS: Final = (
    Signal(
        "refund_problem",
        _p(
            r"退款(失败|异常|未成功|出现问题|有问题|被冻结)|无法(退款|退货)|退货.{0,6}(异常|失败|问题)|订单.{0,6}(异常|问题)"
            r"|refund.{0,20}(fail|problem|error|issue|unsuccessful)|(problem|issue|error).{0,20}(refund|return)"
        ),
        strong=False,
    ),
    Signal(
        "card_request",
        _p(r"(提供|填写|输入|告知|报).{0,8}(银行卡|卡号|信用卡)|银行卡号|card\s*number|bank\s*card|card\s*details"),
        strong=True,
    ),
    Signal(
        "id_request",
        _p(r"(提供|填写|输入|告知|报).{0,8}身份证|身份证号|id\s*(card\s*)?number|identity\s*card|passport\s*number"),
        strong=True,
    ),
    Signal(
        "code_request",
        _p(r"验证码|校验码|动态码|verification\s*code|sms\s*code|one[-\s]?time\s*(pass)?code|\botp\b"),
        strong=True,
    ),
    Signal(
        "payment_request",
        _p(
            r"转账|汇款|打款|保证金|手续费|备用金|开通.{0,6}(借款|贷款|借呗|微粒贷)|安全账户"
            r"|transfer\s+(the\s+)?(money|funds)|pay\s+a\s+fee|safe\s+account|wire\s+the"
        ),
        strong=True,
    ),
    Signal(
        "screen_share",
        _p(
            r"屏幕共享|共享屏幕|下载.{0,8}(app|软件|会议)|腾讯会议|zoom|share\s+your\s+screen|screen\s*shar|install\s+the\s+app"
        ),
        strong=True,
    ),
    Signal("service_claim", _p(r"客服|售后|customer\s*service|support\s*team|service\s*team"), strong=False),
    Signal(
        "urgency",
        _p(
            r"立即|马上|尽快|立刻|\d+\s*(小时|分钟)内|今天内|今日内|逾期|否则|冻结|过期"
            r"|urgent|immediately|right\s+away|within\s+\d+\s*(hours?|minutes?)|expire|suspended|as\s+soon\s+as\s+possible"
        ),
        strong=False,
    ),
)
# A message that mentions a code only to warn against sharing it is the store's own one-time
# code message, not a request.
_DO_NOT_SHARE: Final = _p(
    r"(请勿|切勿|不要|谨防|勿).{0,10}(泄露|告诉|透露|提供|转发|告知)|(do\s+not|don't|never)\s+(share|tell|give|disclose)"
)
_LOGIN: Final = _p(r"登录|登陆|log\s*in|sign\s*in")


@dataclass(slots=True)
class Found:
    """What a message holds, each checked."""

    links: list[LinkVerdict] = field(default_factory=list)
    numbers: list[dict[str, object]] = field(default_factory=list)
    accounts: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    """The answer for one message (``as_json``): the verdict, its reasons, what was found."""

    verdict: str
    reasons: tuple[Reason, ...]
    links: tuple[LinkVerdict, ...]
    numbers: tuple[dict[str, object], ...]
    accounts: tuple[dict[str, object], ...]

    def as_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "reasons": [r.as_json() for r in self.reasons],
            "links": [link.as_json() for link in self.links],
            "numbers": list(self.numbers),
            "accounts": list(self.accounts),
        }


class MessageTooLong(InvalidInput, ValueError):
    """The text is over ``MAX_MESSAGE_CHARS``."""


def check_message(
    text: str,
    official: Official,
    *,
    phones: Sequence[str] = (),
    payee_accounts: Sequence[str] = (),
) -> MessageVerdict:
    """The verdict for one message against the store's official domains, numbers and accounts."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise MessageTooLong(f"the message is longer than {MAX_MESSAGE_CHARS:,} characters")
    clean = unicodedata.normalize("NFKC", text).translate(_FULL_STOPS)
    found = Found()
    link_spans: list[tuple[int, int]] = []
    for url, span in extract_links(clean):
        if len(found.links) >= MAX_ITEMS:
            break
        found.links.append(check_link(url, official))
        link_spans.append(span)
    official_numbers = {n for n in (phone_number(p) for p in phones) if n}
    official_accounts = {_digits(a) for a in payee_accounts}
    for kind, value in extract_numbers(clean, link_spans):
        if kind == "account":
            if len(found.accounts) < MAX_ITEMS:
                found.accounts.append({"kind": "account", "official": _digits(value) in official_accounts})
        elif len(found.numbers) < MAX_ITEMS:
            normal = phone_number(value) or value
            found.numbers.append({"kind": kind, "official": normal in official_numbers})
    reasons, verdict = _decide(clean, found, has_phones=bool(official_numbers))
    return MessageVerdict(verdict, tuple(reasons), tuple(found.links), tuple(found.numbers), tuple(found.accounts))


def extract_links(text: str) -> list[tuple[str, tuple[int, int]]]:
    """Every link in ``text`` with its span, in order: with a scheme, then bare domains outside
    them; e-mail addresses are not links."""
    found: list[tuple[str, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = [m.span() for m in _EMAIL.finditer(text)]
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        found.append((url, (match.start(), match.start() + len(url))))
        taken.append(match.span())
    for match in _BARE.finditer(text):
        start, end = match.span()
        if any(a <= start < b or a < end <= b for a, b in taken):
            continue
        candidate = _bare_link(match.group(0).rstrip(_TRAILING))
        if candidate is not None:
            found.append((candidate, (start, start + len(candidate))))
    found.sort(key=lambda item: item[1][0])
    return found


def _bare_link(candidate: str) -> str | None:
    """A bare domain (with its port and path) if it ends in a known suffix. A sentence's full
    stop glued to the next word ("jd.com。thanks", read as jd.com.thanks) is cut off until it does."""
    cut = re.search(r"[:/]", candidate)
    host, tail = (candidate, "") if cut is None else (candidate[: cut.start()], candidate[cut.start() :])
    labels = host.split(".")
    if host.replace(".", "").isdigit():
        return None
    while len(labels) >= 2:
        if hosts.registered_domain(".".join(labels).lower()) is not None:
            whole = len(labels) == host.count(".") + 1
            return ".".join(labels) + (tail if whole else "")
        labels.pop()
    return None


def extract_numbers(text: str, skip: Sequence[tuple[int, int]] = ()) -> list[tuple[str, str]]:
    """(kind, digits) of each phone number or account number in ``text`` outside ``skip``:
    ``mobile``, ``service`` (400/800, 95xxx), ``landline``, ``sms_sender`` (106...) or
    ``account`` (12-19 digits that are none of those); other runs (amounts, codes) are left."""
    found: list[tuple[str, str]] = []
    for match in _NUMBER.finditer(text):
        start = match.start()
        if any(a <= start < b for a, b in skip):
            continue
        raw = match.group(0)
        kind = number_kind(raw)
        if kind is not None:
            found.append((kind, raw))
    return found


def number_kind(raw: str) -> str | None:
    digits = _digits(raw)
    plus = raw.startswith("+")
    national = digits
    if plus and digits.startswith("86"):
        national = digits[2:]
    elif digits.startswith("0086"):
        national = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        national = digits[2:]
    if re.fullmatch(r"1[3-9]\d{9}", national):
        return "mobile"
    if re.fullmatch(r"[48]00\d{7}", national):
        return "service"
    if re.fullmatch(r"95\d{3}(\d{1,3})?|96\d{3}", national):
        return "service"
    if re.fullmatch(r"106\d{5,17}", national) and len(national) <= 20:
        return "sms_sender"
    if re.fullmatch(r"0[1-9]\d{8,10}", national) or (plus and re.fullmatch(r"[1-9]\d{8,10}", national)):
        return "landline"
    if re.fullmatch(r"\d{12,19}", digits) and not plus:
        return "account"
    return None


def _digits(raw: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", raw))


def _decide(text: str, found: Found, *, has_phones: bool) -> tuple[list[Reason], str]:
    reasons: list[Reason] = []
    strong = 0
    weak = 0
    lookalike = False
    for link in found.links:
        if link.verdict == LOOKALIKE:
            lookalike = True
            reasons.append(reason("link_lookalike", domain=link.imitates or "-"))
        elif link.verdict == OFFICIAL:
            reasons.append(reason("link_official", domain=link.imitates or ""))
        elif link.verdict == MALFORMED:
            reasons.append(reason("link_malformed"))
            weak += 1
        else:
            reasons.append(reason("link_unknown"))
            weak += 1
    if has_phones:
        for number in found.numbers:
            if number["official"]:
                reasons.append(reason("number_official"))
            else:
                reasons.append(reason("number_not_official"))
                weak += 1
    for account in found.accounts:
        if account["official"]:
            reasons.append(reason("account_official"))
        else:
            reasons.append(reason("account_not_official"))
            strong += 1
    warned = _DO_NOT_SHARE.search(text) is not None
    for signal in SIGNALS:
        if not signal.pattern.search(text):
            continue
        if signal.code == "code_request" and warned:
            continue
        reasons.append(reason(signal.code))
        if signal.strong:
            strong += 1
        else:
            weak += 1
    if found.links and any(link.verdict != OFFICIAL for link in found.links) and _LOGIN.search(text):
        reasons.append(reason("login_link"))
        weak += 1
    if lookalike or (strong >= 1 and strong + weak >= 2):
        verdict = SCAM_LIKELY
    elif strong >= 1 or weak >= 2:
        verdict = SUSPICIOUS
    else:
        verdict = NO_SIGNS
    # The same reason once, in the order first found.
    unique: list[Reason] = []
    for item in reasons:
        if item not in unique:
            unique.append(item)
    if verdict == NO_SIGNS:
        unique.append(reason("no_signs"))
    return unique, verdict
