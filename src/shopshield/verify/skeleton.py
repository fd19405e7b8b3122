"""Confusable skeletons (Unicode TS #39, section 4) and the scripts a name mixes.

Two names that look alike to a reader have the same skeleton: Cyrillic "а" and Latin "a", digit
"1" and letter "l", "m" and "rn". The mapping is Unicode's own ``confusables.txt``, vendored
unchanged under ``third_party/unicode`` with its licence and read once, on first use; nothing is
downloaded. Domain names are compared in lower case, so a skeleton here is folded to lower case
after the mapping, accents are dropped, and a few ASCII spellings that the data leaves out but
that read alike in a small font (``vv``/``w``, ``cl``/``d``, ``i``/``l``) are folded too.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources
from typing import Final

# ASCII that passes for another letter at a glance and that confusables.txt does not map (it maps
# single code points, "m" to "rn" and "1" to "l", but keeps "i" apart from "l", which a sans-serif
# font, as phones show links, does not).
ASCII_FOLDS: Final = (("vv", "w"), ("cl", "d"), ("i", "l"))

# Letters that readers take for Latin ones but that confusables.txt leaves apart: it maps them to
# a prototype that is not a Latin letter (Greek tau and Cyrillic te to small capital T), or not at
# all. Applied after the TS #39 mapping, so each key is the prototype the data gives (or the
# letter itself), with the letters it stands for. Each is here for how it looks in a lower-case
# sans-serif word at a phone's font size, not for any link seen: a letter of x-height with the
# Latin letter's strokes, or the Latin letter with a tail below the line.
EXTRA_FOLDS: Final = {
    "ᴛ": "t",  # Greek τ, Cyrillic т, small capital T: the stem and bar of t, without its ascender
    "ĸ": "k",  # Greek κ, Cyrillic к, kra ĸ, small capital K: k at x-height
    "ß": "b",  # Greek β (the data joins it to German ß): b with its bowl, the stem running below
    "χ": "x",  # Greek χ: two crossed strokes, one dipping below the line
    "ω": "w",  # Greek ω: w with rounded points
    "μ": "u",  # Greek μ: u with a tail below the line
    "ꞓ": "e",  # Greek ε (the data's prototype, c with a bar): the open e of many fonts
    "ς": "c",  # Greek final ς: c with a hook below
    "π": "n",  # Cyrillic п (and Greek π): an n with a square shoulder
    "ƅ": "b",  # Cyrillic ь (the data's tone-six prototype): b cut at x-height
    "ʙ": "b",  # Cyrillic в, small capital B: b's two bowls at x-height
    "ʍ": "m",  # Cyrillic м (the data's turned w): m with pointed arches
    "ʀ": "r",  # small capital R: r at x-height with a bowl
    "ȷ": "j",  # dotless j: j without its dot, as ı is i
}
_EXTRA: Final = str.maketrans(EXTRA_FOLDS)

# Scripts that TS #39's "highly restrictive" level lets one name combine: Chinese, Japanese and
# Korean names mix Han with their own scripts and with Latin as a matter of course.
ALLOWED_MIXES: Final = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


@cache
def _table() -> dict[int, str]:
    """Source code point -> its prototype, from confusables.txt (``SOURCE ; TARGET ; MA``)."""
    text = resources.files("shopshield.verify").joinpath("third_party/unicode/confusables.txt")
    table: dict[int, str] = {}
    for line in text.read_text(encoding="utf-8-sig").splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        fields = [field.strip() for field in data.split(";")]
        if len(fields) < 2:
            continue
        source = [int(cp, 16) for cp in fields[0].split()]
        if len(source) != 1:
            continue
        table[source[0]] = "".join(chr(int(cp, 16)) for cp in fields[1].split())
    return table


def skeleton(name: str) -> str:
    """``name``'s confusable skeleton, in lower case: equal skeletons look alike."""
    mapped = unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).translate(_table()))
    folded = mapped.lower()
    # Lower-casing can produce letters that have prototypes of their own ("I" -> "i" is not "l"),
    # so map once more, then fold the ASCII pairs.
    folded = unicodedata.normalize("NFD", folded.translate(_table())).lower()
    # Beyond TS #39: the letters it leaves apart that read as Latin ones (EXTRA_FOLDS); what they
    # give (an "m") is mapped once more, as the data maps it.
    folded = folded.translate(_EXTRA).translate(_table())
    # Beyond TS #39: accents and dots above or below (ď, ė, ų, ń) go too. At a phone's font size
    # they read as the bare letter, and domain names of the store's own never carry them.
    folded = "".join(c for c in folded if unicodedata.category(c) != "Mn")
    for pair, single in ASCII_FOLDS:
        folded = folded.replace(pair, single)
    # "m" maps to "rn" in the data; "rn" is then the form both spellings share.
    return folded


def script_of(char: str) -> str | None:
    """The script of a letter, from its Unicode name (None for digits, hyphens and marks)."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    if not name:
        return "UNKNOWN"
    first = name.split(" ", 1)[0]
    if first == "CJK":
        return "HAN"
    return first


def scripts(name: str) -> frozenset[str]:
    """Every script whose letters ``name`` uses."""
    return frozenset(s for s in (script_of(c) for c in name) if s is not None)


def is_mixed_script(name: str) -> bool:
    """Whether ``name`` mixes scripts beyond what TS #39's highly restrictive level allows."""
    found = scripts(name)
    if len(found) <= 1:
        return False
    return not any(found <= allowed for allowed in ALLOWED_MIXES)
