"""Warnings to customers at risk: from a breach case, or from a cluster of scam reports.

A run selects the customers, records a warning per customer under the run's id (the ``warnings``
table, one row per customer and run, so a second run warns nobody twice) and queues each warning's
message through the notify outbox in the same transaction (``service.queue_warnings``). What
became of each message is read back from the outbox by the run's id (decision 0028).

- A breach case: the customers its scope recorded (``breach scope --case CASE --warn``), those the
  confirmed source accessed. A run delivers any of them whose message is missing from the outbox
  (warnings recorded before there was an outbox, say) and reports on all.
- A scam cluster (``reports summary`` numbers them, largest first): the customers whose data
  matches what the scammers knew and who share the cluster's pattern, a return requested or an
  order placed from 30 days before the first call to the run (``selection.choose``, the rule the
  ``warn-sweep`` benchmark measures). The cluster's reporters are not warned again; they told us.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from shopshield.breach import selection, service
from shopshield.breach.models import WarningRow
from shopshield.core import ids, times
from shopshield.core.callers import Caller
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import InvalidInput, NotFound
from shopshield.core.events import OK
from shopshield.core.times import Window, iso
from shopshield.scams import service as scams
from shopshield.scams.formats import ScamReport
from shopshield.scams.summary import Cluster, clusters
from shopshield.vault.models import OrderRow, ReturnRequestRow
from shopshield.vault.service import Vault

Json = dict[str, Any]

SCAM_WARNING: Final = "scam.warning"
CLUSTER_REASON: Final = "scam_cluster"
CLUSTER_TEMPLATE: Final = "scam_warning"
ACTION: Final = "warn"
LEAD: Final = selection.LEAD


@dataclass(frozen=True, slots=True)
class Target:
    """What a run warns from: a breach case id, or a cluster number (exactly one)."""

    breach_case: str | None = None
    cluster: int | None = None

    @classmethod
    def parse(cls, *, breach_case: str | None, cluster: int | None, prefix: str = "") -> Target:
        if (breach_case is None) == (cluster is None):
            raise InvalidInput(f"give exactly one of {prefix}breach_case and {prefix}cluster_id", field="target")
        if breach_case is not None:
            ids.check(breach_case, "breach_case", shape=ids.ACTOR, rule=ids.ACTOR_RULE, label=f"{prefix}breach_case")
        if cluster is not None and cluster < 1:
            raise InvalidInput(f"{prefix}cluster_id: a cluster number from 1", field="cluster_id")
        return cls(breach_case, cluster)


@dataclass(frozen=True, slots=True)
class Selection:
    run_id: str
    event: str
    customers: list[str]
    details: Json
    reason: str
    template: str
    about: Json


def cluster_pattern(reports: list[ScamReport]) -> str:
    """The story the cluster's scammers told, from what they knew (``notify.catalogue.ScamPattern``
    codes): a return they knew about, else an order, else the account. ``selection.choose`` may
    still find ``return`` from the reporters' own returns."""
    return selection.pattern_from_knowledge(frozenset(r.knew) for r in reports)


def cluster_run_id(cluster: Cluster) -> str:
    """Named after the cluster's earliest report, which stays its first as the cluster grows: a
    second run over a larger cluster warns only the customers the first did not."""
    digest = hashlib.sha256(cluster.reports[0].report_id.encode()).hexdigest()
    for start in range(0, len(digest) - 16):
        candidate = "scams-" + digest[start : start + 16]
        if ids.personal_kind(candidate) is None:
            return candidate
    raise AssertionError("no id")  # 48 windows of hex digits cannot all look like a number


def _cluster(session: Session, number: int, tz: ZoneInfo) -> Cluster:
    found = clusters(scams.load(session=session, window=Window(None, None, tz)))
    if not 1 <= number <= len(found):
        raise NotFound("no scam cluster with that number (see `shopshield reports summary`)")
    return found[number - 1]


