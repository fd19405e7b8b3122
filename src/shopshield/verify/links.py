"""The link checker: is this link the store's, a lookalike of it, or something else?

Pure: plain strings in, plain verdicts out; no network, no database, no web framework. Each link
gets one verdict:

- ``official``: it goes to one of the store's registered domains (or a subdomain of one);
- ``lookalike``: it goes elsewhere, dressed as the store (``imitates`` names the official domain,
  or is None where no one domain is borrowed: a bare IP address, a user-info trick);
- ``unknown``: it goes elsewhere and does not imitate the store (a well-known site, an unrelated
  domain, a link shortener whose target cannot be seen);
- ``malformed``: it cannot be read as a web link.

The families a lookalike is caught by, and why each looks the way it does, are in
docs/link-checks.md; decision 0030 says why these rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from shopshield.scams.indicators import SHARED_HOSTS
from shopshield.verify import hosts
from shopshield.verify.distance import MIN_EDITED, allowed_edits, edits, slip
from shopshield.verify.hosts import Link, Malformed
from shopshield.verify.official import CHINESE, DOMAIN_NAME, GIVEN, INITIALS, PINYIN, Brand, Official
from shopshield.verify.reasons import Reason, reason
from shopshield.verify.skeleton import is_mixed_script, skeleton
from shopshield.verify.vocabulary import (
    GENERIC_COUNTRY_ENDINGS,
    HOME_ENDINGS,
    MIN_GLUED,
    NEUTRAL_LABELS,
    PRODUCT_WORDS,
    RESTRICTED_ENDINGS,
    RISKY_ENDINGS,
    SCAM_WORDS,
    WELL_KNOWN,
)
from shopshield.verify.words import is_common_word, market_languages

OFFICIAL: Final = "official"
LOOKALIKE: Final = "lookalike"
UNKNOWN: Final = "unknown"
MALFORMED: Final = "malformed"

# The shortest brand token that may carry a typo inside a longer name (jingdnog-kefu): shorter
# ones match only exactly there.
MIN_FUZZY_PIECE: Final = 5
# The shortest brand token that, standing apart between hyphens, is borrowed whatever words stand
# beside it (sale-ebay); a shorter one (jd, vip) only beside the known words.
MIN_STANDALONE: Final = 4
# The shortest initials of a Chinese name (pdd of 拼多多) that alone make a lookalike.
MIN_INITIALS: Final = 3
# A brand of this many letters (yhd, bol, vip) is judged by one slip only when the slip lengthens
# it (yhdd, yyhd, yhjd: a letter doubled or one added beside the key): the four-letter result is
# rarely a name of its own once common words are set aside, where a three-letter one always is.
SHORT_BRAND: Final = 3
LENGTHENING_SLIPS: Final = ("repetition", "insertion")

# What a link's ending says (ending_kind): the store's own ending; its market's (.cn, and the
# countries of its official domains); one scam links favour; one only eligible registrants hold;
# another country's; any other generic ending.
OWN: Final = "own"
HOME: Final = "home"
RISKY: Final = "risky"
RESTRICTED: Final = "restricted"
FOREIGN: Final = "foreign"
GENERIC: Final = "generic"


@dataclass(frozen=True, slots=True)
class LinkVerdict:
    """The answer for one link, in the contract's shape (``as_json``)."""

    url: str
    verdict: str
    imitates: str | None
    reasons: tuple[Reason, ...]
    family: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "verdict": self.verdict,
            "imitates": self.imitates,
            "reasons": [r.as_json() for r in self.reasons],
        }


@dataclass(frozen=True, slots=True)
class Match:
    """A family that caught a name: the reason's code and the domain imitated."""

    family: str
    domain: str | None


def check_links(urls: Sequence[str], official: Official) -> list[LinkVerdict]:
    """One verdict per link, in input order."""
    return [check_link(url, official) for url in urls]


