"""Insider and partner bulk access: actor-days an experienced analyst would look at.

Every actor gets daily features (``FEATURES``) computed in DuckDB from the ``events`` view, and
each day of the period under test is read three ways (decision 0034):

- **Against its peers that day**: same role, and same team when the actors file names teams
  and at least ``min_team`` of them worked that day. This comparison stands on its own: it
  needs no history, and a leak that lasts the whole period cannot hide in it.
- **Against its own days before the period under test** (``since``; by default the log's last
  ``test_days`` days are under test and the days before them are the baseline). The baseline
  never includes the period itself, so a sustained leak cannot become its own usual day. With
  a baseline, a feature counts only as far as it is unusual for both the peers and the actor
  (a supervisor who always reads thousands is usual for herself); without one, the peers decide.
- **Over the days** (CUSUM, only with a baseline): a day that is a little above usual adds to
  a running sum that a usual day drains, so a slow ramp shows before any single day would.

What is read counts, not only how much: customers reached with no ticket or on a ticket assigned
to someone else (``--tickets``), the share of customers whose order had a return or refund
request in the three days before (``--orders`` with ``order_id`` and ``return_requested_at``),
tested as a proportion against the peers' share and the actor's own earlier share, customers
outside the actor's region or merchant, steps through consecutive customer ids.

Declared bulk readers (the actors file's ``declared`` column, e.g.
``days=mon;hours=0-6;customers=40000``) are judged against their declaration only: a day inside
it scores 0, a day outside it alerts and says how.

Distances are robust z-scores, ``(x - median) / max(1.4826 * MAD, floor)``; an actor-day's
score is the Euclidean norm of its features' evidence (and the CUSUM when it is higher).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import duckdb

from shopshield.alerts.models import INSIDER
from shopshield.alerts.service import Alert, Detail, raise_alert
from shopshield.core.db import Tx
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
    Feature("no_ticket", "customers reached without a ticket", 3.0),
    Feature("other_ticket", "customers reached on a ticket assigned to someone else", 3.0),
    Feature("fresh_unticketed", "customers with a fresh return request reached without their own ticket", 1.5),
    Feature("sequential", "steps through consecutive customer ids", 3.0),
    Feature("out_of_scope", "customers outside the actor's region or merchant", 3.0),
    Feature("search_misses", "searches that found nobody or were refused", 3.0),
)
NAMES: Final = tuple(f.name for f in FEATURES)
# Not a z-scored count: the share of customers with a fresh return request, tested as a
# proportion (``_share_evidence``).
FRESH: Final = "fresh_returns"
FRESH_HOURS: Final = 72
SHARE_FLOOR: Final = 0.03  # the least spread of a share between actors

# About the 0.1% point of ordinary actor-days on simulated stores (bench insider-sweep, decision
# 0034): a handful of alerts a day on a 5,000-actor store. The 1% point is lower (docs/benchmarks.md).
DEFAULT_THRESHOLD: Final = 7.0
DEFAULT_TZ: Final = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class Config:
    tz: str = DEFAULT_TZ
    work_start_hour: int = 8
    work_end_hour: int = 20
    min_history: int = 5  # baseline days an actor needs before its own usual day counts
    threshold: float = DEFAULT_THRESHOLD
    test_days: int = 14  # the period under test when ``since`` is not given
    min_team: int = 8  # team members at work that day for the team to be the peer group
    cusum_slack: float = 2.0  # a day's score this high only keeps the running sum where it is
    cusum_cap: float = 5.0  # a day adds at most this less the slack: one loud day is not a rise


@dataclass(frozen=True, slots=True)
class Reason:
    feature: str
    value: float
    evidence: float
    text: str

    def words(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class ActorDay:
    actor_id: str
    actor_kind: str
    role: str
    day: date
    values: dict[str, float]
    score: float
    reasons: tuple[Reason, ...]
    history_days: int  # the actor's active days in the baseline
    peers: str = ""  # the peer group it was compared with
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "actor_kind": self.actor_kind,
            "role": self.role,
            "day": self.day.isoformat(),
            "score": round(self.score, 2),
            "features": self.values,
            "history_days": self.history_days,
            "peers": self.peers,
            "reasons": [r.words() for r in self.reasons],
            "notes": list(self.notes),
        }


# Daily features per actor, over every day up to ``until`` (the baseline needs the days before
# the period under test). Customers' own accounts are not insiders (the attribution's
# credential-stuffing test covers them). ``seq`` is the customer id's trailing number: a walk
# through consecutive ids is a script enumerating the store. ``misses`` are searches that found
# nobody or were refused (outcomes no_match, quota_exceeded, denied; in a log without
# ``outcome``, a search that names no customer); they name no customer, so an actor-day may
# consist of misses alone.
_DAILY = """
CREATE OR REPLACE TEMP TABLE actor_days AS
WITH e AS (
    SELECT ev.actor_id, ev.actor_kind, coalesce(ev.actor_role, ev.actor_kind) AS role, ev.customer_id, ev.action,
           ev.ticket_id, ev.ts, timezone($tz, ev.ts) AS local_ts,
           TRY_CAST(regexp_extract(ev.customer_id, '([0-9]+)$', 1) AS BIGINT) AS seq,
           t.assignee_id,
           r.order_id IS NOT NULL AS fresh
    FROM events ev
    LEFT JOIN ticket_meta t ON t.ticket_id = ev.ticket_id
    LEFT JOIN return_meta r ON r.order_id = ev.order_id AND r.requested_at <= ev.ts
                           AND r.requested_at > ev.ts - INTERVAL (CAST($fresh_hours AS INTEGER)) HOUR
    WHERE ev.actor_kind <> 'customer' AND ev.customer_id IS NOT NULL AND ($until IS NULL OR ev.ts < $until)
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
           CASE WHEN $tickets THEN count(DISTINCT customer_id)
                    FILTER (WHERE ticket_id IS NULL AND action IN ('view', 'reveal', 'export'))
                ELSE 0 END AS no_ticket,
           count(DISTINCT customer_id) FILTER (WHERE assignee_id IS NOT NULL AND assignee_id <> actor_id)
               AS other_ticket,
           count(DISTINCT customer_id) FILTER (WHERE fresh) AS fresh_returns,
           count(DISTINCT customer_id) FILTER (WHERE fresh AND (ticket_id IS NULL OR assignee_id <> actor_id))
               AS fresh_unticketed,
           min(hour(local_ts)) AS first_hour, max(hour(local_ts)) AS last_hour
    FROM e GROUP BY actor_id, CAST(local_ts AS DATE)
),
misses AS (
    SELECT actor_id, min(actor_kind) AS actor_kind, min(coalesce(actor_role, actor_kind)) AS role,
           CAST(timezone($tz, ts) AS DATE) AS day, count(*) AS search_misses
    FROM events
    WHERE actor_kind <> 'customer' AND action = 'search'
      AND (outcome IN ('no_match', 'quota_exceeded', 'denied') OR (outcome IS NULL AND customer_id IS NULL))
      AND ($until IS NULL OR ts < $until)
    GROUP BY actor_id, CAST(timezone($tz, ts) AS DATE)
),
merged AS (
    SELECT coalesce(d.actor_id, m.actor_id) AS actor_id, coalesce(d.actor_kind, m.actor_kind) AS actor_kind,
           coalesce(d.role, m.role) AS role, coalesce(d.day, m.day) AS day,
           coalesce(d.customers, 0) AS customers, coalesce(d.reveals, 0) AS reveals,
           coalesce(d.exports, 0) AS exports, coalesce(d.off_hours, 0) AS off_hours,
           coalesce(d.no_ticket, 0) AS no_ticket, coalesce(d.other_ticket, 0) AS other_ticket,
           coalesce(d.fresh_returns, 0) AS fresh_returns, coalesce(d.fresh_unticketed, 0) AS fresh_unticketed,
           coalesce(m.search_misses, 0) AS search_misses,
           d.first_hour, d.last_hour
    FROM daily d FULL JOIN misses m ON m.actor_id = d.actor_id AND m.day = d.day
)
SELECT g.*, coalesce(w.sequential, 0) AS sequential, coalesce(s.out_of_scope, 0) AS out_of_scope,
       a.team, a.declared
