"""Insider and partner bulk access: actor-days that are unusual for the actor and for its peers.

Each actor gets daily features (``FEATURES``) computed in DuckDB from the ``events`` view. A
feature counts against an actor-day only when it is far above BOTH

- the actor's own usual day (median and MAD over its active days): a supervisor who reads
  thousands of customers every day is not unusual for herself; and
- its peer group that day (same role): a sale day when every agent reads twice as much is not
  unusual for anyone.

Distances are robust z-scores, ``(x - median) / max(1.4826 * MAD, floor)``, with a floor so that
a feature that is usually exactly zero (reveals, exports) does not turn a single event into an
infinite score. A feature's evidence is the smaller of its two z-scores; an actor-day's score is
the Euclidean norm of its features' evidence, and an alert lists the features behind it, in
words, with the actor's and the peers' usual values.

Actors with fewer than ``min_history`` active days are judged against their peers alone, and
the alert says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import duckdb

from shopshield.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    words: str  # "{value} {words}" reads as a sentence fragment
    floor: float  # the least spread a z-score divides by


FEATURES: Final = (
    Feature("customers", "customers accessed", 5.0),
    Feature("reveals", "full values revealed", 2.0),
    Feature("exports", "exports", 1.0),
    Feature("off_hours", "accesses outside working hours", 3.0),
    Feature("no_ticket", "accesses without a ticket", 5.0),
    Feature("sequential", "steps through consecutive customer ids", 3.0),
    Feature("out_of_scope", "customers outside the actor's region or merchant", 3.0),
    Feature("search_misses", "searches that found nobody or were refused", 3.0),
)
NAMES: Final = tuple(f.name for f in FEATURES)


# Stricter than the 1%-false-positive point measured on simulated stores (bench investigate,
# docs/benchmarks.md: about 2.4): 1% of 5,000 actors is 50 alerts a day, more than a team reads.
# The benchmark reports what this default catches and how often it fires; lower it to see more.
DEFAULT_THRESHOLD: Final = 8.0
DEFAULT_TZ: Final = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Config:
    tz: str = DEFAULT_TZ
    work_start_hour: int = 8
    work_end_hour: int = 20
    min_history: int = 5
    threshold: float = DEFAULT_THRESHOLD


@dataclass(frozen=True, slots=True)
class Reason:
    feature: str
    value: float
    own_median: float | None
    peer_median: float
    evidence: float

    def words(self) -> str:
        spec = next(f for f in FEATURES if f.name == self.feature)
        own = "no usual day yet" if self.own_median is None else f"usually {self.own_median:g}"
        return f"{self.value:g} {spec.words} ({own}; peers {self.peer_median:g})"


@dataclass(frozen=True, slots=True)
class ActorDay:
    actor_id: str
    actor_kind: str
    role: str
    day: date
    values: dict[str, float]
    score: float
    reasons: tuple[Reason, ...]
    history_days: int

    def to_json(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "actor_kind": self.actor_kind,
            "role": self.role,
            "day": self.day.isoformat(),
            "score": round(self.score, 2),
            "features": self.values,
            "history_days": self.history_days,
            "reasons": [r.words() for r in self.reasons],
        }


# Daily features per actor. Customers' own accounts are not insiders (the attribution's
# credential-stuffing test covers them). ``seq`` is the customer id's trailing number: a walk
# through consecutive ids is a script enumerating the store, not someone answering tickets.
# ``misses`` are searches that found nobody or were refused (ShopShield's outcomes no_match,
# quota_exceeded, denied): guessing the hidden digits of a masked number is mostly misses, and
# they name no customer, so they are counted apart from ``e``; a log without ``outcome`` (the
# shared format has none) gives a miss as a search that names no customer. An actor-day may
# consist of misses alone.
_DAILY = """
CREATE OR REPLACE TEMP TABLE actor_days AS
WITH e AS (
    SELECT actor_id, actor_kind, coalesce(actor_role, actor_kind) AS role, customer_id, action, ticket_id, ts,
           timezone($tz, ts) AS local_ts,
           TRY_CAST(regexp_extract(customer_id, '([0-9]+)$', 1) AS BIGINT) AS seq
    FROM events
    WHERE actor_kind <> 'customer' AND customer_id IS NOT NULL
      AND ($since IS NULL OR ts >= $since) AND ($until IS NULL OR ts < $until)
),
steps AS (
    SELECT actor_id, CAST(local_ts AS DATE) AS day,
           seq = lag(seq) OVER (PARTITION BY actor_id, CAST(local_ts AS DATE) ORDER BY ts) + 1 AS step
    FROM e
),
walks AS (SELECT actor_id, day, count(*) FILTER (WHERE step) AS sequential FROM steps GROUP BY ALL),
scope AS (
    SELECT e.actor_id, CAST(e.local_ts AS DATE) AS day, count(DISTINCT e.customer_id) AS out_of_scope
    FROM e JOIN actor_meta a ON a.actor_id = e.actor_id
    LEFT JOIN customer_meta c ON c.customer_id = e.customer_id
    WHERE (a.region IS NOT NULL AND c.province IS NOT NULL AND c.province <> a.region)
       OR (a.merchant_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM order_meta o
                           WHERE o.customer_id = e.customer_id AND o.merchant_id = a.merchant_id))
    GROUP BY ALL
),
daily AS (
    SELECT actor_id, min(actor_kind) AS actor_kind, min(role) AS role, CAST(local_ts AS DATE) AS day,
           count(DISTINCT customer_id) AS customers,
           count(*) FILTER (WHERE action = 'reveal') AS reveals,
           count(*) FILTER (WHERE action = 'export') AS exports,
           count(*) FILTER (WHERE hour(local_ts) < $work_start OR hour(local_ts) >= $work_end) AS off_hours,
           CASE WHEN $tickets THEN count(*) FILTER (WHERE ticket_id IS NULL AND action IN ('view', 'reveal'))
                ELSE 0 END AS no_ticket
    FROM e GROUP BY actor_id, CAST(local_ts AS DATE)
),
misses AS (
    SELECT actor_id, min(actor_kind) AS actor_kind, min(coalesce(actor_role, actor_kind)) AS role,
           CAST(timezone($tz, ts) AS DATE) AS day, count(*) AS search_misses
    FROM events
    WHERE actor_kind <> 'customer' AND action = 'search'
      AND (outcome IN ('no_match', 'quota_exceeded', 'denied') OR (outcome IS NULL AND customer_id IS NULL))
      AND ($since IS NULL OR ts >= $since) AND ($until IS NULL OR ts < $until)
    GROUP BY actor_id, CAST(timezone($tz, ts) AS DATE)
),
merged AS (
    SELECT coalesce(d.actor_id, m.actor_id) AS actor_id, coalesce(d.actor_kind, m.actor_kind) AS actor_kind,
           coalesce(d.role, m.role) AS role, coalesce(d.day, m.day) AS day,
           coalesce(d.customers, 0) AS customers, coalesce(d.reveals, 0) AS reveals,
           coalesce(d.exports, 0) AS exports, coalesce(d.off_hours, 0) AS off_hours,
           coalesce(d.no_ticket, 0) AS no_ticket, coalesce(m.search_misses, 0) AS search_misses
    FROM daily d FULL JOIN misses m ON m.actor_id = d.actor_id AND m.day = d.day
)
SELECT g.*, coalesce(w.sequential, 0) AS sequential, coalesce(s.out_of_scope, 0) AS out_of_scope
FROM merged g LEFT JOIN walks w USING (actor_id, day) LEFT JOIN scope s USING (actor_id, day)
"""


def _scores_sql() -> str:
    med = ", ".join(
        f"median({f}) OVER (PARTITION BY actor_id) AS own_med_{f}, "
        f"median({f}) OVER (PARTITION BY role, day) AS peer_med_{f}"
        for f in NAMES
    )
    mad = ", ".join(
        f"median(abs({f} - own_med_{f})) OVER (PARTITION BY actor_id) AS own_mad_{f}, "
        f"median(abs({f} - peer_med_{f})) OVER (PARTITION BY role, day) AS peer_mad_{f}"
        for f in NAMES
    )
    return (
        f"WITH m AS (SELECT *, count(*) OVER (PARTITION BY actor_id) AS history_days, {med} FROM actor_days) "  # noqa: S608
        f"SELECT *, {mad} FROM m ORDER BY actor_id, day"  # built from the constant FEATURES only
    )


def load_metadata(
    con: duckdb.DuckDBPyConnection,
    *,
    actors: Path | None = None,
    customers: Path | None = None,
    orders: Path | None = None,
) -> None:
    """Side tables for the out-of-scope feature (empty when not given): actors' region and
    merchant, customers' province, and which merchant each customer ordered from."""
    specs = (
        ("actor_meta", actors, ("actor_id", "region", "merchant_id")),
        ("customer_meta", customers, ("customer_id", "province")),
        ("order_meta", orders, ("customer_id", "merchant_id")),
    )
    for table, path, columns in specs:
        typed = ", ".join(f"{c} VARCHAR" for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({typed})")
        if path is None:
            continue
        if not path.is_file() or path.suffix.lower() != ".csv":
            raise InvalidInput(f"{table.replace('_meta', 's')}: expected an existing .csv file")
        try:
            found = {
                str(r[0]).lower()
                for r in con.execute("DESCRIBE SELECT * FROM read_csv(?, header = true)", [str(path)]).fetchall()
            }
        except duckdb.Error:
            raise InvalidInput(f"{path.name}: not a readable CSV file") from None
        missing = [c for c in columns if c not in found]
        if missing:
            raise InvalidInput(f"{path.name}: missing column(s) {', '.join(missing)}")
        picked = ", ".join(f"NULLIF(CAST({c} AS VARCHAR), '')" for c in columns)
        con.execute(
            f"INSERT INTO {table} SELECT DISTINCT {picked} FROM read_csv(?, header = true, all_varchar = true)",  # noqa: S608
            [str(path)],
        )


def detect(
    con: duckdb.DuckDBPyConnection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    config: Config | None = None,
) -> list[ActorDay]:
    """Every actor-day in ``[since, until)`` (all of the log by default) with its score, highest
    first. ``load_metadata`` must have run (with or without files) on ``con``."""
    config = config or Config()
    # A log without ticket ids (the shared format has none) says nothing about tickets.
    found = con.execute("SELECT count(*) FILTER (WHERE ticket_id IS NOT NULL) > 0 FROM events").fetchone()
    has_tickets = bool(found and found[0])
    con.execute(
        _DAILY,
        {
            "tz": config.tz,
            "since": since,
            "until": until,
            "work_start": config.work_start_hour,
            "work_end": config.work_end_hour,
            "tickets": has_tickets,
        },
    )
    cursor = con.execute(_scores_sql())
    names = [d[0] for d in cursor.description]
    days = [_score(dict(zip(names, row, strict=True)), config) for row in cursor.fetchall()]
    days.sort(key=lambda d: (-d.score, d.actor_id, d.day))
    return days


def _score(row: dict[str, Any], config: Config) -> ActorDay:
    history = int(row["history_days"])
    reasons = []
    total = 0.0
    for spec in FEATURES:
        value = float(row[spec.name])
        peer_z = _z(value, row[f"peer_med_{spec.name}"], row[f"peer_mad_{spec.name}"], spec.floor)
        if history >= config.min_history:
            own_median: float | None = float(row[f"own_med_{spec.name}"])
            own_z = _z(value, own_median, row[f"own_mad_{spec.name}"], spec.floor)
            evidence = min(own_z, peer_z)
        else:
            own_median, evidence = None, peer_z
        if evidence > 0:
            total += evidence * evidence
            reasons.append(Reason(spec.name, value, own_median, float(row[f"peer_med_{spec.name}"]), evidence))
    reasons.sort(key=lambda r: -r.evidence)
    return ActorDay(
        actor_id=str(row["actor_id"]),
        actor_kind=str(row["actor_kind"]),
        role=str(row["role"]),
        day=row["day"],
        values={name: float(row[name]) for name in NAMES},
        score=math.sqrt(total),
        reasons=tuple(r for r in reasons if r.evidence >= 1.0),
        history_days=history,
    )


def _z(value: float, median: Any, mad: Any, floor: float) -> float:
    spread = max(1.4826 * float(mad or 0.0), floor)
    return (value - float(median or 0.0)) / spread


def alerts(days: Sequence[ActorDay], config: Config) -> list[ActorDay]:
    return [d for d in days if d.score >= config.threshold]
