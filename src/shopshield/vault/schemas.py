"""Input schemas of the vault. Validators normalise identifiers; their errors never echo values."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from shopshield.core.ids import RecordId
from shopshield.core.normalize import (
    InvalidIdentifier,
    normalize_email,
    normalize_id_number,
    normalize_mobile,
    normalize_name,
)
from shopshield.core.schemas import Strict

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
RegionText = Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True)]


def _checked(normalizer: object) -> AfterValidator:
    def run(value: str) -> str:
        try:
            return normalizer(value)  # type: ignore[operator, no-any-return]
        except InvalidIdentifier as exc:
            # Re-raised as ValueError so pydantic reports it; the message never holds the value.
            raise ValueError(str(exc)) from None

    return AfterValidator(run)


Mobile = Annotated[str, _checked(normalize_mobile)]
Email = Annotated[str, _checked(normalize_email)]
IdNumber = Annotated[str, _checked(normalize_id_number)]
PersonName = Annotated[str, _checked(normalize_name)]


class AddressIn(Strict):
    address_id: RecordId
    recipient: PersonName
    phone: Mobile
    province: RegionText
    city: RegionText
    district: RegionText
    street: ShortText


class CustomerIn(Strict):
    customer_id: RecordId
    name: PersonName
    mobile: Mobile
    email: Email | None = None
    id_number: IdNumber | None = None
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)


class ItemIn(Strict):
    title: ShortText
    model: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] = ""
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    quantity: int = Field(ge=1, le=10_000)


class OrderIn(Strict):
    order_id: RecordId
    customer_id: RecordId
    merchant_id: RecordId
    courier_id: RecordId | None = None
    address_id: RecordId | None = None
    placed_at: datetime
    status: Literal["placed", "paid", "shipped", "delivered", "cancelled", "returned", "refunded"]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    items: list[ItemIn] = Field(min_length=1, max_length=200)


class ReturnIn(Strict):
    return_id: RecordId | None = None
    kind: Literal["return", "refund"] = "return"
    requested_at: datetime | None = None
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class ContactIn(Strict):
    """A change of contact details: a new mobile, e-mail address, or address (an ``address_id`` of
    the customer's replaces that address; a new one is added). At least one is given."""

    mobile: Mobile | None = None
    email: Email | None = None
    address: AddressIn | None = None


class RevealIn(Strict):
    fields: list[Literal["name", "mobile", "email", "id_number", "recipient", "phone", "street"]] = Field(
        min_length=1, max_length=7
    )
    purpose: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,64}$")]
    ticket_id: RecordId