FROM merged g LEFT JOIN walks w USING (actor_id, day) LEFT JOIN scope s USING (actor_id, day)
LEFT JOIN (SELECT actor_id, min(team) AS team, min(declared) AS declared FROM actor_meta GROUP BY actor_id) a
       USING (actor_id)
"""

_SHARE = "CASE WHEN customers >= 5 THEN fresh_returns / customers END"


# Features whose change from the actor's own usual day is also compared with its peers' change
# over the same days: a ramp in an actor who is usually slow shows as a change long before it
# makes the actor busier than its peers.
CHANGE: Final = ("customers", "fresh_unticketed", "other_ticket")
CHANGE_FLOOR: Final = 0.15  # the least spread of a log-ratio (about 15%)
# How much an actor reads, as opposed to what: without days before the period, these are also
# held against the actor's own days in the period (a busy merchant is busy every day), while
# what is read (tickets, fresh-return share, walks, scope, misses) is judged by the peers alone,
# so a leak that fills the period still shows in it.
VOLUME: Final = ("customers", "reveals", "exports", "off_hours", "other_ticket", "fresh_unticketed")


def _scores_sql() -> str:
    """The period's actor-days with their peers' medians and MADs that day, the actor's own
    medians and MADs over its baseline days (``$since`` is the first day under test), and the
    log-ratio of each ``CHANGE`` feature to the actor's usual with its peers' median and MAD."""
    floors = {f.name: f.floor for f in FEATURES}
    own_med = ", ".join(f"median({f}) AS own_med_{f}" for f in NAMES)
    own_mad = ", ".join(f"median(abs(b.{f} - o.own_med_{f})) AS own_mad_{f}" for f in NAMES)
    change = ", ".join(
        f"CASE WHEN od.history_days >= $min_history THEN ln(({f} + {floors[f]}) / (od.own_med_{f} + {floors[f]})) "
        f"END AS change_{f}"
        for f in CHANGE
    )
    per_med = ", ".join(f"median({f}) AS per_med_{f}" for f in VOLUME)
    per_mad = ", ".join(f"median(abs(a.{f} - per.per_med_{f})) AS per_mad_{f}" for f in VOLUME)
    peer_med = ", ".join(f"median({f}) OVER w AS peer_med_{f}" for f in NAMES)
    peer_med += "".join(f", median(change_{f}) OVER w AS peer_change_{f}" for f in CHANGE)
    peer_mad = ", ".join(f"median(abs({f} - peer_med_{f})) OVER w AS peer_mad_{f}" for f in NAMES)
    peer_mad += "".join(f", median(abs(change_{f} - peer_change_{f})) OVER w AS peer_change_mad_{f}" for f in CHANGE)
    return f"""
    WITH base AS (SELECT * FROM actor_days WHERE day < $since),
    o AS (
        SELECT actor_id, count(*) AS history_days, {own_med},
               sum(fresh_returns) / nullif(sum(customers), 0) AS own_share,
               median({_SHARE}) AS own_share_med
        FROM base GROUP BY actor_id
    ),
    od AS (
        SELECT o.*, {own_mad}, median(abs(CASE WHEN b.customers >= 5 THEN b.fresh_returns / b.customers END
                                          - o.own_share_med)) AS own_share_mad
        FROM o JOIN base b USING (actor_id) GROUP BY ALL
    ),
    per AS (
        SELECT actor_id, count(*) AS period_days, {per_med} FROM actor_days WHERE day >= $since GROUP BY actor_id
    ),
    perd AS (
        SELECT per.*, {per_mad} FROM per JOIN actor_days a USING (actor_id) WHERE a.day >= $since GROUP BY ALL
    ),
    keyed AS (
        SELECT d.*, od.* EXCLUDE (actor_id), perd.* EXCLUDE (actor_id), {change},
               CASE WHEN d.team IS NOT NULL AND count(*) OVER (PARTITION BY d.role, d.team, d.day) >= $min_team
                    THEN d.role || ' in ' || d.team ELSE d.role END AS peer_key
        FROM actor_days d LEFT JOIN od USING (actor_id) LEFT JOIN perd USING (actor_id)
        WHERE d.day >= $since AND d.declared IS NULL
    ),
    pm AS (
        SELECT *, {peer_med}, median({_SHARE}) OVER w AS peer_share, count(*) OVER w AS peer_count
        FROM keyed WINDOW w AS (PARTITION BY peer_key, day)
    ),
    pd AS (
        SELECT *, {peer_mad}, median(abs({_SHARE} - peer_share)) OVER w AS peer_share_mad
        FROM pm WINDOW w AS (PARTITION BY peer_key, day)
    )
    SELECT * FROM pd
    UNION ALL BY NAME
    SELECT *, role AS peer_key FROM actor_days WHERE day >= $since AND declared IS NOT NULL
    ORDER BY actor_id, day
    """  # noqa: S608 - built from the constant FEATURES only


# Side tables: (table, option name, required columns, optional columns).
_META: Final = (
    ("actor_meta", "actors", ("actor_id",), ("region", "merchant_id", "team", "declared")),
    ("customer_meta", "customers", ("customer_id", "province"), ()),
    ("order_meta", "orders", ("customer_id",), ("merchant_id", "order_id", "return_requested_at")),
    ("ticket_meta", "tickets", ("ticket_id", "assignee_id"), ()),
)


def load_metadata(
    con: duckdb.DuckDBPyConnection,
    *,
    actors: Path | None = None,
    customers: Path | None = None,
    orders: Path | None = None,
    tickets: Path | None = None,
) -> None:
    """Side tables (empty when not given): actors' region, merchant, team and declared pattern;
    customers' province; orders' customer, merchant and return request; tickets' assignee."""
    given = {"actors": actors, "customers": customers, "orders": orders, "tickets": tickets}
    for table, option, required, optional in _META:
        columns = required + optional
        typed = ", ".join(f"{c} VARCHAR" for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({typed})")
        path = given[option]
        if path is None:
            continue
        if not path.is_file() or path.suffix.lower() != ".csv":
            raise InvalidInput(f"{option}: expected an existing .csv file")
        try:
            found = {
                str(r[0]).lower()
                for r in con.execute("DESCRIBE SELECT * FROM read_csv(?, header = true)", [str(path)]).fetchall()
            }
        except duckdb.Error:
            raise InvalidInput(f"{path.name}: not a readable CSV file") from None
        missing = [c for c in required if c not in found]
        if missing:
            raise InvalidInput(f"{path.name}: missing column(s) {', '.join(missing)}")
        picked = ", ".join(f"NULLIF(CAST({c} AS VARCHAR), '')" if c in found else "NULL" for c in columns)
        try:
            con.execute(
                f"INSERT INTO {table} SELECT DISTINCT {picked} FROM read_csv(?, header = true, all_varchar = true)",  # noqa: S608
                [str(path)],
            )
        except duckdb.Error:
            raise InvalidInput(f"{path.name}: not a readable CSV file") from None
    # Orders with a return request, by order id, for the fresh-return share.
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE return_meta AS SELECT DISTINCT order_id, "
            "CAST(return_requested_at AS TIMESTAMPTZ) AS requested_at FROM order_meta "
            "WHERE order_id IS NOT NULL AND return_requested_at IS NOT NULL"
        )
    except duckdb.Error:
        raise InvalidInput("orders: return_requested_at must be ISO 8601 date-times") from None
    for row in con.execute("SELECT DISTINCT actor_id, declared FROM actor_meta WHERE declared IS NOT NULL").fetchall():
        try:
            Declared.parse(str(row[1]))
        except ValueError as exc:
            raise InvalidInput(f"actors: {row[0]}: declared: {exc}") from None