def _holdings(session: Session, since: datetime, until: datetime, reporters: set[str]) -> list[selection.Holding]:
    """The orders ``selection.choose`` needs: placed, or with a return requested, from ``since`` to
    ``until``, and every order of the reporters (their own returns can decide the pattern)."""
    requested = and_(
        ReturnRequestRow.requested_at >= times.utc(since), ReturnRequestRow.requested_at <= times.utc(until)
    )
    placed = and_(OrderRow.placed_at >= times.utc(since), OrderRow.placed_at <= times.utc(until))
    query = (
        select(OrderRow.customer_id, OrderRow.placed_at, ReturnRequestRow.requested_at)
        .outerjoin(ReturnRequestRow, ReturnRequestRow.order_id == OrderRow.order_id)
        .where(or_(placed, requested, OrderRow.customer_id.in_(sorted(reporters))))
    )
    return [
        selection.Holding(
            customer_id=str(customer_id),
            placed_at=times.stored(placed_at),
            returned_at=None if returned_at is None else times.stored(returned_at),
        )
        for customer_id, placed_at, returned_at in session.execute(query)
    ]


def _select_cluster(session: Session, number: int, tz: ZoneInfo, now: datetime) -> Selection:
    cluster = _cluster(session, number, tz)
    reports = [selection.Reported(r.customer_id, r.contacted_at, frozenset(r.knew)) for r in cluster.reports]
    reporters = {r.customer_id for r in reports}
    since = cluster.first_contact - LEAD
    # A run is never before its cluster's last call (a clock set back would otherwise empty the window).
    until = max(now, cluster.last_contact)
    chosen = selection.choose(reports, _holdings(session, since, until, reporters), now=until, lead=LEAD)
    return Selection(
        run_id=cluster_run_id(cluster),
        event=SCAM_WARNING,
        customers=chosen.customers,
        details={"pattern": chosen.pattern},
        reason=CLUSTER_REASON,
        template=CLUSTER_TEMPLATE,
        about={
            "cluster_id": number,
            "pattern": chosen.pattern,
            "pattern_from": chosen.pattern_from,
            "reports": len(cluster.reports),
            "window": {"since": iso(chosen.since), "until": iso(chosen.until)},
        },
    )


def _select_breach(session: Session, case_id: str) -> Selection:
    rows = list(session.scalars(select(WarningRow).where(WarningRow.case_id == case_id)))
    if not rows:
        raise NotFound(
            "no breach case with that id has recorded whom it reached: run `shopshield breach scope` "
            "with --case and --warn first"
        )
    return Selection(
        run_id=case_id,
        event=service.BREACH_WARNING,
        customers=sorted({r.customer_id for r in rows}),
        details={},
        reason=rows[0].reason,
        template=rows[0].template,
        about={"breach_case": case_id},
    )


def run(*, vault: Vault, session: Session, caller: Caller, target: Target, dry_run: bool, tz: ZoneInfo) -> Json:
    """Select the customers at risk and, unless ``dry_run``, warn each once; the run's report."""
    if target.breach_case is not None:
        chosen = _select_breach(session, target.breach_case)
    else:
        assert target.cluster is not None
        chosen = _select_cluster(session, target.cluster, tz, vault.clock())
    tx, now = Tx.of_session(session), vault.clock()
    verb = "would warn" if dry_run else "warned"
    reason = f"warnings {chosen.run_id}: {verb} {len(chosen.customers)} customers"
    vault.audit.append(tx, caller.event(ACTION, OK, reason=reason[:200]), now=now)
    queued = 0
    if not dry_run:
        result = service.queue_warnings(
            session=session,
            case_id=chosen.run_id,
            customer_ids=chosen.customers,
            now=now,
            notices=vault.notices,
            reason=chosen.reason,
            template=chosen.template,
            event=chosen.event,
            details=chosen.details,
        )
        queued = result.notifications
        if target.breach_case is not None:
            queued += _deliver_missing(vault, session, chosen, now)
        session.flush()
    report = status(tx=tx, run_id=chosen.run_id, candidates=chosen.customers if dry_run else None)
    if dry_run:
        # What a real run would do now, beside who was already warned (``customers``, with each
        # message's state): warn the new candidates, and queue the missing messages of a case's
        # earlier warnings (``_deliver_missing``).
        missing: list[str] = []
        if target.breach_case is not None:
            missing = _missing_messages(session, chosen)
        report["already_warned"] = report["warned"]
        report["would_queue_for_warned"] = missing
    return {**report, "dry_run": dry_run, "event": chosen.event, **chosen.about, "queued_now": queued}


