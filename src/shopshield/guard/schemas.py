"""Request bodies of the login guard's API. Messages name the rule, never the value."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from shopshield.core.ids import RecordId
from shopshield.guard.models import Outcome


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


Sha1Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{40}$", description="SHA-1 of the password, 40 hex digits")]
Address = Annotated[
    str, Field(min_length=2, max_length=45, description="The client's address (IPv4 or IPv6)"), AfterValidator(_address)
]
Username = Annotated[str, Field(min_length=1, max_length=254, description="As the customer typed it")]
DeviceId = Annotated[str, Field(min_length=1, max_length=128, description="The app's device id, if any")]


class AssessIn(BaseModel):
    """A login the store is about to check. The password itself is never sent, only its SHA-1,
    which ShopShield uses for the breached-password and leaked-pair checks and never stores."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Username
    ip: Address
    user_agent: str = Field(default="", max_length=1024)
    device_id: DeviceId | None = None
    password_sha1: Sha1Hex


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="What the store's own check found")
    customer_id: RecordId | None = Field(
        default=None,
        description="The store's id of the customer who logged in: a success is then recorded in the access "
        "log as the customer's login (actor_kind customer, action login, with the client's address)",
    )


class KnownLoginIn(BaseModel):
    """A successful login from the store's own records, to learn as familiar."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Username
    ip: Address
    device_id: DeviceId | None = None
    ts: AwareDatetime


class HistoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logins: list[KnownLoginIn] = Field(min_length=1, max_length=1000)
