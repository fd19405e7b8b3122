"""Quotas (daily, and the search limits' hourly ones), enforced inside the caller's transaction.
Access events go to ``audit.service.AuditLog``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import NamedTuple

from shopshield.core.db import Statement, Tx

# One statement, atomic on SQLite and PostgreSQL: the counter only moves while the request fits
# under the limit, so concurrent requests cannot overshoot it and a refused one writes nothing.
_CONSUME_QUOTA = Statement(
    "INSERT INTO quota_usage (principal_id, day, kind, used) "
    "SELECT :p, :d, :k, :n WHERE :n <= :limit "
    "ON CONFLICT (principal_id, day, kind) DO UPDATE SET used = quota_usage.used + :n "
    "WHERE quota_usage.used + :n <= :limit RETURNING used"
)


def consume_quota(
    tx: Tx,
    *,
    principal_id: str,
    kind: str,
    limit: int,
    now: datetime,
    tz: tzinfo,
    amount: int = 1,
) -> bool:
    """Count ``amount`` uses against today's quota; False (and nothing written) if that exceeds it."""
    if amount > limit:
        return False
    day = now.astimezone(tz).date().isoformat()
    row = tx.one(_CONSUME_QUOTA, {"p": principal_id, "d": day, "k": kind, "n": amount, "limit": limit})
    return row is not None


@dataclass(frozen=True, slots=True)
class Counter:
    """One quota counter a request moves: ``add`` uses of ``kind``, allowed only while ``need``
    more still fit under ``limit``. ``add=0, need=1`` checks a quota without using it."""

    kind: str
    limit: int
    add: int = 1
    need: int = 1


def hourly(kind: str, now: datetime, tz: tzinfo) -> str:
    """The counter kind of ``kind`` for the local hour of ``now``: the quota table keys counters by
    day, so an hour's counter is a kind of its own within the day (``search@07``)."""
    return f"{kind}@{now.astimezone(tz).hour:02d}"


class _Moved(NamedTuple):
    """A counter that moved (it fitted under its limit)."""

    kind: str


_STATEMENTS: dict[int, Statement[_Moved]] = {}


def _consume_all(rows: int) -> Statement[_Moved]:
    """Every counter of a request in one statement: ``quota_usage.kind`` picks each row's own
    need and limit on the update path, as ``column3 <= column4`` does on the insert path."""
    found = _STATEMENTS.get(rows)
    if found is None:
        values = ", ".join(f"(:k{i}, :a{i}, :n{i}, :l{i})" for i in range(rows))
        need = " ".join(f"WHEN :k{i} THEN :n{i}" for i in range(rows))
        limit = " ".join(f"WHEN :k{i} THEN :l{i}" for i in range(rows))
        # Built from placeholders only; every value is a bound parameter.
        found = _STATEMENTS[rows] = Statement(
            "INSERT INTO quota_usage (principal_id, day, kind, used) "  # noqa: S608
            f"SELECT :p, :d, column1, column2 FROM (VALUES {values}) AS v WHERE column3 <= column4 "
            "ON CONFLICT (principal_id, day, kind) DO UPDATE SET used = quota_usage.used + excluded.used "
            f"WHERE quota_usage.used + CASE quota_usage.kind {need} END <= CASE quota_usage.kind {limit} END "
            "RETURNING kind",
            row=_Moved,
        )
    return found


_GIVE_BACK = Statement("UPDATE quota_usage SET used = used - :n WHERE principal_id = :p AND day = :d AND kind = :k")


def consume_quotas(
    tx: Tx, *, principal_id: str, counters: Sequence[Counter], now: datetime, tz: tzinfo
) -> Counter | None:
    """Move all of ``counters`` (today's, in ``tz``) or none: None when every one fits, else the
    first that does not.

    One statement moves the ones that fit; when one does not, the others are put back before the
    transaction commits. On PostgreSQL the rows stay locked until then, and on SQLite the
    transaction holds the write lock, so no other request ever sees the counts in between.
    """
    kinds = [c.kind for c in counters]
    if len(set(kinds)) != len(kinds):
        raise ValueError("each counter of a request must be a different kind")
    day = now.astimezone(tz).date().isoformat()
    params: dict[str, object] = {"p": principal_id, "d": day}
    for i, c in enumerate(counters):
        params |= {f"k{i}": c.kind, f"a{i}": c.add, f"n{i}": c.need, f"l{i}": c.limit}
    moved = {row.kind for row in tx.all(_consume_all(len(counters)), params)}
    if len(moved) == len(counters):
        return None
    for c in counters:
        if c.kind in moved and c.add:
            tx.execute(_GIVE_BACK, {"p": principal_id, "d": day, "k": c.kind, "n": c.add})
    return next(c for c in counters if c.kind not in moved)
