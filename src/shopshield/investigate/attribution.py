"""Leak-source attribution: which actor's accesses explain the scam victims, more than chance does.

The idea is the card networks' common point of purchase, over the access log. For every actor:

- **coverage** ``k``: how many victims the actor accessed in the ``window`` before the scammer
  contacted them, counting a victim only when what those accesses revealed covers what the
  scammer knew and the store holds (``knowledge.explains``: a courier's label shows an address,
  not a price);
- **base rate** ``p``: the share of the period's accessed customers that the actor accessed. A
  batch job or a supervisor who touches everyone has ``p`` near 1 and covers every victim by
  construction, which is evidence of nothing;
- **p-value**: P(X >= k) for X ~ Binomial(victims, p): how surprising the coverage is for an
  actor with that base rate if victims were drawn at random from the accessed customers.

Actors are ranked by p-value. The result is conclusive only when the best one survives a
Bonferroni correction for the number of actors tested (``alpha``) and covers at least
``min_victims``; otherwise the answer is "unknown" rather than an innocent name. Using each
actor's own period for ``p`` (longer than any one victim's window) overstates the chance of a
covered victim, so the test errs towards "not conclusive".

Credential stuffing is tested the same way, one hypothesis: how many victims had a login into
their own account from a network they had not used before, in the window before contact, against
the share of all customers with such a login in a window of the same length.

The heavy part (scanning the events) is an ``Engine``: DuckDB here, Spark in ``spark.py``. Both
return the same small ``Gathered`` tables, and ``conclude`` turns them into the answer, so the
two paths rank identically.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from shopshield.investigate.knowledge import explains, parse_items, revealed
from shopshield.investigate.stats import bonferroni, log10_binomial_tail

LikelySource = Literal["insider", "credential_stuffing", "unknown"]


@dataclass(frozen=True, slots=True)
class Victim:
    """A customer the scammers contacted: the earliest contact and everything they knew."""

    customer_id: str
    contacted_at: datetime
    knew: frozenset[str]


class ReportLike(Protocol):
    @property
    def customer_id(self) -> str: ...
    @property
    def contacted_at(self) -> datetime: ...
    @property
    def knew(self) -> Sequence[str]: ...


def victims_from_reports(reports: Iterable[ReportLike]) -> list[Victim]:
    """One victim per customer: several reports of one customer are one victim, contacted at the
    earliest report's time, knowing what any of them says (sorted for a stable order)."""
    earliest: dict[str, datetime] = {}
    knew: dict[str, set[str]] = defaultdict(set)
    for report in reports:
        cid = report.customer_id
        if cid not in earliest or report.contacted_at < earliest[cid]:
            earliest[cid] = report.contacted_at
        knew[cid] |= parse_items("|".join(report.knew))
    return [Victim(cid, earliest[cid], frozenset(knew[cid])) for cid in sorted(earliest)]


@dataclass(frozen=True, slots=True)
class Config:
    window: timedelta = timedelta(days=30)
    alpha: float = 0.001
    min_victims: int = 3
    top: int = 10


# -- what an engine gathers ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VictimAccess:
    """One actor's accesses to one victim within the victim's window."""

    actor_id: str
    actor_kind: str
    customer_id: str
    first_ts: datetime
    last_ts: datetime
    fields: frozenset[str]
    order_access: bool


@dataclass(frozen=True, slots=True)
class Logins:
    """Logins into customers' own accounts from networks new to that account."""

    victims_with_new_network: frozenset[str]
    reference_customers: int  # customers who logged in during the reference window
    reference_with_new_network: int  # of whom had a login from a new network in it


@dataclass(frozen=True, slots=True)
class Gathered:
    period: tuple[datetime, datetime]
    population: int  # distinct customers accessed by any actor in the period
    actor_customers: dict[str, tuple[str, int]]  # actor_id -> (actor_kind, distinct customers)
    accesses: list[VictimAccess]
    logins: Logins


def gathered(
    period: tuple[datetime, datetime],
    actor_rows: Iterable[Sequence[Any]],
    access_rows: Iterable[Sequence[Any]],
    logins: Logins,
) -> Gathered:
    """``Gathered`` from the engines' raw rows, so both engines read their results alike.

    ``actor_rows``: (actor_id, actor_kind, distinct customers), with one row of a None actor_id
    holding the population (a GROUPING SETS total). ``access_rows``: (actor_id, actor_kind,
    customer_id, first access, last access, ``|``-joined fields, any access to one order), times
    as aware datetimes.
    """
    actors: dict[str, tuple[str, int]] = {}
    population = 0
    for actor_id, kind, customers in actor_rows:
        if actor_id is None:
            population = int(customers)
        else:
            actors[str(actor_id)] = (str(kind), int(customers))
    accesses = [
        VictimAccess(
            actor_id=str(actor_id),
            actor_kind=str(kind),
            customer_id=str(customer_id),
            first_ts=first_ts,
            last_ts=last_ts,
            fields=parse_items(fields),
            order_access=bool(order_access),
        )
        for actor_id, kind, customer_id, first_ts, last_ts, fields, order_access in access_rows
    ]
    return Gathered(period, population, actors, accesses, logins)


