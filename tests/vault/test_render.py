"""Tests for what a role sees of a customer and an order (vault/render.py), without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopshield.core.policy import ALL_FIELDS, CUSTOMER_FIELDS, Access, RolePolicy, load_policies
from shopshield.vault import queries as q
from shopshield.vault.masking import MASKERS
from shopshield.vault.render import Item, ReturnRequest, ViewPlan, render_items, render_returns


def role(**fields: Access) -> RolePolicy:
    """A role that sees every field masked, except the ``fields`` given."""
    return RolePolicy(
        actor_kind="staff",
        scope="all",
        views_per_day=10,
        reveals_per_day=0,
        fields={f: fields.get(f, Access.MASKED) for f in ALL_FIELDS},
    )


SHIPPED = load_policies()


@pytest.mark.parametrize("name", sorted(SHIPPED.roles))
def test_a_plan_shows_each_visible_field_through_its_registered_mask(name: str) -> None:
    policy = SHIPPED.role(name)
    plan = ViewPlan.of(policy)
    for entries, record in ((plan.customer, q.CustomerRecord), (plan.address, q.AddressRecord)):
        for field, position, mask in entries:
            assert policy.visible(field)
            assert record._fields[position] == f"{field}_ct"
            assert mask is (None if policy.shows_full(field) else MASKERS[field])
    assert [f for f, _, _ in plan.customer] == [f for f in CUSTOMER_FIELDS if policy.visible(f)]
    assert [f for f, _, _ in plan.address] == [f for f in ("recipient", "phone", "street") if policy.visible(f)]
    assert plan.region is policy.visible("region")


def test_a_courier_sees_no_customer_field_and_the_street_in_full() -> None:
    plan = ViewPlan.of(SHIPPED.role("courier"))
    assert plan.customer == ()
    assert plan.address == (("recipient", 1, MASKERS["recipient"]), ("phone", 2, MASKERS["phone"]), ("street", 4, None))
    assert plan.address_fields == ("recipient", "phone", "region", "street")


def test_a_role_that_sees_no_address_field_reads_no_address() -> None:
    hidden = dict.fromkeys(("recipient", "phone", "region", "street"), Access.HIDDEN)
    plan = ViewPlan.of(role(**hidden))
    assert plan.address == ()
    assert plan.address_fields == ()
    assert plan.region is False


def test_a_plan_is_worked_out_once_per_policy() -> None:
    policy, twin = role(), role()
    assert ViewPlan.of(policy) is ViewPlan.of(policy)
    assert ViewPlan.of(twin) is not ViewPlan.of(policy)
    assert ViewPlan.of(twin) == ViewPlan.of(policy)


def test_the_access_summary_lists_masked_and_revealable_fields_in_the_order_shown() -> None:
    policy = role(name=Access.FULL, mobile=Access.REVEALABLE, items=Access.REVEALABLE, returns=Access.FULL)
    out: dict[str, object] = {}
    ViewPlan.of(policy).add_access_summary(out, ["mobile", "name", "email", "items", "returns", "street"])
    assert out == {"masked": ["mobile", "email", "items", "street"], "revealable": ["mobile", "items"]}


ITEMS = [Item("保温杯 500ml", "TX-500", Decimal("89.00"), 2)]
RETURNS = [
    ReturnRequest("rt-1", "refund", "2026-11-28T08:30:00+00:00", "requested", "杯盖漏水，想退款"),
    ReturnRequest("rt-2", "return", "2026-11-29T08:30:00+00:00", "requested", None),
]


@pytest.mark.parametrize("access", [Access.FULL, Access.REVEALABLE])
def test_items_in_full_for_a_role_that_may_see_or_reveal_them(access: Access) -> None:
    assert render_items(role(items=access), ITEMS) == [
        {"title": "保温杯 500ml", "model": "TX-500", "price": "89.00", "quantity": 2}
    ]


def test_masked_items_say_how_many_not_what_or_for_how_much() -> None:
    assert render_items(role(), ITEMS) == [{"title": "****", "model": "****", "price": None, "quantity": 2}]


@pytest.mark.parametrize(("access", "reason"), [(Access.FULL, RETURNS[0].reason), (Access.MASKED, "****")])
def test_a_returns_reason_is_free_text_hidden_unless_shown_in_full(access: Access, reason: str) -> None:
    rendered = render_returns(role(returns=access), RETURNS)
    assert [r["reason"] for r in rendered] == [reason, None]
    assert rendered[0] == {
        "return_id": "rt-1",
        "kind": "refund",
        "requested_at": "2026-11-28T08:30:00+00:00",
        "status": "requested",
        "reason": reason,
    }
