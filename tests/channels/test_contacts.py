"""The contact log on SQLite and PostgreSQL: what the store's systems log, the agent's access event
committed with it, and every refusal a 4xx with a reason and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shopshield.channels.models import ContactRow
from shopshield.core.db import unit_of_work
from tests.support.contacts import (
    HOTLINE_NORMALISED,
    SCAMMER,
    SENDER,
    contact_body,
    new_customer,
    register_store,
    ticket,
)
from tests.support.events import stored_events
from tests.support.world import World

NOW = datetime.now(UTC).replace(microsecond=0)


def contacts(world: World) -> list[ContactRow]:
    with unit_of_work(world.container.sessions) as session:
        return list(session.scalars(select(ContactRow)))


def test_a_logged_contact_is_the_agents_access_to_the_customer(world: World) -> None:
    register_store(world)
    cid = new_customer(world, 1, order=True)
    tk = ticket(world, cid, order_id="o00000001")
    body = contact_body(world, cid, tk, started_at=NOW - timedelta(minutes=3))
    response = world.post("service", "/v1/contacts", body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["contact_id"].startswith("ct-")
    assert answer["from"] == HOTLINE_NORMALISED and answer["ended_at"] is None
    (row,) = contacts(world)
    assert (row.customer_id, row.agent_id, row.agent_role, row.order_id) == (
        cid,
        world.ids["agent"],
        "cs_agent",
        "o00000001",
    )
    (event,) = stored_events(world.container, customer_id=cid, action="contact")
    assert (event.actor_id, event.actor_role, event.outcome) == (world.ids["agent"], "cs_agent", "ok")
    assert (event.fields, event.ticket_id, event.order_id, event.reason) == ("mobile", tk, "o00000001", "return")

    ended = world.post("service", f"/v1/contacts/{answer['contact_id']}/end", {})
    assert ended.status_code == 200, ended.text
    assert world.post("service", f"/v1/contacts/{answer['contact_id']}/end", {}).status_code == 409
    assert world.post("service", "/v1/contacts/ct-none/end", {}).status_code == 404
    assert contacts(world)[0].ended_at is not None


def test_an_sms_from_a_sender_id_and_an_email_from_a_subdomain(world: World) -> None:
    register_store(world)
    cid = new_customer(world)
    tk = ticket(world, cid)
    sms = contact_body(world, cid, tk, started_at=NOW, channel="sms", sender=SENDER, reason="delivery")
    assert world.post("service", "/v1/contacts", sms).status_code == 201
    mail = contact_body(world, cid, tk, started_at=NOW, channel="email", sender="notice@x.mail.example-shop.cn")
    response = world.post("service", "/v1/contacts", mail)
    assert response.status_code == 201, response.text
    assert response.json()["from"] == "mail.example-shop.cn"
    fields = sorted(e.fields for e in stored_events(world.container, customer_id=cid, action="contact"))
    assert fields == ["email", "mobile"]


def refusal(world: World, body: dict[str, Any], status: int, says: str) -> None:
    before = len(stored_events(world.container))
    response = world.post("service", "/v1/contacts", body)
    assert response.status_code == status, response.text
    assert says in response.json()["message"]
    assert contacts(world) == []
    assert len(stored_events(world.container)) == before


def test_refusals_write_nothing(world: World) -> None:
    register_store(world)
    cid = new_customer(world, 1)
    other = new_customer(world, 2)
    tk = ticket(world, cid)
    other_tk = ticket(world, other)

    def body(**kw: Any) -> dict[str, Any]:
        return {**contact_body(world, cid, tk, started_at=NOW), **kw}

    refusal(world, body(ticket_id="tk-missing"), 422, "no such ticket")
    refusal(world, body(ticket_id=other_tk), 422, "ticket about this customer")
    refusal(world, body(agent="p-nobody"), 422, "active principal")
    refusal(world, body(customer_id="c-nobody"), 404, "no such customer")
    refusal(world, body(reason="chat"), 422, "must be one of return, refund")
    refusal(world, body(channel="fax"), 422, "channel")
    refusal(world, body(**{"from": SCAMMER}), 422, "is not an official phone")
    refusal(world, body(**{"from": "hidden"}), 422, "cannot be read")
    refusal(world, body(started_at="2026-12-05T10:00:00"), 422, "UTC offset")
    refusal(world, body(started_at=(NOW + timedelta(days=1)).isoformat()), 422, "not in the future")
    refusal(world, body(ended_at=(NOW - timedelta(hours=1)).isoformat()), 422, "before started_at")
    refusal(world, body(customer_id="13812345678"), 422, "mobile number")
    refusal(world, {**body(), "note": "x" * 100}, 422, "note")


def test_a_contact_id_is_logged_once(world: World) -> None:
    register_store(world)
    cid = new_customer(world)
    tk = ticket(world, cid)
    body = {**contact_body(world, cid, tk, started_at=NOW), "contact_id": "cti-42"}
    assert world.post("service", "/v1/contacts", body).status_code == 201
    assert world.post("service", "/v1/contacts", body).status_code == 409
    assert len(contacts(world)) == 1


@pytest.mark.parametrize("who", ["admin", "agent", "supervisor", "analyst", "courier", "merchant", "partner"])
def test_only_the_stores_systems_log_contacts(world: World, who: str) -> None:
    cid = new_customer(world)
    tk = ticket(world, cid)
    response = world.post(who, "/v1/contacts", contact_body(world, cid, tk, started_at=NOW))
    assert response.status_code == 403