class Engine(Protocol):
    def gather(self, victims: Sequence[Victim], config: Config) -> Gathered: ...


def analysis_period(victims: Sequence[Victim], config: Config) -> tuple[datetime, datetime]:
    """From one window before the first contact to the last contact."""
    first = min(v.contacted_at for v in victims)
    last = max(v.contacted_at for v in victims)
    return first - config.window, last


def reference_moment(victims: Sequence[Victim]) -> datetime:
    """The median contact time (the lower one for an even count, so it is a real contact)."""
    return sorted(v.contacted_at for v in victims)[(len(victims) - 1) // 2]


# -- the answer ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suspect:
    actor_id: str
    actor_kind: str
    score: float  # -log10 of the p-value: higher is more suspicious
    victims_covered: int
    victims_total: int
    expected: float
    p_value: float
    adjusted_p_value: float
    first_access: datetime | None
    last_access: datetime | None
    customers_accessed: int
    median_lag_hours: float | None
    accessed_without_match: int  # victims accessed whose access did not reveal what was known
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor_id,
            "actor_kind": self.actor_kind,
            "score": round(self.score, 3),
            "victims_covered": self.victims_covered,
            "victims_total": self.victims_total,
            "expected": round(self.expected, 4),
            "p_value": self.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "first_access": _iso(self.first_access),
            "last_access": _iso(self.last_access),
            "customers_accessed": self.customers_accessed,
            "median_lag_hours": None if self.median_lag_hours is None else round(self.median_lag_hours, 1),
            "accessed_without_match": self.accessed_without_match,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class Stuffing:
    victims_with_new_network: int
    victims_total: int
    expected: float
    p_value: float
    significant: bool
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "victims_with_new_network": self.victims_with_new_network,
            "victims_total": self.victims_total,
            "expected": round(self.expected, 4),
            "p_value": self.p_value,
            "significant": self.significant,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class Attribution:
    conclusive: bool
    likely_source: LikelySource
    suspects: list[Suspect]
    stuffing: Stuffing
    victims_total: int
    population: int
    actors_tested: int
    period: tuple[datetime, datetime]
    window_days: float
    explanation: str
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "conclusive": self.conclusive,
            "likely_source": self.likely_source,
            "suspects": [s.to_json() for s in self.suspects],
            "explanation": self.explanation,
            "credential_stuffing": self.stuffing.to_json(),
            "victims_total": self.victims_total,
            "population": self.population,
            "actors_tested": self.actors_tested,
            "period": [_iso(self.period[0]), _iso(self.period[1])],
            "window_days": self.window_days,
            "notes": self.notes,
        }


def attribute(engine: Engine, victims: Sequence[Victim], config: Config | None = None) -> Attribution:
    """Rank the actors whose accesses explain ``victims`` (see the module's docstring)."""
    config = config or Config()
    if not victims:
        raise ValueError("attribution needs at least one victim")
    return conclude(engine.gather(victims, config), victims, config)


