"""The notification routes on SQLite and PostgreSQL: preferences and the anti-phishing code as the
store's backend sets them for a customer, events from the store's own systems, who may call them,
bad input (422 with a reason, nothing written), and erasure shredding the code."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from shopshield.core.db import Tx, transaction, unit_of_work
from shopshield.core.times import utc
from shopshield.notify import service
from shopshield.notify.catalogue import CATALOGUE, Event
from shopshield.notify.models import NotificationRow, NotificationSettingsRow
from shopshield.vault import service as vault_service
from testkit import factories
from tests.support.events import stored_events
from tests.support.world import World

PREFS = "/v1/customers/{}/notification-preferences"
CODE = "/v1/customers/{}/anti-phishing-code"
EVENTS = "/v1/notifications/events"
STAFF = ("admin", "agent", "supervisor", "analyst", "courier", "merchant", "partner")


def customer(world: World, n: int = 1) -> dict[str, Any]:
    body = factories.customer(n, random.Random(n))
    response = world.post("service", "/v1/customers", body)
    assert response.status_code == 201, response.text
    return body


def put(world: World, who: str, path: str, body: Any) -> Any:
    return world.client.put(path, headers=world.headers(who), json=body)


def outbox(world: World) -> list[NotificationRow]:
    with unit_of_work(world.container.sessions) as session:
        return list(session.scalars(select(NotificationRow).order_by(NotificationRow.created_at)))


def settings_rows(world: World) -> int:
    with unit_of_work(world.container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(NotificationSettingsRow)) or 0)


def stored_code(world: World, customer_id: str) -> str | None:
    with unit_of_work(world.container.sessions) as session:
        key = vault_service.data_key(vault=world.container.vault, session=session, customer_id=customer_id)
        return service.anti_phishing_code(Tx.of_session(session), data_key=key, customer_id=customer_id)


def defaults() -> dict[str, list[str]]:
    return {str(e): [str(c) for c in CATALOGUE[e].defaults] for e in Event}


def test_put_replaces_the_choices_and_get_fills_in_defaults(world: World) -> None:
    cid = customer(world)["customer_id"]
    assert world.get("service", PREFS.format(cid)).json() == {
        "customer_id": cid,
        "events": defaults(),
        "language": "zh-CN",
        "timezone": "Asia/Shanghai",
    }

    chosen = {"data.revealed": ["sms", "email"], "login.new_device": ["sms"], "refund.issued": []}
    answer = put(world, "service", PREFS.format(cid), {"events": chosen})
    assert answer.status_code == 200, answer.text
    # Channels come back in catalogue order; the events left out keep their defaults.
    expected = {**defaults(), "data.revealed": ["sms", "email"], "login.new_device": ["sms"], "refund.issued": []}
    assert answer.json() == {"customer_id": cid, "events": expected, "language": "zh-CN", "timezone": "Asia/Shanghai"}
    assert world.get("service", PREFS.format(cid)).json()["events"] == expected

    # A second PUT replaces: what it leaves out goes back to its default.
    put(world, "service", PREFS.format(cid), {"events": {"refund.issued": ["push"]}})
    assert world.get("service", PREFS.format(cid)).json()["events"] == {**defaults(), "refund.issued": ["push"]}

    actions = [e.action for e in stored_events(world.container, customer_id=cid) if e.action.startswith("prefs")]
    assert actions == ["prefs_view", "prefs_write", "prefs_view", "prefs_write", "prefs_view"]
    assert all(
        e.fields == "notification_preferences"
        for e in stored_events(world.container, customer_id=cid)
        if e.action.startswith("prefs")
    )


def test_a_customer_sets_language_and_time_zone_and_messages_follow(world: World) -> None:
    """Language and zone are part of the PUT: messages are written in the language, and quiet
    hours fall in the customer's own night; left out of a later PUT, both go back to the default."""
    cid = customer(world)["customer_id"]
    answer = put(world, "service", PREFS.format(cid), {"events": {}, "language": "en", "timezone": "Europe/London"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["language"], answer.json()["timezone"]) == ("en", "Europe/London")
    got = world.get("service", PREFS.format(cid)).json()
    assert (got["language"], got["timezone"]) == ("en", "Europe/London")

    # 23:30 in London is 07:30 in Shanghai: an SMS of a non-security event waits for London's morning.
    late = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)
    with transaction(world.container.engine) as tx:
        service.enqueue(
            tx,
            customer_id=cid,
            event=Event.REFUND_ISSUED,
            details={"order_ref": "1234"},
            source="test",
            source_ref="tz-1",
            occurred_at=late,
            now=late,
        )
    (sms,) = [r for r in outbox(world) if r.channel == "sms" and r.source_ref == "tz-1"]
    assert utc(sms.due_at) == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

    put(world, "service", PREFS.format(cid), {"events": {}})
    got = world.get("service", PREFS.format(cid)).json()
    assert (got["language"], got["timezone"]) == ("zh-CN", "Asia/Shanghai")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": {"no.such_event": ["sms"]}}, "events"),
        ({"events": {"refund.issued": ["fax"]}}, "events.refund.issued"),
        ({"events": {"refund.issued": ["sms", "sms"]}}, "events.refund.issued"),
        ({"events": {"login.risky": []}}, "events.login.risky"),
        ({"events": {"refund.issued": "sms"}}, "events.refund.issued"),
        ({"events": {}, "mobile": "13800138000"}, "body"),
        ({"language": "en"}, "body"),
        ({"events": {}, "language": "fr"}, "language"),
        ({"events": {}, "timezone": "Asia/Nowhere"}, "timezone"),
        (["sms"], "body"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_changes(world: World, body: Any, field: str) -> None:
    cid = customer(world)["customer_id"]
    put(world, "service", PREFS.format(cid), {"events": {"refund.issued": ["email"]}})
    before = len(stored_events(world.container))

    answer = put(world, "service", PREFS.format(cid), body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert "fax" not in answer.text and "no.such_event" not in answer.text
    assert len(stored_events(world.container)) == before
    assert world.get("service", PREFS.format(cid)).json()["events"]["refund.issued"] == ["email"]


def test_only_the_stores_backend_may_call_the_notification_routes(world: World) -> None:
    cid = customer(world)["customer_id"]
    for who in STAFF:
        assert world.get(who, PREFS.format(cid)).status_code == 403
        assert put(world, who, PREFS.format(cid), {"events": {}}).status_code == 403
        assert put(world, who, CODE.format(cid), {"code": "blue-heron"}).status_code == 403
        assert world.delete(who, CODE.format(cid)).status_code == 403
        assert world.post(who, EVENTS, {"customer_id": cid, "event": "scam.warning"}).status_code == 403
    assert settings_rows(world) == 0 and outbox(world) == []


def test_an_unknown_or_erased_customer_is_not_found(world: World) -> None:
    cid = customer(world)["customer_id"]
    assert world.delete("service", f"/v1/customers/{cid}").status_code == 200
    for target in ("c-nobody", cid):
        assert world.get("service", PREFS.format(target)).status_code == 404
        assert put(world, "service", PREFS.format(target), {"events": {}}).status_code == 404
        assert put(world, "service", CODE.format(target), {"code": "blue-heron"}).status_code == 404
        assert world.delete("service", CODE.format(target)).status_code == 404
        event = {"customer_id": target, "event": "scam.warning", "details": {"pattern": "refund"}}
        assert world.post("service", EVENTS, event).status_code == 404
    assert settings_rows(world) == 0 and outbox(world) == []


def test_the_code_is_sealed_and_never_returned(world: World) -> None:
    cid = customer(world)["customer_id"]
    # Full-width letters from a Chinese input method become ASCII.
    answer = put(world, "service", CODE.format(cid), {"code": " ｂｌｕｅ-heron "})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"customer_id": cid, "code_set": True}
    assert stored_code(world, cid) == "blue-heron"
    with unit_of_work(world.container.sessions) as session:
        [sealed] = session.scalars(select(NotificationSettingsRow.anti_phishing_code_ct)).all()
    assert sealed is not None and b"heron" not in sealed
    # Nothing the backend reads back carries it.
    for path in (PREFS.format(cid), f"/v1/customers/{cid}"):
        assert "heron" not in world.get("service", path).text

    events = {e.action: e for e in stored_events(world.container, customer_id=cid)}
    assert events["code_check"].fields == "name|mobile|email|id_number"
    assert events["code_set"].fields == "anti_phishing_code"

    # Setting it again replaces it; clearing it leaves none.
    assert put(world, "service", CODE.format(cid), {"code": "小猫钓鱼"}).status_code == 200
    assert stored_code(world, cid) == "小猫钓鱼"
    assert world.delete("service", CODE.format(cid)).json() == {"customer_id": cid, "code_set": False, "cleared": True}
    assert stored_code(world, cid) is None
    assert world.delete("service", CODE.format(cid)).json()["cleared"] is False
    assert [e.action for e in stored_events(world.container, customer_id=cid)][-2:] == ["code_clear", "code_clear"]


def test_a_bad_code_is_refused_with_a_reason_and_nothing_is_written(world: World) -> None:
    body = customer(world)
    cid = body["customer_id"]
    before = len(stored_events(world.container))
    for code, rule in (
        ("abc", "4-12 characters"),
        ("a" * 13, "4-12 characters"),
        ("12345678", "digits alone"),
        ("hi there", "only letters"),
        (f"cat{body['mobile'][-4:]}", "own name, mobile"),
        (body["name"] + "ab", "own name, mobile"),
    ):
        answer = put(world, "service", CODE.format(cid), {"code": code})
        assert answer.status_code == 422, (code, answer.text)
        assert answer.json()["field"] == "code" and rule in answer.json()["message"]
        assert code not in answer.text
    too_long = put(world, "service", CODE.format(cid), {"code": "x" * 65})
    assert too_long.status_code == 422
    assert settings_rows(world) == 0
    # Not even the read of the customer's values for the check: the transaction rolled back.
    assert len(stored_events(world.container)) == before


def test_erasing_the_customer_shreds_the_code(world: World) -> None:
    cid = customer(world)["customer_id"]
    assert put(world, "service", CODE.format(cid), {"code": "blue-heron"}).status_code == 200
    with unit_of_work(world.container.sessions) as session:
        key = vault_service.data_key(vault=world.container.vault, session=session, customer_id=cid)
    assert key is not None

    erased = world.delete("service", f"/v1/customers/{cid}")
    # No copy of the key is left in the key store: nothing can open the sealed code any more.
    assert erased.status_code == 200 and erased.json()["key_destroyed"] is True

    with unit_of_work(world.container.sessions) as session:
        assert vault_service.data_key(vault=world.container.vault, session=session, customer_id=cid) is None
    assert stored_code(world, cid) is None


def test_store_events_are_queued_once_per_event_id(world: World) -> None:
    cid = customer(world)["customer_id"]
    event = {"customer_id": cid, "event": "refund.issued", "details": {"order_ref": "8123"}, "event_id": "rf-0001"}
    first = world.post("service", EVENTS, event)
    assert first.status_code == 202, first.text
    assert first.json()["event_id"] == "rf-0001" and first.json()["queued"] == 2
    repeat = world.post("service", EVENTS, event)
    assert repeat.status_code == 202 and repeat.json()["queued"] == 0
    rows = outbox(world)
    assert sorted(r.notification_id for r in rows) == sorted(first.json()["notification_ids"])
    assert {(r.source, r.source_ref, r.event, r.customer_id) for r in rows} == {
        ("api", "rf-0001", "refund.issued", cid)
    }

    # Without an event id, each call is an event of its own; occurred_at is kept as given.
    happened = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    warning = {"customer_id": cid, "event": "scam.warning", "details": {"pattern": "refund"}}
    a = world.post("service", EVENTS, {**warning, "occurred_at": happened.isoformat()}).json()
    b = world.post("service", EVENTS, warning).json()
    assert a["event_id"] != b["event_id"] and a["queued"] == b["queued"] == 2
    stamps = {r.source_ref: r.occurred_at for r in outbox(world)}
    assert stamps[a["event_id"]].replace(tzinfo=UTC) == happened


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"event": "refund.sent"}, "event"),
        ({"event": "refund.issued"}, "details.order_ref"),
        ({"event": "refund.issued", "details": {"order_ref": "o-2016-07-14-88123"}}, "details.order_ref"),
        ({"event": "contact.changed", "details": {"contact": "mobile", "mobile": "13812345678"}}, "details.mobile"),
        ({"event": "scam.warning", "details": {"pattern": "refund", "amount": "299.00"}}, "details"),
        ({"event": "scam.warning", "details": {"pattern": "refund"}, "occurred_at": "2999-01-01T00:00:00Z"}, None),
        ({"event": "scam.warning", "details": {"pattern": "refund"}, "event_id": "13812345678"}, None),
        ({"event": "scam.warning", "details": {"pattern": "refund"}, "to": "13812345678"}, None),
    ],
)
def test_bad_events_are_refused_with_a_reason_and_nothing_is_queued(
    world: World, event: dict[str, Any], field: str | None
) -> None:
    cid = customer(world)["customer_id"]
    answer = world.post("service", EVENTS, {"customer_id": cid, **event})
    assert answer.status_code == 422, answer.text
    if field is not None:
        assert answer.json()["field"] == field
    assert "13812345678" not in answer.text and "299.00" not in answer.text and "88123" not in answer.text
    assert outbox(world) == []


def test_an_event_honours_the_customers_preferences(world: World) -> None:
    cid = customer(world)["customer_id"]
    put(world, "service", PREFS.format(cid), {"events": {"refund.issued": ["email"], "order.return_requested": []}})
    refund = {"customer_id": cid, "event": "refund.issued", "details": {"order_ref": "8123"}}
    assert world.post("service", EVENTS, refund).json()["queued"] == 1
    assert [r.channel for r in outbox(world)] == ["email"]
    returned = {"customer_id": cid, "event": "order.return_requested", "details": {"order_ref": "8123"}}
    assert world.post("service", EVENTS, returned).json()["queued"] == 0
    assert len(outbox(world)) == 1
    # Due at once or at the end of the quiet hours, never before the event.
    assert all(r.due_at.replace(tzinfo=UTC) >= r.occurred_at.replace(tzinfo=UTC) for r in outbox(world))