_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Declared:
    """A bulk reader's declared pattern: on which weekdays, between which local hours, and at
    most how many customers a day. ``days=mon;hours=0-6;customers=40000`` (``days=daily``)."""

    days: frozenset[int]
    first_hour: int
    end_hour: int  # exclusive
    customers: int

    @classmethod
    def parse(cls, text: str) -> Declared:
        parts: dict[str, str] = {}
        for item in text.split(";"):
            key, sep, value = item.partition("=")
            if not sep or key.strip() not in ("days", "hours", "customers"):
                raise ValueError("expected days=...;hours=A-B;customers=N")
            parts[key.strip()] = value.strip().lower()
        days_text = parts.get("days", "daily")
        if days_text == "daily":
            days = frozenset(range(7))
        else:
            names = [d.strip() for d in days_text.split(",")]
            if any(d not in _WEEKDAYS for d in names):
                raise ValueError("days: daily, or weekdays such as mon,thu")
            days = frozenset(_WEEKDAYS.index(d) for d in names)
        first, sep, end = parts.get("hours", "0-24").partition("-")
        if not (sep and first.isdigit() and end.isdigit() and 0 <= int(first) < int(end) <= 24):
            raise ValueError("hours: A-B with 0 <= A < B <= 24")
        count = parts.get("customers", "")
        if not count.isdigit():
            raise ValueError("customers: the most customers a day, a whole number")
        return cls(days, int(first), int(end), int(count))

    def describe(self) -> str:
        days = "every day" if len(self.days) == 7 else ", ".join(_WEEKDAYS[d] for d in sorted(self.days))
        return f"{days}, {self.first_hour:02d}:00-{self.end_hour:02d}:00, at most {self.customers:,} customers"


