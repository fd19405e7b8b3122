"""Validates personal identifiers and brings them to one canonical form before blind indexing and storage."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Final

from shopshield.core.errors import InvalidInput

__all__ = [
    "InvalidIdentifier",
    "id_number_check_char",
    "normalize_email",
    "normalize_id_number",
    "normalize_mobile",
    "normalize_name",
    "normalize_username",
]


# The name is part of the vault's public API and reads as a verdict on the value, hence no "Error" suffix.
class InvalidIdentifier(InvalidInput, ValueError):
    """A personal identifier failed validation.

    The message names the field and the rule only: the rejected value is personal data and must not
    reach logs, error responses or tracebacks through this exception.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# Mobile numbers ---------------------------------------------------------------------------------

_MOBILE_SEPARATORS: Final = re.compile(r"[\s\-.()]+")
# [0-9] rather than \d: \d also matches Arabic-Indic and other Unicode digits, which int() would accept.
_CN_MOBILE: Final = re.compile(r"1[3-9][0-9]{9}")
_CN_MOBILE_WITH_COUNTRY: Final = re.compile(r"(?:\+86|0086|86)(1[3-9][0-9]{9})")
_E164: Final = re.compile(r"\+[1-9][0-9]{7,14}")

_MOBILE_REASON: Final = "must be a Chinese mobile number (11 digits starting with 1) or an E.164 number starting with +"
_CN_NOT_MOBILE_REASON: Final = "a +86 number must be a Chinese mobile number (11 digits starting with 13-19)"


def normalize_mobile(raw: str) -> str:
    """Return a Chinese mobile as its bare 11 digits, any other number as ``+`` and its E.164 digits.

    Full-width characters (common with Chinese input methods) are folded to ASCII first, then spaces,
    dashes, dots and parentheses are dropped. Chinese numbers may carry a ``+86``, ``0086`` or ``86``
    prefix; the prefix is removed so that every spelling of one number indexes identically.
    """
    compact = _MOBILE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if _CN_MOBILE.fullmatch(compact):
        return compact
    prefixed = _CN_MOBILE_WITH_COUNTRY.fullmatch(compact)
    if prefixed:
        return prefixed.group(1)
    if compact.startswith("+86"):
        # Chinese landlines are not reachable by SMS, so they are refused rather than stored as E.164.
        raise InvalidIdentifier("mobile", _CN_NOT_MOBILE_REASON)
    if _E164.fullmatch(compact):
        return compact
    raise InvalidIdentifier("mobile", _MOBILE_REASON)


# E-mail addresses -------------------------------------------------------------------------------

_EMAIL_MAX_LENGTH: Final = 254  # RFC 5321 path limit minus the angle brackets
_WHITESPACE_OR_CONTROL: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def normalize_email(raw: str) -> str:
    """Return the address trimmed and lower-cased.

    Only the shape is checked (one ``@``, a local part, a dotted domain): deliverability is the job of
    a confirmation mail, and stricter syntax rules reject real addresses.
    """
    value = raw.strip().lower()
    if not value:
        raise InvalidIdentifier("email", "must not be empty")
    if len(value) > _EMAIL_MAX_LENGTH:
        raise InvalidIdentifier("email", f"must be at most {_EMAIL_MAX_LENGTH} characters")
    if _WHITESPACE_OR_CONTROL.search(value):
        raise InvalidIdentifier("email", "must not contain whitespace or control characters")
    if value.count("@") != 1:
        raise InvalidIdentifier("email", "must contain exactly one @")
    local, _, domain = value.partition("@")
    if not local:
        raise InvalidIdentifier("email", "must have a non-empty part before the @")
    if "." not in domain:
        raise InvalidIdentifier("email", "domain must contain a dot")
    if "" in domain.split("."):
        raise InvalidIdentifier("email", "domain must not have empty labels (leading, trailing or double dot)")
    return value


# Chinese resident identity numbers (GB 11643-1999) ----------------------------------------------

_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS: Final = "10X98765432"
_ID_FIRST17: Final = re.compile(r"[0-9]{17}")
_ID_FORMAT: Final = re.compile(r"[0-9]{17}[0-9X]")
_ID_LENGTH: Final = 18
_EARLIEST_BIRTH: Final = date(1900, 1, 1)
_ZERO: Final = ord("0")


def id_number_check_char(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character ("0"-"9" or "X") for 17 leading digits."""
    if not _ID_FIRST17.fullmatch(first17):
        raise InvalidIdentifier("id_number", "the check character needs exactly 17 digits")
    total = sum(weight * (ord(char) - _ZERO) for weight, char in zip(_ID_WEIGHTS, first17, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def normalize_id_number(raw: str) -> str:
    """Return an 18-character resident ID with an upper-case check character, after full validation.

    Checks, in order: length, characters, checksum, then that the embedded birth date (characters
    7-14, YYYYMMDD) is a real date from 1900-01-01 to today.
    """
    value = "".join(unicodedata.normalize("NFKC", raw).split())
    if value.endswith("x"):
        value = value[:-1] + "X"
    if len(value) != _ID_LENGTH:
        raise InvalidIdentifier("id_number", f"length must be {_ID_LENGTH} characters")
    if not _ID_FORMAT.fullmatch(value):
        raise InvalidIdentifier("id_number", "must be 17 digits followed by a digit or X")
    if id_number_check_char(value[:17]) != value[17]:
        raise InvalidIdentifier("id_number", "checksum does not match (ISO 7064 MOD 11-2)")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidIdentifier("id_number", "birth date (characters 7-14) is not a real date") from None
    if not _EARLIEST_BIRTH <= birth <= date.today():
        raise InvalidIdentifier("id_number", "birth date (characters 7-14) must be between 1900-01-01 and today")
    return value


# Names ------------------------------------------------------------------------------------------

_NAME_MAX_LENGTH: Final = 100
# Ordinary whitespace controls (tab, newline, ...) are allowed because they collapse to a space. Bidi
# overrides are refused because they can make a name display as something else; lone surrogates
# because they cannot be encoded for storage.
_NAME_FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def normalize_name(raw: str) -> str:
    """Return the name trimmed, with internal whitespace runs collapsed to one space, in NFC."""
    if _NAME_FORBIDDEN.search(raw):
        raise InvalidIdentifier("name", "must not contain control characters")
    value = unicodedata.normalize("NFC", " ".join(raw.split()))
    if not value:
        raise InvalidIdentifier("name", "must not be empty")
    if len(value) > _NAME_MAX_LENGTH:
        raise InvalidIdentifier("name", f"must be at most {_NAME_MAX_LENGTH} characters")
    return value


# Login usernames -------------------------------------------------------------------------------

# Shapes a mobile number takes as a username or in a breach list: digits, an optional +, the
# separators people type; NFKC has already folded the full-width forms Chinese input methods produce.
_PHONE_LIKE: Final = re.compile(r"\+?[0-9][0-9\s\-.()]{6,24}")


def normalize_username(raw: str) -> str:
    """One spelling per account, wherever a username comes from (a login form, a breach list):
    NFKC, trimmed; a phone number in its vault form (``+86 138-1234-5678`` is ``13812345678``);
    anything else case-folded."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if _PHONE_LIKE.fullmatch(text):
        try:
            return normalize_mobile(text)
        except InvalidIdentifier:
            pass  # digits that are no phone number: a plain username
    return text.casefold()