def _missing_messages(session: Session, chosen: Selection) -> list[str]:
    """The customers of a case's warnings that have no message in the outbox (what
    ``_deliver_missing`` would queue), without queueing anything."""
    tx = Tx.of_session(session)
    have = {str(ref) for (ref,) in tx.all(_SENT_FOR, {"case_id": chosen.run_id, "source": service.WARNING_SOURCE})}
    rows = session.scalars(select(WarningRow).where(WarningRow.case_id == chosen.run_id))
    return sorted({w.customer_id for w in rows if w.warning_id not in have})


def _deliver_missing(vault: Vault, session: Session, chosen: Selection, now: datetime) -> int:
    """Queue the message of every warning of the case that has none in the outbox (the outbox
    ignores a warning it already holds, so this is safe to repeat)."""
    tx = Tx.of_session(session)
    have = {str(ref) for (ref,) in tx.all(_SENT_FOR, {"case_id": chosen.run_id, "source": service.WARNING_SOURCE})}
    missing = session.scalars(
        select(WarningRow).where(WarningRow.case_id == chosen.run_id).order_by(WarningRow.created_at)
    )
    count = 0
    for warning in missing:
        if warning.warning_id in have:
            continue
        count += len(
            vault.notices(
                tx,
                customer_id=warning.customer_id,
                event=chosen.event,
                details=chosen.details,
                source=service.WARNING_SOURCE,
                source_ref=warning.warning_id,
                occurred_at=now,
                now=now,
            )
        )
    return count


_SENT_FOR = Statement(
    "SELECT DISTINCT n.source_ref FROM notifications n JOIN warnings w ON w.warning_id = n.source_ref "
    "WHERE w.case_id = :case_id AND n.source = :source"
)
_STATUS = Statement(
    "SELECT w.customer_id, w.warning_id, w.created_at, n.notification_id, n.channel, n.state, n.sent_at, "
    "n.attempts, n.last_error FROM warnings w "
    "LEFT JOIN notifications n ON n.source = :source AND n.source_ref = w.warning_id "
    "WHERE w.case_id = :case_id ORDER BY w.customer_id, n.channel"
)


def status(*, tx: Tx, run_id: str, candidates: list[str] | None = None) -> Json:
    """Who a run warned and what became of each message (the outbox's state per channel); with
    ``candidates`` (a dry run), also who would be warned and is not yet."""
    customers: dict[str, Json] = {}
    for cid, warning_id, created_at, nid, channel, state, sent_at, attempts, last_error in tx.all(
        _STATUS, {"case_id": run_id, "source": service.WARNING_SOURCE}
    ):
        entry = customers.setdefault(
            str(cid),
            {
                "customer_id": str(cid),
                "warning_id": str(warning_id),
                "warned_at": iso(times.stored(created_at)),
                "messages": [],
            },
        )
        if nid is not None:
            entry["messages"].append(
                {
                    "notification_id": str(nid),
                    "channel": str(channel),
                    "state": str(state),
                    "sent_at": None if sent_at is None else iso(times.stored(sent_at)),
                    "attempts": int(attempts),
                    "last_error": last_error,
                }
            )
    states: dict[str, int] = {}
    for entry in customers.values():
        for message in entry["messages"]:
            states[message["state"]] = states.get(message["state"], 0) + 1
    answer: Json = {
        "run_id": run_id,
        "warned": len(customers),
        "messages": states,
        "customers": list(customers.values()),
    }
    if candidates is not None:
        answer["would_warn"] = [cid for cid in candidates if cid not in customers]
    return answer


def known_run(*, tx: Tx, run_id: str) -> Json:
    """``status`` of a run that exists; ``NotFound`` otherwise."""
    ids.check(run_id, "run_id", shape=ids.ACTOR, rule=ids.ACTOR_RULE, label="run_id")
    found = status(tx=tx, run_id=run_id)
    if not found["customers"]:
        raise NotFound("no warning run with that id")
    return found
