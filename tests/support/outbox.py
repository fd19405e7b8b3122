"""The notification outbox as stored, read back for assertions."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shopshield.bootstrap import Container
from shopshield.core.db import transaction, unit_of_work
from shopshield.notify import service
from shopshield.notify.adapters import FileSender
from shopshield.notify.catalogue import Channel, Event
from shopshield.notify.models import NotificationIntentRow, NotificationRow
from testkit import factories
from tests.support.world import World


def outbox(container: Container, **where: Any) -> list[NotificationRow]:
    """Outbox rows by creation time and channel, optionally only those whose columns equal ``where``."""
    with unit_of_work(container.sessions) as session:
        query = select(NotificationRow).order_by(NotificationRow.created_at, NotificationRow.channel)
        for column, value in where.items():
            query = query.where(getattr(NotificationRow, column) == value)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def intents(container: Container) -> list[NotificationIntentRow]:
    """The events a hot path raised that the worker has not expanded yet, in the order written."""
    with unit_of_work(container.sessions) as session:
        rows = list(session.scalars(select(NotificationIntentRow).order_by(NotificationIntentRow.intent_id)))
        session.expunge_all()
        return rows


def details(row: NotificationRow | NotificationIntentRow) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(row.details)
    return loaded


def dead_sms(world: World, tmp_path: Path, *, when: datetime) -> str:
    """Customer c0000042's scam warning queued at ``when`` (daytime, see ``tests.support.clock``):
    the push delivered to a file under ``tmp_path``, the SMS dead (no sender for it). Its id."""
    customer = world.post("service", "/v1/customers", factories.customer(42))
    assert customer.status_code == 201, customer.text
    with transaction(world.container.engine) as tx:
        service.enqueue(
            tx,
            customer_id="c0000042",
            event=Event.SCAM_WARNING,
            details={"pattern": "refund"},
            source="test",
            source_ref="w-1",
            occurred_at=when,
            now=when,
        )
    worker = dataclasses.replace(
        world.container.notify_worker(), senders={Channel.PUSH: FileSender(tmp_path, Channel.PUSH)}
    )
    try:
        assert worker.drain() == 2
    finally:
        worker.close()
    found = world.get("analyst", "/v1/notifications/dead-letters")
    assert found.status_code == 200, found.text
    (dead,) = found.json()["dead_letters"]
    return str(dead["notification_id"])
