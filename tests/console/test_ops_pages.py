"""The console's operations pages over HTTP, on SQLite and PostgreSQL: Canaries, Breach response,
Notifications and Official channels. Who may open and post what (a recorded 403 otherwise), each
form doing what its API route does, refused without its CSRF token, and bad input answered with
a 4xx page that gives the reason and writes nothing."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from shopshield.bootstrap import Container
from shopshield.breach import service as breach_service
from shopshield.breach.models import WarningRow
from shopshield.canary.models import CanaryHitRow, CanaryRow
from shopshield.channels.models import ChannelChangeRow, OfficialChannelRow
from shopshield.console.views import PAGES
from shopshield.core.db import unit_of_work
from shopshield.core.permissions import Permission
from shopshield.settings import Settings
from tests.support.breach_log import BODY, at, log
from tests.support.clock import last_noon, past_quiet_hours
from tests.support.console import PEOPLE, client, log_in, set_passwords
from tests.support.events import stored_events
from tests.support.outbox import dead_sms, outbox
from tests.support.world import ROLES, World, make_world

CANARY_PREFIX = "1700000"
_REVIEWED = re.compile(r'name="reviewed" value="([0-9a-f]+)"')

# The pages of this file, with what opening or posting each needs.
GETS = {
    "/console/canaries": Permission.CANARIES_READ,
    "/console/breach": Permission.BREACHES_SCOPE,
    "/console/notifications": Permission.NOTIFICATIONS_READ,
    "/console/channels": Permission.CHANNELS_READ,
}
POSTS = {
    "/console/canaries/plant": Permission.CANARIES_PLANT,
    "/console/breach/scope": Permission.BREACHES_SCOPE,
    "/console/breach/warnings/dry-run": Permission.WARNINGS_SEND,
    "/console/breach/warnings/send": Permission.WARNINGS_SEND,
    "/console/notifications/retry": Permission.NOTIFICATIONS_OPERATE,
    "/console/channels/add": Permission.CHANNELS_MANAGE,
    "/console/channels/retire": Permission.CHANNELS_MANAGE,
}


@pytest.fixture
def world(container: Container, settings: Settings) -> Iterator[World]:
    # Canaries need the store's block of numbers; nothing else here minds it.
    container.settings = settings.model_copy(update={"canary_mobile_prefix": CANARY_PREFIX})
    w = make_world(container)
    yield w
    w.client.close()


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    set_passwords(world)
    with client(world) as c:
        yield c


def _count(world: World, table: type[Any]) -> int:
    with unit_of_work(world.container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _text(response: httpx.Response) -> str:
    """The page's words as a reader sees them: tags gone, entities read, blanks collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split()).replace(" .", ".")


def _reviewed(response: httpx.Response) -> str:
    found = _REVIEWED.search(response.text)
    assert found is not None, "no reviewed digest on the page"
    return found.group(1)


# -- who may open what --------------------------------------------------------------------------


def test_the_pages_are_registered_with_their_permissions() -> None:
    registered = {(p.path, p.method): p.permission for p in PAGES}
    for path, permission in GETS.items():
        assert registered[(path, "GET")] == permission
    for path, permission in POSTS.items():
        assert registered[(path, "POST")] == permission
    assert registered[("/console/breach/warnings", "GET")] == Permission.WARNINGS_SEND


def test_each_role_opens_the_pages_it_may_and_posts_only_what_it_may(world: World, browser: TestClient) -> None:
    policies = world.container.policies
    refused_posts = 0
    for who in PEOPLE:
        role = ROLES[who][0]
        held = policies.role(role).permissions
        browser.cookies.clear()
        token = log_in(browser, who)
        principal_id = world.ids[who]
        for path, permission in GETS.items():
            before = len(stored_events(world.container, actor_id=principal_id, outcome="denied", action="console"))
            response = browser.get(path)
            after = stored_events(world.container, actor_id=principal_id, outcome="denied", action="console")
            if permission in held:
                assert response.status_code == 200, (who, path, response.text)
                assert len(after) == before
            else:
                assert response.status_code == 403, (who, path)
                assert f"role {role!r} lacks the permission '{permission}'" in _text(response)
                (event,) = after[before:]
                assert (event.actor_role, event.channel, event.outcome) == (role, "cs-console", "denied")
                assert event.reason is not None and path in event.reason
        for path, permission in POSTS.items():
            if permission in held:
                continue
            events = len(stored_events(world.container))
            response = browser.post(path, data={"csrf": token, "recipient": "partner-sf", "kind": "phone"})
            assert response.status_code == 403, (who, path)
            # The refusal is the only thing written.
            (event,) = stored_events(world.container)[events:]
            assert (event.actor_id, event.action, event.outcome) == (principal_id, "console", "denied")
            refused_posts += 1
    assert refused_posts >= 5 * len(POSTS)
    assert _count(world, CanaryRow) == 0 and _count(world, OfficialChannelRow) == 0


