"""The red team's attack: a masked mobile (159****8494) becomes the full number by searching the
10,000 middle digits. Each test performs it over HTTP, as the attacker did, on SQLite and
PostgreSQL, against the shipped policy: it must stop within the role's limit on searches that
find nobody, before the number is found, with the refusals in the access log and an alert for
the security team. Roles that may not search by mobile are refused on the first try."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shopshield.access.models import QuotaUsageRow
from shopshield.bootstrap import Container
from shopshield.core.callers import Caller
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.errors import QuotaExceeded
from shopshield.core.policy import RolePolicy, load_policies
from shopshield.settings import Settings
from shopshield.vault import service as vault_service
from testkit.factories import customer
from tests.support.events import stored_events
from tests.support.policies import container_with
from tests.support.world import ROLES, World, make_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Half past midnight in Shanghai: every hour the patient attacker waits stays on the same local day.
DAY_START = datetime(2026, 12, 2, 0, 30, tzinfo=SHANGHAI)
MAY_SEARCH_BY_MOBILE = ("agent", "supervisor", "analyst", "service")
MAY_NOT = ("partner", "courier", "merchant", "admin")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(container: Container) -> Clock:
    clock = Clock(DAY_START)
    container.vault = dataclasses.replace(container.vault, clock=clock)
    return clock


@pytest.fixture
def world(container: Container, clock: Clock) -> Iterator[World]:
    w = make_world(container)
    yield w
    w.client.close()


def number(middle: int) -> str:
    """The full number behind 159****8494 for one guess of the middle digits."""
    return f"159{middle:04d}8494"


def policy_of(world: World, who: str) -> RolePolicy:
    return world.container.policies.role(ROLES[who][0])


def search_body(world: World, who: str, mobile: str) -> dict[str, str]:
    """What the attacker sends: the guess, and a purpose where the role's policy asks for one."""
    required = policy_of(world, who).search_purposes("mobile")
    return {"mobile": mobile} | ({"purpose": sorted(required)[0]} if required else {})


def plant(world: World, middle: int) -> dict[str, Any]:
    body = customer(1)
    body["mobile"] = number(middle)
    body["addresses"][0]["phone"] = number(middle)
    assert world.post("service", "/v1/customers", body).status_code == 201
    return body


def enumerate_until_stopped(world: World, who: str, first: int) -> tuple[int, Any]:
    """Try middles from ``first`` on until an answer is not an empty 200: how many were misses,
    and that answer."""
    middle = first
    while middle < 10_000:
        response = world.post(who, "/v1/customers/search", search_body(world, who, number(middle)))
        if response.status_code != 200 or response.json()["customers"]:
            return middle - first, response
        middle += 1
    raise AssertionError(f"{who} tried all 10,000 middles without being stopped")


def test_exactly_these_roles_may_search_by_mobile(container: Container) -> None:
    may = {who for who, (role, _link) in ROLES.items() if container.policies.role(role).may_search("mobile")}
    assert may == {*MAY_SEARCH_BY_MOBILE, "agent2"}