def detect(
    con: duckdb.DuckDBPyConnection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    config: Config | None = None,
) -> list[ActorDay]:
    """Every actor-day of the period under test with its score, highest first. The period is
    ``[since, until)``; without ``since``, the log's last ``test_days`` days when at least
    ``min_history`` days come before them, else the whole log. ``load_metadata`` must have run
    (with or without files) on ``con``."""
    config = config or Config()
    # A log without ticket ids (the shared format has none) says nothing about tickets.
    found = con.execute("SELECT count(*) FILTER (WHERE ticket_id IS NOT NULL) > 0 FROM events").fetchone()
    has_tickets = bool(found and found[0])
    con.execute(
        _DAILY,
        {
            "tz": config.tz,
            "until": until,
            "work_start": config.work_start_hour,
            "work_end": config.work_end_hour,
            "tickets": has_tickets,
            "fresh_hours": FRESH_HOURS,
        },
    )
    first = _first_day(con, since, config)
    if first is None:
        return []
    cursor = con.execute(
        _scores_sql(), {"since": first, "min_team": config.min_team, "min_history": config.min_history}
    )
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    days: list[ActorDay] = []
    running: dict[str, tuple[float, date | None, int]] = {}  # actor -> CUSUM, since when, days
    for row in rows:  # in actor, day order: the CUSUM runs over each actor's days
        day = _score(row, config, first)
        if row.get("declared") is None and day.history_days >= config.min_history:
            day = _with_cusum(day, running, config)
        days.append(day)
    days.sort(key=lambda d: (-d.score, d.actor_id, d.day))
    return days