# -- canaries -------------------------------------------------------------------------------------


def test_planting_from_the_console_does_what_the_api_does_and_hits_show_who_when_how(
    world: World, browser: TestClient
) -> None:
    token = log_in(browser, "analyst")
    form = {"recipient": "partner-sf", "count": "2", "kind": "partner-feed", "merchant_id": "m-001"}
    assert browser.post("/console/canaries/plant", data=form).status_code == 403  # no CSRF token
    assert _count(world, CanaryRow) == 0

    planted = browser.post("/console/canaries/plant", data={**form, "csrf": token})
    assert planted.status_code == 200, planted.text
    with unit_of_work(world.container.sessions) as session:
        rows = list(session.scalars(select(CanaryRow).order_by(CanaryRow.customer_id)))
        session.expunge_all()
    assert [(r.recipient, r.kind, r.planted_by) for r in rows] == [
        ("partner-sf", "partner-feed", world.ids["analyst"])
    ] * 2
    assert "Planted 2 canaries for partner-sf" in _text(planted)
    # The same canaries the API lists, and the planter's one event, from the console's channel.
    listed = world.get("analyst", "/v1/canaries").json()["canaries"]
    assert sorted(c["customer_id"] for c in listed) == [r.customer_id for r in rows]
    (event,) = stored_events(world.container, actor_id=world.ids["analyst"], action="plant")
    assert (event.outcome, event.channel, event.reason) == ("ok", "cs-console", "planted 2 canaries for partner-sf")
    # Masked: the page names each canary by id, never by a decoy's value.
    exported = world.get("analyst", "/v1/canaries/export", params={"recipient": "partner-sf"}).json()["rows"]
    page = browser.get("/console/canaries")
    for row in exported:
        assert row["customer_id"] in page.text
        assert row["mobile"] not in page.text and row["name"] not in _text(page)

    # An agent reports a call to a canary: the page names the recipient, who recorded it, when, how.
    canary = rows[0].customer_id
    reported = world.post(
        "agent",
        "/v1/canaries/contacts",
        {"customer_id": canary, "channel": "call", "contacted_at": "2026-11-20T14:03:00+08:00"},
    )
    assert reported.status_code == 200, reported.text
    page = browser.get("/console/canaries", params={"recipient": "partner-sf"})
    assert page.status_code == 200
    hit_row = next(line for line in page.text.split("<tr>") if "reported contact" in line)
    for expected in ("partner-sf", canary, world.ids["agent"], "call", "2026-11-20T06:03:00"):
        assert expected in hit_row
    (hit,) = world.get("analyst", "/v1/canaries/hits").json()["hits"]
    assert hit["recorded_at"] in hit_row


def test_planting_refuses_bad_input_with_its_reason_and_writes_nothing(world: World, browser: TestClient) -> None:
    token = log_in(browser, "analyst")
    events = len(stored_events(world.container))
    cases = [
        ({"recipient": "13812345678"}, "recipient"),  # a mobile number is never a recipient's name
        ({"recipient": "partner-sf", "count": "0"}, "count: a whole number from 1 to 100"),
        ({"recipient": "partner-sf", "count": "many"}, "count: a whole number from 1 to 100"),
        ({"recipient": "partner-sf", "kind": "carrier-pigeon"}, "kind"),
        ({"recipient": ""}, "recipient"),
    ]
    for form, reason in cases:
        refused = browser.post("/console/canaries/plant", data={**form, "csrf": token})
        assert refused.status_code == 422, (form, refused.text)
        assert reason in _text(refused)
        assert "13812345678" not in refused.text
    assert browser.get("/console/canaries", params={"recipient": "has space"}).status_code == 422
    assert _count(world, CanaryRow) == 0 and _count(world, CanaryHitRow) == 0
    assert len(stored_events(world.container)) == events


# -- breach response ------------------------------------------------------------------------------


def _scope_form(token: str, **extra: str) -> dict[str, str]:
    return {"csrf": token, **{k: str(v) for k, v in BODY.items()}, **extra}


