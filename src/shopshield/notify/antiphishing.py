"""The customer's anti-phishing code: what a code may be, and its one stored form.

A customer sets a short code of their own; every official SMS, e-mail and push carries it, and
leaked order data does not contain it, so "no code, not the store" is a test any customer can
apply. That holds only if a scammer cannot guess or look up the code, so beyond length and
characters the rules refuse codes built from what a leak does contain (the customer's name,
mobile, e-mail, ID number) and anything ``core.ids`` recognises as a personal value. The value is
sealed by the vault like any personal field; this module only checks and normalises it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

from shopshield.core import ids
from shopshield.core.errors import InvalidInput

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "normalize_code"]

MIN_LENGTH: Final = 4
# Twelve characters keep an SMS within two segments with the longest event text (tests pin it).
MAX_LENGTH: Final = 12
FIELD: Final = "code"

# Letters and digits in ASCII, Han characters (basic block and extension A), '-' and '_'. No
# spaces (a code is read as one word), no other punctuation or emoji (they break in SMS and look
# alike), no other scripts (homoglyphs: a Cyrillic 'а' reads as a Latin 'a').
_ALLOWED: Final = re.compile(r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff_-]+")
_HAS_WORD: Final = re.compile(r"[A-Za-z\u3400-\u4dbf\u4e00-\u9fff]")
# The shortest piece of a personal value that makes a code guessable from a leak: four digits of a
# mobile or ID number (what masked views show), or a name or mailbox of two characters or more.
_TAIL: Final = 4
# A value written as a number: digits and what people type between them; an ID number may end in X.
_MAILBOX_WORDS: Final = re.compile(r"[._+-]+")
_NUMBER: Final = re.compile(r"[0-9+\s().-]+[xX]?")
_MIN_FRAGMENT: Final = 2


def normalize_code(raw: str, *, personal: Iterable[str] = ()) -> str:
    """``raw`` as the code to store: NFKC (full-width letters and digits from Chinese input methods
    become ASCII), surrounding spaces removed, case kept (the customer compares it by eye).

    ``InvalidInput`` naming ``code`` (never the value) when it is too short or long, has a
    character outside the allowed set, is only digits (it would read like an SMS verification code,
    which the store's messages tell customers never to share), looks like a personal value, or
    contains a piece of ``personal`` (the customer's own name, mobile, e-mail, ID number).
    """
    code = unicodedata.normalize("NFKC", raw).strip()
    if not MIN_LENGTH <= len(code) <= MAX_LENGTH:
        raise InvalidInput(f"{FIELD}: must be {MIN_LENGTH}-{MAX_LENGTH} characters", field=FIELD)
    if not _ALLOWED.fullmatch(code):
        raise InvalidInput(f"{FIELD}: only letters, digits, Chinese characters, '-' and '_' are allowed", field=FIELD)
    if not _HAS_WORD.search(code):
        raise InvalidInput(
            f"{FIELD}: must contain a letter or a Chinese character; digits alone read like a verification code",
            field=FIELD,
        )
    kind = ids.personal_kind(code)
    if kind is not None:
        raise InvalidInput(f"{FIELD}: {ids.personal_rule(kind)}", field=FIELD)
    folded = code.casefold()
    if any(fragment in folded for fragment in _fragments(personal)):
        raise InvalidInput(
            f"{FIELD}: must not contain the customer's own name, mobile, e-mail or ID number, "
            "which leaked order data holds",
            field=FIELD,
        )
    return code


def _fragments(values: Iterable[str]) -> set[str]:
    """The pieces of the customer's own values a code must not contain, case-folded."""
    found: set[str] = set()
    for value in values:
        text = unicodedata.normalize("NFKC", value).strip()
        digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
        if "@" in text:
            local = text.rpartition("@")[0].casefold()
            # The mailbox, and each word of it ("liujie" in "liujie.example").
            found.update(w for w in (local, *_MAILBOX_WORDS.split(local)) if len(w) > _MIN_FRAGMENT)
        elif _NUMBER.fullmatch(text) and len(digits) >= _TAIL:
            # A mobile or ID number: its last four are what every masked view shows.
            found.add(digits[-_TAIL:])
            if text[-1:] in "xX":
                found.add((digits[-(_TAIL - 1) :] + "x").casefold())
        else:
            name = "".join(text.split()).casefold()
            if len(name) >= _MIN_FRAGMENT:
                found.add(name)
            # Each word of a Latin name on its own too ("Alice" in "Alice Smith").
            found.update(w.casefold() for w in text.split() if len(w) > _MIN_FRAGMENT)
    return found