def check_link(url: str, official: Official) -> LinkVerdict:
    """The verdict for one link against the store's official domains and brand names."""
    try:
        link = hosts.parse(url)
    except Malformed as exc:
        return LinkVerdict(url, MALFORMED, None, (reason(exc.code, limit=hosts.MAX_LINK_CHARS),))
    if link.ip is not None:
        found = [reason("ip_host")]
        if link.ip_obfuscated:
            found.append(reason("ip_obfuscated"))
        return LinkVerdict(url, LOOKALIKE, _borrowed(link.userinfo, official), tuple(found), "ip")
    assert link.registered is not None
    if link.registered in official.suffixes:
        return LinkVerdict(url, OFFICIAL, link.registered, (reason("official_domain", domain=link.registered),))
    matches = _host_matches(link, official)
    if link.userinfo is not None:
        matches.insert(0, Match("userinfo_trick", _borrowed(link.userinfo, official)))
    extra: list[Reason] = []
    if link.punycode:
        extra.append(reason("punycode"))
    if is_mixed_script(link.host):
        extra.append(reason("mixed_script"))
    if matches:
        first = matches[0]
        domain = first.domain or next((m.domain for m in matches if m.domain), None)
        reasons = [reason(m.family, domain=m.domain or "") for m in _unique(matches)]
        return LinkVerdict(url, LOOKALIKE, domain, (*reasons, *extra), first.family)
    if link.registered in SHARED_HOSTS:
        return LinkVerdict(url, UNKNOWN, None, (reason("shortener"),))
    if link.registered in WELL_KNOWN:
        return LinkVerdict(url, UNKNOWN, None, (reason("known_unrelated"),))
    namesake = _same_name_elsewhere(link, official)
    if namesake is not None:
        return LinkVerdict(url, UNKNOWN, None, (reason("same_name_elsewhere", domain=namesake), *extra))
    return LinkVerdict(url, UNKNOWN, None, (reason("not_official"), *extra))


def _unique(matches: Iterable[Match]) -> list[Match]:
    seen: set[str] = set()
    kept = []
    for match in matches:
        if match.family not in seen:
            seen.add(match.family)
            kept.append(match)
    return kept


def _borrowed(userinfo: str | None, official: Official) -> str | None:
    """The official domain a link's user-info part names or spells, if any."""
    if not userinfo:
        return None
    text = hosts.clean_text(userinfo).lower()
    for domain in official.domains:
        if domain in text:
            return domain
    for brand in official.brands:
        if brand.token in text and len(brand.token) >= 2:
            return brand.domain
    return None


def _host_matches(link: Link, official: Official) -> list[Match]:
    """Every family that catches ``link``'s host, the registered name's first."""
    matches: list[Match] = []
    assert link.registered is not None
    assert link.suffix is not None
    if link.registered not in WELL_KNOWN:
        matches.extend(_name_matches(link.name, link.suffix, official, scam_words=_scam_words_around(link)))
    for label in link.subdomain_labels:
        pieces = _segment(label, official)
        if pieces is not None and any(isinstance(p, Brand) for p in pieces):
            brand = next(p for p in pieces if isinstance(p, Brand))
            matches.append(Match("official_in_subdomain", brand.domain))
            break
    return matches


def ending_kind(suffix: str, official: Official) -> str:
    """What the ending ``suffix`` says about a name that borrows the store's (OWN, HOME, RISKY,
    RESTRICTED, FOREIGN or GENERIC; the first that applies)."""
    own = set(official.suffixes.values())
    if suffix in own:
        return OWN
    last = suffix.rsplit(".", 1)[-1]
    markets = {s.rsplit(".", 1)[-1] for s in own} - GENERIC_COUNTRY_ENDINGS
    if suffix in HOME_ENDINGS or last in HOME_ENDINGS or (_is_country(last) and last in markets):
        return HOME
    if suffix in RISKY_ENDINGS or last in RISKY_ENDINGS:
        return RISKY
    if last in RESTRICTED_ENDINGS:
        return RESTRICTED
    if _is_country(last) and last not in GENERIC_COUNTRY_ENDINGS:
        return FOREIGN
    return GENERIC


def _is_country(label: str) -> bool:
    return len(label) == 2 and label.isascii() and label.isalpha()


def _same_name_elsewhere(link: Link, official: Official) -> str | None:
    """The official domain whose name ``link``'s registered name is, when only the ending differs
    and the ending is another country's or a restricted one (what ``_name_matches`` leaves)."""
    assert link.suffix is not None
    if ending_kind(link.suffix, official) not in (FOREIGN, RESTRICTED):
        return None
    plain = link.name.replace("-", "")
    for brand in official.brands:
        if brand.source != CHINESE and plain == brand.token:
            return brand.domain
    return None


def _scam_words_around(link: Link) -> bool:
    """Whether a subdomain of the link says what the scam says (refund.koala.com, kefu-help.x.com):
    a scam word standing in a label, not one of the labels every site has (www, m, mobile)."""
    return any(
        part in SCAM_WORDS and part not in NEUTRAL_LABELS
        for label in link.subdomain_labels
        for part in label.split("-")
    )


