"""How far one name is from another in the slips people make typing it, and what slips they are.

The distance is Damerau-Levenshtein's (optimal string alignment): a letter left out, added,
changed, or two neighbours swapped, each one edit. Changing a letter for a neighbour on a QWERTY
keyboard, or adding one beside the key that was meant, is a slip a registrant of typo domains
counts on, so the edits are also named, for the reason shown and for the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_ROWS: Final = ("1234567890-", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, frozenset[str]]:
    where = {key: (row, col) for row, keys in enumerate(_ROWS) for col, key in enumerate(keys)}
    near: dict[str, frozenset[str]] = {}
    for key, (row, col) in where.items():
        # Same row: the keys left and right. Each row sits about half a key to the right of the
        # one above, so a key touches the row below at columns col-1 and col, the row above at
        # col and col+1.
        touching = {
            (row, col - 1),
            (row, col + 1),
            (row + 1, col - 1),
            (row + 1, col),
            (row - 1, col),
            (row - 1, col + 1),
        }
        near[key] = frozenset(other for other, place in where.items() if place in touching)
    return near


KEYBOARD: Final = _neighbours()


def _touch_neighbours() -> dict[str, frozenset[str]]:
    # On a phone's keyboard, where most links are typed and read, the rows are staggered by half a
    # key (not as on a desk keyboard) and a thumb lands up to about a key away: the keys left and
    # right, and the three nearest in the rows above and below, all count.
    where = {key: (row, col) for row, keys in enumerate(_ROWS) for col, key in enumerate(keys)}
    near: dict[str, frozenset[str]] = {}
    for key, (row, col) in where.items():
        touching = {(row, col - 1), (row, col + 1)} | {
            (r, c) for r in (row - 1, row + 1) for c in (col - 1, col, col + 1)
        }
        near[key] = KEYBOARD[key] | frozenset(other for other, place in where.items() if place in touching)
    return near


# A key's neighbours for a slip (``slip``): the desk keyboard's, and those a thumb reaches.
NEAR_KEYS: Final = _touch_neighbours()


@dataclass(frozen=True, slots=True)
class Edits:
    """The edits from one name to another: how many, and of which kind each is."""

    count: int
    kinds: tuple[str, ...]


def edits(source: str, target: str, *, limit: int = 3) -> Edits:
    """The fewest edits that turn ``target`` (the official name) into ``source`` (the name seen),
    with their kinds: ``omission``, ``repetition`` (a letter doubled), ``insertion``,
    ``adjacent_key`` (a neighbour on the keyboard), ``substitution`` and ``transposition``.
    Past ``limit`` edits the count is ``limit + 1`` and the kinds are left out."""
    n, m = len(source), len(target)
    if abs(n - m) > limit:
        return Edits(limit + 1, ())
    # dist[i][j]: edits from target[:j] to source[:i].
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        row_best = limit + 1
        for j in range(1, m + 1):
            cost = 0 if source[i - 1] == target[j - 1] else 1
            best = min(dist[i - 1][j] + 1, dist[i][j - 1] + 1, dist[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and source[i - 1] == target[j - 2] and source[i - 2] == target[j - 1]:
                best = min(best, dist[i - 2][j - 2] + 1)
            dist[i][j] = best
            row_best = min(row_best, best)
        if row_best > limit:
            return Edits(limit + 1, ())
    total = dist[n][m]
    if total > limit:
        return Edits(limit + 1, ())
    return Edits(total, _kinds(source, target, dist))


def _kinds(source: str, target: str, dist: list[list[int]]) -> tuple[str, ...]:
    """Walk the table back from the end and name each edit on the way."""
    i, j = len(source), len(target)
    kinds: list[str] = []
    while i > 0 or j > 0:
        here = dist[i][j]
        if i > 0 and j > 0 and source[i - 1] == target[j - 1] and dist[i - 1][j - 1] == here:
            i, j = i - 1, j - 1
            continue
        if (
            i > 1
            and j > 1
            and source[i - 1] == target[j - 2]
            and source[i - 2] == target[j - 1]
            and dist[i - 2][j - 2] == here - 1
        ):
            kinds.append("transposition")
            i, j = i - 2, j - 2
            continue
        if i > 0 and j > 0 and dist[i - 1][j - 1] == here - 1:
            seen, meant = source[i - 1], target[j - 1]
            kinds.append("adjacent_key" if seen in KEYBOARD.get(meant, frozenset()) else "substitution")
            i, j = i - 1, j - 1
            continue
        if i > 0 and dist[i - 1][j] == here - 1:
            added = source[i - 1]
            doubled = (i > 1 and source[i - 2] == added) or (i < len(source) and source[i] == added)
            kinds.append("repetition" if doubled else "insertion")
            i -= 1
            continue
        kinds.append("omission")
        j -= 1
    return tuple(reversed(kinds))


def slip(seen: str, meant: str) -> str | None:
    """The kind of the one slip of the hand that turns ``meant`` (the official name) into ``seen``,
    or None when ``seen`` is not one slip away.

    The slips are the typing-mistake models typosquatting studies measure and typosquatters
    register (Wang et al., "Strider Typo-Patrol", 2006): a letter left out (``omission``), doubled
    (``repetition``), two neighbours swapped (``transposition``), a neighbouring key hit instead
    (``adjacent_key``) or as well (``insertion``, the extra letter beside a key it touches;
    ``NEAR_KEYS``, a phone's keyboard as well as a desk's). A
    letter typed far from the one meant, or added away from any key it touches, is not a slip: it
    spells another word (jumex for jumei, epay for ebay, walmark for walmart).
    """
    n, m = len(seen), len(meant)
    if n == m - 1:
        return "omission" if any(meant[:i] + meant[i + 1 :] == seen for i in range(m)) else None
    if n == m + 1:
        kind = None
        for i in range(n):
            if seen[:i] + seen[i + 1 :] != meant:
                continue
            added = seen[i]
            around = [seen[j] for j in (i - 1, i + 1) if 0 <= j < n]
            if added in around:
                return "repetition"
            if any(added in NEAR_KEYS.get(c, frozenset()) for c in around):
                kind = "insertion"
        return kind
    if n != m:
        return None
    diff = [i for i in range(n) if seen[i] != meant[i]]
    if len(diff) == 1:
        i = diff[0]
        return "adjacent_key" if seen[i] in NEAR_KEYS.get(meant[i], frozenset()) else None
    if len(diff) == 2:
        i, j = diff
        if j == i + 1 and seen[i] == meant[j] and seen[j] == meant[i]:
            return "transposition"
    return None


# The shortest name judged by edits at all, on either side: every name of three letters or fewer
# is one slip from a crowd of real ones (bay for ebay, ets for etsy), as a brand of three letters is.
MIN_EDITED: Final = 4


def allowed_edits(length: int) -> int:
    """How many edits still read as the official name of ``length`` letters.

    Short names are close to too many others: a two- or three-letter brand is matched only
    exactly or by look-alike letters, never by edits (every other two-letter domain is one edit
    away); four to seven letters allow one edit, longer names two.
    """
    if length <= 3:
        return 0
    if length <= 7:
        return 1
    return 2
