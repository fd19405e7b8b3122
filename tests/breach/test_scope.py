"""The scope of a breach against a hand-built access log, on SQLite and PostgreSQL: exactly the
customers, fields, counts and window bounds the events say; warnings once per case; the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shopshield.bootstrap import Container
from shopshield.breach import service
from shopshield.breach.models import WarningRow
from shopshield.canary import service as canaries
from shopshield.canary.schemas import PlantIn
from shopshield.core.callers import OPERATOR
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.principals import service as principals
from tests.support.breach_log import ACTOR, BODY, at, log
from tests.support.events import stored_events
from tests.support.outbox import outbox
from tests.support.world import World

SINCE = datetime(2016, 7, 14, tzinfo=UTC)
UNTIL = datetime(2016, 7, 16, tzinfo=UTC)


@pytest.fixture
def canary_id(container: Container) -> str:
    with unit_of_work(container.sessions) as session:
        # The store's backend, under which the canary's writes are recorded (docs/canaries.md).
        principals.create(session=session, policies=container.policies, name="store-backend", role="service")
        planted = canaries.plant(
            vault=container.vault,
            session=session,
            caller=OPERATOR,
            request=PlantIn(recipient="partner-sf", count=1),
            mobile_prefix="1700000",
            backend="store-backend",
        )
    return planted.customer_ids[0]


@pytest.fixture
def logged(container: Container, canary_id: str) -> str:
    """The hand-built log: what the scope must find, and what it must leave out."""
    log(container, at(14, 9), "c1", "name|mobile")
    log(container, at(14, 10), "c1", "items|returns", order_id="o1")
    log(container, at(14, 12), "c2", "name")
    log(container, SINCE - timedelta(microseconds=1), "c3", "name")  # just before the window
    log(container, SINCE, "c4", "street")  # the window's first moment
    log(container, UNTIL, "c5", "name")  # the window's end, outside
    log(container, UNTIL - timedelta(microseconds=1), "c4", "region|street")  # its last moment
    log(container, at(15, 1), "c6", "name", outcome="denied", reason="ticket is not open")
    log(container, at(15, 2), "c7", "", action="report")  # showed no field
    log(container, at(15, 3), "c8", "", order_id="o8")  # an order, no field
    log(container, at(15, 4), canary_id, "name|mobile|items")
    log(container, at(15, 5), "c9", "name", actor_id="staff-9")
    log(container, at(15, 6), "c10", "id_number", actor_kind="other")
    log(container, at(15, 7), None, "")
    return canary_id


def scope_of(container: Container, **kw: Any) -> service.Scope:
    options: dict[str, Any] = {
        "actor_id": ACTOR,
        "actor_kind": "staff",
        "since": "2016-07-14",
        "until": "2016-07-16",
        "tz": "UTC",
    } | kw
    query = service.parse_query(**options)
    with transaction(container.engine, read_only=True) as tx:
        return service.scope(tx=tx, query=query, now=at(20, 0))


def test_scope_matches_the_hand_built_log_exactly(container: Container, logged: str) -> None:
    found = scope_of(container).json()

    assert found["customers"] == [
        {
            "customer_id": "c1",
            "fields": ["name", "mobile", "items", "returns"],
            "orders": 1,
            "first_access": "2016-07-14T09:00:00Z",
            "last_access": "2016-07-14T10:00:00Z",
            "events": 2,
        },
        {
            "customer_id": "c2",
            "fields": ["name"],
            "orders": 0,
            "first_access": "2016-07-14T12:00:00Z",
            "last_access": "2016-07-14T12:00:00Z",
            "events": 1,
        },
        {
            "customer_id": "c4",
            "fields": ["region", "street"],
            "orders": 0,
            "first_access": "2016-07-14T00:00:00Z",
            "last_access": "2016-07-15T23:59:59.999999Z",
            "events": 2,
        },
        {
            "customer_id": "c8",
            "fields": [],
            "orders": 1,
            "first_access": "2016-07-15T03:00:00Z",
            "last_access": "2016-07-15T03:00:00Z",
            "events": 1,
        },
    ]
    assert found["totals"] == {"customers": 4, "events": 6, "orders": 2, "canaries": 1}
    assert found["fields"] == [
        {"field": "name", "customers": 2},
        {"field": "mobile", "customers": 1},
        {"field": "region", "customers": 1},
        {"field": "street", "customers": 1},
        {"field": "items", "customers": 1},
        {"field": "returns", "customers": 1},
    ]
    assert [(c["category"], c["customers"]) for c in found["categories"]] == [
        ("name", 2),
        ("contact", 1),
        ("address", 1),
        ("purchases", 2),
    ]
    assert found["canaries"] == [{"customer_id": logged, "recipient": "partner-sf", "events": 1}]
    assert found["window"] == {"since": "2016-07-14T00:00:00Z", "until": "2016-07-16T00:00:00Z", "tz": "UTC"}
    assert found["source"] == {"actor_id": ACTOR, "actor_kind": "staff", "attribution": None}


def test_without_a_kind_every_event_of_the_actor_id_counts_and_an_open_window_runs_to_now(
    container: Container, logged: str
) -> None:
    by_kind = scope_of(container, actor_kind=None)
    open_ended = scope_of(container, until=None)

    assert [c.customer_id for c in by_kind.customers] == ["c1", "c10", "c2", "c4", "c8"]
    assert [c.customer_id for c in open_ended.customers] == ["c1", "c2", "c4", "c5", "c8"]


def test_times_without_an_offset_are_read_in_the_zone(container: Container, logged: str) -> None:
    # Midnight in Shanghai is 16:00 UTC the day before: c3's access (23:59:59.999999 UTC) is inside,
    # and 20:00 there is 12:00 UTC, before c4's second access.
    found = scope_of(container, since="2016-07-14", until="2016-07-15T20:00", tz="Asia/Shanghai")

    assert [(c.customer_id, c.events) for c in found.customers] == [
        ("c1", 2),
        ("c2", 1),
        ("c3", 1),
        ("c4", 1),
        ("c8", 1),
    ]


def test_warnings_are_queued_once_per_case(container: Container, logged: str) -> None:
    found = scope_of(container)

    def run(scope: service.Scope) -> service.Scope:
        with unit_of_work(container.sessions) as session:
            return service.record(vault=container.vault, session=session, caller=OPERATOR, scope=scope, warn=True)

    first, second = run(found), run(found)
    wider = run(scope_of(container, until=None))
    other_case = run(scope_of(container, case_id="case-2016-07"))

    assert first.warnings == service.Queued(found.query.case_id, 4, 0)
    assert second.warnings == service.Queued(found.query.case_id, 0, 4)
    assert wider.warnings is not None and (wider.warnings.queued, wider.warnings.already_queued) == (5, 0)
    assert other_case.warnings == service.Queued("case-2016-07", 4, 0)
    with unit_of_work(container.sessions) as session:
        rows = list(session.scalars(select(WarningRow).where(WarningRow.case_id == found.query.case_id)))
    assert sorted(r.customer_id for r in rows) == ["c1", "c2", "c4", "c8"]  # not the canary
    assert {(r.status, r.reason, r.template, r.sent_at) for r in rows} == {
        ("queued", "breach_exposure", "anti_scam_v1", None)
    }
    # Each warning is delivered through the notify outbox: its messages name it as their source.
    messages = outbox(container, event="breach.warning", source="breach")
    assert {m.source_ref for m in messages} >= {r.warning_id for r in rows}
    assert {m.customer_id for m in messages if m.source_ref in {r.warning_id for r in rows}} == {"c1", "c2", "c4", "c8"}
    assert first.warnings is not None and first.warnings.notifications == len(
        [m for m in messages if m.source_ref in {r.warning_id for r in rows}]
    )
    scopes = stored_events(container, actor_id="cli", action="scope")
    assert len(scopes) == 4
    assert scopes[0].reason == f"breach scope {found.query.case_id}: actor {ACTOR}, 4 customers"
    assert scopes[0].customer_id is None and scopes[0].fields == ""


def test_the_case_id_is_derived_from_the_source_and_the_window() -> None:
    one = service.default_case_id(ACTOR, "staff", SINCE, UNTIL)

    assert one == service.default_case_id(ACTOR, "staff", SINCE, UNTIL)
    assert one.startswith("breach-") and len(one) == len("breach-") + 16
    assert (
        len(
            {
                one,
                service.default_case_id(ACTOR, None, SINCE, UNTIL),
                service.default_case_id(ACTOR, "staff", SINCE, None),
            }
        )
        == 3
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"actor_id": "staff 0417"}, "actor: 1-64"),
        ({"actor_kind": "wizard"}, "kind: must be one of"),
        ({"since": None}, "since: the start of the window is needed"),
        ({"since": "yesterday"}, "since: expected an ISO 8601"),
        ({"until": "2016-07-13"}, "since must be before until"),
        ({"tz": "Mars/Olympus"}, "tz: must be an IANA time zone"),
        ({"case_id": "case 1"}, "case: 1-64"),
    ],
)
def test_bad_questions_are_refused_with_a_reason(options: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "actor_id": ACTOR,
        "actor_kind": "staff",
        "since": "2016-07-14",
        "until": "2016-07-16",
        "tz": "UTC",
    } | options
    with pytest.raises(InvalidInput, match=message):
        service.parse_query(**arguments)


# -- the API -------------------------------------------------------------------------------------


def test_the_api_answers_the_same_scope_and_records_that_it_ran(world: World, logged: str) -> None:
    response = world.post("analyst", "/v1/breaches/scope", BODY | {"queue_warnings": True, "include_report": True})

    assert response.status_code == 200, response.text
    body = response.json()
    expected = scope_of(world.container).json()
    assert {k: v for k, v in body.items() if k not in {"generated_at", "warnings", "report_markdown"}} == {
        k: v for k, v in expected.items() if k not in {"generated_at", "warnings"}
    }
    messages = outbox(world.container, event="breach.warning")
    assert body["warnings"] == {
        "case_id": expected["case_id"],
        "queued": 4,
        "already_queued": 0,
        "notifications": len(messages),
    }
    assert {m.customer_id for m in messages} == {"c1", "c2", "c4", "c8"}
    assert "of 4 customers" in body["report_markdown"]
    [ran] = stored_events(world.container, action="scope")
    assert (ran.actor_id, ran.actor_role) == (world.ids["analyst"], "security_analyst")


def test_the_api_is_for_security_staff(world: World, logged: str) -> None:
    assert world.client.post("/v1/breaches/scope", json=BODY).status_code == 401
    for who in ("agent", "supervisor", "service", "courier", "partner"):
        assert world.post(who, "/v1/breaches/scope", BODY).status_code == 403, who
    assert world.post("admin", "/v1/breaches/scope", BODY).status_code == 200
    assert stored_events(world.container, action="scope")[0].actor_role == "admin"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (BODY | {"since": "yesterday"}, 422, "since"),
        (BODY | {"actor_kind": "wizard"}, 422, "actor_kind"),
        ({k: v for k, v in BODY.items() if k != "since"}, 422, None),
        (BODY | {"until": "2016-07-01T00:00:00Z"}, 422, "since"),
    ],
)
def test_bad_api_requests_get_a_reason_and_record_nothing(
    world: World, logged: str, body: dict[str, Any], status: int, field: str | None
) -> None:
    response = world.post("analyst", "/v1/breaches/scope", body)

    assert response.status_code == status
    assert response.json().get("field") == field
    assert stored_events(world.container, action="scope") == []
    with unit_of_work(world.container.sessions) as session:
        assert session.scalars(select(WarningRow)).first() is None