def _name_matches(name: str, suffix: str, official: Official, *, scam_words: bool = False) -> list[Match]:
    """The families that catch a registered name (``jd-kefu`` of ``jd-kefu.top``, ending ``top``).

    Two rules weigh the ending (decision 0030, revised 2026-12-05):

    - The exact name under another country's ending (amazon.de, jd.hk, ebay.co.uk) or a restricted
      one (amazon.jobs) is not called a lookalike: big brands hold their name under the countries
      they sell in, and where they do not, the holder is more often a local namesake than a
      scammer, who would have to meet that country's registry's rules. Under a generic ending
      (jd.top, jd.net), the store's market's (jd.cn, jd.com.cn) or one sold as generic (jd.cc), it
      still is; with scam words (amazon-refund.de) it is, whatever the ending.
    - One difference at a time: a typo registered to pass for the store keeps everything else the
      same, the ending first of all (amazn.com). A slip under another ending (amazone.de,
      embay.org, wallmart.org) is two differences, where real namesakes live; it counts only
      under the store's market's ending or one scam links favour (jingdnog.cn, amazn.top).
    """
    found: list[Match] = []
    plain = name.replace("-", "")
    shape = skeleton(name)
    kind = ending_kind(suffix, official)
    elsewhere = kind in (FOREIGN, RESTRICTED)
    typo_ending = kind in (OWN, HOME, RISKY)
    # A slip that spells a common word of its own (koala for kaola, lotto for otto) is a different
    # name, unless a risky ending or a scam word in a subdomain comes with it (words.py).
    languages = market_languages(frozenset(official.suffixes.values()))
    own_word = kind != RISKY and not scam_words and is_common_word(plain, languages)
    for brand in official.brands:
        token = brand.token
        if name == token or plain == token:
            # Two-letter initials (tb, dd) are too many other sites' names to be the store's alone;
            # they count only with words added (tb-tuikuan).
            if (brand.source != INITIALS or len(token) >= MIN_INITIALS) and (brand.source == CHINESE or not elsewhere):
                found.append(Match(_exact_family(brand), brand.domain))
            continue
        if brand.source == CHINESE:
            if token in name:
                found.append(Match("brand_chinese", brand.domain))
            continue
        if shape == skeleton(token):
            found.append(Match("visual_swap" if name.isascii() else "homoglyph", brand.domain))
            continue
        if _lengthened_short_brand(name, token, brand.source) and typo_ending and not own_word:
            found.append(Match("typo", brand.domain))
            continue
        limit = allowed_edits(len(token))
        if not limit or brand.source == INITIALS or len(plain) < MIN_EDITED or not typo_ending or own_word:
            continue
        direct = min(edits(name, token, limit=limit).count, edits(plain, token, limit=limit).count)
        if direct <= limit:
            if _is_typo(name, plain, token, limit):
                found.append(Match("typo" if name.isascii() else "homoglyph", brand.domain))
        elif edits(shape, skeleton(token), limit=limit).count <= limit:
            # Look-alike letters and a slip together (arnaz0n, arnazom): named by the letters, the
            # rarer trick. Only when the look-alike letters explain part of the difference: a plain
            # word one edit away (jumex) is judged above, as a slip or not.
            found.append(Match("visual_swap" if name.isascii() else "homoglyph", brand.domain))
    pieces = _segment(name, official)
    if pieces is not None:
        brand_piece = next((p for p in pieces if isinstance(p, Brand)), None)
        # A brand standing apart beside words the list does not know (ebay-kleinanzeigen) is the
        # weakest evidence of the family: under another country's ending it is left alone, as the
        # exact name is.
        words = [p for p in pieces if isinstance(p, str)]
        unknown_words = any(w not in SCAM_WORDS and not w.isdigit() for w in words)
        # The brand glued to product words only (jdpay, vipshop) is how brands name their own
        # sites: under an ordinary ending it is left alone (PRODUCT_WORDS).
        product_only = "-" not in name and bool(words) and all(w in PRODUCT_WORDS for w in words)
        weak = (unknown_words and elsewhere) or (product_only and kind not in (RISKY, HOME))
        if brand_piece is not None and len(pieces) > 1 and not weak:
            family = "brand_with_words" if brand_piece.source == DOMAIN_NAME else _brand_family(brand_piece)
            found.append(Match(family, brand_piece.domain))
    elif kind in (RISKY, HOME):
        # A short official name standing apart between hyphens beside words the list does not know
        # (jd-sale.cc, vip-global.cn), under an ending scam links favour or the store's market's.
        short = _short_name_apart(name, official)
        if short is not None:
            found.append(Match("brand_with_words", short.domain))
    # The first family found for the longest token is the one the verdict names.
    return found


def _lengthened_short_brand(name: str, token: str, source: str) -> bool:
    """Whether ``name`` is a three-letter brand name lengthened by one slip (yhdd, yhjd for yhd)."""
    return (
        len(token) == SHORT_BRAND
        and source in (DOMAIN_NAME, GIVEN)
        and name.isascii()
        and len(name) == SHORT_BRAND + 1
        and slip(name, token) in LENGTHENING_SLIPS
    )


