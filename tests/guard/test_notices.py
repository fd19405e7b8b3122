"""What a login tells the customer: a new device or network, a risky login let through, a reset
required; queued with the login's access event, in its transaction (decision 0028)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from shopshield.bootstrap import Container, build
from shopshield.core.db import transaction
from shopshield.guard import service
from shopshield.settings import Settings
from tests.support.faults import access_events_refused
from tests.support.login_api import assess
from tests.support.outbox import details, outbox
from tests.support.world import World, make_world

AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    container = build(settings, migrate=False)
    yield make_world(container)
    container.close()


def _login(world: World, customer_id: str, **body: Any) -> dict[str, Any]:
    _, assessed = assess(world, **body)
    response = world.post(
        "service", f"/v1/logins/{assessed['attempt_id']}/outcome", {"outcome": "success", "customer_id": customer_id}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_login_from_a_new_device_tells_the_customer_a_familiar_one_does_not(world: World) -> None:
    # The account's first login has nothing to compare with: no message.
    assert _login(world, "c1001", device_id="phone-1")["login_recorded"] is True
    assert outbox(world.container) == []
    assert _login(world, "c1001", device_id="phone-1")["login_recorded"] is True
    assert outbox(world.container) == []
    # A device the account never used.
    assert _login(world, "c1001", device_id="tablet-7")["login_recorded"] is True
    rows = outbox(world.container)
    assert rows and {(r.event, r.customer_id, r.source) for r in rows} == {("login.new_device", "c1001", "guard")}
    assert {details(r).get("device") for r in rows} == {None}  # the device id is never a detail


def _record(container: Container, attempt_id: str, **kw: Any) -> list[str]:
    with transaction(container.engine) as tx:
        return service.record_login(
            audit=container.audit,
            tx=tx,
            customer_id="c1002",
            address="203.0.113.9",
            channel="api",
            at=AT,
            notices=container.vault.notices,
            attempt_id=attempt_id,
            **kw,
        )


def test_a_risky_login_let_through_and_its_reset_are_told_once_per_attempt(container: Container) -> None:
    told = _record(container, "attempt-0000000001", risk_reason="breached_password", reset=True)
    rows = outbox(container)
    assert sorted(told) == sorted(r.notification_id for r in rows)
    assert {r.event for r in rows} == {"login.risky", "password.reset_required"}
    assert {details(r).get("reason") for r in rows if r.event == "password.reset_required"} == {"breached_password"}
    # The same attempt's outcome again tells nobody twice.
    assert _record(container, "attempt-0000000001", risk_reason="breached_password", reset=True) == []
    during_attack = _record(container, "attempt-0000000002", risk_reason="new_login_during_attack", reset=True)
    reasons = {details(r).get("reason") for r in outbox(container) if r.notification_id in during_attack}
    assert reasons == {"suspicious_login", None}
    # A risky login is not also a new-device message.
    assert not [r for r in outbox(container) if r.event == "login.new_device"]


def test_a_login_whose_event_fails_tells_nobody(world: World) -> None:
    _login(world, "c1003", device_id="phone-1")
    with access_events_refused(world.container, action="login"):
        assert _login(world, "c1003", device_id="tablet-7")["login_recorded"] is False
    assert outbox(world.container) == []
