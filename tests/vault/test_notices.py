"""What the vault tells customers: a reveal, a return, a refund and a contact change each queue
their notification in the same transaction as the change and its access event (decision 0028)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shopshield.core.db import transaction
from shopshield.notify import service as notify
from shopshield.notify.catalogue import CATALOGUE, Event, order_tail
from shopshield.notify.models import QUEUED
from shopshield.vault.service import order_ref
from testkit.factories import customer, order
from tests.support.events import stored_events
from tests.support.faults import access_events_refused
from tests.support.outbox import details, intents, outbox
from tests.support.world import World


def _store(world: World, n: int = 1) -> dict[str, Any]:
    body = customer(n)
    response = world.post("service", "/v1/customers", body)
    assert response.status_code == 201, response.text
    return body


def _reveal(world: World, customer_id: str, ticket_id: str) -> Any:
    return world.post(
        "agent",
        f"/v1/customers/{customer_id}/reveal",
        {"fields": ["street", "mobile"], "purpose": "refund_dispute", "ticket_id": ticket_id},
    )


def test_a_reveal_tells_the_customer_the_role_and_purpose_never_who(world: World) -> None:
    body = _store(world)
    cid = body["customer_id"]
    ticket = world.ticket("agent", cid)
    response = _reveal(world, cid, ticket)
    assert response.status_code == 200, response.text
    # The reveal writes one intent for the event (the hot path) and no outbox row yet.
    assert outbox(world.container, event="data.revealed") == []
    (intent,) = intents(world.container)
    assert (intent.customer_id, intent.event, intent.source) == (cid, "data.revealed", "reveal")
    assert details(intent) == {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["mobile", "street"]}
    assert world.ids["agent"] not in intent.details and "agent" not in intent.details.replace("cs_agent", "")
    assert body["mobile"] not in intent.details and body["addresses"][0]["street"] not in intent.details
    # The worker expands it into a row per channel the customer gets reveals on.
    with transaction(world.container.engine) as tx:
        assert notify.expand_pending(tx, now=datetime.now(UTC)) == 1
    assert intents(world.container) == []
    rows = outbox(world.container, event="data.revealed")
    assert sorted(r.channel for r in rows) == sorted(CATALOGUE[Event.DATA_REVEALED].defaults)
    assert {r.state for r in rows} == {QUEUED}
    assert {(r.customer_id, r.source, r.source_ref) for r in rows} == {(cid, "reveal", intent.source_ref)}
    for row in rows:
        assert details(row) == details(intent)


def test_a_refused_reveal_queues_nothing(world: World) -> None:
    cid = _store(world)["customer_id"]
    response = _reveal(world, cid, "tk-none")
    assert response.status_code == 403
    assert outbox(world.container) == [] and intents(world.container) == []


def test_a_reveal_whose_access_event_fails_leaves_no_notification(world: World) -> None:
    cid = _store(world)["customer_id"]
    ticket = world.ticket("agent", cid)
    with access_events_refused(world.container, action="reveal"):
        response = _reveal(world, cid, ticket)
    assert response.status_code == 500
    # The reveal, its event and its notification commit together or not at all.
    assert stored_events(world.container, action="reveal") == []
    assert outbox(world.container) == [] and intents(world.container) == []
    # And once the log takes events again, the same reveal tells the customer.
    assert _reveal(world, cid, ticket).status_code == 200
    assert [i.event for i in intents(world.container)] == ["data.revealed"]


def _order(world: World, body: dict[str, Any], n: int = 1) -> str:
    placed = order(n, body["customer_id"], body["addresses"][0]["address_id"])
    response = world.post("service", "/v1/orders", placed)
    assert response.status_code == 201, response.text
    return str(placed["order_id"])


def test_a_return_and_its_refund_each_tell_the_customer_once(world: World) -> None:
    body = _store(world)
    order_id = _order(world, body)
    made = world.post("service", f"/v1/orders/{order_id}/returns", {"kind": "refund", "reason": "坏了"})
    assert made.status_code == 201, made.text
    return_id = made.json()["return_id"]
    (requested,) = {r.source_ref for r in outbox(world.container, event="order.return_requested")}
    assert requested == return_id
    for row in outbox(world.container, event="order.return_requested"):
        assert details(row) == {"order_ref": order_tail(order_id)}

    refunded = world.post("service", f"/v1/returns/{return_id}/refund")
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded"
    rows = outbox(world.container, event="refund.issued")
    assert rows and {r.source_ref for r in rows} == {return_id}
    assert {details(r)["order_ref"] for r in rows} == {order_tail(order_id)}
    view = world.get("service", f"/v1/orders/{order_id}")
    assert [r["status"] for r in view.json()["returns"]] == ["refunded"]

    again = world.post("service", f"/v1/returns/{return_id}/refund")
    assert again.status_code == 409
    assert len(outbox(world.container, event="refund.issued")) == len(rows)


def test_refunds_need_orders_write_and_a_known_request(world: World) -> None:
    assert world.post("agent", "/v1/returns/rt-x/refund").status_code == 403
    assert world.post("service", "/v1/returns/rt-missing/refund").status_code == 404
    assert outbox(world.container) == []


def test_a_failed_refund_event_leaves_the_request_and_the_outbox_as_they_were(world: World) -> None:
    body = _store(world)
    order_id = _order(world, body)
    return_id = world.post("service", f"/v1/orders/{order_id}/returns", {"reason": "尺码不对"}).json()["return_id"]
    before = len(outbox(world.container))
    with access_events_refused(world.container, action="write"):
        assert world.post("service", f"/v1/returns/{return_id}/refund").status_code == 500
    assert len(outbox(world.container)) == before
    view = world.get("service", f"/v1/orders/{order_id}")
    assert [r["status"] for r in view.json()["returns"]] == ["requested"]


def test_order_ref_follows_the_catalogue_rule() -> None:
    for order_id in ("o00000001", "ORD-2026-12-05-ab12", "x-1-2-3-4"):
        assert order_ref(order_id) == order_tail(order_id)
    assert order_ref("o1") is None


def test_a_contact_change_reseals_reindexes_records_and_tells_the_customer(world: World) -> None:
    body = _store(world)
    cid = body["customer_id"]
    new_mobile, new_email = "13900001234", "new.person@example.cn"
    address = dict(body["addresses"][0], street="新的街道 8 号")
    response = world.client.put(
        f"/v1/customers/{cid}/contact",
        headers=world.headers("service"),
        json={"mobile": new_mobile, "email": new_email, "address": address},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"customer_id": cid, "changed": ["mobile", "email", "address"]}

    # Re-indexed: the new mobile finds the customer, the old one nobody.
    found = world.get("service", "/v1/customers", params={"mobile": new_mobile})
    assert [c["customer_id"] for c in found.json()["customers"]] == [cid]
    assert world.get("service", "/v1/customers", params={"mobile": body["mobile"]}).json()["customers"] == []
    ticket = world.ticket("supervisor", cid)
    revealed = world.post(
        "supervisor",
        f"/v1/customers/{cid}/reveal",
        {"fields": ["mobile", "email", "street"], "purpose": "refund_dispute", "ticket_id": ticket},
    ).json()
    assert (revealed["mobile"], revealed["email"]) == (new_mobile, new_email)
    assert revealed["addresses"][0]["street"] == "新的街道 8 号"

    (write,) = [e for e in stored_events(world.container, action="write", customer_id=cid) if "mobile" in e.fields][1:]
    assert write.fields is not None and "email" in write.fields

    rows = outbox(world.container, event="contact.changed")
    kinds = {details(r)["contact"] for r in rows}
    assert kinds == {"mobile", "email", "address"}
    for row in rows:
        assert new_mobile not in row.details and new_email not in row.details
    masked = {details(r).get("mobile") for r in rows} | {details(r).get("email") for r in rows}
    assert "139****1234" in masked
    assert "n***@example.cn" in masked or any(m and m.endswith(".cn") and "***@" in m for m in masked)


def test_a_contact_change_needs_something_and_customers_write(world: World) -> None:
    cid = _store(world)["customer_id"]
    put = world.client.put
    assert put(f"/v1/customers/{cid}/contact", headers=world.headers("service"), json={}).status_code == 422
    denied = put(f"/v1/customers/{cid}/contact", headers=world.headers("agent"), json={"mobile": "13900001234"})
    assert denied.status_code == 403
    missing = put("/v1/customers/c-none/contact", headers=world.headers("service"), json={"mobile": "13900001234"})
    assert missing.status_code == 404
    assert outbox(world.container) == []


def test_a_contact_change_whose_event_fails_changes_nothing(world: World) -> None:
    body = _store(world)
    cid = body["customer_id"]
    with access_events_refused(world.container, action="write"):
        response = world.client.put(
            f"/v1/customers/{cid}/contact", headers=world.headers("service"), json={"mobile": "13900001234"}
        )
    assert response.status_code == 500
    assert outbox(world.container) == []
    found = world.get("service", "/v1/customers", params={"mobile": body["mobile"]})
    assert [c["customer_id"] for c in found.json()["customers"]] == [cid]
