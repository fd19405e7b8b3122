"""What the registry, the contact log and the verification accept. Channel values are normalised
by the service (``numbers``), whose messages name the field and the rule; these schemas bound
sizes and closed vocabularies, and never echo a value."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from shopshield.channels.catalogue import REASONS, ContactChannel, Language
from shopshield.channels.numbers import MAX_RAW, Kind
from shopshield.channels.tokens import TOKEN_PATTERN
from shopshield.core import times
from shopshield.core.ids import RecordId
from shopshield.core.schemas import Strict

Raw = Annotated[str, StringConstraints(min_length=1, max_length=MAX_RAW)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]
Moment = datetime


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{field}: needs a UTC offset (2026-12-05T09:30:00+08:00 or ...Z)")
    return times.utc(value)


class ChannelIn(Strict):
    kind: Kind
    value: Raw
    label: Label | None = None


class ContactIn(Strict):
    contact_id: RecordId | None = None
    customer_id: RecordId
    channel: ContactChannel
    from_: Raw = Field(alias="from")
    agent: RecordId = Field(description="the principal id of the agent who made the contact")
    reason: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    ticket_id: RecordId
    started_at: Moment
    ended_at: Moment | None = None

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if value not in REASONS:
            raise ValueError(f"must be one of {', '.join(REASONS)}")
        return value

    @field_validator("started_at", "ended_at")
    @classmethod
    def _times(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value, "time")


class ContactEndIn(Strict):
    ended_at: Moment | None = None

    @field_validator("ended_at")
    @classmethod
    def _time(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value, "ended_at")


class VerifyIn(Strict):
    customer_id: RecordId
    channel: ContactChannel
    from_: Raw = Field(alias="from")
    at: Moment | None = None
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None
    payee_account: Raw | None = None
    language: Language = Language.ZH

    @field_validator("at")
    @classmethod
    def _at(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _aware(value, "at")


class ReportIn(Strict):
    report_token: Annotated[str, StringConstraints(pattern=TOKEN_PATTERN)]
    claimed_identity: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    knew: Annotated[tuple[Annotated[str, StringConstraints(max_length=32)], ...], Field(max_length=20)] = ()
    loss_amount: Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), decimal_places=2)] | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
