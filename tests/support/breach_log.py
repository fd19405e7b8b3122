"""A hand-built access log for breach tests: one staff actor's reads, at chosen moments in July 2016,
and the scope request the API takes for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shopshield.bootstrap import Container
from shopshield.core.db import transaction
from shopshield.core.events import AccessEvent

ACTOR = "staff-0417"

BODY = {
    "actor_id": ACTOR,
    "actor_kind": "staff",
    "since": "2016-07-14T00:00:00Z",
    "until": "2016-07-16T00:00:00Z",
    "tz": "UTC",
}


def at(day: int, hour: int, minute: int = 0, micro: int = 0) -> datetime:
    return datetime(2016, 7, day, hour, minute, tzinfo=UTC) + timedelta(microseconds=micro)


def log(container: Container, when: datetime, customer: str | None, fields: str = "", **kw: Any) -> None:
    event = {
        "actor_id": ACTOR,
        "actor_kind": "staff",
        "actor_role": "cs_agent",
        "action": "view",
        "channel": "cs-console",
        "outcome": "ok",
        "customer_id": customer,
        "fields": tuple(f for f in fields.split("|") if f),
    } | kw
    with transaction(container.engine) as tx:
        container.audit.append(tx, AccessEvent(**event), now=when)
