"""The notification outbox as stored, read back for assertions."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from shopshield.bootstrap import Container
from shopshield.core.db import unit_of_work
from shopshield.notify.models import NotificationRow


def outbox(container: Container, **where: Any) -> list[NotificationRow]:
    """Outbox rows by creation time and channel, optionally only those whose columns equal ``where``."""
    with unit_of_work(container.sessions) as session:
        query = select(NotificationRow).order_by(NotificationRow.created_at, NotificationRow.channel)
        for column, value in where.items():
            query = query.where(getattr(NotificationRow, column) == value)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def details(row: NotificationRow) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(row.details)
    return loaded
