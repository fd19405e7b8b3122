"""The scope of a breach: which customers a confirmed source accessed in a window, and which of
their fields, straight from the access log; then warnings queued for them, once per case.

The scope is read in a read-only snapshot (``db.transaction(engine, read_only=True)``), because
it scans the actor's events (there is deliberately no index by actor, decision 0007) and must not
hold SQLite's write lock while it does. Recording it and queueing warnings is a second, short transaction.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopshield.access.models import split_fields
from shopshield.breach import warnings
from shopshield.breach.models import QUEUED, WarningRow
from shopshield.core import ids, times
from shopshield.core.callers import Caller
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import Conflict, InvalidInput
from shopshield.core.events import OK
from shopshield.core.notices import NO_NOTICES, Notices
from shopshield.core.policy import ALL_FIELDS
from shopshield.core.times import iso, parse_window
from shopshield.scams.casefile import Attribution
from shopshield.vault.service import Vault

Json = dict[str, Any]

ACTION: Final = "scope"
ACTOR_KINDS: Final = ("staff", "courier", "merchant", "partner", "service", "job", "customer", "other")
BATCH: Final = 1000
# The notify catalogue's code for a breach warning, and the outbox source of every warning's
# messages (``notify.catalogue.Event``; breach cannot import notify, decision 0028).
BREACH_WARNING: Final = "breach.warning"
WARNING_SOURCE: Final = "breach"


@dataclass(frozen=True, slots=True)
class Category:
    """A category of personal information as a regulator report names it, and the access-event
    field names that fall under it."""

    code: str
    label: str
    label_zh: str
    fields: frozenset[str]


# Field names are the vault's (and the shared access-event format's where it differs). An access
# to an order (an event with an order id) shows which order and when: it counts as "purchases".
CATEGORIES: Final = (
    Category("name", "names", "姓名", frozenset({"name", "recipient"})),
    Category("contact", "contact details (mobile, phone, e-mail)", "联系方式", frozenset({"mobile", "phone", "email"})),
    Category(
        "address",
        "postal addresses",
        "收货地址",
        frozenset({"region", "street", "address", "province", "city", "district"}),
    ),
    Category("id_number", "resident identity card numbers", "身份证号码", frozenset({"id_number"})),
    Category(
        "purchases",
        "orders and purchases (items, prices, times, returns)",
        "订单与交易信息",
        frozenset({"items", "returns", "order_id", "price", "purchase_time", "return_request"}),
    ),
)


# -- the question --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suspect:
    """What the attribution said about the source, for the report's "cause" section."""

    likely_source: str
    victims_covered: int
    victims_total: int
    p_value: float
    explanation: str

    def json(self) -> Json:
        return {
            "likely_source": self.likely_source,
            "victims_covered": self.victims_covered,
            "victims_total": self.victims_total,
            "p_value": self.p_value,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class ScopeQuery:
    """Events of ``actor_id`` (of ``actor_kind`` when given) at or after ``since`` and before
    ``until`` (open when None), under breach case ``case_id``."""

    actor_id: str
    actor_kind: str | None
    since: datetime
    until: datetime | None
    tz: ZoneInfo
    case_id: str
    suspect: Suspect | None = None


def parse_query(
    *,
    actor_id: str,
    actor_kind: str | None,
    since: str | None,
    until: str | None,
    tz: str,
    case_id: str | None = None,
    suspect: Suspect | None = None,
    prefix: str = "",
) -> ScopeQuery:
    """A scope as the API and the command line receive it. Times without an offset are read in
    ``tz`` (as in the scam report summary). Messages name the parameter, never the value."""
    ids.check(actor_id, "actor_id", shape=ids.ACTOR, rule=ids.ACTOR_RULE, label=f"{prefix}actor")
    if actor_kind is not None and actor_kind not in ACTOR_KINDS:
        raise InvalidInput(f"{prefix}kind: must be one of {', '.join(ACTOR_KINDS)}", field="actor_kind")
    if since is None:
        raise InvalidInput(f"{prefix}since: the start of the window is needed", field="since")
    window = parse_window(since=since, until=until, tz=tz, prefix=prefix)
    assert window.since is not None
    if case_id is None:
        case_id = default_case_id(actor_id, actor_kind, window.since, window.until)
    else:
        ids.check(case_id, "case_id", shape=ids.ACTOR, rule=ids.ACTOR_RULE, label=f"{prefix}case")
    return ScopeQuery(actor_id, actor_kind, window.since, window.until, window.tz, case_id, suspect)


def default_case_id(actor_id: str, actor_kind: str | None, since: datetime, until: datetime | None) -> str:
    """The same actor and window give the same case, so running a scope again never warns twice."""
    key = "|".join((actor_id, actor_kind or "", iso(since), "" if until is None else iso(until)))
    # Hex digits can happen to read as a card or mobile number, which the id check would refuse
    # when the case is named again: then the next hash of the same key, still deterministic.
    for attempt in itertools.count():
        salted = key if attempt == 0 else f"{key}|{attempt}"
        case_id = "breach-" + hashlib.sha256(salted.encode()).hexdigest()[:16]
        if ids.personal_kind(case_id) is None:
            return case_id
    raise AssertionError("unreachable")


def source_from_attribution(
    attribution: Attribution, *, actor_id: str | None, actor_kind: str | None, option: str = "--attribution"
) -> tuple[str, str, Suspect]:
    """The actor a scope starts from, taken from an attribution result: the suspect named by
    ``actor_id``, or the top suspect of a conclusive insider verdict (a mere ranking is a lead, not
    a confirmed source)."""
    if actor_id is None:
        if not attribution.conclusive or attribution.likely_source != "insider" or not attribution.suspects:
            raise InvalidInput(
                f"{option}: the attribution does not conclude that an insider is the source; "
                "name the confirmed actor with --actor",
                field="attribution",
            )
        found = attribution.suspects[0]
    else:
        matches = [s for s in attribution.suspects if s.actor_id == actor_id]
        if not matches:
            raise InvalidInput(f"{option}: --actor is not among the attribution's suspects", field="attribution")
        found = matches[0]
    if actor_kind is not None and actor_kind != found.actor_kind:
        raise InvalidInput(f"--kind: the attribution names this actor as {found.actor_kind}", field="actor_kind")
    suspect = Suspect(
        attribution.likely_source, found.victims_covered, found.victims_total, found.p_value, found.explanation
    )
    return found.actor_id, found.actor_kind, suspect


# -- the answer ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reached:
    """One customer as the source reached them: every field shown, orders, first and last access."""

    customer_id: str
    fields: tuple[str, ...]
    orders: int
    first_access: datetime
    last_access: datetime
    events: int

    def categories(self) -> list[str]:
        shown = set(self.fields)
        return [c.code for c in CATEGORIES if shown & c.fields or (c.code == "purchases" and self.orders)]

    def json(self) -> Json:
        return {
            "customer_id": self.customer_id,
            "fields": list(self.fields),
            "orders": self.orders,
            "first_access": iso(self.first_access),
            "last_access": iso(self.last_access),
            "events": self.events,
        }


@dataclass(frozen=True, slots=True)
class Scope:
    query: ScopeQuery
    customers: list[Reached]
    # Decoys the source reached: evidence, not people to warn (customer id, recipient, events).
    canaries: list[tuple[str, str, int]]
    generated_at: datetime
    warnings: Queued | None = None

    @property
    def events(self) -> int:
        return sum(c.events for c in self.customers)

    @property
    def orders(self) -> int:
        return sum(c.orders for c in self.customers)

    def field_counts(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for customer in self.customers:
            for name in customer.fields:
                counts[name] = counts.get(name, 0) + 1
        return [(name, counts[name]) for name in _field_order(counts)]

    def category_counts(self) -> list[tuple[Category, int]]:
        found = [code for c in self.customers for code in c.categories()]
        return [(c, found.count(c.code)) for c in CATEGORIES if c.code in found]

    def json(self) -> Json:
        q = self.query
        return {
            "case_id": q.case_id,
            "generated_at": iso(self.generated_at),
            "source": {
                "actor_id": q.actor_id,
                "actor_kind": q.actor_kind,
                "attribution": None if q.suspect is None else q.suspect.json(),
            },
            "window": {"since": iso(q.since), "until": None if q.until is None else iso(q.until), "tz": q.tz.key},
            "totals": {
                "customers": len(self.customers),
                "events": self.events,
                "orders": self.orders,
                "canaries": len(self.canaries),
            },
            "categories": [{"category": c.code, "label": c.label, "customers": n} for c, n in self.category_counts()],
            "fields": [{"field": name, "customers": n} for name, n in self.field_counts()],
            "customers": [c.json() for c in self.customers],
            "canaries": [{"customer_id": cid, "recipient": r, "events": n} for cid, r, n in self.canaries],
            "warnings": None if self.warnings is None else self.warnings.json(),
        }


@dataclass(frozen=True, slots=True)
class Queued:
    """What queueing a case's warnings did: new warnings, warnings the case already had, and the
    outbox rows the new ones became (one per channel; decision 0028)."""

    case_id: str
    queued: int
    already_queued: int
    notifications: int = field(default=0, compare=False)

    def json(self) -> Json:
        return {
            "case_id": self.case_id,
            "queued": self.queued,
            "already_queued": self.already_queued,
            "notifications": self.notifications,
        }


def _field_order(names: Iterable[str]) -> list[str]:
    """The vault's field order, then any other names alphabetically."""
    known = {name: n for n, name in enumerate(ALL_FIELDS)}
    return sorted(set(names), key=lambda name: (known.get(name, len(known)), name))


def _events_statement(kind: bool, until: bool) -> Statement[tuple[Any, ...]]:
    # Only accesses that went through: a refused attempt showed nothing. Assembled from constant
    # fragments only.
    return Statement(
        "SELECT customer_id, ts, fields, order_id FROM access_events "  # noqa: S608 - constant fragments
        "WHERE actor_id = :actor_id AND outcome = :ok AND customer_id IS NOT NULL AND ts >= :since"
        + (" AND actor_kind = :actor_kind" if kind else "")
        + (" AND ts < :until" if until else "")
        + " ORDER BY leaf_index"
    )


_EVENTS: Final = {(k, u): _events_statement(k, u) for k, u in itertools.product((False, True), repeat=2)}
_CANARIES: Final = Statement("SELECT customer_id, recipient FROM canaries")


@dataclass(slots=True)
class _Tally:
    fields: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    first: datetime | None = None
    last: datetime | None = None
    events: int = 0


def scope(*, tx: Tx, query: ScopeQuery, now: datetime) -> Scope:
    """The customers ``query``'s actor accessed in its window (``tx``: a read snapshot).

    A customer counts when an event that went through (outcome ``ok``) showed at least one field
    or concerned an order; events that showed nothing (an access report, a canary check) do not.
    Canaries the actor reached are listed apart: they are the leak's evidence, not its victims.
    """
    params: dict[str, Any] = {"actor_id": query.actor_id, "ok": OK, "since": tx.timestamp(query.since)}
    if query.actor_kind is not None:
        params["actor_kind"] = query.actor_kind
    if query.until is not None:
        params["until"] = tx.timestamp(query.until)
    cursor = tx.execute(_EVENTS[(query.actor_kind is not None, query.until is not None)], params)
    tallies: dict[str, _Tally] = {}
    while rows := cursor.fetchmany(BATCH):
        for customer_id, ts, fields, order_id in rows:
            shown = split_fields(fields or "")
            if not shown and order_id is None:
                continue
            at = times.stored(ts)
            tally = tallies.setdefault(customer_id, _Tally())
            tally.fields.update(shown)
            if order_id is not None:
                tally.orders.add(order_id)
            tally.first = at if tally.first is None else min(tally.first, at)
            tally.last = at if tally.last is None else max(tally.last, at)
            tally.events += 1
    recipients = {str(cid): str(recipient) for cid, recipient in tx.all(_CANARIES, {})}
    customers = []
    canaries = []
    for customer_id in sorted(tallies):
        tally = tallies[customer_id]
        if customer_id in recipients:
            canaries.append((customer_id, recipients[customer_id], tally.events))
            continue
        assert tally.first is not None
        assert tally.last is not None
        customers.append(
            Reached(
                customer_id, tuple(_field_order(tally.fields)), len(tally.orders), tally.first, tally.last, tally.events
            )
        )
    return Scope(query, customers, canaries, now)


def record(*, vault: Vault, session: Session, caller: Caller, scope: Scope, warn: bool) -> Scope:
    """Record that the scope was run (one access event: it reads no personal value, but who looked
    at whose accesses belongs in the log) and, with ``warn``, queue its customers' warnings."""
    q = scope.query
    reason = f"breach scope {q.case_id}: actor {q.actor_id}, {len(scope.customers)} customers"
    vault.audit.append(Tx.of_session(session), caller.event(ACTION, OK, reason=reason[:200]), now=vault.clock())
    if not warn:
        return scope
    queued = queue_warnings(
        session=session,
        case_id=q.case_id,
        customer_ids=[c.customer_id for c in scope.customers],
        now=vault.clock(),
        notices=vault.notices,
        fields={c.customer_id: c.fields for c in scope.customers},
    )
    return Scope(scope.query, scope.customers, scope.canaries, scope.generated_at, queued)


def queue_warnings(
    *,
    session: Session,
    case_id: str,
    customer_ids: list[str],
    now: datetime,
    notices: Notices = NO_NOTICES,
    fields: Mapping[str, Sequence[str]] | None = None,
    reason: str = warnings.REASON,
    template: str = warnings.TEMPLATE,
    event: str = BREACH_WARNING,
    details: Mapping[str, object] | None = None,
) -> Queued:
    """One queued warning per customer for ``case_id``; customers already warned for this case are
    left as they are, so the same case can be run again (after a wider window, say) safely.

    The warning row is the case's record of whom it warned; the message itself goes through the
    notify outbox (``notices``), one ``event`` per new warning with ``source="breach"`` and the
    warning's id as ``source_ref``, which is the link from a warning to its notifications. Both
    are written in the caller's transaction: a warning is never recorded without its message.
    ``fields`` (per customer) says which kinds of data the source saw, for a breach warning.
    """
    already = set(session.scalars(select(WarningRow.customer_id).where(WarningRow.case_id == case_id)))
    new = [(cid, ids.new_uuid()) for cid in dict.fromkeys(customer_ids) if cid not in already]
    tx = Tx.of_session(session)
    notifications = 0
    try:
        for start in range(0, len(new), BATCH):
            session.execute(
                insert(WarningRow),
                [
                    {
                        "warning_id": warning_id,
                        "customer_id": cid,
                        "reason": reason,
                        "template": template,
                        "case_id": case_id,
                        "status": QUEUED,
                        "created_at": now,
                        "sent_at": None,
                    }
                    for cid, warning_id in new[start : start + BATCH]
                ],
            )
    except IntegrityError:
        raise Conflict("another run queued warnings for this case at the same moment; run again") from None
    for cid, warning_id in new:
        notifications += len(
            notices(
                tx,
                customer_id=cid,
                event=event,
                details=dict(details or {}) | _seen(fields, cid),
                source=WARNING_SOURCE,
                source_ref=warning_id,
                occurred_at=now,
                now=now,
            )
        )
    return Queued(case_id, len(new), len([cid for cid in dict.fromkeys(customer_ids) if cid in already]), notifications)


def _seen(fields: Mapping[str, Sequence[str]] | None, customer_id: str) -> dict[str, object]:
    """The ``fields`` detail of a breach warning: the vault fields the source saw, when any (the
    catalogue takes only the vault's field names; an order-only access names none)."""
    if fields is None:
        return {}
    seen = [f for f in ALL_FIELDS if f in set(fields.get(customer_id, ()))]
    return {"fields": seen} if seen else {}
