"""The Overview's alerts that are not rows of security_alerts, on SQLite and PostgreSQL: contacts
that reached a canary, and customers the contact check told "not verified" (with how many of
them reported it), counted from what the services stored."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shopshield.bootstrap import Container
from shopshield.settings import Settings
from tests.support.console import client, log_in, set_passwords
from tests.support.contacts import AGENT_LINE, SCAMMER, new_customer, register_store
from tests.support.world import World, make_world

OVERVIEW = "/console/overview"


@pytest.fixture
def world(container: Container, settings: Settings) -> Iterator[World]:
    # Canaries need a block of numbers the store controls.
    container.settings = settings.model_copy(update={"canary_mobile_prefix": "1700000"})
    w = make_world(container)
    yield w
    w.client.close()


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    set_passwords(world)
    with client(world) as c:
        yield c


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _not_verified(world: World, customer_id: str, sender: str) -> str:
    answer = world.post(
        "service", "/v1/verify/contact", {"customer_id": customer_id, "channel": "call", "from": sender}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["verdict"] == "not_verified", answer.text
    return str(answer.json()["report_token"])


def test_the_overview_counts_canary_hits_and_verification_failures(world: World, browser: TestClient) -> None:
    log_in(browser, "analyst")
    quiet = _text(browser.get(OVERVIEW).text)
    assert "No contact reached a canary." in quiet
    assert "0 customers were told a call or message was not verified as the store's; 0 of them" in quiet

    planted = world.post("analyst", "/v1/canaries", {"recipient": "partner-sf", "count": 2})
    assert planted.status_code == 201, planted.text
    canary = planted.json()["customer_ids"][0]
    for _ in range(3):
        reached = world.post("agent", "/v1/canaries/contacts", {"customer_id": canary, "channel": "call"})
        assert reached.status_code == 200, reached.text
    register_store(world)
    first, second = new_customer(world, 1), new_customer(world, 2)
    reported_token = _not_verified(world, first, SCAMMER)
    _not_verified(world, second, AGENT_LINE)  # one of ours, but no record of calling this customer
    reported = world.post("service", "/v1/verify/report", {"report_token": reported_token})
    assert reported.status_code == 201, reported.text

    page = browser.get(OVERVIEW)
    assert page.status_code == 200, page.text
    words = _text(page.text)
    assert "3 contacts reached a canary" in words
    rows = re.findall(r"<tr><td>.*?</tr>", page.text.split('<table id="canary-hits">')[1].split("</table>")[0])
    assert len(rows) == 3 and all("partner-sf" in row and "reported contact" in row for row in rows)
    assert "2 customers were told a call or message was not verified as the store's; 1 of them reported it" in words
    # Nothing of the customers themselves: the counts name nobody.
    assert first not in page.text and second not in page.text and canary not in page.text