def _first_day(con: duckdb.DuckDBPyConnection, since: datetime | None, config: Config) -> date | None:
    span = con.execute("SELECT min(day), max(day) FROM actor_days").fetchone()
    if span is None or span[0] is None:
        return None
    low, high = span[0], span[1]
    if since is not None:
        found = con.execute("SELECT CAST(timezone(?, ?) AS DATE)", [config.tz, since]).fetchone()
        first: date = max(found[0], low) if found else low
        return first
    start: date = high - timedelta(days=config.test_days - 1)
    return start if (start - low).days >= config.min_history else low


def _z(value: float, median: Any, mad: Any, floor: float) -> float:
    spread = max(1.4826 * float(mad or 0.0), floor)
    return (value - float(median or 0.0)) / spread


def _share_z(k: float, n: float, share: Any, mad: Any) -> float:
    """How far ``k`` of ``n`` is above a usual ``share``: binomial noise for this day's ``n`` plus
    the usual spread between actors (or days)."""
    if share is None or n < 5:
        return 0.0
    p = min(max(float(share), 0.05), 0.95)  # a share of 0 among peers is not a certainty
    spread = math.sqrt(p * (1 - p) / n + max(1.4826 * float(mad or 0.0), SHARE_FLOOR) ** 2)
    return (k / n - p) / spread


