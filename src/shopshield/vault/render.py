"""What a role sees of the vault's records, and in what form: each role's view plan, and an
order's items and returns as JSON. Pure functions over plain data.

Masks come from ``masking.MASKERS``, the one registry of which mask each field gets; the view plan
applies a role's policy to it once per role. ``service.py`` opens the sealed fields a plan names
and shows each through the plan's mask: opening needs the customer's data key and the name each
field was sealed under, which belong to the service, and a masked view stays one loop per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shopshield.core.policy import ADDRESS_FIELDS, ALL_FIELDS, CUSTOMER_FIELDS, Access, RolePolicy
from shopshield.vault import queries as q
from shopshield.vault.masking import MASKERS, Masker, mask_free_text

Json = dict[str, Any]
# One field of a view: its name, its position in the record the hot path reads (queries.py), and
# the mask it is shown through, None when the role sees it in full.
ViewField = tuple[str, int, Masker | None]
# The address fields that are one sealed value each; the region is one sealed value shown as three
# keys (province, city, district), so the plan only says whether it is shown.
_ADDRESS_VALUES = ("recipient", "phone", "street")


@dataclass(frozen=True, slots=True)
class ViewPlan:
    """What one role sees of a customer and their addresses, worked out once per role instead of
    on every view (``ViewPlan.of``)."""

    customer: tuple[ViewField, ...]
    address: tuple[ViewField, ...]
    region: bool
    # The address fields the role sees; empty when it sees no address at all (then none is read).
    address_fields: tuple[str, ...]
    masked: frozenset[str]
    revealable: frozenset[str]

    @classmethod
    def of(cls, policy: RolePolicy) -> ViewPlan:
        # Keyed by identity, and the policy kept beside its plan so the id cannot be reused by
        # another policy while the entry lives: policies are loaded once, so this stays small.
        found = _PLANS.get(id(policy))
        if found is not None and found[0] is policy:
            return found[1]
        plan = cls(
            customer=_view_fields(policy, CUSTOMER_FIELDS, q.CustomerRecord._fields),
            address=_view_fields(policy, _ADDRESS_VALUES, q.AddressRecord._fields),
            region=policy.visible("region"),
            address_fields=tuple(f for f in ADDRESS_FIELDS if policy.visible(f)),
            masked=frozenset(f for f in ALL_FIELDS if policy.access(f) in (Access.MASKED, Access.REVEALABLE)),
            revealable=frozenset(f for f in ALL_FIELDS if policy.access(f) is Access.REVEALABLE),
        )
        _PLANS[id(policy)] = (policy, plan)
        return plan

    def add_access_summary(self, out: Json, shown: Sequence[str]) -> None:
        """Say in ``out`` which of the fields a view showed (``shown``) are masked, and which of
        those the role may reveal."""
        out["masked"] = [f for f in shown if f in self.masked]
        out["revealable"] = [f for f in shown if f in self.revealable]


_PLANS: dict[int, tuple[RolePolicy, ViewPlan]] = {}


def _view_fields(policy: RolePolicy, names: Sequence[str], columns: tuple[str, ...]) -> tuple[ViewField, ...]:
    return tuple(
        (name, columns.index(f"{name}_ct"), None if policy.shows_full(name) else MASKERS[name])
        for name in names
        if policy.visible(name)
    )


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


def render_items(policy: RolePolicy, items: list[Item]) -> list[Json]:
    """An order's items: in full when the role may see or reveal them, otherwise only how many."""
    if policy.shows_full("items") or policy.access("items") is Access.REVEALABLE:
        return [{"title": i.title, "model": i.model, "price": str(i.price), "quantity": i.quantity} for i in items]
    # Masked items tell a merchant-facing screen how many lines there are, not what was bought
    # or for how much: the 2016 scammers quoted exactly those.
    return [
        {"title": mask_free_text(i.title), "model": mask_free_text(i.model), "price": None, "quantity": i.quantity}
        for i in items
    ]


def render_returns(policy: RolePolicy, returns: list[ReturnRequest]) -> list[Json]:
    """An order's return requests; the customer's reason is free text, hidden unless the role may
    see or reveal returns."""
    full = policy.access("returns") in (Access.FULL, Access.REVEALABLE)
    return [
        {
            "return_id": r.return_id,
            "kind": r.kind,
            "requested_at": r.requested_at,
            "status": r.status,
            "reason": (r.reason if full else mask_free_text(r.reason)) if r.reason is not None else None,
        }
        for r in returns
    ]
