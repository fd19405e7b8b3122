"""Access events as stored, read back for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shopshield.access.models import AccessEventRow
from shopshield.bootstrap import Container
from shopshield.core.db import unit_of_work


def stored_events(container: Container, **where: Any) -> list[AccessEventRow]:
    """Stored access events in leaf order, optionally only those whose columns equal ``where``."""
    with unit_of_work(container.sessions) as session:
        query = select(AccessEventRow).order_by(AccessEventRow.leaf_index)
        for column, value in where.items():
            query = query.where(getattr(AccessEventRow, column) == value)
        return list(session.scalars(query))
