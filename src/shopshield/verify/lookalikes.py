"""Candidate lookalike domains of an official one, for the security team to watch (registrations,
certificate logs, blocklists): the same families the link checker catches, each name with its
family, in a fixed order so two runs compare line by line.

Pure; names are produced, never resolved.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from shopshield.verify.distance import KEYBOARD, MIN_EDITED, allowed_edits
from shopshield.verify.official import CHINESE, INITIALS, PINYIN, Official
from shopshield.verify.skeleton import skeleton

# Endings scam links favour (cheap, loosely policed), and the store's own country's.
TLDS: Final = ("com", "cn", "com.cn", "net", "top", "xyz", "vip", "shop", "cc", "online", "site", "info", "co")
# The words most often glued to a brand in fake-refund and phishing links.
WORDS: Final = (
    "refund", "kefu", "tuikuan", "login", "vip", "pay", "service", "help", "cs", "support",
    "secure", "account", "verify", "online", "official", "shouhou", "客服", "退款", "官网",
)  # fmt: skip
# Letters of other scripts that render like a Latin one in most fonts.
HOMOGLYPHS: Final = {
    "a": "аɑ", "c": "сϲ", "d": "ԁ", "e": "е", "g": "ɡ", "h": "һ", "i": "іι", "j": "ј", "k": "κ",
    "l": "ӏ", "n": "ո", "o": "оο", "p": "рρ", "q": "ԛ", "s": "ѕ", "u": "υ", "v": "ν", "w": "ԝ",
    "x": "хχ", "y": "уγ",
}  # fmt: skip
# ASCII spellings that read as another letter at a glance.
VISUAL: Final = (("m", "rn"), ("w", "vv"), ("d", "cl"), ("o", "0"), ("l", "1"), ("i", "1"), ("l", "i"), ("i", "l"))

FAMILIES: Final = (
    "typo",
    "visual_swap",
    "homoglyph",
    "tld_swap",
    "brand_with_words",
    "official_in_subdomain",
    "brand_pinyin",
    "brand_chinese",
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One name to watch, the family it belongs to, and its ASCII (punycode) form."""

    domain: str
    family: str
    ascii: str

    def as_json(self) -> dict[str, str]:
        return {"domain": self.domain, "family": self.family, "ascii": self.ascii}


def lookalikes(official: Official, *, limit: int = 5000) -> list[Candidate]:
    """Up to ``limit`` candidates for the first official domain, family by family, each name once."""
    domain = official.domains[0]
    name, suffix = official.name_of(domain), official.suffixes[domain]
    seen = {domain}
    found: list[Candidate] = []
    for family, candidate in _all(name, suffix, official):
        if candidate in seen or not _valid(candidate):
            continue
        seen.add(candidate)
        found.append(Candidate(candidate, family, _ascii(candidate)))
        if len(found) >= limit:
            break
    return found


def _all(name: str, suffix: str, official: Official) -> Iterator[tuple[str, str]]:
    # A name of three letters or fewer is one slip from too many others: the checker matches it
    # only exactly or by look-alike letters, and so is the list.
    fuzzy = allowed_edits(len(name)) > 0
    if fuzzy:
        for typo in typos(name):
            # A slip that leaves three letters or fewer (bay of ebay) lands among real names: the
            # checker does not judge such names by edits, and the list does not offer them.
            if len(typo.replace("-", "")) >= MIN_EDITED:
                yield "typo", f"{typo}.{suffix}"
    for swap in visual_swaps(name):
        if fuzzy or skeleton(swap) == skeleton(name):
            yield "visual_swap", f"{swap}.{suffix}"
    for glyph in homoglyphs(name):
        yield "homoglyph", f"{glyph}.{suffix}"
    for tld in TLDS:
        if tld != suffix:
            yield "tld_swap", f"{name}.{tld}"
    for word in WORDS:
        for spelled in (f"{name}-{word}", f"{word}-{name}", f"{name}{word}", f"{word}{name}"):
            yield "brand_with_words", f"{spelled}.{TLDS[0] if word.isascii() else 'com'}"
        yield "brand_with_words", f"{name}-{word}.top"
    for word in WORDS[:6]:
        yield "official_in_subdomain", f"{name}.{suffix}.{word}-cn.top"
        yield "official_in_subdomain", f"www.{name}.{suffix}-{word}.top"
    for brand in official.brands:
        if brand.source in (PINYIN, INITIALS) and brand.token != name:
            for tld in TLDS[:6]:
                yield "brand_pinyin", f"{brand.token}.{tld}"
            for word in WORDS[:8]:
                yield "brand_pinyin", f"{brand.token}-{word}.com"
        if brand.source == CHINESE:
            for tld in ("com", "cn", "top", "中国", "公司"):
                yield "brand_chinese", f"{brand.token}.{tld}"
            for word in ("客服", "退款", "官网", "售后"):
                yield "brand_chinese", f"{brand.token}{word}.com"


def typos(name: str) -> Iterator[str]:
    """One slip each: a letter left out, doubled, swapped with its neighbour, or hit on a
    neighbouring key (in its place, or added beside it)."""
    for i in range(len(name)):
        yield name[:i] + name[i + 1 :]
    for i in range(len(name)):
        yield name[: i + 1] + name[i] + name[i + 1 :]
    for i in range(len(name) - 1):
        yield name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    for i, char in enumerate(name):
        for near in sorted(KEYBOARD.get(char, ())):
            if near.isalnum():
                yield name[:i] + near + name[i + 1 :]
                yield name[: i + 1] + near + name[i + 1 :]


def visual_swaps(name: str) -> Iterator[str]:
    """Each place a letter can be written as ASCII that reads like it (m as rn, o as 0, ...)."""
    for letter, looks in VISUAL:
        start = name.find(letter)
        while start >= 0:
            yield name[:start] + looks + name[start + len(letter) :]
            start = name.find(letter, start + 1)
    for looks, letter in (("rn", "m"), ("vv", "w"), ("cl", "d")):
        if looks in name:
            yield name.replace(looks, letter, 1)


def homoglyphs(name: str) -> Iterator[str]:
    """Each letter in turn as a look-alike of another script, then every letter that has one."""
    for i, char in enumerate(name):
        for glyph in HOMOGLYPHS.get(char, ""):
            yield name[:i] + glyph + name[i + 1 :]
    whole = "".join(HOMOGLYPHS.get(c, c)[0] for c in name)
    if whole != name:
        yield whole


def _valid(domain: str) -> bool:
    labels = domain.split(".")
    return all(label and not label.startswith("-") and not label.endswith("-") for label in labels)


def _ascii(domain: str) -> str:
    if domain.isascii():
        return domain
    labels = []
    for label in domain.split("."):
        labels.append(label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii"))
    return ".".join(labels)