@pytest.mark.parametrize("who", MAY_SEARCH_BY_MOBILE)
def test_enumerating_the_middle_digits_stops_within_the_hourly_miss_limit(
    world: World, who: str, caplog: pytest.LogCaptureFixture
) -> None:
    limits = policy_of(world, who).search
    assert limits is not None
    limit = limits.misses_per_hour
    target = plant(world, limit + 3)  # a guess the limit should never let through

    with caplog.at_level(logging.WARNING, logger="shopshield"):
        misses, stopped = enumerate_until_stopped(world, who, 0)
        again = world.post(who, "/v1/customers/search", search_body(world, who, target["mobile"]))

    assert stopped.status_code == 429, f"{who} found the full number after {misses} misses: {stopped.text}"
    assert misses == limit
    assert stopped.json() | {"message": None} == {
        "error": "quota_exceeded",
        "message": None,
        "kind": "search_misses_per_hour",
        "limit": limit,
    }
    # The right number itself is refused now: the limit does not answer the one try that would hit.
    assert again.status_code == 429 and target["customer_id"] not in again.text

    events = stored_events(world.container, actor_id=world.ids[who], action="search")
    assert [e.outcome for e in events] == ["no_match"] * limit + ["quota_exceeded"] * 2
    assert all(e.customer_id is None and e.fields == "mobile" for e in events)
    assert {e.reason for e in events[limit:]} == {f"hourly limit of {limit} searches that find nobody is used up"}

    [alert] = world.get("analyst", "/v1/alerts", params={"actor_id": world.ids[who]}).json()["alerts"]
    assert (alert["kind"], alert["actor_role"], alert["occurrences"], alert["status"]) == (
        "search_limit",
        ROLES[who][0],
        2,
        "open",
    )
    assert alert["details"]["limit"] == "search_misses_per_hour" and alert["details"]["field"] == "mobile"
    assert "searches that find nobody" in alert["reason"]
    listed = world.get("analyst", "/v1/alerts").text
    assert target["mobile"] not in listed and number(0) not in listed

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and world.ids[who] in warnings[0]
    assert not any(target["mobile"] in m or number(0) in m for m in caplog.messages)


@pytest.mark.parametrize("who", ["agent", "supervisor", "analyst"])
def test_a_patient_attacker_is_stopped_by_the_daily_miss_limit(world: World, clock: Clock, who: str) -> None:
    """Waiting out each hourly refusal gains at most the daily limit. (The store's backend, which
    sees every number in full anyway, has a daily limit sized to a store's traffic instead.)"""
    limits = policy_of(world, who).search
    assert limits is not None
    target = plant(world, limits.misses_per_day + 3)
    tried, hours, stopped = 0, 0, None
    while hours < 24:
        clock.now = DAY_START + timedelta(hours=hours)
        misses, stopped = enumerate_until_stopped(world, who, tried)
        tried += misses
        hours += 1
        assert stopped.status_code == 429, f"{who} found the full number after {tried} misses: {stopped.text}"
        if stopped.json()["kind"] == "search_misses_per_day":
            break
    assert stopped is not None and stopped.json()["kind"] == "search_misses_per_day"
    assert tried == limits.misses_per_day
    assert target["customer_id"] not in stopped.text
    # One alert per hour in which the attacker passed a limit, not one per refusal.
    alerts = world.get("analyst", "/v1/alerts", params={"actor_id": world.ids[who]}).json()["alerts"]
    assert len(alerts) == hours
    assert [a["details"]["limit"] for a in alerts] == ["search_misses_per_day"] + ["search_misses_per_hour"] * (
        hours - 1
    )


@pytest.mark.parametrize("who", MAY_NOT)
def test_roles_that_may_not_search_by_mobile_are_refused_on_the_first_try(world: World, who: str) -> None:
    target = plant(world, 1234)

    first = world.post(who, "/v1/customers/search", {"mobile": target["mobile"]})
    by_query = world.get(who, "/v1/customers", params={"mobile": target["mobile"]})

    assert (first.status_code, by_query.status_code) == (403, 403)
    assert first.json()["message"] == f"role {ROLES[who][0]!r} may not search by mobile"
    events = stored_events(world.container, actor_id=world.ids[who], action="search")
    assert [(e.outcome, e.customer_id) for e in events] == [("denied", None)] * 2


def test_searches_that_find_someone_count_against_the_search_limits(settings: Settings, tmp_path: Path) -> None:
    """Hits are counted too: every search uses one of the hour's searches, a hit also one view."""
    shipped = load_policies()
    supervisor = shipped.role(ROLES["supervisor"][0])
    assert supervisor.search is not None
    # Three searches an hour, misses no more (a limit on misses cannot exceed the one on all).
    tighter = supervisor.search.with_limits(per_hour=3, misses_per_hour=3)
    policies = shipped.with_role(ROLES["supervisor"][0], supervisor.with_limits(search=tighter))
    with container_with(settings, policies, tmp_path) as container:
        container.vault = dataclasses.replace(container.vault, clock=Clock(DAY_START))
        world = make_world(container)
        target = plant(world, 42)
        answers = [
            world.post("supervisor", "/v1/customers/search", {"mobile": target["mobile"]}).status_code for _ in range(4)
        ]
        world.client.close()
        events = stored_events(container, actor_id=world.ids["supervisor"], action="search")
        with unit_of_work(container.sessions) as session:
            used = {r.kind: r.used for r in session.scalars(select(QuotaUsageRow))}
    assert answers == [200, 200, 200, 429]
    assert [e.outcome for e in events] == ["ok"] * 3 + ["quota_exceeded"]
    assert events[-1].reason == "hourly limit of 3 searches is used up"
    # Refused requests move no counter; misses stay unused by hits.
    assert used == {"search@00": 3, "search": 3, "search_miss@00": 0, "search_miss": 0, "view": 3}