def test_a_scope_shows_the_customers_and_the_report_and_queues_warnings_only_as_reviewed(
    world: World, browser: TestClient
) -> None:
    for who, when in (("c1", at(14, 9)), ("c2", at(14, 10)), ("c4", at(15, 11))):
        log(world.container, when, who, "name|mobile")
    token = log_in(browser, "analyst")
    assert browser.post("/console/breach/scope", data=_scope_form("")).status_code == 403

    shown = browser.post("/console/breach/scope", data=_scope_form(token))
    assert shown.status_code == 200, shown.text
    text = _text(shown)
    api = world.post("analyst", "/v1/breaches/scope", BODY | {"include_report": True}).json()
    case_id = api["case_id"]
    assert f"Case {case_id}" in text and "<strong>3</strong> customers" in shown.text
    for customer in ("c1", "c2", "c4"):
        assert f"<td>{customer}</td>" in shown.text
    assert "TO BE COMPLETED" in text and api["report_markdown"].splitlines()[0] in text
    # Recorded like the API's scope; nobody warned yet.
    scopes = stored_events(world.container, action="scope")
    assert [(e.actor_id, e.channel) for e in scopes] == [
        (world.ids["analyst"], "cs-console"),
        (world.ids["analyst"], "api"),
    ]
    assert outbox(world.container) == []
    reviewed = _reviewed(shown)

    # Queueing needs the digest of the scope shown, and the scope unchanged since.
    missing = browser.post("/console/breach/scope", data=_scope_form(token, queue_warnings="1"))
    assert missing.status_code == 422 and "review the customers first" in _text(missing)
    log(world.container, at(15, 12), "c5", "mobile")
    stale = browser.post("/console/breach/scope", data=_scope_form(token, queue_warnings="1", reviewed=reviewed))
    assert stale.status_code == 409 and "not the ones you reviewed" in _text(stale)
    assert outbox(world.container) == [] and _count(world, WarningRow) == 0
    assert len(stored_events(world.container, action="scope")) == 2

    again = browser.post("/console/breach/scope", data=_scope_form(token))
    queued = browser.post(
        "/console/breach/scope", data=_scope_form(token, queue_warnings="1", reviewed=_reviewed(again))
    )
    assert queued.status_code == 200, queued.text
    rows = outbox(world.container, event="breach.warning")
    assert {r.customer_id for r in rows} == {"c1", "c2", "c4", "c5"}
    assert {r.state for r in rows} == {"queued"}
    # What the API's warning-run view says of the case, the console's shows.
    run = world.get("analyst", f"/v1/warnings/{case_id}").json()
    page = browser.get("/console/breach/warnings", params={"run_id": case_id})
    assert page.status_code == 200, page.text
    assert f"{run['warned']} customers warned" in page.text
    for entry in run["customers"]:
        for message in entry["messages"]:
            assert f"<td>{entry['customer_id']}</td>" in page.text and message["channel"] in page.text


def test_bad_scope_input_is_a_422_with_its_reason_and_writes_nothing(world: World, browser: TestClient) -> None:
    token = log_in(browser, "analyst")
    events = len(stored_events(world.container))
    for extra, reason in (
        ({"actor_id": ""}, "actor_id: name the confirmed source"),
        ({"since": ""}, "since: the start of the window is needed"),
        ({"since": "yesterday-ish"}, "since"),
        ({"actor_kind": "wizard"}, "kind: must be one of"),
        ({"actor_id": "13812345678"}, "actor"),
    ):
        refused = browser.post("/console/breach/scope", data=_scope_form(token, **extra))
        assert refused.status_code == 422, (extra, refused.text)
        assert reason in _text(refused) and "13812345678" not in refused.text
    for form, reason in (
        ({}, "give exactly one of breach_case and cluster_id"),
        ({"breach_case": "a", "cluster_id": "1"}, "give exactly one"),
        ({"cluster_id": "-3"}, "cluster_id: a whole number"),
    ):
        refused = browser.post("/console/breach/warnings/dry-run", data={"csrf": token, **form})
        assert refused.status_code == 422, (form, refused.text)
        assert reason in _text(refused)
    assert (
        browser.post("/console/breach/warnings/dry-run", data={"csrf": token, "breach_case": "none"}).status_code == 404
    )
    assert browser.get("/console/breach/warnings", params={"run_id": "none-such"}).status_code == 404
    assert browser.get("/console/breach/warnings").status_code == 422
    assert len(stored_events(world.container)) == events
    assert outbox(world.container) == [] and _count(world, WarningRow) == 0


