"""The guard over HTTP: assess, outcome, status and metrics, with in-process and Redis counters."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from shopshield.bootstrap import build
from shopshield.settings import Settings
from testkit.factories import customer
from tests.support.backends import REDIS_URL
from tests.support.events import stored_events
from tests.support.login_api import PASSWORD_SHA1, assess
from tests.support.world import World, make_world


@pytest.fixture(params=["memory", "redis"])
def world(settings: Settings, request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "redis":
        prefix = request.getfixturevalue("redis_prefix")  # this test's own keys, removed after it
        settings = settings.model_copy(update={"redis_url": SecretStr(REDIS_URL), "redis_prefix": prefix})
    container = build(settings, migrate=False)
    yield make_world(container)
    container.close()


def test_assess_then_report_the_outcome(world: World) -> None:
    status, first = assess(world, device_id="phone-1")
    assert status == 200, first
    assert first["decision"] == "allow"
    assert [r["code"] for r in first["reasons"]] == ["no_history"]
    response = world.post("service", f"/v1/logins/{first['attempt_id']}/outcome", {"outcome": "success"})
    assert response.status_code == 200, response.text
    assert response.json() == {"attempt_id": first["attempt_id"], "actions": []}
    # The device and network are now familiar.
    _, second = assess(world, device_id="phone-1")
    assert second["reasons"] == [] and second["risk"] == 0
    # An outcome is taken once.
    again = world.post("service", f"/v1/logins/{first['attempt_id']}/outcome", {"outcome": "success"})
    assert again.status_code == 404 and again.json()["message"].startswith("no assessment awaits")


def test_brute_force_over_http_is_denied_with_reasons(world: World) -> None:
    decisions = []
    for i in range(12):
        sha = hashlib.sha1(f"guess{i}".encode()).hexdigest()  # noqa: S324
        _, body = assess(world, username="13900139000", password_sha1=sha)
        decisions.append(body["decision"])
        if body["decision"] != "deny":
            world.post("service", f"/v1/logins/{body['attempt_id']}/outcome", {"outcome": "bad_password"})
    assert decisions[0] == "allow" and decisions[-1] == "deny"
    assert "account_ip_failures" in {r["code"] for r in body["reasons"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ip": "not-an-address"}, "ip"),
        ({"password_sha1": "abc"}, "password_sha1"),
        ({"password": "hunter2"}, "password"),
        ({"username": ""}, "username"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_not_the_value(world: World, body: dict[str, str], field: str) -> None:
    status, answer = assess(world, **body)
    assert status == 422
    assert field in str(answer["message"])
    assert "hunter2" not in str(answer) and "not-an-address" not in str(answer)


def test_outcome_errors(world: World) -> None:
    missing = world.post("service", "/v1/logins/AAAAAAAAAAAAAAAAAAAAAA/outcome", {"outcome": "success"})
    assert missing.status_code == 404
    _, body = assess(world)
    wrong = world.post("service", f"/v1/logins/{body['attempt_id']}/outcome", {"outcome": "maybe"})
    assert wrong.status_code == 422
    bad_id = world.post("service", "/v1/logins/..%2F/outcome", {"outcome": "success"})
    assert bad_id.status_code in (404, 422)


def test_who_may_call(world: World) -> None:
    assert world.client.post("/v1/logins/assess", json={}).status_code == 401
    status, body = assess(world, who="agent")
    assert status == 403 and "logins.assess" in str(body["message"])
    assert world.get("service", "/v1/logins/status").status_code == 403
    state = world.get("analyst", "/v1/logins/status")
    assert state.status_code == 200
    assert state.json()["attack_mode"] is False
    assert state.json()["counters"] in ("memory", "redis")


def test_metrics_count_decisions_without_personal_data(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assess(world, username="alice@example.cn")
    text = world.client.get("/metrics").text
    assert 'shopshield_login_decisions_total{verdict="allow"} 1.0' in text
    assert "alice" not in text and "203.0.113.7" not in text
    assert "alice" not in caplog.text and PASSWORD_SHA1 not in caplog.text


def test_history_makes_a_customers_phone_familiar(world: World) -> None:
    known = {"username": "13700137000", "ip": "10.1.1.1", "device_id": "phone-9", "ts": "2026-11-01T08:00:00+08:00"}
    response = world.post("service", "/v1/logins/history", {"logins": [known]})
    assert response.status_code == 200 and response.json() == {"learnt": 1}
    _, body = assess(world, username="+86 137 0013 7000", ip="10.1.1.7", device_id="phone-9")
    assert body["reasons"] == [] and body["decision"] == "allow"
    bad = world.post("service", "/v1/logins/history", {"logins": [{**known, "ts": "2026-11-01T08:00:00"}]})
    assert bad.status_code == 422 and "ts" in bad.json()["message"]
    assert world.post("agent", "/v1/logins/history", {"logins": [known]}).status_code == 403


def test_a_missing_redis_never_turns_a_login_into_an_error(settings: Settings) -> None:
    gone = settings.model_copy(update={"redis_url": SecretStr("redis://127.0.0.1:1/0")})
    container = build(gone, migrate=False)
    try:
        world = make_world(container)
        status, first = assess(world, device_id="phone-1")
        assert status == 200 and first["decision"] == "allow"
        outcome = world.post("service", f"/v1/logins/{first['attempt_id']}/outcome", {"outcome": "success"})
        assert outcome.status_code == 200
        # Decisions go on, on local counters: the phone is familiar now.
        _, second = assess(world, device_id="phone-1")
        assert second["reasons"] == []
        state = world.get("analyst", "/v1/logins/status").json()
        assert state["counters"] == "memory (redis unavailable)"
        metrics = world.client.get("/metrics").text
        assert "shopshield_login_counter_fallbacks_total 0.0" not in metrics
        assert "shopshield_login_counter_fallbacks_total" in metrics
    finally:
        container.close()


def test_a_named_customers_success_is_their_login_in_the_access_log(world: World) -> None:
    _, body = assess(world, device_id="phone-1", ip="203.0.113.9")
    response = world.post(
        "service", f"/v1/logins/{body['attempt_id']}/outcome", {"outcome": "success", "customer_id": "c1001"}
    )
    assert response.status_code == 200 and response.json()["login_recorded"] is True
    [event] = stored_events(world.container, action="login")
    assert (event.actor_id, event.actor_kind, event.customer_id) == ("c1001", "customer", "c1001")
    assert event.source_ip == "203.0.113.9" and event.outcome == "ok"
    # Failures are not logins; an outcome without a customer id records nothing.
    _, other = assess(world)
    world.post(
        "service", f"/v1/logins/{other['attempt_id']}/outcome", {"outcome": "bad_password", "customer_id": "c1001"}
    )
    _, third = assess(world)
    plain = world.post("service", f"/v1/logins/{third['attempt_id']}/outcome", {"outcome": "success"})
    assert "login_recorded" not in plain.json()
    assert len(stored_events(world.container, action="login")) == 1
    bad = world.post(
        "service", f"/v1/logins/{third['attempt_id']}/outcome", {"outcome": "success", "customer_id": "1 3"}
    )
    assert bad.status_code == 422


def test_a_login_event_that_cannot_be_written_does_not_fail_the_login(world: World) -> None:
    engine = world.container.engine
    with engine.begin() as conn:  # a real fault: the log's table is away
        conn.execute(text("ALTER TABLE access_events RENAME TO access_events_away"))
    try:
        _, body = assess(world)
        response = world.post(
            "service", f"/v1/logins/{body['attempt_id']}/outcome", {"outcome": "success", "customer_id": "c1001"}
        )
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE access_events_away RENAME TO access_events"))
    assert response.status_code == 200 and response.json()["login_recorded"] is False
    assert world.container.metrics.get_sample_value("shopshield_login_events_failed_total") == 1.0


def test_the_customer_sees_their_login_in_their_access_report(world: World) -> None:
    stored = customer(1)
    assert world.post("service", "/v1/customers", stored).status_code == 201
    _, body = assess(world, device_id="phone-1", ip="198.51.100.20")
    done = {"outcome": "success", "customer_id": stored["customer_id"]}
    assert world.post("service", f"/v1/logins/{body['attempt_id']}/outcome", done).json()["login_recorded"]
    report = world.get("supervisor", f"/v1/customers/{stored['customer_id']}/access-report")
    assert report.status_code == 200, report.text
    logins = [e for e in report.json()["items"] if e["action"] == "login"]
    assert len(logins) == 1
    assert logins[0]["actor"] == {"id": stored["customer_id"], "role": "customer", "kind": "customer"}
