"""Raising security alerts inside the transaction of what caused them, and listing them.

``raise_alert`` runs on the caller's ``Tx`` (the hot read path's driver connection, or a unit of
work's through ``Tx.of_session``), so an alert commits exactly when the refusal or event behind
it does. Listing is a plain read for security staff (``alerts.read``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopshield.alerts.models import OPEN, SecurityAlertRow
from shopshield.core import ids, times
from shopshield.core.db import Statement, Tx

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
Json = dict[str, Any]
Detail = str | int | float | bool | None


class AlertMetrics:
    """The alerts' Prometheus counter, on the app's registry (``bootstrap``) or a private one."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.raised = PromCounter(
            "shopshield_security_alerts",
            "Security alerts raised, by kind (repeats within an alert's window are not counted)",
            ["kind"],
            registry=self.registry,
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as a service raises it. ``reason`` is words for people; ``details`` codes and
    numbers for machines. Neither may hold a personal value."""

    kind: str
    actor_id: str | None
    actor_role: str | None
    reason: str
    details: Mapping[str, Detail]
    dedup_key: str


def hourly_key(kind: str, actor_id: str, now: datetime) -> str:
    """De-duplication per kind, actor and UTC hour."""
    return f"{kind}|{actor_id}|{now.astimezone(UTC):%Y-%m-%dT%H}"


class _Raised(NamedTuple):
    alert_id: str
    occurrences: int


_RAISE = Statement(
    "INSERT INTO security_alerts (alert_id, kind, actor_id, actor_role, raised_at, last_seen_at, occurrences, "
    "status, reason, details, dedup_key) "
    "VALUES (:alert_id, :kind, :actor_id, :actor_role, :now, :now, 1, :status, :reason, :details, :dedup_key) "
    "ON CONFLICT (dedup_key) DO UPDATE SET occurrences = security_alerts.occurrences + 1, "
    "last_seen_at = excluded.last_seen_at "
    "RETURNING alert_id, occurrences",
    row=_Raised,
)


def raise_alert(tx: Tx, alert: Alert, *, now: datetime, metrics: AlertMetrics | None = None) -> bool:
    """Store ``alert``, or count one more occurrence on the alert already raised in its window.
    True when it is new: only then is it logged and counted, once per window."""
    row = tx.one(
        _RAISE,
        {
            "alert_id": ids.new_uuid(),
            "kind": alert.kind,
            "actor_id": alert.actor_id,
            "actor_role": alert.actor_role,
            "now": tx.timestamp(now),
            "status": OPEN,
            "reason": alert.reason[:300],
            "details": json.dumps(dict(alert.details), sort_keys=True),
            "dedup_key": alert.dedup_key[:200],
        },
    )
    if row is None or int(row.occurrences) != 1:
        return False
    # The actor's id and the alert's, nothing else: the reason and details are for the alert list.
    log.warning("security alert %s raised: %s by actor %s", row.alert_id, alert.kind, alert.actor_id)
    if metrics is not None:
        metrics.raised.labels(kind=alert.kind).inc()
    return True


def list_alerts(
    *,
    session: Session,
    kind: str | None = None,
    status: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Json]:
    """Alerts raised at or after ``since`` (all by default), newest first, at most ``limit``."""
    query = select(SecurityAlertRow).order_by(SecurityAlertRow.raised_at.desc(), SecurityAlertRow.alert_id)
    if kind is not None:
        query = query.where(SecurityAlertRow.kind == kind)
    if status is not None:
        query = query.where(SecurityAlertRow.status == status)
    if actor_id is not None:
        query = query.where(SecurityAlertRow.actor_id == actor_id)
    if since is not None:
        query = query.where(SecurityAlertRow.raised_at >= since.astimezone(UTC))
    return [alert_json(row) for row in session.scalars(query.limit(min(max(limit, 1), MAX_LIMIT)))]


def alert_json(row: SecurityAlertRow) -> Json:
    return {
        "alert_id": row.alert_id,
        "kind": row.kind,
        "actor_id": row.actor_id,
        "actor_role": row.actor_role,
        "raised_at": times.iso(row.raised_at),
        "last_seen_at": times.iso(row.last_seen_at),
        "occurrences": row.occurrences,
        "status": row.status,
        "reason": row.reason,
        "details": json.loads(row.details),
    }