def _score(row: dict[str, Any], config: Config, first: date) -> ActorDay:
    history = int(row.get("history_days") or 0)
    values = {name: float(row[name]) for name in (*NAMES, FRESH)}
    base = dict(
        actor_id=str(row["actor_id"]),
        actor_kind=str(row["actor_kind"]),
        role=str(row["role"]),
        day=row["day"],
        values=values,
        history_days=history,
        peers=str(row["peer_key"]),
    )
    if row.get("declared") is not None:
        return _judge_declared(row, config, base)
    own = history >= config.min_history
    since = f"before {first.isoformat()}"
    reasons = []
    total = 0.0
    peer_customers = float(row["peer_med_customers"] or 0.0)
    ticketless = float(row["peer_med_no_ticket"] or 0.0) >= 0.5 * peer_customers > 0
    for spec in FEATURES:
        value = values[spec.name]
        peer_median = float(row[f"peer_med_{spec.name}"] or 0.0)
        if spec.name in ("no_ticket", "fresh_unticketed") and ticketless:
            continue  # peers who work without tickets (couriers, merchants): it would only repeat "customers"
        evidence = _z(value, peer_median, row[f"peer_mad_{spec.name}"], spec.floor)
        usual = ""
        if own:
            own_median = float(row[f"own_med_{spec.name}"] or 0.0)
            own_z = _z(value, own_median, row[f"own_mad_{spec.name}"], spec.floor)
            evidence = min(evidence, own_z)
            usual = f"its usual day {since}: {own_median:g}; "
            if spec.name in CHANGE and row.get(f"change_{spec.name}") is not None:
                # Its change against its peers' change over the same days.
                mine, theirs = float(row[f"change_{spec.name}"]), float(row[f"peer_change_{spec.name}"] or 0.0)
                spread = max(1.4826 * float(row[f"peer_change_mad_{spec.name}"] or 0.0), CHANGE_FLOOR)
                changed = min((mine - theirs) / spread, own_z)
                if changed > evidence:
                    evidence = changed
                    usual += f"{math.exp(mine):.1f}x its usual while its peers' changed {math.exp(theirs):.1f}x; "
        elif spec.name in VOLUME and int(row.get("period_days") or 0) >= config.min_history:
            period_median = float(row[f"per_med_{spec.name}"] or 0.0)
            evidence = min(evidence, _z(value, period_median, row[f"per_mad_{spec.name}"], spec.floor))
            usual = f"its usual day in the period: {period_median:g}; "
        if evidence > 0:
            total += evidence * evidence
            text = f"{value:g} {spec.words} ({usual}its peers that day: {peer_median:g})"
            reasons.append(Reason(spec.name, value, evidence, text))
    k, n = values[FRESH], values["customers"]
    evidence = _share_z(k, n, row.get("peer_share"), row.get("peer_share_mad"))
    usual = ""
    if own and row.get("own_share") is not None:
        evidence = min(evidence, _share_z(k, n, row["own_share"], row.get("own_share_mad")))
        usual = f"its usual share {since}: {float(row['own_share']):.0%}; "
    if evidence > 0 and row.get("peer_share") is not None:
        total += evidence * evidence
        text = (
            f"{k:g} of the {n:g} customers accessed had asked for a return or refund in the "
            f"{FRESH_HOURS // 24} days before ({k / n:.0%}; {usual}its peers' share: {float(row['peer_share']):.0%})"
        )
        reasons.append(Reason(FRESH, k, evidence, text))
    reasons.sort(key=lambda r: -r.evidence)
    notes = (
        ()
        if own
        else (
            f"fewer than {config.min_history} active days {since}: what it reads is judged against its peers, "
            "how much against its peers and its own days in the period",
        )
    )
    return ActorDay(**base, score=math.sqrt(total), reasons=tuple(r for r in reasons if r.evidence >= 1.0), notes=notes)