def _short_name_apart(name: str, official: Official) -> Brand | None:
    """The official name of two or three letters when it stands apart between hyphens in ``name``
    beside other words (jd-sale, club-vip): the store's own name, not initials (tb-sale is not
    taobao's). ``_segment`` takes only known words beside so short a name; this is for the
    endings where a name borrowed whole needs no more evidence."""
    parts = [part for part in name.split("-") if part]
    if len(parts) < 2:
        return None
    for brand in official.brands:
        if brand.source == DOMAIN_NAME and len(brand.token) < MIN_STANDALONE and brand.token in parts:
            return brand
    return None


def _is_typo(name: str, plain: str, token: str, limit: int) -> bool:
    """Whether ``name`` (or it without hyphens) is ``token`` mistyped. Where one edit is allowed
    (names of four to seven letters), it must be a slip of the hand (``distance.slip``): at these
    lengths a letter changed at random is as likely to spell a real name (jumex, epay, walmark) as
    to be a mistake. Longer names allow two edits of any kind: two edits from eight letters or
    more rarely land on another real name.

    A name that is not all ASCII is exempt: the one letter changed is of another script (taoβao,
    eτsy), one the confusables data does not join to the Latin letter, and no real name mixes
    scripts inside a word; it is a homoglyph, not a namesake. (Found after the fresh split's one
    scoring, where the rule had dropped such names; decision 0030, revised 2026-12-05.)"""
    if limit > 1 or not name.isascii():
        return True
    return slip(name, token) is not None or slip(plain, token) is not None


def _exact_family(brand: Brand) -> str:
    """The registered name is exactly a brand token: another ending, or a Chinese name's spelling."""
    if brand.source == DOMAIN_NAME:
        return "tld_swap"
    return _brand_family(brand)


def _brand_family(brand: Brand) -> str:
    if brand.source == CHINESE:
        return "brand_chinese"
    if brand.source in (PINYIN, INITIALS):
        return "brand_pinyin"
    return "brand_with_words"


Piece = Brand | str


def _segment(name: str, official: Official) -> tuple[Piece, ...] | None:
    """``name`` cut into brand tokens, added words and numbers (``jd-kefu-2024`` ->
    jd, kefu, 2024), or None when some of it is neither. A brand token of five letters or more
    may carry one typo here (``jingdnog-kefu``)."""
    return _segment_cached(name, official)


@lru_cache(maxsize=4096)
def _segment_cached(name: str, official: Official) -> tuple[Piece, ...] | None:
    parts = [part for part in name.split("-") if part]
    if not parts:
        return None
    cuts = [_cut(part, official, standalone=True) for part in parts]
    if any(cut is None for cut in cuts):
        # A long brand standing apart between hyphens is borrowed whatever stands beside it
        # (smile-amazon, walmart-deals-2024); a short one ("jd", "vip") only beside known words.
        whole = [_long_brand(part, official) for part in parts]
        if len(parts) > 1 and any(b is not None for b in whole):
            return tuple(b if b is not None else part for b, part in zip(whole, parts, strict=True))
        return None
    return tuple(piece for cut in cuts if cut is not None for piece in cut)


def _long_brand(part: str, official: Official) -> Brand | None:
    return next(
        (b for b in official.brands if b.token == part and len(b.token) >= MIN_STANDALONE and b.source != INITIALS),
        None,
    )


def _cut(text: str, official: Official, *, standalone: bool) -> list[Piece] | None:
    """The fewest pieces ``text`` splits into, brands preferred; None when it does not split."""
    n = len(text)
    best: list[list[Piece] | None] = [None] * (n + 1)
    best[0] = []
    for start in range(n):
        so_far = best[start]
        if so_far is None:
            continue
        for end, piece in _pieces_at(text, start, official, whole=standalone):
            candidate = [*so_far, piece]
            current = best[end]
            if current is None or _better(candidate, current):
                best[end] = candidate
    return best[n]


def _better(candidate: list[Piece], current: list[Piece]) -> bool:
    brands = sum(isinstance(p, Brand) for p in candidate) - sum(isinstance(p, Brand) for p in current)
    if brands != 0:
        return brands > 0
    return len(candidate) < len(current)


def _pieces_at(text: str, start: int, official: Official, *, whole: bool) -> Iterable[tuple[int, Piece]]:
    rest = text[start:]
    for brand in official.brands:
        token = brand.token
        if rest.startswith(token):
            yield start + len(token), brand
        elif len(token) >= MIN_FUZZY_PIECE and brand.source != CHINESE:
            for size in (len(token) - 1, len(token), len(token) + 1):
                if size <= len(rest) and edits(rest[:size], token, limit=1).count <= 1:
                    yield start + size, brand
    for size in range(1, min(len(rest), 12) + 1):
        word = rest[:size]
        glued_word = word in SCAM_WORDS and (size >= MIN_GLUED or (start == 0 and size == len(text) and whole))
        if glued_word or word.isdigit():
            yield start + size, word