def test_a_warning_run_is_a_dry_run_first_and_sends_what_was_reviewed(world: World, browser: TestClient) -> None:
    # A case whose warnings were recorded before there was an outbox: a run queues their messages.
    with unit_of_work(world.container.sessions) as session:
        breach_service.queue_warnings(session=session, case_id="case-2016-07", customer_ids=["c7", "c8"], now=at(16, 1))
    token = log_in(browser, "analyst")
    target = {"breach_case": "case-2016-07"}
    # Even a dry run is recorded (who looked at whom a case would warn): a forged one is not.
    assert browser.post("/console/breach/warnings/dry-run", data=target).status_code == 403
    assert stored_events(world.container, action="warn") == []

    dry = browser.post("/console/breach/warnings/dry-run", data={"csrf": token, **target})
    assert dry.status_code == 200, dry.text
    api = world.post("analyst", "/v1/warnings", {**target, "dry_run": True}).json()
    assert api["would_queue_for_warned"] == ["c7", "c8"]
    assert "missing messages of 2 warned customers (c7, c8)" in _text(dry)
    assert 'action="/console/breach/warnings/send"' in dry.text
    assert outbox(world.container) == []
    reviewed = _reviewed(dry)

    assert browser.post("/console/breach/warnings/send", data={**target, "reviewed": reviewed}).status_code == 403
    unreviewed = browser.post("/console/breach/warnings/send", data={"csrf": token, **target})
    assert unreviewed.status_code == 422 and "review the customers first" in _text(unreviewed)
    # A customer joined the case after the dry run: the send refuses and rolls back.
    with unit_of_work(world.container.sessions) as session:
        breach_service.queue_warnings(session=session, case_id="case-2016-07", customer_ids=["c9"], now=at(16, 2))
    changed = browser.post("/console/breach/warnings/send", data={"csrf": token, **target, "reviewed": reviewed})
    assert changed.status_code == 409 and "not the ones you reviewed" in _text(changed)
    assert outbox(world.container) == []
    warns = len(stored_events(world.container, action="warn"))

    reviewed = _reviewed(browser.post("/console/breach/warnings/dry-run", data={"csrf": token, **target}))
    sent = browser.post("/console/breach/warnings/send", data={"csrf": token, **target, "reviewed": reviewed})
    assert sent.status_code == 200, sent.text
    rows = outbox(world.container, event="breach.warning")
    assert {r.customer_id for r in rows} == {"c7", "c8", "c9"} and {r.state for r in rows} == {"queued"}
    assert f"3 customers warned by this run; {len(rows)} messages queued now" in _text(sent)
    (event,) = stored_events(world.container, action="warn")[warns + 1 :]
    assert (event.actor_id, event.channel, event.reason) == (
        world.ids["analyst"],
        "cs-console",
        "warnings case-2016-07: warned 3 customers",
    )
    # Delivered: the log's customers are not in the vault, so each message is a dead letter, and
    # the next dry run shows each message's state and has nothing to send. The messages were
    # queued on the real clock; the worker's clock is past any quiet hours.
    worker = dataclasses.replace(world.container.notify_worker(), clock=past_quiet_hours)
    try:
        worker.drain()
    finally:
        worker.close()
    after = browser.post("/console/breach/warnings/dry-run", data={"csrf": token, **target})
    assert "Nothing to send" in after.text and "/console/breach/warnings/send" not in after.text
    assert after.text.count("customer erased or unknown") == len(rows)
    assert len(outbox(world.container)) == len(rows)


# -- notifications ----------------------------------------------------------------------------------


def _dead_sms(world: World, tmp_path: Path) -> str:
    return dead_sms(world, tmp_path, when=last_noon())


