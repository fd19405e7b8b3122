"""Warnings to customers at risk, from a breach case or a scam cluster: each warned once, through
their channels (a security event is never silent), and what became of each message (decision 0028)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from typer.testing import CliRunner

from shopshield.breach import service
from shopshield.breach.models import WarningRow
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.notify.models import NotificationSettingsRow
from shopshield.settings import Settings
from testkit.factories import customer, order
from tests.support.breach_log import BODY, at, log
from tests.support.clock import past_quiet_hours
from tests.support.environment import cli_env
from tests.support.events import stored_events
from tests.support.faults import access_events_refused
from tests.support.outbox import details, outbox
from tests.support.scam_reports import report
from tests.support.world import World


def _case(world: World) -> str:
    for who, when in (("c1", at(14, 9)), ("c2", at(14, 10)), ("c4", at(15, 11))):
        log(world.container, when, who, "name|mobile")
    scoped = world.post("analyst", "/v1/breaches/scope", BODY | {"queue_warnings": True})
    assert scoped.status_code == 200, scoped.text
    return str(scoped.json()["case_id"])


def test_a_breach_case_run_reports_who_was_warned_and_warns_nobody_twice(world: World) -> None:
    case_id = _case(world)
    before = outbox(world.container, event="breach.warning")
    assert {r.customer_id for r in before} == {"c1", "c2", "c4"}

    first = world.post("analyst", "/v1/warnings", {"breach_case": case_id})
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["run_id"], answer["warned"], answer["queued_now"], answer["dry_run"]) == (case_id, 3, 0, False)
    assert answer["messages"] == {"queued": len(before)}
    assert [c["customer_id"] for c in answer["customers"]] == ["c1", "c2", "c4"]
    assert all(m["state"] == "queued" for c in answer["customers"] for m in c["messages"])
    assert len(outbox(world.container)) == len(before)

    shown = world.get("analyst", f"/v1/warnings/{case_id}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["customers"] == answer["customers"]
    assert [e.reason for e in stored_events(world.container, action="warn")] == [
        f"warnings {case_id}: warned 3 customers"
    ]


def test_a_breach_case_whose_warnings_predate_the_outbox_gets_them_delivered(world: World) -> None:
    with unit_of_work(world.container.sessions) as session:
        service.queue_warnings(session=session, case_id="case-2016-07", customer_ids=["c7", "c8"], now=at(16, 1))
    assert outbox(world.container) == []

    answer = world.post("analyst", "/v1/warnings", {"breach_case": "case-2016-07"}).json()
    rows = outbox(world.container, event="breach.warning")
    assert answer["queued_now"] == len(rows) > 0 and {r.customer_id for r in rows} == {"c7", "c8"}
    again = world.post("analyst", "/v1/warnings", {"breach_case": "case-2016-07"}).json()
    assert again["queued_now"] == 0 and len(outbox(world.container)) == len(rows)


def test_warning_runs_need_warnings_send_and_exactly_one_known_target(world: World) -> None:
    for who in ("agent", "supervisor", "service", "partner"):
        assert world.post(who, "/v1/warnings", {"breach_case": "x"}).status_code == 403, who
        assert world.get(who, "/v1/warnings/x").status_code == 403, who
    assert world.post("analyst", "/v1/warnings", {"breach_case": "none-such"}).status_code == 404
    assert world.post("analyst", "/v1/warnings", {"cluster_id": 1}).status_code == 404
    assert world.post("analyst", "/v1/warnings", {}).status_code == 422
    both = world.post("analyst", "/v1/warnings", {"breach_case": "a", "cluster_id": 1})
    assert both.status_code == 422
    assert world.get("analyst", "/v1/warnings/none-such").status_code == 404
    assert outbox(world.container) == []


# -- clusters -------------------------------------------------------------------------------------

CALL = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def _stored(world: World, n: int, *, returned: datetime | None = None, placed: str = "2026-11-10T10:00:00Z") -> str:
    body = customer(n)
    assert world.post("service", "/v1/customers", body).status_code == 201
    placed_order = order(n, body["customer_id"], body["addresses"][0]["address_id"]) | {"placed_at": placed}
    assert world.post("service", "/v1/orders", placed_order).status_code == 201
    if returned is not None:
        made = world.post(
            "service",
            f"/v1/orders/{placed_order['order_id']}/returns",
            {"reason": "质量问题", "requested_at": returned.isoformat()},
        )
        assert made.status_code == 201, made.text
    return str(body["customer_id"])


def _cluster(world: World, victims: list[str]) -> None:
    # Two reports from the same caller's number: one cluster, scammers who knew of a return.
    reports = [
        report(f"r-{n}", customer_id=cid, contacted_at=f"2026-11-2{n}T14:03:00+08:00", reported_at=None)
        | {"reported_at": f"2026-11-2{n}T15:00:00+08:00"}
        for n, cid in enumerate(victims)
    ]
    response = world.post("service", "/v1/scam-reports", {"reports": reports})
    assert response.status_code in (200, 201), response.text


def _setup_cluster(world: World) -> dict[str, str]:
    ids = {
        "victim": _stored(world, 1, returned=datetime(2026, 11, 12, tzinfo=UTC)),
        "at_risk": _stored(world, 2, returned=datetime(2026, 11, 15, tzinfo=UTC)),
        "silent": _stored(world, 3, returned=datetime(2026, 11, 16, tzinfo=UTC)),
        "no_return": _stored(world, 4),
        "long_ago": _stored(world, 5, returned=datetime(2026, 6, 1, tzinfo=UTC), placed="2026-05-01T10:00:00Z"),
    }
    victim2 = _stored(world, 6, returned=datetime(2026, 11, 14, tzinfo=UTC))
    _cluster(world, [ids["victim"], victim2])
    # A customer who turned every channel of scam warnings off still gets one: it is a security
    # event, so its default channels stand (the stored choice is not honoured).
    with unit_of_work(world.container.sessions) as session:
        session.add(
            NotificationSettingsRow(
                customer_id=ids["silent"],
                events=orjson.dumps({"scam.warning": []}).decode(),
                updated_at=CALL,
            )
        )
    return ids


def test_a_cluster_run_warns_the_customers_who_share_its_pattern_once(world: World) -> None:
    ids = _setup_cluster(world)

    dry = world.post("analyst", "/v1/warnings", {"cluster_id": 1, "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert sorted(dry.json()["would_warn"]) == sorted([ids["at_risk"], ids["silent"]])
    assert (dry.json()["pattern"], dry.json()["warned"]) == ("return", 0)
    assert outbox(world.container, event="scam.warning") == []

    first = world.post("analyst", "/v1/warnings", {"cluster_id": 1}).json()
    rows = outbox(world.container, event="scam.warning")
    assert {r.customer_id for r in rows} == {ids["at_risk"], ids["silent"]}
    assert {r.channel for r in rows if r.customer_id == ids["silent"]} == {"sms", "push"}
    assert {orjson.dumps(details(r)) for r in rows} == {b'{"pattern":"return"}'}
    assert first["queued_now"] == len(rows) and first["warned"] == 2

    second = world.post("analyst", "/v1/warnings", {"cluster_id": 1}).json()
    assert second["run_id"] == first["run_id"] and second["queued_now"] == 0
    assert len(outbox(world.container, event="scam.warning")) == len(rows)
    shown = world.get("analyst", f"/v1/warnings/{first['run_id']}").json()
    assert {c["customer_id"] for c in shown["customers"]} == {ids["at_risk"], ids["silent"]}


def test_the_warn_command_runs_the_same_and_dry_runs_write_nothing(world: World, settings: Settings) -> None:
    _setup_cluster(world)
    runner = CliRunner()

    def warn(*args: str) -> Any:
        result = runner.invoke(app, ["warn", *args], env=cli_env(settings))
        return result

    dry = warn("--cluster", "1", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    assert len(orjson.loads(dry.stdout)["would_warn"]) == 2
    assert outbox(world.container, event="scam.warning") == []
    done = warn("--cluster", "1")
    assert done.exit_code == 0, done.output
    assert "warned 2 customers" in " ".join(done.stdout.split())
    missing = warn("--cluster", "9")
    assert missing.exit_code == 2 and "no scam cluster" in " ".join(missing.output.split())
    assert warn().exit_code == 2
    assert warn("--cluster", "1", "--breach", "x").exit_code == 2


def test_a_scope_whose_event_fails_records_no_warning_and_queues_no_message(world: World) -> None:
    for who, when in (("c1", at(14, 9)), ("c2", at(14, 10))):
        log(world.container, when, who, "name|mobile")
    with access_events_refused(world.container, action="scope"):
        response = world.post("analyst", "/v1/breaches/scope", BODY | {"queue_warnings": True})
    assert response.status_code == 500
    with unit_of_work(world.container.sessions) as session:
        assert session.scalars(select(WarningRow)).first() is None
    assert outbox(world.container) == []


def test_a_warning_run_whose_event_fails_warns_nobody(world: World) -> None:
    _setup_cluster(world)
    with access_events_refused(world.container, action="warn"):
        assert world.post("analyst", "/v1/warnings", {"cluster_id": 1}).status_code == 500
    assert outbox(world.container, event="scam.warning") == []
    with unit_of_work(world.container.sessions) as session:
        assert session.scalars(select(WarningRow)).first() is None


# -- dry runs after a run ---------------------------------------------------------------------------


def test_a_dry_run_of_a_case_already_run_shows_who_was_warned_with_each_message_state(
    world: World, settings: Settings
) -> None:
    case_id = _case(world)
    # Deliver what the case queued. The log's customers are not in the vault, so each message
    # goes to dead letters with its reason: a state the security team must see.
    # The case queued on the real clock; at night its SMS wait for the morning, so the worker's
    # clock is moved past the quiet hours.
    worker = dataclasses.replace(world.container.notify_worker(), clock=past_quiet_hours)
    try:
        worker.drain()
    finally:
        worker.close()
    sent = outbox(world.container, event="breach.warning")
    assert sent and {r.state for r in sent} == {"dead"}

    dry = world.post("analyst", "/v1/warnings", {"breach_case": case_id, "dry_run": True})
    assert dry.status_code == 200, dry.text
    answer = dry.json()
    assert (answer["dry_run"], answer["already_warned"], answer["would_warn"]) == (True, 3, [])
    assert answer["would_queue_for_warned"] == []
    assert answer["messages"] == {"dead": len(sent)}
    assert [c["customer_id"] for c in answer["customers"]] == ["c1", "c2", "c4"]
    assert all(
        (m["state"], m["last_error"]) == ("dead", "customer erased or unknown")
        for c in answer["customers"]
        for m in c["messages"]
    )
    assert len(outbox(world.container)) == len(sent)

    shown = CliRunner().invoke(app, ["warn", "--breach", case_id, "--dry-run"], env=cli_env(settings))
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.split())
    assert f"already warned 3 customers ({len(sent)} dead)" in text
    assert "would warn 0 customers now: nobody new" in text
    assert "Already warned: messages" in text


def test_a_dry_run_of_a_case_whose_messages_are_missing_says_it_would_queue_them(world: World) -> None:
    with unit_of_work(world.container.sessions) as session:
        service.queue_warnings(session=session, case_id="case-2016-08", customer_ids=["c7", "c8"], now=at(16, 1))
    answer = world.post("analyst", "/v1/warnings", {"breach_case": "case-2016-08", "dry_run": True}).json()
    assert (answer["already_warned"], answer["would_warn"]) == (2, [])
    assert answer["would_queue_for_warned"] == ["c7", "c8"]
    assert outbox(world.container) == []


def test_a_dry_run_of_a_cluster_already_run_lists_the_warned_and_the_new_apart(world: World) -> None:
    ids = _setup_cluster(world)
    first = world.post("analyst", "/v1/warnings", {"cluster_id": 1}).json()
    assert first["warned"] == 2
    late = _stored(world, 7, returned=datetime(2026, 11, 17, tzinfo=UTC))

    answer = world.post("analyst", "/v1/warnings", {"cluster_id": 1, "dry_run": True}).json()
    assert answer["already_warned"] == 2
    assert {c["customer_id"] for c in answer["customers"]} == {ids["at_risk"], ids["silent"]}
    assert all(m["state"] == "queued" for c in answer["customers"] for m in c["messages"])
    assert answer["would_warn"] == [late]
    assert {r.customer_id for r in outbox(world.container, event="scam.warning")} == {ids["at_risk"], ids["silent"]}


def test_a_cluster_whose_victims_forgot_the_return_is_still_a_return_scam_by_their_own_returns(
    world: World,
) -> None:
    ids = _setup_cluster_forgetting(world)
    answer = world.post("analyst", "/v1/warnings", {"cluster_id": 1, "dry_run": True}).json()
    assert (answer["pattern"], answer["pattern_from"]) == ("return", "reporters' returns")
    # Customers with a return in the window, not everyone with an order in it.
    assert sorted(answer["would_warn"]) == sorted([ids["at_risk"], ids["silent"]])


def _setup_cluster_forgetting(world: World) -> dict[str, str]:
    ids = {
        "victim": _stored(world, 1, returned=datetime(2026, 11, 12, tzinfo=UTC)),
        "at_risk": _stored(world, 2, returned=datetime(2026, 11, 15, tzinfo=UTC)),
        "silent": _stored(world, 3, returned=datetime(2026, 11, 16, tzinfo=UTC)),
        "no_return": _stored(world, 4),
    }
    victim2 = _stored(world, 6, returned=datetime(2026, 11, 14, tzinfo=UTC))
    reports = [
        report(f"r-{n}", customer_id=cid, contacted_at=f"2026-11-2{n}T14:03:00+08:00", knew="name|items")
        | {"reported_at": f"2026-11-2{n}T15:00:00+08:00"}
        for n, cid in enumerate([ids["victim"], victim2])
    ]
    response = world.post("service", "/v1/scam-reports", {"reports": reports})
    assert response.status_code in (200, 201), response.text
    return ids
