"""What the notification routes accept. Messages name the field and the rule, never the value: a
caller may put a phone number or the code itself anywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from shopshield.core.ids import RecordId
from shopshield.core.schemas import Strict


class CodeIn(Strict):
    """``PUT .../anti-phishing-code``. The length and characters are checked by
    ``antiphishing.normalize_code``; the cap here only keeps a huge body out."""

    code: str = Field(max_length=64, description="The customer's own code: 4-12 letters, digits, 汉字, '-' or '_'")


class EventIn(Strict):
    """``POST /v1/notifications/events``: an event from the store's own systems."""

    customer_id: RecordId
    event: str = Field(max_length=40, description="An event code, e.g. refund.issued")
    occurred_at: datetime | None = Field(
        default=None, description="When it happened (ISO 8601; without an offset, UTC); default now"
    )
    details: dict[str, Any] | None = Field(default=None, description="The event's details: masked references only")
    event_id: RecordId | None = Field(
        default=None, description="The caller's id for the event: a repeat with the same id queues nothing more"
    )