def conclude(gathered: Gathered, victims: Sequence[Victim], config: Config) -> Attribution:
    """The ranking and the verdict from what an engine gathered; the same for every engine."""
    total = len(victims)
    by_id = {v.customer_id: v for v in victims}
    population = max(gathered.population, 1)
    tests = len(gathered.actor_customers)
    per_actor: dict[str, list[VictimAccess]] = defaultdict(list)
    for access in gathered.accesses:
        per_actor[access.actor_id].append(access)

    suspects = []
    for actor_id, accesses in per_actor.items():
        kind, customers = gathered.actor_customers.get(actor_id, (accesses[0].actor_kind, len(accesses)))
        covered = [
            a for a in accesses if explains(by_id[a.customer_id].knew, revealed(a.fields, order_access=a.order_access))
        ]
        rate = min(1.0, max(customers, len(accesses)) / population)
        log10_p = log10_binomial_tail(total, len(covered), rate)
        lags = [(by_id[a.customer_id].contacted_at - a.last_ts).total_seconds() / 3600 for a in covered]
        suspect = Suspect(
            actor_id=actor_id,
            actor_kind=kind,
            score=-log10_p if covered else 0.0,
            victims_covered=len(covered),
            victims_total=total,
            expected=total * rate,
            p_value=10.0**log10_p if covered else 1.0,
            adjusted_p_value=bonferroni(log10_p, tests) if covered else 1.0,
            first_access=min((a.first_ts for a in covered), default=None),
            last_access=max((a.last_ts for a in covered), default=None),
            customers_accessed=customers,
            median_lag_hours=statistics.median(lags) if lags else None,
            accessed_without_match=len(accesses) - len(covered),
            explanation="",
        )
        suspects.append(_explained(suspect, covered, population, tests))
    # Most surprising first; among equals, more victims, then the shorter lag, then the id (stable).
    suspects.sort(key=lambda s: (-s.score, -s.victims_covered, s.median_lag_hours or math.inf, s.actor_id))
    stuffing = _stuffing(gathered.logins, total, config)
    need = config.min_victims
    best = suspects[0] if suspects else None
    insider = best is not None and best.adjusted_p_value < config.alpha and best.victims_covered >= need
    if insider and best is not None and (not stuffing.significant or best.p_value <= stuffing.p_value):
        source: LikelySource = "insider"
        explanation = (
            f"{best.actor_kind} {best.actor_id} accessed {best.victims_covered} of {total} victims before "
            f"they were contacted, where {best.expected:.2f} were expected by chance "
            f"(p = {best.p_value:.1e}, {best.adjusted_p_value:.1e} after testing {tests:,} actors)."
        )
    elif stuffing.significant:
        source = "credential_stuffing"
        explanation = stuffing.explanation + " No actor's accesses explain the victims as well."
    else:
        source = "unknown"
        explanation = (
            f"No actor's accesses explain the {total} victims better than chance at alpha {config.alpha} after "
            f"testing {tests:,} actors, and their own logins show no unusual networks: the source is not in "
            "this log (or the victims are too few to tell)."
        )
    notes = []
    if total < need:
        notes.append(f"{total} victims: at least {need} are needed for a conclusive answer.")
    return Attribution(
        conclusive=source != "unknown",
        likely_source=source,
        suspects=suspects[: config.top],
        stuffing=stuffing,
        victims_total=total,
        population=gathered.population,
        actors_tested=tests,
        period=gathered.period,
        window_days=config.window.total_seconds() / 86400,
        explanation=explanation,
        notes=notes,
    )


def _explained(suspect: Suspect, covered: list[VictimAccess], population: int, tests: int) -> Suspect:
    shown = sorted(set().union(*(a.fields for a in covered))) if covered else []
    parts = [
        f"accessed {suspect.victims_covered} of {suspect.victims_total} victims"
        + (f" ({', '.join(shown)})" if shown else "")
        + " before they were contacted"
    ]
    if suspect.median_lag_hours is not None:
        parts.append(f"a median {_duration(suspect.median_lag_hours)} before the contact")
    if suspect.accessed_without_match:
        parts.append(f"{suspect.accessed_without_match} more accessed without seeing what the scammers knew")
    share = suspect.customers_accessed / population
    parts.append(
        f"reads {suspect.customers_accessed:,} of {population:,} customers in the period ({share:.2%}), "
        f"so {suspect.expected:.2f} victims were expected by chance"
    )
    parts.append(f"p = {suspect.p_value:.1e} ({suspect.adjusted_p_value:.1e} after testing {tests:,} actors)")
    return replace(suspect, explanation="; ".join(parts) + ".")


def _stuffing(logins: Logins, total: int, config: Config) -> Stuffing:
    hits = len(logins.victims_with_new_network)
    # Add-one smoothing: a reference window where no customer had a new network must not make
    # one victim's new phone impossible (p = 0) and so conclusive.
    rate = (logins.reference_with_new_network + 1) / (logins.reference_customers + 2)
    log10_p = log10_binomial_tail(total, hits, rate)
    p_value = 10.0**log10_p
    significant = p_value < config.alpha and hits >= config.min_victims
    explanation = (
        f"{hits} of {total} victims had logins into their own accounts from networks they had never used, "
        f"in the {config.window.days} days before the contact, against {rate:.2%} of "
        f"{logins.reference_customers:,} customers in a window of the same length "
        f"({total * rate:.2f} expected; p = {p_value:.1e})."
    )
    return Stuffing(hits, total, total * rate, p_value, significant, explanation)


def _duration(hours: float) -> str:
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
