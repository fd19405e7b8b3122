"""What operators see of delivery and what they may do: the queue's status, the dead letters, and
sending a dead letter again. Shared by ``GET /v1/notifications/...`` and ``shopshield notify``.

Nothing here returns an address, a code or a rendered message: ids, codes, counts, times and the
adapters' reasons only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import Engine

from shopshield.core import ids, times
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import Conflict, InvalidInput, NotFound
from shopshield.notify.catalogue import Channel
from shopshield.notify.metrics import queue_status
from shopshield.notify.models import DEAD, QUEUED

__all__ = ["MAX_LIMIT", "dead_letters", "parse_channel", "retry", "status"]

MAX_LIMIT: Final = 1000
Json = dict[str, Any]


class _Dead(NamedTuple):
    notification_id: str
    customer_id: str
    event: str
    channel: str
    source: str
    created_at: Any
    attempts: int
    last_error: str | None


class _State(NamedTuple):
    state: str


_DEAD_COLUMNS: Final = "notification_id, customer_id, event, channel, source, created_at, attempts, last_error"
_DEAD_ALL: Final = Statement(
    f"SELECT {_DEAD_COLUMNS} FROM notifications WHERE state = :dead ORDER BY created_at DESC, notification_id "  # noqa: S608
    "LIMIT :n",
    row=_Dead,
)
_DEAD_CHANNEL: Final = Statement(
    f"SELECT {_DEAD_COLUMNS} FROM notifications WHERE state = :dead AND channel = :channel "  # noqa: S608
    "ORDER BY created_at DESC, notification_id LIMIT :n",
    row=_Dead,
)
_STATE: Final = Statement("SELECT state FROM notifications WHERE notification_id = :notification_id", row=_State)
# Back to the queue as new: due now, attempts from zero, same id (so the same idempotency key).
_REQUEUE: Final = Statement(
    "UPDATE notifications SET state = :queued, due_at = :now, attempts = 0, claimed_by = NULL, lease_until = NULL "
    "WHERE notification_id = :notification_id AND state = :dead"
)


def parse_channel(value: str | None, field: str = "channel") -> Channel | None:
    """A channel by its code; ``InvalidInput`` naming the channels there are."""
    if value is None:
        return None
    try:
        return Channel(value)
    except ValueError:
        raise InvalidInput(f"{field}: one of {', '.join(c.value for c in Channel)}", field=field) from None


def status(engine: Engine, now: datetime) -> Json:
    found = queue_status(engine, now)
    return {
        "queued": found.waiting,
        "sending": found.sending,
        "dead": found.dead,
        "to_expand": found.to_expand,
        "oldest_due_age_seconds": round(found.oldest_due_age_seconds, 3),
    }


def dead_letters(tx: Tx, *, channel: Channel | None, limit: int) -> list[Json]:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: between 1 and {MAX_LIMIT}", field="limit")
    if channel is None:
        rows = tx.all(_DEAD_ALL, {"dead": DEAD, "n": limit})
    else:
        rows = tx.all(_DEAD_CHANNEL, {"dead": DEAD, "channel": str(channel), "n": limit})
    return [
        {
            "notification_id": r.notification_id,
            "customer_id": r.customer_id,
            "event": r.event,
            "channel": r.channel,
            "source": r.source,
            "created_at": times.iso(times.stored(r.created_at)),
            "attempts": r.attempts,
            "reason": r.last_error,
        }
        for r in rows
    ]


def retry(tx: Tx, *, notification_id: str, now: datetime) -> Json:
    """A dead letter back in the queue, due now; ``NotFound``, or ``Conflict`` if it is not dead."""
    problem = ids.problem(notification_id)
    if problem is not None:
        raise InvalidInput(f"notification_id: {problem}", field="notification_id")
    found = tx.one(_STATE, {"notification_id": notification_id})
    if found is None:
        raise NotFound("no such notification")
    if found.state != DEAD:
        raise Conflict(f"only a dead letter can be retried; this notification is {found.state}")
    tx.execute(_REQUEUE, {"queued": QUEUED, "now": tx.timestamp(now), "notification_id": notification_id, "dead": DEAD})
    return {"notification_id": notification_id, "state": QUEUED}
