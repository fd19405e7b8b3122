"""Recording access events and enforcing daily quotas, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime, tzinfo

from shopshield.access.models import AccessEvent
from shopshield.db import Statement, Tx

_INSERT_EVENT = Statement(
    "INSERT INTO access_events (ts, actor_id, actor_kind, actor_role, action, customer_id, "
    "order_id, fields, channel, source_ip, purpose, ticket_id, outcome, reason) VALUES (:ts, "
    ":actor_id, :actor_kind, :actor_role, :action, :customer_id, :order_id, :fields, :channel, :source_ip, "
    ":purpose, :ticket_id, :outcome, :reason)"
)

# One statement, atomic on SQLite and PostgreSQL: the counter only moves while the request fits
# under the limit, so concurrent requests cannot overshoot it and a refused one writes nothing.
_CONSUME_QUOTA = Statement(
    "INSERT INTO quota_usage (principal_id, day, kind, used) "
    "SELECT :p, :d, :k, :n WHERE :n <= :limit "
    "ON CONFLICT (principal_id, day, kind) DO UPDATE SET used = quota_usage.used + :n "
    "WHERE quota_usage.used + :n <= :limit RETURNING used"
)


def record(tx: Tx, event: AccessEvent, *, now: datetime) -> None:
    """Add an access event to the current transaction; it commits with the read it records."""
    tx.execute(
        _INSERT_EVENT,
        {
            "ts": tx.timestamp(now),
            "actor_id": event.actor_id,
            "actor_kind": event.actor_kind,
            "actor_role": event.actor_role,
            "action": event.action,
            "customer_id": event.customer_id,
            "order_id": event.order_id,
            "fields": "|".join(event.fields),
            "channel": event.channel,
            "source_ip": event.source_ip,
            "purpose": event.purpose,
            "ticket_id": event.ticket_id,
            "outcome": event.outcome,
            "reason": event.reason,
        },
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
