"""Request bodies of the login guard's API. Messages name the rule, never the value."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shopshield.guard.models import Outcome

Sha1Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{40}$", description="SHA-1 of the password, 40 hex digits")]


class AssessIn(BaseModel):
    """A login the store is about to check. The password itself is never sent, only its SHA-1,
    which ShopShield uses for the breached-password and leaked-pair checks and never stores."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=1, max_length=254, description="As the customer typed it")
    ip: str = Field(min_length=2, max_length=45, description="The client's address (IPv4 or IPv6)")
    user_agent: str = Field(default="", max_length=1024)
    device_id: str | None = Field(default=None, min_length=1, max_length=128, description="The app's device id, if any")
    password_sha1: Sha1Hex

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address") from None


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="What the store's own check found")
