"""A reveal needs a second person: nobody may open a ticket assigned to themselves (decision 0019).

The red team's attack: a supervisor or security analyst, whose role may open tickets, opens one
assigned to themselves and then reveals whatever they like about that customer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shopshield.bootstrap import Container
from shopshield.core.db import unit_of_work
from shopshield.core.events import DENIED
from shopshield.tickets.models import OPEN, TicketRow
from testkit.factories import customer
from tests.support.events import stored_events
from tests.support.world import World

# Every role of the shipped policy with tickets.write; the rule holds whatever the role.
OPENERS = ("service", "supervisor", "analyst", "admin")


def _store(world: World, n: int = 1) -> str:
    body = customer(n)
    response = world.post("service", "/v1/customers", body)
    assert response.status_code == 201, response.text
    return str(body["customer_id"])


def _reveal(world: World, who: str, customer_id: str, ticket_id: str) -> Any:
    return world.post(
        who,
        f"/v1/customers/{customer_id}/reveal",
        {"fields": ["mobile"], "purpose": "refund_dispute", "ticket_id": ticket_id},
    )


def _tickets(container: Container) -> list[TicketRow]:
    with unit_of_work(container.sessions) as session:
        return list(session.query(TicketRow))


@pytest.mark.parametrize("who", ["supervisor", "analyst"])
def test_a_ticket_opened_for_oneself_cannot_be_used_to_reveal(world: World, who: str) -> None:
    customer_id = _store(world)
    opened = world.post(
        who,
        "/v1/tickets",
        {"ticket_id": "tk-self", "customer_id": customer_id, "category": "refund", "assignee_id": world.ids[who]},
    )
    assert opened.status_code == 403, opened.text
    assert opened.json()["error"] == "forbidden"
    assert "assigned to themselves" in opened.json()["message"]
    assert _tickets(world.container) == []

    revealed = _reveal(world, who, customer_id, "tk-self")
    assert revealed.status_code == 403
    assert "mobile" not in revealed.json()


@pytest.mark.parametrize("who", OPENERS)
def test_nobody_may_open_a_ticket_assigned_to_themselves_and_the_attempt_is_recorded(world: World, who: str) -> None:
    customer_id = _store(world)
    response = world.post(
        who, "/v1/tickets", {"customer_id": customer_id, "category": "refund", "assignee_id": world.ids[who]}
    )
    assert response.status_code == 403, response.text
    assert _tickets(world.container) == []
    # The refusal names a customer, so it is an access event like any refused read, committed
    # although the request failed; it shows in that customer's access report.
    (event,) = stored_events(world.container, action="ticket")
    assert (event.actor_id, event.customer_id, event.outcome) == (world.ids[who], customer_id, DENIED)
    assert event.reason is not None and "assigned to themselves" in event.reason
    report = world.get("service", f"/v1/customers/{customer_id}/access-report")
    assert report.status_code == 200, report.text
    items = [item for item in report.json()["items"] if item["action"] == "ticket"]
    assert [(i["actor"]["id"], i["outcome"]) for i in items] == [(world.ids[who], DENIED)]


def test_a_ticket_from_a_second_person_still_lets_its_assignee_reveal(world: World) -> None:
    customer_id = _store(world)
    for opener, assignee in (("supervisor", "analyst"), ("analyst", "supervisor"), ("service", "agent")):
        ticket = world.ticket(assignee, customer_id, by=opener)
        response = _reveal(world, assignee, customer_id, ticket)
        assert response.status_code == 200, response.text
        assert response.json()["mobile"]
        # Closing one's own ticket gives up access, so it needs no second person.
        assert world.post(assignee, f"/v1/tickets/{ticket}/close").status_code == 200


def test_a_self_assigned_ticket_opened_before_the_rule_no_longer_reveals(world: World) -> None:
    """Tickets already in the database when the rule arrived: the reveal checks the opener too."""
    customer_id = _store(world)
    with unit_of_work(world.container.sessions) as session:
        session.add(
            TicketRow(
                ticket_id="tk-legacy",
                customer_id=customer_id,
                category="refund",
                assignee_id=world.ids["supervisor"],
                created_by=world.ids["supervisor"],
                status=OPEN,
                created_at=datetime.now(UTC),
            )
        )
    response = _reveal(world, "supervisor", customer_id, "tk-legacy")
    assert response.status_code == 403
    assert "opened by its own assignee" in response.json()["message"]
    (event,) = stored_events(world.container, action="reveal", ticket_id="tk-legacy")
    assert event.outcome == DENIED
