"""The one check of an id that the API, the command line and the file readers accept: customers,
orders, addresses, returns, tickets, principals (ids and names), links, scam reports, canary
recipients, breach actors and cases.

Ids are the store's own and are stored, logged and hashed into the append-only access log in
plaintext, so an id must never be a person's data. Callers paste a customer's mobile number, ID
number, bank card or e-mail where an id belongs; the shape alone (letters, digits and a little
punctuation) lets most of those through, so ``personal_kind`` looks for them and ``check`` refuses
them. Messages name the field and the rule, never the value.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import date
from typing import Annotated, Final

from pydantic import AfterValidator, StringConstraints

from shopshield.core.errors import InvalidInput

ID_BODY: Final = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
ID_PATTERN: Final = rf"^{ID_BODY}$"
ID: Final = re.compile(ID_PATTERN)
SHAPE_RULE: Final = "1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit"
# Who reads or receives the store's data, named as other systems name them: an id that may also
# hold '@' ("ops@partner"). Breach actors (an access log's actor_id) and canary recipients.
ACTOR_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"
ACTOR: Final = re.compile(ACTOR_PATTERN)
ACTOR_RULE: Final = "1-64 letters, digits, '_', '.', ':', '@' or '-', starting with a letter or digit"

# Digits as people group them: single separators between digits ("138-1234-5678", "6222 0202 ...").
# An 18-character ID number may end in X, its check character.
_DIGIT_RUN: Final = re.compile(r"[0-9](?:[\s_.:()/-]?[0-9])*[Xx]?")
_SEPARATORS: Final = re.compile(r"[\s_.:()/-]")
_MOBILE: Final = re.compile(r"(?:0086|86|0)?1[3-9][0-9]{9}")
_ID_NUMBER_18: Final = re.compile(r"[0-9]{17}[0-9X]")
_ID_NUMBER_15: Final = re.compile(r"[0-9]{15}")
_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}")
# The first two digits of a resident ID number: the province-level region (GB/T 2260).
_PROVINCES: Final = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
)

MOBILE: Final = "a mobile number"
ID_NUMBER: Final = "an ID number"
BANK_CARD: Final = "a bank card number"
EMAIL: Final = "an e-mail address"


def personal_kind(value: str) -> str | None:
    """Which kind of personal value ``value`` is or carries (``MOBILE``, ``ID_NUMBER``,
    ``BANK_CARD``, ``EMAIL``), or None.

    Runs of digits (with the separators people type between groups) are judged as a whole and
    group by group, never by substring (a 12-digit run is no mobile), so an id that merely has many
    digits passes unless they have the structure of one of these: a Chinese mobile (with or without
    86, 0086 or 0), an ID number with a real region and birth date (18 digits, the last may be X, or
    the older 15; the check digit is not required, a mistyped ID number is still someone's), a card
    number of 13-19 digits with a card network's first digits and a valid Luhn check digit.
    """
    if "@" in value and _EMAIL.search(value):
        return EMAIL
    for run in _DIGIT_RUN.finditer(value):
        text = run.group()
        joined = _SEPARATORS.sub("", text)
        # The run as typed, and each group of it on its own ("order-2026-13812345678").
        for digits in (joined, *(_SEPARATORS.split(text) if len(joined) < len(text) else ())):
            kind = _kind_of_digits(digits.upper())
            if kind is not None:
                return kind
    return None


def _kind_of_digits(digits: str) -> str | None:
    if len(digits) < 11:
        return None
    if _ID_NUMBER_18.fullmatch(digits) and _region_and_birth(digits[:2], digits[6:14]):
        return ID_NUMBER
    digits = digits.removesuffix("X")
    if _MOBILE.fullmatch(digits):
        return MOBILE
    if _ID_NUMBER_15.fullmatch(digits) and _region_and_birth(digits[:2], "19" + digits[6:12]):
        return ID_NUMBER
    if 13 <= len(digits) <= 19 and _card_network(digits) and _luhn(digits):
        return BANK_CARD
    return None


def _region_and_birth(region: str, birth: str) -> bool:
    if int(region) not in _PROVINCES:
        return False
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2099


def _card_network(digits: str) -> bool:
    # Issuer prefixes of the card networks (UnionPay 62 and 81, Visa 4, Mastercard 51-55 and
    # 2221-2720, Amex and JCB 3, Discover 6) and China's older domestic cards (9). Ids that start
    # with a date (20...) or a small sequence number (1...) are left alone.
    return digits[0] in "345689" or 2221 <= int(digits[:4]) <= 2720


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        n = int(char)
        if position % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def personal_rule(kind: str) -> str:
    """The message for an id that is ``kind``: what is wrong, never the value."""
    return f"looks like {kind}, which is personal data; give the store's own id"


def problem(value: str, shape: re.Pattern[str] = ID, rule: str = SHAPE_RULE) -> str | None:
    """What is wrong with ``value`` as an id of ``shape`` (described by ``rule``), or None."""
    if not shape.fullmatch(value):
        return rule
    kind = personal_kind(value)
    return None if kind is None else personal_rule(kind)


def check(value: str, field: str, *, shape: re.Pattern[str] = ID, rule: str = SHAPE_RULE, label: str = "") -> str:
    """``value`` if it is an acceptable id; otherwise ``InvalidInput`` naming ``field`` (shown as
    ``label``, e.g. a command-line option, when given) and the rule."""
    found = problem(value, shape, rule)
    if found is not None:
        raise InvalidInput(f"{label or field}: {found}", field=field)
    return value


def _not_personal(value: str | None) -> str | None:
    kind = None if value is None else personal_kind(value)
    if kind is not None:
        # pydantic reports a ValueError with the field's location; the message holds no value.
        raise ValueError(personal_rule(kind))
    return value


NotPersonal: Final = AfterValidator(_not_personal)
"""Refuses a value that ``personal_kind`` recognises; add it to any id-like pydantic field."""

RecordId = Annotated[str, StringConstraints(pattern=ID_PATTERN), NotPersonal]
"""A record id in a request body or parameter: the shape, and nobody's personal data."""


def new_id(prefix: str, hex_digits: int = 16) -> str:
    """A random id, ``prefix`` and hex digits, that ``check`` accepts: a run of hex digits can
    happen to look like a mobile or card number, and a generated id must never be refused later."""
    while True:
        candidate = prefix + secrets.token_hex((hex_digits + 1) // 2)[:hex_digits]
        if personal_kind(candidate) is None:
            return candidate


def new_uuid() -> str:
    """A random UUID (version 4), as text, that ``check`` accepts. About one UUID in three hundred
    has digit groups that read as a card number ("56740394-7359-4101-..." is 16 digits with a
    card network's first digit and a valid Luhn check), and an id ShopShield made must never be
    refused when someone names it later (a dead letter retried, an alert closed)."""
    while True:
        candidate = str(uuid.uuid4())
        if personal_kind(candidate) is None:
            return candidate
