"""What the channels tests share: a store with official channels, a customer with a ticket, and a
contact logged from one of the store's numbers, all through the API."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from testkit import factories
from tests.support.world import World

# The store's own channels, as an admin types them (the API normalises them).
HOTLINE = "400-820-1234"
HOTLINE_NORMALISED = "4008201234"
AGENT_LINE = "+86 (010) 8888-6666"
AGENT_LINE_NORMALISED = "01088886666"
SENDER = "1069 0000 8888"
MAIL_DOMAIN = "@Mail.Example-Shop.cn"
WEB_DOMAIN = "https://www.example-shop.cn/"
PAYEE = "1100 2233 4455"
# Not the store's: what a scammer calls from.
SCAMMER = "+86 171-0000-1234"


class Clock:
    """A clock the tests move by hand (the vault's ``clock``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def register_store(world: World) -> dict[str, str]:
    """The store's official channels; their ids by kind and value as given."""
    found = {}
    for kind, value, label in (
        ("phone", HOTLINE, "customer service"),
        ("phone", AGENT_LINE, "agents' line"),
        ("sms_sender", SENDER, None),
        ("email_domain", MAIL_DOMAIN, None),
        ("web_domain", WEB_DOMAIN, "shop"),
        ("payee_account", PAYEE, "refunds"),
        ("brand_name", "示例商城", None),
    ):
        body: dict[str, Any] = {"kind": kind, "value": value}
        if label is not None:
            body["label"] = label
        response = world.post("admin", "/v1/channels", body)
        assert response.status_code == 201, response.text
        found[value] = response.json()["channel_id"]
    return found


def new_customer(world: World, n: int = 1, *, order: bool = False) -> str:
    body = factories.customer(n, random.Random(n))
    response = world.post("service", "/v1/customers", body)
    assert response.status_code == 201, response.text
    if order:
        placed = world.post("service", "/v1/orders", factories.order(n, body["customer_id"], None))
        assert placed.status_code == 201, placed.text
    return str(body["customer_id"])


def ticket(world: World, customer_id: str, *, order_id: str | None = None, agent: str = "agent") -> str:
    body: dict[str, Any] = {"customer_id": customer_id, "category": "return", "assignee_id": world.ids[agent]}
    if order_id is not None:
        body["order_id"] = order_id
    response = world.post("service", "/v1/tickets", body)
    assert response.status_code == 201, response.text
    return str(response.json()["ticket_id"])


@dataclass(frozen=True)
class Logged:
    customer_id: str
    ticket_id: str
    contact_id: str
    started_at: datetime


def contact_body(
    world: World,
    customer_id: str,
    ticket_id: str,
    *,
    started_at: datetime,
    ended_at: datetime | None = None,
    channel: str = "call",
    sender: str = HOTLINE,
    reason: str = "return",
    agent: str = "agent",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "channel": channel,
        "from": sender,
        "agent": world.ids[agent],
        "reason": reason,
        "ticket_id": ticket_id,
        "started_at": iso(started_at),
    }
    if ended_at is not None:
        body["ended_at"] = iso(ended_at)
    return body


def log_call(
    world: World, customer_id: str, ticket_id: str, *, started_at: datetime, minutes: int | None = 5, **kw: Any
) -> str:
    ended = None if minutes is None else started_at + timedelta(minutes=minutes)
    response = world.post(
        "service",
        "/v1/contacts",
        contact_body(world, customer_id, ticket_id, started_at=started_at, ended_at=ended, **kw),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["contact_id"])
