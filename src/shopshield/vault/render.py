"""Turning decrypted records into the view a role may see. Pure functions over plain data."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shopshield.core.policy import Access, RolePolicy
from shopshield.vault.masking import mask_email, mask_free_text, mask_id_number, mask_mobile, mask_name

Json = dict[str, Any]


def _mask_region(value: str) -> str:
    # The masked form of an address is its region (province, city, district): shown as stored.
    return value


def _mask_street(_value: str) -> str:
    return "****"


FIELD_MASKS: Mapping[str, Callable[[str], str]] = {
    "name": mask_name,
    "recipient": mask_name,
    "mobile": mask_mobile,
    "phone": mask_mobile,
    "email": mask_email,
    "id_number": mask_id_number,
    "region": _mask_region,
    "street": _mask_street,
}


@dataclass(frozen=True)
class Item:
    title: str
    model: str
    price: Decimal
    quantity: int


@dataclass(frozen=True)
class ReturnRequest:
    return_id: str
    kind: str
    requested_at: str
    status: str
    reason: str | None


def render_value(policy: RolePolicy, field: str, value: str) -> str:
    """The value as ``policy`` lets its role see it (caller has checked the field is visible)."""
    if policy.fields[field] is Access.FULL:
        return value
    return FIELD_MASKS[field](value)


def render_region(policy: RolePolicy, region: tuple[str, str, str], out: Json) -> None:
    if policy.visible("region"):
        out["province"], out["city"], out["district"] = region


def render_items(policy: RolePolicy, items: list[Item]) -> list[Json]:
    if policy.shows_full("items") or policy.access("items") is Access.REVEALABLE:
        return [{"title": i.title, "model": i.model, "price": str(i.price), "quantity": i.quantity} for i in items]
    # Masked items tell a merchant-facing screen how many lines there are, not what was bought
    # or for how much: the 2016 scammers quoted exactly those.
    return [{"title": mask_free_text(i.title), "model": "****", "price": None, "quantity": i.quantity} for i in items]


def render_returns(policy: RolePolicy, returns: list[ReturnRequest]) -> list[Json]:
    full = policy.access("returns") in (Access.FULL, Access.REVEALABLE)
    return [
        {
            "return_id": r.return_id,
            "kind": r.kind,
            "requested_at": r.requested_at,
            "status": r.status,
            "reason": (r.reason if full else "****") if r.reason is not None else None,
        }
        for r in returns
    ]


def access_summary(policy: RolePolicy, fields: tuple[str, ...]) -> Json:
    return {
        "masked": [f for f in fields if policy.access(f) in (Access.MASKED, Access.REVEALABLE)],
        "revealable": [f for f in fields if policy.access(f) is Access.REVEALABLE],
    }
