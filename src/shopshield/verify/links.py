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
from shopshield.verify.distance import allowed_edits, edits
from shopshield.verify.hosts import Link, Malformed
from shopshield.verify.official import CHINESE, DOMAIN_NAME, INITIALS, PINYIN, Brand, Official
from shopshield.verify.reasons import Reason, reason
from shopshield.verify.skeleton import is_mixed_script, skeleton
from shopshield.verify.vocabulary import MIN_GLUED, SCAM_WORDS, WELL_KNOWN

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
        matches.extend(_name_matches(link.name, official))
    for label in link.subdomain_labels:
        pieces = _segment(label, official)
        if pieces is not None and any(isinstance(p, Brand) for p in pieces):
            brand = next(p for p in pieces if isinstance(p, Brand))
            matches.append(Match("official_in_subdomain", brand.domain))
            break
    return matches


def _name_matches(name: str, official: Official) -> list[Match]:
    """The families that catch a registered name (``jd-kefu`` of ``jd-kefu.top``)."""
    found: list[Match] = []
    plain = name.replace("-", "")
    shape = skeleton(name)
    for brand in official.brands:
        token = brand.token
        if name == token or plain == token:
            # Two-letter initials (tb, dd) are too many other sites' names to be the store's alone;
            # they count only with words added (tb-tuikuan).
            if brand.source != INITIALS or len(token) >= MIN_INITIALS:
                found.append(Match(_exact_family(brand), brand.domain))
            continue
        if brand.source == CHINESE:
            if token in name:
                found.append(Match("brand_chinese", brand.domain))
            continue
        if shape == skeleton(token):
            found.append(Match("visual_swap" if name.isascii() else "homoglyph", brand.domain))
            continue
        limit = allowed_edits(len(token))
        if not limit or brand.source == INITIALS:
            continue
        if min(edits(name, token, limit=limit).count, edits(plain, token, limit=limit).count) <= limit:
            found.append(Match("typo" if name.isascii() else "homoglyph", brand.domain))
        elif edits(shape, skeleton(token), limit=limit).count <= limit:
            # Look-alike letters and a slip together (arnaz0n): named by the letters, the rarer trick.
            found.append(Match("visual_swap" if name.isascii() else "homoglyph", brand.domain))
    pieces = _segment(name, official)
    if pieces is not None:
        brand_piece = next((p for p in pieces if isinstance(p, Brand)), None)
        if brand_piece is not None and len(pieces) > 1:
            family = "brand_with_words" if brand_piece.source == DOMAIN_NAME else _brand_family(brand_piece)
            found.append(Match(family, brand_piece.domain))
    # The first family found for the longest token is the one the verdict names.
    return found


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