def test_the_outbox_and_dead_letters_with_filters_and_a_retry(
    world: World, browser: TestClient, tmp_path: Path
) -> None:
    dead_id = _dead_sms(world, tmp_path)
    token = log_in(browser, "analyst")
    page = browser.get("/console/notifications")
    assert page.status_code == 200, page.text
    assert dead_id in page.text and "no sender for channel sms" in page.text
    assert page.text.count('action="/console/notifications/retry"') == 1

    sent = browser.get("/console/notifications", params={"state": "sent"})
    outbox_part = sent.text.split("<h2>The outbox</h2>")[1]
    assert "<td>push</td>" in outbox_part and "<td>sms</td>" not in outbox_part
    sms = browser.get("/console/notifications", params={"channel": "sms", "event": "scam.warning"})
    outbox_part = sms.text.split("<h2>The outbox</h2>")[1]
    assert dead_id in outbox_part and "<td>push</td>" not in outbox_part
    none = browser.get("/console/notifications", params={"event": "login.risky"})
    assert "No message matches" in none.text
    for params, reason in (
        ({"state": "lost"}, "state: one of queued, sending, sent, dead, digested"),
        ({"channel": "fax"}, "channel: one of sms, email, push"),
        ({"event": "party"}, "event: unknown event code"),
        ({"limit": "0"}, "limit: a whole number from 1 to 1000"),
    ):
        refused = browser.get("/console/notifications", params=params)
        assert refused.status_code == 422 and reason in _text(refused), params

    assert browser.post("/console/notifications/retry", data={"notification_id": dead_id}).status_code == 403
    assert world.get("analyst", "/v1/notifications/status").json()["dead"]["sms"] == 1
    retried = browser.post("/console/notifications/retry", data={"csrf": token, "notification_id": dead_id})
    assert retried.status_code == 200, retried.text
    assert f"Notification {dead_id} is queued again" in retried.text
    status = world.get("analyst", "/v1/notifications/status").json()
    assert (status["queued"]["sms"], status["dead"]["sms"]) == (1, 0)
    again = browser.post("/console/notifications/retry", data={"csrf": token, "notification_id": dead_id})
    assert again.status_code == 409 and "only a dead letter can be retried" in _text(again)
    assert (
        browser.post("/console/notifications/retry", data={"csrf": token, "notification_id": "n-none"}).status_code
        == 404
    )
    for bad in ("", "13812345678"):
        refused = browser.post("/console/notifications/retry", data={"csrf": token, "notification_id": bad})
        assert refused.status_code == 422 and "notification_id" in _text(refused)
        assert "13812345678" not in refused.text
    assert world.get("analyst", "/v1/notifications/status").json()["queued"]["sms"] == 1


# -- official channels ------------------------------------------------------------------------------


def test_adding_and_retiring_official_channels_as_the_api_does(world: World, browser: TestClient) -> None:
    token = log_in(browser, "analyst")
    form = {"kind": "phone", "value": "400-820-8888", "label": "customer service"}
    assert browser.post("/console/channels/add", data=form).status_code == 403
    assert _count(world, OfficialChannelRow) == 0

    added = browser.post("/console/channels/add", data={"csrf": token, **form})
    assert added.status_code == 200, added.text
    (channel,) = world.get("analyst", "/v1/channels").json()["channels"]
    assert (channel["kind"], channel["label"], channel["added_by"]) == (
        "phone",
        "customer service",
        world.ids["analyst"],
    )
    assert channel["value"] in added.text and channel["channel_id"] in added.text
    # The same number again, written another way, is the same channel: 409, as over the API.
    duplicate = browser.post("/console/channels/add", data={"csrf": token, **form, "value": "4008208888"})
    assert duplicate.status_code == 409 and "already an official channel" in _text(duplicate)
    (alert,) = world.get("analyst", "/v1/alerts", params={"kind": "channel_registry"}).json()["alerts"]
    assert alert["actor_id"] == world.ids["analyst"]

    changes = _count(world, ChannelChangeRow)
    for bad, reason in (
        ({"kind": "pigeon", "value": "x"}, "kind: one of phone"),
        ({"kind": "phone", "value": ""}, "value"),
        ({"kind": "phone", "value": "not a number"}, "value"),
        ({"kind": "web_domain", "value": "x" * 301}, "value"),
        ({"kind": "phone", "value": "4008208889", "label": "bad\x07label"}, "label"),
    ):
        refused = browser.post("/console/channels/add", data={"csrf": token, **bad})
        assert 400 <= refused.status_code < 500 and refused.status_code != 403, (bad, refused.status_code)
        assert reason in _text(refused), (bad, refused.text)
    assert _count(world, OfficialChannelRow) == 1 and _count(world, ChannelChangeRow) == changes
    assert browser.get("/console/channels", params={"kind": "pigeon"}).status_code == 422

    assert browser.post("/console/channels/retire", data={"channel_id": channel["channel_id"]}).status_code == 403
    missing = browser.post("/console/channels/retire", data={"csrf": token, "channel_id": "ch-none"})
    assert missing.status_code == 404 and "no official channel with this id" in _text(missing)
    retired = browser.post("/console/channels/retire", data={"csrf": token, "channel_id": channel["channel_id"]})
    assert retired.status_code == 200, retired.text
    assert world.get("analyst", "/v1/channels").json()["channels"] == []
    history = world.get("analyst", "/v1/channels/changes").json()["changes"]
    assert [(h["action"], h["actor_id"]) for h in history] == [
        ("removed", world.ids["analyst"]),
        ("added", world.ids["analyst"]),
    ]
    page = browser.get("/console/channels")
    assert "No official channels" in page.text and page.text.count("<td>removed</td>") == 1