def test_a_purpose_is_needed_where_the_policy_asks_for_one(world: World) -> None:
    target = plant(world, 7)
    without = world.post("agent", "/v1/customers/search", {"mobile": target["mobile"]})
    wrong = world.get("agent", "/v1/customers", params={"mobile": target["mobile"], "purpose": "inbound_message"})
    unknown = world.post("agent", "/v1/customers/search", {"mobile": target["mobile"], "purpose": "curiosity"})
    right = world.get("agent", "/v1/customers", params={"mobile": target["mobile"], "purpose": "inbound_call"})

    assert [r.status_code for r in (without, wrong, unknown)] == [422] * 3
    assert without.json()["message"] == "purpose: searching by mobile needs one of inbound_call"
    assert "curiosity" not in unknown.text
    assert right.status_code == 200 and [c["customer_id"] for c in right.json()["customers"]] == [target["customer_id"]]
    [event] = stored_events(world.container, actor_id=world.ids["agent"], action="search")
    assert (event.outcome, event.purpose, event.customer_id) == ("ok", "inbound_call", target["customer_id"])


def test_concurrent_searches_never_pass_the_miss_limit(container: Container, clock: Clock) -> None:
    """Eight threads search at once as one agent, each search its own transaction: exactly the
    limit's worth of misses is answered; then, all at once, the right number is refused to all."""
    world = make_world(container)
    target = plant(world, 9999)
    world.client.close()
    policy = container.policies.role("cs_agent")
    assert policy.search is not None
    limit = policy.search.misses_per_hour
    caller = Caller(principal=container.authenticator.authenticate(world.tokens["agent"]))
    answers: list[str] = []
    lock = threading.Lock()

    def search(middles: list[int]) -> None:
        for middle in middles:
            try:
                with transaction(container.engine) as tx:
                    found = vault_service.search(
                        vault=container.vault,
                        tx=tx,
                        caller=caller,
                        by="mobile",
                        value=number(middle),
                        purpose="inbound_call",
                    )
                outcome = "hit" if found else "miss"
            except QuotaExceeded as exc:
                outcome = exc.kind
            with lock:
                answers.append(outcome)

    def at_once(work: list[list[int]]) -> None:
        start = threading.Barrier(len(work))

        def together(mobiles: list[int]) -> None:
            start.wait()
            search(mobiles)

        threads = [threading.Thread(target=together, args=(m,)) for m in work]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    at_once([[w * 10 + n for n in range(3)] for w in range(8)])
    assert sorted(answers) == ["miss"] * limit + ["search_misses_per_hour"] * (24 - limit)
    answers.clear()
    at_once([[9999] for _ in range(8)])
    assert answers == ["search_misses_per_hour"] * 8

    events = stored_events(container, actor_id=world.ids["agent"], action="search")
    assert sorted(e.outcome for e in events) == ["no_match"] * limit + ["quota_exceeded"] * (32 - limit)
    assert target["customer_id"] not in {e.customer_id for e in events}
    with unit_of_work(container.sessions) as session:
        used = {r.kind: r.used for r in session.scalars(select(QuotaUsageRow))}
    # The refused hits moved nothing, not even the views they would have used.
    assert used == {"search@00": limit, "search": limit, "search_miss@00": limit, "search_miss": limit, "view": 0}