def _judge_declared(row: dict[str, Any], config: Config, base: dict[str, Any]) -> ActorDay:
    declared = Declared.parse(str(row["declared"]))
    outside: list[str] = []
    day: date = row["day"]
    if day.weekday() not in declared.days:
        outside.append(f"read on a {_WEEKDAYS[day.weekday()]}")
    low, high = row.get("first_hour"), row.get("last_hour")
    if low is not None and high is not None and (int(low) < declared.first_hour or int(high) >= declared.end_hour):
        outside.append(f"read between {int(low):02d}:00 and {int(high) + 1:02d}:00")
    customers = float(row["customers"])
    if customers > declared.customers:
        outside.append(f"{customers:,.0f} customers accessed")
    if not outside:
        note = f"declared bulk reader within its declared pattern ({declared.describe()})"
        return ActorDay(**base, score=0.0, reasons=(), notes=(note,))
    text = "outside its declared pattern: " + ", ".join(outside) + f" (declared: {declared.describe()})"
    score = config.threshold + len(outside)
    return ActorDay(**base, score=score, reasons=(Reason("declared", customers, score, text),))


def _with_cusum(day: ActorDay, running: dict[str, tuple[float, date | None, int]], config: Config) -> ActorDay:
    """Add the day to the actor's running sum of its scores above ``cusum_slack`` (each capped
    at ``cusum_cap``, so one loud day does not echo on the quiet days after it); a rise kept up
    over days scores the sum, and says since when."""
    total, began, count = running.get(day.actor_id, (0.0, None, 0))
    total = max(0.0, total + min(day.score, config.cusum_cap) - config.cusum_slack)
    if total == 0.0:
        began, count = None, 0
    else:
        began, count = began or day.day, count + 1
    running[day.actor_id] = (total, began, count)
    if total <= day.score or began is None or count < 2:
        return day
    text = (
        f"above its usual day for {count} active days in a row since {began.isoformat()} "
        f"(a steady rise adds up: {total:.1f})"
    )
    reasons = (Reason("steady_rise", float(count), total, text), *day.reasons)
    return ActorDay(
        actor_id=day.actor_id,
        actor_kind=day.actor_kind,
        role=day.role,
        day=day.day,
        values=day.values,
        score=total,
        reasons=reasons,
        history_days=day.history_days,
        peers=day.peers,
        notes=day.notes,
    )


def alerts(days: Sequence[ActorDay], config: Config) -> list[ActorDay]:
    return [d for d in days if d.score >= config.threshold]


ALERT_KIND: Final = INSIDER


def security_alert(day: ActorDay) -> Alert:
    """The alert list's entry for an alerting actor-day: one per actor and day, so running the
    detection again counts an occurrence instead of raising it twice. Reasons hold counts and
    shares, never a customer."""
    reason = f"{day.day.isoformat()}: " + "; ".join(r.words() for r in day.reasons[:3])
    details: dict[str, Detail] = {"day": day.day.isoformat(), "score": round(day.score, 2), "peers": day.peers}
    details |= {f"reason_{n}": r.feature for n, r in enumerate(day.reasons[:5], start=1)}
    return Alert(
        kind=ALERT_KIND,
        actor_id=day.actor_id[:64],
        actor_role=day.role[:32],
        reason=reason,
        details=details,
        dedup_key=f"{ALERT_KIND}|{day.actor_id}|{day.day.isoformat()}",
    )


def raise_alerts(tx: Tx, days: Sequence[ActorDay], *, now: datetime) -> int:
    """Put the alerting actor-days in the security alert list (``shopshield alerts list``,
    GET /v1/alerts); returns how many were new."""
    return sum(raise_alert(tx, security_alert(day), now=now) for day in days)
