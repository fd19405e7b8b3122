"""Is a name a common word of its own? (A real word is a different name.)

A one-slip typo of a short brand often spells a real word: ``koala`` for ``kaola``, ``mall`` for
``vmall``, ``lotto`` for ``otto``, ``chew`` for ``chewy``. Sites under such names are usually what
the word says, registered long before the brand, not typos registered to pass for it; a
typosquatter counts on the customer not noticing a slip, and a word the customer reads as a word
is noticed. So a name that is one slip from the brand and is itself a common word, in English or
in the language of the brand's market, is a different name (decision 0030, revised again
2026-12-05), unless a risky ending or a scam word comes with it.

Word frequencies come from ``wordfreq`` (Robyn Speer et al.; code Apache-2.0, data CC-BY-SA 4.0,
see ``third_party/wordfreq/NOTICE.txt``). The package ships its frequency lists inside itself and
reads them from there; nothing is downloaded. Chinese is not looked up: a Chinese store's Latin
name is pinyin or an English word, and wordfreq's Chinese lists (Han characters, cut by jieba) say
nothing about either.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

# How common a word must be to count as a word of its own, on the Zipf scale (log10 of the word's
# uses per billion words: 3 is once per million words, 4 ten times). Set on the development
# brands only (decision 0030, revised again 2026-12-05, has the trade-off curve).
COMMON_WORD_ZIPF: Final = 2.5

# The language of a country ending, for the brand's market (otto.de -> German, bol.com -> none
# beyond English). Only languages written in Latin letters, whose wordfreq lists need no extra
# tokenizer; English is always asked.
LANGUAGE_OF_ENDING: Final = {
    "de": "de", "at": "de", "ch": "de", "fr": "fr", "be": "fr", "nl": "nl", "es": "es", "mx": "es",
    "ar": "es", "cl": "es", "it": "it", "pt": "pt", "br": "pt", "pl": "pl", "se": "sv",
    "no": "nb", "dk": "da", "fi": "fi", "cz": "cs", "sk": "sk", "hu": "hu", "ro": "ro", "tr": "tr",
    "id": "id", "my": "ms", "vn": "vi", "ph": "fil",
}  # fmt: skip
ALWAYS: Final = "en"


def market_languages(endings: frozenset[str]) -> tuple[str, ...]:
    """English, and the languages of the countries whose endings the store's domains use."""
    found = {LANGUAGE_OF_ENDING[e.rsplit(".", 1)[-1]] for e in endings if e.rsplit(".", 1)[-1] in LANGUAGE_OF_ENDING}
    return (ALWAYS, *sorted(found - {ALWAYS}))


@lru_cache(maxsize=8192)
def word_zipf(name: str, languages: tuple[str, ...]) -> float:
    """How common ``name`` is as a word in the most common of ``languages`` (0 when it is none)."""
    if not (name.isascii() and name.isalpha()):
        return 0.0
    # Imported on first use: wordfreq takes about half a second to import, which every process
    # (each CLI command, the server's start) would otherwise pay whether it checks a link or not.
    from wordfreq import zipf_frequency

    return max(zipf_frequency(name, language) for language in languages)


def is_common_word(name: str, languages: tuple[str, ...], *, threshold: float = COMMON_WORD_ZIPF) -> bool:
    """Whether ``name`` is a word of its own, common in English or the market's language."""
    return word_zipf(name, languages) >= threshold
