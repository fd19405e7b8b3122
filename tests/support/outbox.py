"""The notification outbox as stored, read back for assertions."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from shopshield.bootstrap import Container
from shopshield.core.db import unit_of_work
from shopshield.notify.models import NotificationIntentRow, NotificationRow


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
