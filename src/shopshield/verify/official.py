"""What is the store's own: its official web domains and the brand names lookalikes borrow.

A brand name in Chinese (京东, 聚美优品) brings its pinyin (jingdong, jumeiyoupin), its initials
(jd, jmyp) and, for names of four characters or more, the pinyin of the first two (jumei), worked
out with ``pypinyin`` from its bundled dictionary. Each brand token remembers which official domain a
lookalike built on it imitates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from shopshield.core.errors import InvalidInput
from shopshield.verify import hosts

MAX_OFFICIAL: Final = 100

# Where a token came from: the official domain's own name, a given brand name, its pinyin, its
# initials, or the Chinese name itself.
DOMAIN_NAME: Final = "domain_name"
GIVEN: Final = "given"
PINYIN: Final = "pinyin"
INITIALS: Final = "initials"
CHINESE: Final = "chinese"


# Digits as the Chinese numerals they are read as, for the pinyin of a name that has them.
DIGITS_READ: Final = str.maketrans("0123456789", "零一二三四五六七八九")


class BadOfficial(InvalidInput, ValueError):
    """An official domain or brand name that cannot be one; the message names which and why."""


@dataclass(frozen=True, slots=True)
class Brand:
    """A spelling of the store's name that a lookalike may borrow, and the domain it imitates."""

    token: str
    source: str
    domain: str


@dataclass(frozen=True, slots=True, eq=False)
class Official:
    """The store's official registered domains and its brand tokens, longest first."""

    domains: tuple[str, ...]
    suffixes: dict[str, str]
    brands: tuple[Brand, ...]

    @classmethod
    def of(cls, domains: Iterable[str], brand_names: Iterable[str] = ()) -> Official:
        registered: list[str] = []
        suffixes: dict[str, str] = {}
        for index, value in enumerate(domains):
            try:
                link = hosts.parse(value)
            except hosts.Malformed as exc:
                raise BadOfficial(f"official domain #{index + 1} is not a domain ({exc.code})") from None
            if link.registered is None or link.suffix is None:
                raise BadOfficial(f"official domain #{index + 1} is an IP address, not a domain")
            if link.registered not in suffixes:
                registered.append(link.registered)
                suffixes[link.registered] = link.suffix
        if not registered:
            raise BadOfficial("no official domain given")
        if len(registered) > MAX_OFFICIAL:
            raise BadOfficial(f"at most {MAX_OFFICIAL} official domains")
        brands: dict[str, Brand] = {}
        for domain in registered:
            name = domain[: -len(suffixes[domain]) - 1]
            for token in {name, name.replace("-", "")}:
                brands.setdefault(token, Brand(token, DOMAIN_NAME, domain))
        primary = registered[0]
        for index, value in enumerate(brand_names):
            for token, source in brand_tokens(value, index):
                brands.setdefault(token, Brand(token, source, primary))
        ordered = tuple(sorted(brands.values(), key=lambda b: (-len(b.token), b.token)))
        return cls(tuple(registered), suffixes, ordered)

    def name_of(self, domain: str) -> str:
        return domain[: -len(self.suffixes[domain]) - 1]


def brand_tokens(value: str, index: int = 0) -> list[tuple[str, str]]:
    """The tokens of one brand name: itself (Chinese, or letters and digits in lower case) and,
    for a Chinese name, its pinyin, its initials and the pinyin of its first two characters."""
    name = unicodedata.normalize("NFKC", value).strip().lower()
    if not name or len(name) > 40:
        raise BadOfficial(f"brand name #{index + 1} must have 1 to 40 characters")
    if not any(_is_han(c) for c in name):
        token = re.sub(r"[^0-9a-z]", "", name)
        if not token:
            raise BadOfficial(f"brand name #{index + 1}: letters or Chinese characters expected")
        return [(token, GIVEN)]
    han = "".join(c for c in name if _is_han(c) or c.isalnum())
    # A digit in a Chinese name is read in Chinese (1号店 is yī hào diàn, spelled yihaodian), so
    # its pinyin is the numeral's.
    spoken = han.translate(DIGITS_READ)
    # Imported on first use, like wordfreq in ``words``: pypinyin's tables load in most of a second.
    from pypinyin import lazy_pinyin

    syllables = [re.sub(r"[^a-z0-9]", "", s) for s in lazy_pinyin(spoken, errors="ignore")]
    syllables = [s for s in syllables if s]
    found: list[tuple[str, str]] = [(han, CHINESE)]
    if syllables:
        found.append(("".join(syllables), PINYIN))
        found.append(("".join(s[0] for s in syllables), INITIALS))
        if len(syllables) >= 4:
            found.append(("".join(syllables[:2]), PINYIN))
    return found


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"
