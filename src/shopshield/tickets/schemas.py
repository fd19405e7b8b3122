"""Input schemas for tickets."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from shopshield.core.ids import RecordId
from shopshield.core.schemas import Strict


class TicketIn(Strict):
    ticket_id: RecordId | None = None
    customer_id: RecordId
    order_id: RecordId | None = None
    category: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    assignee_id: RecordId
