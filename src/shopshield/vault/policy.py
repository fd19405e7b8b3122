"""Role policies loaded from data (a TOML file), never from code."""

from __future__ import annotations

import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shopshield.errors import Forbidden

CUSTOMER_FIELDS = ("name", "mobile", "email", "id_number")
ADDRESS_FIELDS = ("recipient", "phone", "region", "street")
ORDER_FIELDS = ("items", "returns")
ALL_FIELDS = CUSTOMER_FIELDS + ADDRESS_FIELDS + ORDER_FIELDS
REVEALABLE_FIELDS = (*CUSTOMER_FIELDS, "recipient", "phone", "street")
PERMISSIONS = (
    "customers.write",
    "customers.erase",
    "orders.write",
    "tickets.write",
    "principals.manage",
    "audit.read",
    "access_reports.read",
    "scam_reports.write",
    "scam_reports.read",
    "canaries.plant",
    "canaries.read",
    "canaries.report_contact",
    "breaches.scope",
    "logins.assess",
    "logins.read",
)
ACTOR_KINDS = ("staff", "courier", "merchant", "partner", "service", "job", "other")


class Access(StrEnum):
    HIDDEN = "hidden"
    MASKED = "masked"
    REVEALABLE = "revealable"
    FULL = "full"


class PolicyError(Exception):
    """The policy file is missing or invalid."""


class RolePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actor_kind: str
    scope: Literal["all", "courier_orders", "merchant_orders"]
    views_per_day: int = Field(ge=0)
    reveals_per_day: int = Field(ge=0)
    permissions: frozenset[str] = frozenset()
    fields: dict[str, Access]

    @model_validator(mode="after")
    def _complete(self) -> RolePolicy:
        missing = [f for f in ALL_FIELDS if f not in self.fields]
        unknown = [f for f in self.fields if f not in ALL_FIELDS]
        if missing or unknown:
            raise ValueError(f"fields must name exactly {', '.join(ALL_FIELDS)}; missing {missing}, unknown {unknown}")
        bad = sorted(set(self.permissions) - set(PERMISSIONS))
        if bad:
            raise ValueError(f"unknown permissions {bad}; known: {', '.join(PERMISSIONS)}")
        if self.actor_kind not in ACTOR_KINDS:
            raise ValueError(f"actor_kind must be one of {', '.join(ACTOR_KINDS)}")
        return self

    def access(self, field: str) -> Access:
        return self.fields[field]

    def visible(self, field: str) -> bool:
        return self.fields[field] is not Access.HIDDEN

    def shows_full(self, field: str) -> bool:
        return self.fields[field] is Access.FULL

    def may_reveal(self, field: str) -> bool:
        return self.fields[field] in (Access.REVEALABLE, Access.FULL)


class PolicySet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: frozenset[str]
    ticket_categories: frozenset[str]
    roles: dict[str, RolePolicy]

    def role(self, name: str) -> RolePolicy:
        try:
            return self.roles[name]
        except KeyError:
            raise PolicyError(f"role {name!r} is not in the policy; known: {', '.join(sorted(self.roles))}") from None

    def allows(self, role: str, permission: str) -> bool:
        return permission in self.role(role).permissions

    def require(self, role: str, permission: str) -> None:
        """Raise ``Forbidden`` (403 at the edge) unless ``role`` holds ``permission``."""
        if not self.allows(role, permission):
            raise Forbidden(f"role {role!r} lacks the permission {permission!r}")


def load_policies(path: Path | None = None) -> PolicySet:
    """Load the policy file at ``path``, or the default shipped with ShopShield."""
    try:
        if path is None:
            raw = resources.files("shopshield.vault").joinpath("policies.toml").read_text(encoding="utf-8")
        else:
            raw = path.read_text(encoding="utf-8")
        return PolicySet.model_validate(tomllib.loads(raw))
    except OSError as exc:
        raise PolicyError(f"policy file {path} cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path or 'default'} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise PolicyError(f"policy file {path or 'default'} is invalid: {exc}") from exc
