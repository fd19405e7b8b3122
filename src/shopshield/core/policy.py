"""Role policies loaded from data (a TOML file), never from code: per role, the permissions it
holds (``core.permissions``), what it sees of each personal field, its scope, quotas and search
limits.

The file is one document, checked whole when it is loaded, so the names it may use (permissions,
fields, access levels, actor kinds) are defined with it. What the access levels mean for a value
(masking, rendering, revealing) is the vault's.
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shopshield.core.errors import BadConfiguration
from shopshield.core.permissions import Permission

CUSTOMER_FIELDS = ("name", "mobile", "email", "id_number")
ADDRESS_FIELDS = ("recipient", "phone", "region", "street")
ORDER_FIELDS = ("items", "returns")
ALL_FIELDS = CUSTOMER_FIELDS + ADDRESS_FIELDS + ORDER_FIELDS
# Fields with a blind index, so a caller can look customers up by their value.
SEARCH_FIELDS = ("mobile", "email", "id_number")
ACTOR_KINDS = ("staff", "courier", "merchant", "partner", "service", "job", "other")


class Access(StrEnum):
    HIDDEN = "hidden"
    MASKED = "masked"
    REVEALABLE = "revealable"
    FULL = "full"


class PolicyError(BadConfiguration):
    """The policy file is missing or invalid, or names no such role."""

    code = "policy_error"


class SearchPolicy(BaseModel):
    """How much a role may search, and for which purposes by fields it may not reveal.

    Every search counts against ``per_hour`` and ``per_day``, whether it finds anyone or not; a
    search that finds nobody also counts against the much lower ``misses_*`` limits, because
    trying values one after another (the middle digits of a masked mobile) is mostly misses.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_hour: int = Field(ge=1)
    per_day: int = Field(ge=1)
    misses_per_hour: int = Field(ge=1)
    misses_per_day: int = Field(ge=1)
    # Field -> the purpose codes a search by it must state. Listing a field is also what lets a
    # role search by a field it may not reveal.
    purposes: dict[str, frozenset[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> SearchPolicy:
        if self.per_hour > self.per_day or self.misses_per_hour > self.misses_per_day:
            raise ValueError("an hourly search limit cannot exceed its daily limit")
        if self.misses_per_hour > self.per_hour or self.misses_per_day > self.per_day:
            raise ValueError("a limit on searches that find nothing cannot exceed the limit on all searches")
        unknown = sorted(set(self.purposes) - set(SEARCH_FIELDS))
        if unknown:
            raise ValueError(f"search purposes name unknown fields {unknown}; searchable: {', '.join(SEARCH_FIELDS)}")
        empty = sorted(f for f, codes in self.purposes.items() if not codes)
        if empty:
            raise ValueError(f"search purposes for {empty} are empty; leave the field out instead")
        return self

    def with_limits(
        self,
        *,
        per_hour: int | None = None,
        per_day: int | None = None,
        misses_per_hour: int | None = None,
        misses_per_day: int | None = None,
    ) -> SearchPolicy:
        """A copy with the limits given changed, checked as a loaded policy file is (the model is
        frozen: a policy in use never changes under a running request)."""
        changes = {
            "per_hour": per_hour,
            "per_day": per_day,
            "misses_per_hour": misses_per_hour,
            "misses_per_day": misses_per_day,
        }
        return SearchPolicy.model_validate(self.model_dump() | {k: v for k, v in changes.items() if v is not None})


class RolePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actor_kind: str
    scope: Literal["all", "courier_orders", "merchant_orders"]
    views_per_day: int = Field(ge=0)
    reveals_per_day: int = Field(ge=0)
    permissions: frozenset[str] = frozenset()
    fields: dict[str, Access]
    # None: the role cannot search at all.
    search: SearchPolicy | None = None

    @model_validator(mode="after")
    def _complete(self) -> RolePolicy:
        missing = [f for f in ALL_FIELDS if f not in self.fields]
        unknown = [f for f in self.fields if f not in ALL_FIELDS]
        if missing or unknown:
            raise ValueError(f"fields must name exactly {', '.join(ALL_FIELDS)}; missing {missing}, unknown {unknown}")
        bad = sorted(set(self.permissions) - set(Permission))
        if bad:
            raise ValueError(f"unknown permissions {bad}; known: {', '.join(Permission)}")
        if self.actor_kind not in ACTOR_KINDS:
            raise ValueError(f"actor_kind must be one of {', '.join(ACTOR_KINDS)}")
        if self.search is not None and not any(self.may_search(f) for f in SEARCH_FIELDS):
            raise ValueError(
                "search: the role may search by no field (none of mobile, email, id_number is revealable, "
                "full or listed under search.purposes); remove the table or grant a field"
            )
        return self

    def with_limits(
        self,
        *,
        views_per_day: int | None = None,
        reveals_per_day: int | None = None,
        search: SearchPolicy | None = None,
    ) -> RolePolicy:
        """A copy with the daily quotas or the search limits given changed, checked as a loaded
        policy file is."""
        changes: dict[str, object] = {"views_per_day": views_per_day, "reveals_per_day": reveals_per_day}
        update = {k: v for k, v in changes.items() if v is not None}
        if search is not None:
            update["search"] = search.model_dump()
        return RolePolicy.model_validate(self.model_dump() | update)

    def access(self, field: str) -> Access:
        return self.fields[field]

    def visible(self, field: str) -> bool:
        return self.fields[field] is not Access.HIDDEN

    def shows_full(self, field: str) -> bool:
        return self.fields[field] is Access.FULL

    def may_reveal(self, field: str) -> bool:
        return self.fields[field] in (Access.REVEALABLE, Access.FULL)

    def may_search(self, field: str) -> bool:
        """A search by a value confirms whose it is, so it needs the right to reveal that value,
        or an explicit grant for stated purposes (decision 0015)."""
        if self.search is None:
            return False
        return field in self.search.purposes or self.may_reveal(field)

    def search_purposes(self, field: str) -> frozenset[str] | None:
        """The purposes a search by ``field`` must state; None when it needs none."""
        return None if self.search is None else self.search.purposes.get(field)


class PolicySet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purposes: frozenset[str]
    # Purposes a search may state; separate from reveal purposes, which need a ticket.
    search_purposes: frozenset[str] = frozenset()
    ticket_categories: frozenset[str]
    roles: dict[str, RolePolicy]

    @model_validator(mode="after")
    def _known_search_purposes(self) -> PolicySet:
        for name, role in self.roles.items():
            listed = set().union(*role.search.purposes.values()) if role.search else set()
            unknown = sorted(listed - self.search_purposes)
            if unknown:
                raise ValueError(
                    f"roles.{name}.search.purposes: {unknown} not in search_purposes "
                    f"({', '.join(sorted(self.search_purposes)) or 'empty'})"
                )
        return self

    def with_role(self, name: str, policy: RolePolicy) -> PolicySet:
        """A copy in which role ``name`` (an existing one) has ``policy``, checked whole."""
        self.role(name)
        roles = {n: (policy if n == name else r).model_dump() for n, r in self.roles.items()}
        return PolicySet.model_validate(self.model_dump() | {"roles": roles})

    def role(self, name: str) -> RolePolicy:
        try:
            return self.roles[name]
        except KeyError:
            raise PolicyError(f"role {name!r} is not in the policy; known: {', '.join(sorted(self.roles))}") from None


def load_policies(path: Path | None = None) -> PolicySet:
    """Load the policy file at ``path``, or the default shipped with ShopShield."""
    try:
        if path is None:
            raw = resources.files("shopshield.core").joinpath("policies.toml").read_text(encoding="utf-8")
        else:
            raw = path.read_text(encoding="utf-8")
        return PolicySet.model_validate(tomllib.loads(raw))
    except OSError as exc:
        raise PolicyError(f"policy file {path} cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path or 'default'} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise PolicyError(f"policy file {path or 'default'} is invalid: {exc}") from exc
