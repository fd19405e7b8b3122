"""What operators see of delivery and what they may do: the queue's status, the dead letters, and
sending a dead letter again. Shared by ``GET /v1/notifications/...`` and ``shopshield notify``.

Nothing here returns an address, a code or a rendered message: ids, codes, counts, times and the
adapters' reasons only.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import Engine

from shopshield.core import ids, times
from shopshield.core.db import Statement, Tx, transaction
from shopshield.core.errors import Conflict, InvalidInput, NotFound
from shopshield.notify import circuit
from shopshield.notify.catalogue import Channel, Event
from shopshield.notify.circuit import Snapshot
from shopshield.notify.metrics import queue_status
from shopshield.notify.models import DEAD, QUEUED, STATES
from shopshield.notify.worker import CIRCUIT_HELD

__all__ = ["MAX_LIMIT", "dead_letters", "outbox", "parse_channel", "parse_state", "retry", "status"]

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


class _Message(NamedTuple):
    notification_id: str
    customer_id: str
    event: str
    channel: str
    source: str
    source_ref: str
    state: str
    created_at: Any
    due_at: Any
    attempts: int
    sent_at: Any
    last_error: str | None


_MESSAGE_COLUMNS: Final = (
    "notification_id, customer_id, event, channel, source, source_ref, state, created_at, due_at, attempts, "
    "sent_at, last_error"
)
_FILTERS: Final = ("state", "channel", "event")


def _outbox_statement(used: tuple[str, ...]) -> Statement[_Message]:
    # Assembled from the constant column names above, one statement per set of filters.
    where = " AND ".join(f"{name} = :{name}" for name in used)
    return Statement(
        f"SELECT {_MESSAGE_COLUMNS} FROM notifications"  # noqa: S608 - constant fragments
        + (f" WHERE {where}" if where else "")
        + " ORDER BY created_at DESC, notification_id LIMIT :n",
        row=_Message,
    )


_OUTBOX: Final = {
    used: _outbox_statement(used)
    for used in (
        tuple(f for f, on in zip(_FILTERS, mask, strict=True) if on)
        for mask in itertools.product((False, True), repeat=3)
    )
}


class _Held(NamedTuple):
    channel: str
    n: int
    until: Any


# Messages a worker put back while their gateway's circuit was open, and not yet due again.
_HELD: Final = Statement(
    "SELECT channel, COUNT(*), MAX(due_at) FROM notifications "
    "WHERE state = :queued AND last_error = :reason AND due_at > :now GROUP BY channel",
    row=_Held,
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


def parse_state(value: str | None, field: str = "state") -> str | None:
    """An outbox state by its code; ``InvalidInput`` naming the states there are."""
    if value is None:
        return None
    if value not in STATES:
        raise InvalidInput(f"{field}: one of {', '.join(STATES)}", field=field)
    return value


def status(engine: Engine, now: datetime, *, breakers: Mapping[str, Snapshot] | None = None) -> Json:
    """The queue, and per gateway its circuit (decision 0031): ``worker_state`` and the breaker's
    figures from the workers running in this process (``breakers``; by default every live one),
    null where none runs here (``shopshield notify status`` beside a separate ``notify run``);
    ``held`` and ``held_until`` from the outbox, the messages any worker put back because the
    circuit was open, which every process sees."""
    found = queue_status(engine, now)
    live = circuit.live_states() if breakers is None else breakers
    held: dict[str, tuple[int, datetime | None]] = {}
    with transaction(engine, read_only=True) as tx:
        for row in tx.all(_HELD, {"queued": QUEUED, "reason": CIRCUIT_HELD, "now": tx.timestamp(now)}):
            held[row.channel] = (int(row.n), None if row.until is None else times.stored(row.until))
    circuits: Json = {}
    for channel in (str(c) for c in Channel):
        snapshot = live.get(channel)
        count, until = held.get(channel, (0, None))
        circuits[channel] = {
            "worker_state": None if snapshot is None else str(snapshot.state),
            "consecutive_failures": None if snapshot is None else snapshot.consecutive_failures,
            "open_until": None if snapshot is None or snapshot.open_until is None else times.iso(snapshot.open_until),
            "times_opened": None if snapshot is None else snapshot.opened,
            "held": count,
            "held_until": None if until is None else times.iso(until),
        }
    return {
        "queued": found.waiting,
        "sending": found.sending,
        "dead": found.dead,
        "to_expand": found.to_expand,
        "oldest_due_age_seconds": round(found.oldest_due_age_seconds, 3),
        "circuits": circuits,
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


def outbox(
    tx: Tx, *, state: str | None = None, channel: Channel | None = None, event: Event | None = None, limit: int = 100
) -> list[Json]:
    """The outbox's messages, newest first, optionally of one state, channel and event: ids, codes,
    times and the adapters' reasons (never an address, a code or a rendered message)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit: between 1 and {MAX_LIMIT}", field="limit")
    if state is not None:
        parse_state(state)
    given = {
        "state": state,
        "channel": None if channel is None else str(channel),
        "event": None if event is None else str(event),
    }
    used = tuple(name for name in _FILTERS if given[name] is not None)
    params: dict[str, Any] = {name: given[name] for name in used} | {"n": limit}
    return [
        {
            "notification_id": r.notification_id,
            "customer_id": r.customer_id,
            "event": r.event,
            "channel": r.channel,
            "source": r.source,
            "source_ref": r.source_ref,
            "state": r.state,
            "created_at": times.iso(times.stored(r.created_at)),
            "due_at": times.iso(times.stored(r.due_at)),
            "attempts": r.attempts,
            "sent_at": None if r.sent_at is None else times.iso(times.stored(r.sent_at)),
            "reason": r.last_error,
        }
        for r in tx.all(_OUTBOX[used], params)
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
