"""The vault over HTTP: masked views per role, reveals bound to tickets, search, erasure, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from shopshield.access.models import AccessEventRow
from shopshield.core.db import unit_of_work
from shopshield.core.policy import load_policies
from shopshield.keys.models import DataKey
from shopshield.settings import Settings
from shopshield.vault.models import AddressRow, CustomerRow, OrderRow, ReturnRequestRow
from testkit.factories import customer, order
from tests.support.events import stored_events
from tests.support.faults import access_events_refused
from tests.support.policies import container_with
from tests.support.world import World, make_world


def _store(world: World, n: int = 1, **overrides: Any) -> dict[str, Any]:
    body = customer(n) | overrides
    response = world.post("service", "/v1/customers", body)
    assert response.status_code == 201, response.text
    return body


def _store_with_order(world: World, n: int = 1, **order_kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    body = _store(world, n)
    placed = order(n, body["customer_id"], body["addresses"][0]["address_id"], **order_kw)
    response = world.post("service", "/v1/orders", placed)
    assert response.status_code == 201, response.text
    return body, placed


def test_agent_sees_chinese_masks(world: World) -> None:
    body = _store(world, name="刘杰", mobile="13812345678", email="liujie@example.cn", id_number="11010119900307125X")
    response = world.get("agent", f"/v1/customers/{body['customer_id']}")
    assert response.status_code == 200
    view = response.json()
    assert view["name"] == "刘*"
    assert view["mobile"] == "138****5678"
    assert view["email"] == "l***@***.cn"
    assert "id_number" not in view  # hidden for agents
    address = view["addresses"][0]
    assert address["street"] == "****"
    assert (address["province"], address["city"], address["district"]) == tuple(
        body["addresses"][0][k] for k in ("province", "city", "district")
    )
    assert "mobile" in view["revealable"] and "name" not in view["revealable"]


def test_supervisor_masks_compound_surname_and_id_number(world: World) -> None:
    body = _store(world, name="欧阳娜娜", id_number="11010119900307125X")
    view = world.get("supervisor", f"/v1/customers/{body['customer_id']}").json()
    assert view["name"] == "欧阳**"
    assert view["id_number"] == "110***********125X"


def test_service_role_sees_full_values(world: World) -> None:
    body = _store(world, mobile="+86 138-1234-5678")
    view = world.get("service", f"/v1/customers/{body['customer_id']}").json()
    assert view["mobile"] == "13812345678"
    assert view["name"] == body["name"]


def test_courier_and_merchant_see_only_their_orders(world: World) -> None:
    body, placed = _store_with_order(world, 1, merchant="m-001", courier="k-001")
    other, _ = _store_with_order(world, 2, merchant="m-999", courier="k-999")
    courier_view = world.get("courier", f"/v1/customers/{body['customer_id']}").json()
    assert "name" not in courier_view and "mobile" not in courier_view
    assert courier_view["addresses"][0]["street"] == body["addresses"][0]["street"]
    order_view = world.get("courier", f"/v1/orders/{placed['order_id']}").json()
    assert "items" not in order_view  # a courier sees where, not what or for how much
    assert order_view["shipping_address"]["recipient"].endswith("*")

    assert world.get("courier", f"/v1/customers/{other['customer_id']}").status_code == 403
    assert world.get("courier2", f"/v1/orders/{placed['order_id']}").status_code == 403
    merchant_view = world.get("merchant", f"/v1/orders/{placed['order_id']}").json()
    assert merchant_view["items"][0]["price"] == "499.00"
    assert world.get("merchant", f"/v1/customers/{other['customer_id']}").status_code == 403
    denied = stored_events(world.container, actor_id=world.ids["courier"], outcome="denied")
    assert [e.customer_id for e in denied] == [other["customer_id"]]


def test_order_view_shows_returns_and_items_to_agents(world: World) -> None:
    _body, placed = _store_with_order(world)
    response = world.post("service", f"/v1/orders/{placed['order_id']}/returns", {"kind": "refund", "reason": "不合身"})
    assert response.status_code == 201
    view = world.get("agent", f"/v1/orders/{placed['order_id']}").json()
    assert view["items"] == [{"title": "真丝连衣裙", "model": "M 藏青", "price": "499.00", "quantity": 1}]
    assert view["returns"][0]["kind"] == "refund" and view["returns"][0]["reason"] == "不合身"
    partner_view = world.get("partner", f"/v1/orders/{placed['order_id']}").json()
    assert "items" not in partner_view and "returns" not in partner_view


def test_reveal_requires_open_assigned_ticket_about_the_customer(world: World) -> None:
    body = _store(world, 1, mobile="13912345678")
    other = _store(world, 2)
    cid = body["customer_id"]
    reveal = {"fields": ["mobile"], "purpose": "refund_dispute"}

    assert world.post("agent", f"/v1/customers/{cid}/reveal", reveal | {"ticket_id": "nope"}).status_code == 403
    ticket_other_agent = world.ticket("agent2", cid)
    assert (
        world.post("agent", f"/v1/customers/{cid}/reveal", reveal | {"ticket_id": ticket_other_agent}).status_code
        == 403
    )
    ticket_other_customer = world.ticket("agent", other["customer_id"])
    response = world.post("agent", f"/v1/customers/{cid}/reveal", reveal | {"ticket_id": ticket_other_customer})
    assert response.status_code == 403 and "another customer" in response.json()["message"]

    ticket = world.ticket("agent", cid)
    response = world.post("agent", f"/v1/customers/{cid}/reveal", reveal | {"ticket_id": ticket})
    assert response.status_code == 200, response.text
    assert response.json()["mobile"] == "13912345678"

    assert world.post("agent", f"/v1/tickets/{ticket}/close").status_code == 200
    response = world.post("agent", f"/v1/customers/{cid}/reveal", reveal | {"ticket_id": ticket})
    assert response.status_code == 403 and "not open" in response.json()["message"]

    events = stored_events(world.container, action="reveal", customer_id=cid)
    assert [e.outcome for e in events] == ["denied", "denied", "denied", "ok", "denied"]
    assert all(e.purpose == "refund_dispute" for e in events)
    assert events[3].ticket_id == ticket and events[3].fields == "mobile"


def test_reveal_of_field_the_role_may_not_reveal_is_refused_and_recorded(world: World) -> None:
    body = _store(world)
    ticket = world.ticket("agent", body["customer_id"])
    response = world.post(
        "agent",
        f"/v1/customers/{body['customer_id']}/reveal",
        {"fields": ["id_number"], "purpose": "identity_verification", "ticket_id": ticket},
    )
    assert response.status_code == 403
    assert body["id_number"] not in response.text
    [event] = stored_events(world.container, action="reveal")
    assert event.outcome == "denied" and event.fields == "id_number"


def test_reveal_with_unknown_purpose_is_rejected(world: World) -> None:
    body = _store(world)
    ticket = world.ticket("agent", body["customer_id"])
    response = world.post(
        "agent",
        f"/v1/customers/{body['customer_id']}/reveal",
        {"fields": ["mobile"], "purpose": "curiosity", "ticket_id": ticket},
    )
    assert response.status_code == 422 and "purpose" in response.json()["message"]


def test_agents_cannot_open_tickets_for_themselves(world: World) -> None:
    body = _store(world)
    response = world.post(
        "agent",
        "/v1/tickets",
        {"customer_id": body["customer_id"], "category": "refund", "assignee_id": world.ids["agent"]},
    )
    assert response.status_code == 403


def test_search_normalises_and_records(world: World) -> None:
    body = _store(world, 1, mobile="13812345678", email="Liu.Jie@Example.CN", id_number="11010119900307125X")
    _store(world, 2)
    for who, params in (
        ("agent", {"mobile": "+86 138 1234 5678", "purpose": "inbound_call"}),
        ("agent", {"mobile": "0086-138-1234-5678", "purpose": "inbound_call"}),
        ("agent", {"email": "liu.jie@example.cn", "purpose": "inbound_message"}),
        ("supervisor", {"id_number": "11010119900307125x"}),
    ):
        response = world.get(who, "/v1/customers", params=params)
        assert response.status_code == 200, response.text
        assert [c["customer_id"] for c in response.json()["customers"]] == [body["customer_id"]]
    response = world.post("agent", "/v1/customers/search", {"mobile": "138-1234-5678", "purpose": "inbound_call"})
    assert [c["customer_id"] for c in response.json()["customers"]] == [body["customer_id"]]
    miss = {"mobile": "13900000000", "purpose": "inbound_call"}
    assert world.get("agent", "/v1/customers", params=miss).json() == {"customers": []}
    # ID numbers are hidden from agents, so they cannot search by them either.
    assert world.get("agent", "/v1/customers", params={"id_number": body["id_number"]}).status_code == 403
    outcomes = [e.outcome for e in stored_events(world.container, action="search")]
    assert outcomes == ["ok"] * 5 + ["no_match", "denied"]


def test_search_rejects_bad_values_without_echoing_them(world: World) -> None:
    response = world.get("agent", "/v1/customers", params={"mobile": "555-0199"})
    assert response.status_code == 422 and "555" not in response.text
    assert world.get("agent", "/v1/customers", params={"mobile": "13812345678", "email": "a@b.cn"}).status_code == 422
    assert world.get("agent", "/v1/customers").status_code == 422


def test_quota_refuses_beyond_daily_views(settings: Settings, tmp_path: Path) -> None:
    shipped = load_policies()
    strict = shipped.with_role("cs_agent", shipped.role("cs_agent").with_limits(views_per_day=2))
    with container_with(settings, strict, tmp_path) as container:
        world = make_world(container)
        body = _store(world)
        assert world.get("agent", f"/v1/customers/{body['customer_id']}").status_code == 200
        assert world.get("agent", f"/v1/customers/{body['customer_id']}").status_code == 200
        response = world.get("agent", f"/v1/customers/{body['customer_id']}")
        assert response.status_code == 429 and response.json()["limit"] == 2
        # Another agent has a quota of its own.
        assert world.get("agent2", f"/v1/customers/{body['customer_id']}").status_code == 200
        outcomes = [e.outcome for e in stored_events(container, actor_id=world.ids["agent"])]
        world.client.close()
    assert outcomes == ["ok", "ok", "quota_exceeded"]


def test_every_view_and_refusal_is_an_access_event(world: World) -> None:
    body = _store(world)
    world.get("agent", f"/v1/customers/{body['customer_id']}")
    world.get("agent", "/v1/customers/c9999999")
    world.get("courier", f"/v1/customers/{body['customer_id']}")
    events = stored_events(world.container, actor_id=world.ids["agent"])
    assert [(e.action, e.outcome, e.customer_id) for e in events] == [
        ("view", "ok", body["customer_id"]),
        ("view", "not_found", "c9999999"),
    ]
    ok = events[0]
    assert ok.actor_kind == "staff" and ok.actor_role == "cs_agent" and ok.channel == "api"
    assert set(ok.fields.split("|")) == {"name", "mobile", "email", "recipient", "phone", "region", "street"}
    [courier_event] = stored_events(world.container, actor_id=world.ids["courier"])
    assert courier_event.outcome == "denied" and courier_event.actor_kind == "courier"


def test_channel_header_is_recorded_and_validated(world: World) -> None:
    body = _store(world)
    headers = world.headers("agent") | {"X-ShopShield-Channel": "cs-console"}
    assert world.client.get(f"/v1/customers/{body['customer_id']}", headers=headers).status_code == 200
    assert stored_events(world.container, action="view")[0].channel == "cs-console"
    headers["X-ShopShield-Channel"] = "carrier-pigeon"
    assert world.client.get(f"/v1/customers/{body['customer_id']}", headers=headers).status_code == 422


def _event_count(world: World) -> int:
    with unit_of_work(world.container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(AccessEventRow)) or 0)


def test_no_response_without_committed_event(world: World) -> None:
    body = _store(world)
    before = _event_count(world)
    # The append runs just before commit, after the view has been decrypted and rendered.
    with access_events_refused(world.container):
        response = world.get("agent", f"/v1/customers/{body['customer_id']}")
    assert response.status_code == 500
    assert _event_count(world) == before
    assert body["mobile"][-4:] not in response.text and body["name"] not in response.text


def test_failed_customer_write_leaves_nothing(world: World) -> None:
    with access_events_refused(world.container, action="write"):
        response = world.post("service", "/v1/customers", customer(1, addresses=2))
    assert response.status_code == 500
    with unit_of_work(world.container.sessions) as session:
        assert session.scalar(select(func.count()).select_from(CustomerRow)) == 0
        assert session.scalar(select(func.count()).select_from(AddressRow)) == 0
    with unit_of_work(world.container.keystore_sessions) as ks:
        assert ks.scalar(select(func.count()).select_from(DataKey)) == 0


def test_duplicate_address_id_conflicts_and_writes_nothing(world: World) -> None:
    first = _store(world, 1)
    clash = customer(2)
    clash["addresses"][0]["address_id"] = first["addresses"][0]["address_id"]
    response = world.post("service", "/v1/customers", clash)
    assert response.status_code == 409
    assert world.get("service", f"/v1/customers/{clash['customer_id']}").status_code == 404
    assert world.post("service", "/v1/customers", first).status_code == 409


def test_erasure_shreds_key_and_keeps_non_personal_order_fields(world: World) -> None:
    body, placed = _store_with_order(world)
    world.post("service", f"/v1/orders/{placed['order_id']}/returns", {"reason": "质量问题"})
    cid = body["customer_id"]
    with unit_of_work(world.container.sessions) as session:
        row = session.get(CustomerRow, cid)
        assert row is not None
        backup = {"key_id": row.key_id, "name_ct": row.name_ct}  # what a backup taken now would hold

    response = world.delete("service", f"/v1/customers/{cid}")
    assert response.status_code == 200 and response.json()["key_destroyed"] is True
    assert world.get("agent", f"/v1/customers/{cid}").status_code == 404
    search = {"mobile": body["mobile"], "purpose": "inbound_call"}
    assert world.get("agent", "/v1/customers", params=search).json() == {"customers": []}

    order_view = world.get("agent", f"/v1/orders/{placed['order_id']}").json()
    assert order_view["customer_erased"] is True
    assert order_view["merchant_id"] == "m-001" and order_view["status"] == "delivered"
    assert "items" not in order_view

    with unit_of_work(world.container.sessions) as session:
        row = session.get(CustomerRow, cid)
        assert row is not None and row.erased_at is not None
        assert row.name_ct is None and row.mobile_bidx is None
        address = session.scalars(select(AddressRow).where(AddressRow.customer_id == cid)).one()
        assert address.street_ct is None
        assert session.scalars(select(OrderRow.items_ct)).one() is None
        assert session.scalars(select(ReturnRequestRow.reason_ct)).one() is None
    # The old ciphertext, as restored from a backup, can no longer be decrypted by anyone.
    from shopshield.keys.service import DataKeyMissing

    with pytest.raises(DataKeyMissing):
        world.container.data_keys.get(str(backup["key_id"]))
    # Repeated, the erase still answers whether the key is destroyed: it is.
    assert world.delete("service", f"/v1/customers/{cid}").json()["key_destroyed"] is True
    assert world.delete("agent", f"/v1/customers/{cid}").status_code == 403


def test_ciphertext_swapped_between_rows_or_fields_fails(world: World) -> None:
    a = _store(world, 1)
    b = _store(world, 2)
    with unit_of_work(world.container.sessions) as session:
        row_a = session.get(CustomerRow, a["customer_id"])
        assert row_a is not None
        # Same customer, another field: the name ciphertext pasted into the mobile column.
        session.execute(
            update(CustomerRow).where(CustomerRow.customer_id == a["customer_id"]).values(mobile_ct=row_a.name_ct)
        )
        # Same field, another customer (and another key).
        session.execute(
            update(CustomerRow).where(CustomerRow.customer_id == b["customer_id"]).values(name_ct=row_a.name_ct)
        )
    for cid, leaked in ((a["customer_id"], a["name"]), (b["customer_id"], a["name"])):
        response = world.get("service", f"/v1/customers/{cid}")
        assert response.status_code == 500
        assert response.json()["error"] == "integrity_error"
        assert leaked not in response.text


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda c: c | {"mobile": "12345678"}, 422),
        (lambda c: c | {"id_number": "110101199003071235"}, 422),  # bad checksum
        (lambda c: c | {"email": "not-an-email"}, 422),
        (lambda c: c | {"customer_id": "../etc/passwd"}, 422),
        (lambda c: c | {"nickname": "x"}, 422),
        (lambda c: {k: v for k, v in c.items() if k != "name"}, 422),
    ],
)
def test_bad_customer_input_names_the_problem_without_the_value(world: World, mutate: Any, status: int) -> None:
    body = mutate(customer(7))
    response = world.post("service", "/v1/customers", body)
    assert response.status_code == status
    payload = response.json()
    assert payload["error"] == "invalid_input" and payload["message"]
    for value in (body.get("mobile"), body.get("id_number"), body.get("email"), body.get("name")):
        if value:
            assert str(value) not in response.text


def test_malformed_json_and_bad_ids(world: World) -> None:
    response = world.client.post(
        "/v1/customers",
        content=b'{"customer_id": ',
        headers=world.headers("service") | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"] == "malformed_json"
    assert world.get("agent", "/v1/customers/bad%20id").status_code == 422
    assert world.get("agent", "/v1/orders/" + "x" * 80).status_code == 422


def test_authentication_and_permissions(world: World) -> None:
    body = customer(1)
    assert world.client.get("/v1/customers/c1").status_code == 401
    response = world.client.get("/v1/customers/c1", headers={"Authorization": "Bearer ss_unknown"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert world.client.get("/v1/customers/c1", headers={"Authorization": "Basic abc"}).status_code == 401
    assert world.post("agent", "/v1/customers", body).status_code == 403
    assert world.post("courier", "/v1/orders", order(1, "c1", None)).status_code == 403
    response = world.post("admin", "/v1/principals", {"name": "agent-new", "role": "cs_agent"})
    assert response.status_code == 201
    token = response.json()["token"]
    assert world.client.get("/v1/customers/c1", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert world.post("agent", "/v1/principals", {"name": "x", "role": "admin"}).status_code == 403


def test_order_validation(world: World) -> None:
    a = _store(world, 1)
    b = _store(world, 2)
    bad_address = order(1, a["customer_id"], b["addresses"][0]["address_id"])
    response = world.post("service", "/v1/orders", bad_address)
    assert response.status_code == 422 and response.json()["field"] == "address_id"
    assert world.post("service", "/v1/orders", order(2, "c-missing", None)).status_code == 404
    good = order(3, a["customer_id"], a["addresses"][0]["address_id"])
    assert world.post("service", "/v1/orders", good).status_code == 201
    assert world.post("service", "/v1/orders", good).status_code == 409
    negative = order(4, a["customer_id"], None)
    negative["items"][0]["price"] = "-1"
    assert world.post("service", "/v1/orders", negative).status_code == 422
    assert world.post("service", "/v1/orders/o-missing/returns", {"reason": "x"}).status_code == 404


def test_phone_number_in_an_id_slot_is_refused_and_not_echoed(world: World) -> None:
    response = world.get("agent", "/v1/customers/13812345678")
    assert response.status_code == 422
    assert "looks like a mobile number" in response.json()["message"]
    assert "13812345678" not in response.text
    # Refused before the read: no event carries the number as a customer id.
    assert stored_events(world.container) == []
