"""Notifications: the delivery queue by state and channel, the outbox (filtered by state, channel
and event), the dead letters with their reasons, and sending a dead letter again, through
``notify.ops`` as ``/v1/notifications/...`` and ``shopshield notify`` do.

Nothing here shows an address, an anti-phishing code or a rendered message: the outbox holds ids,
codes and masked references, and the worker renders a message only when it sends it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from shopshield.console import charts
from shopshield.console.pages import _forms
from shopshield.console.views import View, page
from shopshield.core.db import transaction
from shopshield.core.errors import InvalidInput
from shopshield.core.permissions import Permission
from shopshield.notify import ops
from shopshield.notify.catalogue import Channel, Event, parse_event
from shopshield.notify.models import STATES

DEFAULT_LIMIT: Final = 100


def _filters(view: View) -> dict[str, Any]:
    values = view.request.query_params
    state = ops.parse_state(_forms.text(values, "state", max_length=16))
    channel = ops.parse_channel(_forms.text(values, "channel", max_length=16))
    event_code = _forms.text(values, "event", max_length=40)
    event = None if event_code is None else parse_event(event_code)
    limit = _forms.whole(values, "limit", low=1, high=ops.MAX_LIMIT) or DEFAULT_LIMIT
    return {"state": state, "channel": channel, "event": event, "limit": limit}


def _page(view: View, filters: dict[str, Any], retried: dict[str, Any] | None) -> dict[str, Any]:
    ctx = view.ctx
    status = ops.status(ctx.engine, datetime.now(UTC))
    with transaction(ctx.engine, read_only=True) as tx:
        messages = ops.outbox(
            tx, state=filters["state"], channel=filters["channel"], event=filters["event"], limit=filters["limit"]
        )
        dead = ops.dead_letters(tx, channel=filters["channel"], limit=ops.MAX_LIMIT)
    channels = [str(c) for c in Channel]
    waiting = {c: status["queued"][c] + status["sending"][c] for c in channels}
    points = [(f"{c} waiting", float(waiting[c])) for c in channels] + [
        (f"{c} dead", float(status["dead"][c])) for c in channels
    ]
    return {
        "status": status,
        "channels": channels,
        "waiting": waiting,
        "queue_chart": charts.bars("Messages waiting and dead letters, by channel", points),
        "messages": messages,
        "dead": dead,
        "filters": {
            "state": filters["state"] or "",
            "channel": "" if filters["channel"] is None else str(filters["channel"]),
            "event": "" if filters["event"] is None else str(filters["event"]),
            "limit": filters["limit"],
        },
        "states": STATES,
        "events": [str(e) for e in Event],
        "may_operate": view.may(Permission.NOTIFICATIONS_OPERATE),
        "retried": retried,
    }


@page(
    "/notifications",
    title="Notifications",
    template="notifications.html",
    permission=Permission.NOTIFICATIONS_READ,
    nav=True,
)
def notifications(view: View) -> dict[str, Any]:
    return _page(view, _filters(view), None)


@page(
    "/notifications/retry",
    title="Notifications",
    template="notifications.html",
    permission=Permission.NOTIFICATIONS_OPERATE,
    method="POST",
)
def retry(view: View) -> dict[str, Any]:
    """``POST /v1/notifications/{id}/retry``: a dead letter back in the queue, due now, with the
    same id (so the same idempotency key at the gateway)."""
    notification_id = _forms.text(view.form, "notification_id", max_length=64)
    if notification_id is None:
        raise InvalidInput("notification_id: choose the dead letter to send again", field="notification_id")
    with transaction(view.ctx.engine) as tx:
        retried = ops.retry(tx, notification_id=notification_id, now=datetime.now(UTC))
    return _page(view, {"state": None, "channel": None, "event": None, "limit": DEFAULT_LIMIT}, retried)
