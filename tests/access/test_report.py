"""The access report ("right to know") over HTTP and on the command line, on both backends."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from shopshield.access import cli as access_cli
from shopshield.access.models import AccessEventRow, split_fields
from shopshield.audit.canonical import event_leaf_hash
from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.core.events import AccessEvent
from shopshield.principals import service as principals
from shopshield.settings import Settings
from testkit.factories import customer
from tests.support.environment import cli_env as _env
from tests.support.events import stored_events
from tests.support.world import CLIENT_ADDRESS, World, make_world

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
REPORT = "/v1/customers/{}/access-report"
ITEM_KEYS = {"at", "actor", "action", "fields", "purpose", "ticket_id", "channel", "outcome", "leaf_index"}
# Display names of the principals who touch the customer. make_world's own names ("agent",
# "service", ...) are also parts of role names, so they cannot show that names stay out.
DISPLAY_NAMES = {"wang": ("wang.xiaoming", "cs_agent"), "li": ("li.na-dpo", "security_analyst")}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class History:
    world: World
    clock: Clock
    body: dict[str, Any]
    ticket: str

    @property
    def cid(self) -> str:
        return str(self.body["customer_id"])

    def report(self, who: str, **params: Any) -> Any:
        return self.world.get(who, REPORT.format(self.cid), params=params)


@pytest.fixture
def history(container: Container) -> Iterator[History]:
    """A customer stored, viewed, revealed on a ticket and refused, one minute apart from T0."""
    clock = Clock(T0)
    container.vault = dataclasses.replace(container.vault, clock=clock)
    world = make_world(container)
    with unit_of_work(container.sessions) as session:
        for key, (name, role) in DISPLAY_NAMES.items():
            created = principals.create(session=session, policies=container.policies, name=name, role=role)
            world.tokens[key] = created.token
            world.ids[key] = created.principal.principal_id
    body = customer(1)
    cid = body["customer_id"]
    assert world.post("service", "/v1/customers", body).status_code == 201  # write
    clock.now = T0 + MINUTE
    assert world.get("wang", f"/v1/customers/{cid}").status_code == 200  # view, masked
    clock.now = T0 + 2 * MINUTE
    ticket = world.ticket("wang", cid)
    reveal = {"fields": ["mobile"], "purpose": "refund_dispute", "ticket_id": ticket}
    response = world.post("wang", f"/v1/customers/{cid}/reveal", reveal)
    assert response.status_code == 200 and response.json()["mobile"] == body["mobile"]
    clock.now = T0 + 3 * MINUTE
    assert world.get("supervisor", f"/v1/customers/{cid}").status_code == 200  # view
    clock.now = T0 + 4 * MINUTE
    assert world.get("courier", f"/v1/customers/{cid}").status_code == 403  # no order of theirs: denied
    clock.now = T0 + 10 * MINUTE
    yield History(world, clock, body, ticket)
    world.client.close()


def _event_count(container: Container) -> int:
    with unit_of_work(container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(AccessEventRow)) or 0)


def _personal_values(body: dict[str, Any]) -> list[str]:
    address = body["addresses"][0]
    return [body["name"], body["mobile"], body["email"], body["id_number"], address["street"], address["recipient"]]


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_report_lists_who_accessed_what_when_and_why(history: History) -> None:
    world, cid = history.world, history.cid

    response = history.report("li")

    assert response.status_code == 200, response.text
    report = response.json()
    assert set(report) == {"customer_id", "summary", "items", "next_cursor"}
    assert report["customer_id"] == cid and report["next_cursor"] is None
    items = report["items"]
    assert all(set(item) == ITEM_KEYS and set(item["actor"]) == {"id", "role", "kind"} for item in items)
    # Newest first: the refused courier, the supervisor, the reveal, the masked view, the write.
    assert [(i["action"], i["outcome"], i["actor"]["id"]) for i in items] == [
        ("view", "denied", world.ids["courier"]),
        ("view", "ok", world.ids["supervisor"]),
        ("reveal", "ok", world.ids["wang"]),
        ("view", "ok", world.ids["wang"]),
        ("write", "ok", world.ids["service"]),
    ]
    assert [i["at"] for i in items] == [_at(T0 + n * MINUTE) for n in (4, 3, 2, 1, 0)]
    courier, supervisor, reveal, view, write = items
    assert reveal["actor"] == {"id": world.ids["wang"], "role": "cs_agent", "kind": "staff"}
    assert (reveal["fields"], reveal["purpose"], reveal["ticket_id"]) == (["mobile"], "refund_dispute", history.ticket)
    assert view["fields"] == ["name", "mobile", "email", "recipient", "phone", "region", "street"]
    assert (view["purpose"], view["ticket_id"]) == (None, None)
    assert supervisor["actor"]["role"] == "cs_supervisor" and "id_number" in supervisor["fields"]
    assert courier["actor"] == {"id": world.ids["courier"], "role": "courier", "kind": "courier"}
    assert courier["fields"] == []
    assert write["actor"] == {"id": world.ids["service"], "role": "service", "kind": "service"}
    assert "name" in write["fields"] and "id_number" in write["fields"]
    assert all(i["channel"] == "api" for i in items)
    assert report["summary"] == {"total": 5, "actor_roles": ["courier", "cs_agent", "cs_supervisor", "service"]}

    # Each item names its leaf: the stored event there is this one, and its leaf hash is over
    # this item's "at", so the item can be checked against an inclusion proof for that index.
    stored = {row.leaf_index: row for row in stored_events(world.container, customer_id=cid)}
    for item in items:
        row = stored[item["leaf_index"]]
        assert (row.action, row.actor_id, row.outcome) == (item["action"], item["actor"]["id"], item["outcome"])
        assert list(split_fields(row.fields)) == item["fields"]
        event = AccessEvent(
            **{f.name: getattr(row, f.name) for f in dataclasses.fields(AccessEvent) if f.name != "fields"},
            fields=tuple(item["fields"]),
        )
        assert event_leaf_hash(row.leaf_index, item["at"], event) == row.leaf_hash

    # Ids and roles only: no personal value, no display name, no address the request came from.
    for value in [*_personal_values(history.body), *(name for name, _role in DISPLAY_NAMES.values()), CLIENT_ADDRESS]:
        assert value not in response.text


def test_producing_a_report_is_recorded_and_shows_in_the_next_one(history: History) -> None:
    world = history.world
    assert history.report("li").status_code == 200
    history.clock.now = T0 + 11 * MINUTE
    assert history.report("agent").status_code == 403  # refused: recorded as well
    history.clock.now = T0 + 12 * MINUTE

    report = history.report("supervisor").json()

    refused, made = report["items"][:2]
    assert made == {
        "at": _at(T0 + 10 * MINUTE),
        "actor": {"id": world.ids["li"], "role": "security_analyst", "kind": "staff"},
        "action": "report",
        "fields": [],
        "purpose": None,
        "ticket_id": None,
        "channel": "api",
        "outcome": "ok",
        "leaf_index": made["leaf_index"],
    }
    assert (refused["action"], refused["outcome"], refused["actor"]["id"]) == ("report", "denied", world.ids["agent"])
    assert refused["leaf_index"] > made["leaf_index"]
    assert report["summary"]["total"] == 7
    assert report["summary"]["actor_roles"] == ["courier", "cs_agent", "cs_supervisor", "security_analyst", "service"]
    # The supervisor's own report is queued in its transaction: it is in the log, not in its page.
    [last] = stored_events(world.container, action="report", actor_id=world.ids["supervisor"])
    assert (last.customer_id, last.outcome, last.fields, last.purpose) == (history.cid, "ok", "", None)
    assert last.leaf_index > refused["leaf_index"]


def test_pages_follow_the_cursor_newest_first(history: History) -> None:
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = history.report("analyst", **params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            break

    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    paged = [item for page in pages for item in page["items"]]
    indexes = [item["leaf_index"] for item in paged]
    assert indexes == sorted(indexes, reverse=True) and len(set(indexes)) == 5
    assert [p["next_cursor"] for p in pages[:-1]] == [str(p["items"][-1]["leaf_index"]) for p in pages[:-1]]
    # Reports made while paging are newer than the cursor, so they never push an item to the next
    # page; the summary counts what matched when each page was made.
    assert [p["summary"]["total"] for p in pages] == [5, 6, 7]
    everything = history.report("analyst").json()["items"]
    assert [i for i in everything if i["leaf_index"] <= indexes[0]] == paged
    assert [i["action"] for i in everything[:3]] == ["report"] * 3

    past_the_end = history.report("analyst", cursor="0").json()
    assert past_the_end["items"] == [] and past_the_end["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "minutes"),
    [
        ({"since": "2026-03-01T00:01:00Z", "until": "2026-03-01T00:03:00Z"}, [2, 1]),
        ({"since": "2026-03-01T08:02+08:00"}, [4, 3, 2]),  # the same instants in another zone
        ({"until": "2026-03-01T00:01"}, [0]),  # no zone: UTC; until is exclusive
        ({"since": "2026-03-01T00:01:00.000001Z"}, [4, 3, 2]),
        ({"since": "2026-03-01"}, [4, 3, 2, 1, 0]),
        ({"until": "2026-03-01"}, []),
    ],
)
def test_since_and_until_select_a_half_open_window(
    history: History, params: dict[str, str], minutes: list[int]
) -> None:
    response = history.report("admin", **params)

    assert response.status_code == 200, response.text
    report = response.json()
    assert [i["at"] for i in report["items"]] == [_at(T0 + n * MINUTE) for n in minutes]
    assert report["summary"]["total"] == len(minutes)
    assert set(report["summary"]["actor_roles"]) == {i["actor"]["role"] for i in report["items"]}


def test_window_and_cursor_combine(history: History) -> None:
    first = history.report("service", since="2026-03-01T00:01Z", limit=1).json()
    second = history.report("service", since="2026-03-01T00:01Z", limit=1, cursor=first["next_cursor"]).json()

    assert [i["at"] for i in first["items"] + second["items"]] == [_at(T0 + 4 * MINUTE), _at(T0 + 3 * MINUTE)]
    assert first["summary"]["total"] == 4


@pytest.mark.parametrize("who", ["agent", "courier", "merchant", "partner"])
def test_roles_without_the_permission_are_refused_and_recorded(history: History, who: str) -> None:
    response = history.report(who)

    assert response.status_code == 403
    payload = response.json()
    assert payload["error"] == "forbidden"
    assert "lacks the permission 'access_reports.read'" in payload["message"]
    assert history.cid not in response.text and "leaf_index" not in response.text
    [event] = stored_events(history.world.container, action="report")
    assert (event.actor_id, event.customer_id, event.outcome) == (history.world.ids[who], history.cid, "denied")
    assert event.reason == payload["message"]


@pytest.mark.parametrize("who", ["supervisor", "analyst", "admin", "service"])
def test_roles_with_the_permission_get_the_report(history: History, who: str) -> None:
    response = history.report(who)

    assert response.status_code == 200, response.text
    assert response.json()["summary"]["total"] == 5


@pytest.mark.parametrize(
    ("customer_id", "params", "secret"),
    [
        ("+8613812345678", {}, "13812345678"),
        ("刘杰", {}, "刘杰"),
        ("bad%20id", {}, "bad id"),
        ("x" * 80, {}, "x" * 80),
        ("c0000001", {"since": "liujie@example.cn"}, "liujie"),
        ("c0000001", {"until": "2026-13-01"}, "2026-13-01"),
        ("c0000001", {"since": "0001-01-01T00:00+01:00"}, "0001-01-01"),
        ("c0000001", {"since": "2026-03-02", "until": "2026-03-01"}, "2026-03-02"),
        ("c0000001", {"limit": "0"}, None),
        ("c0000001", {"limit": "1001"}, "1001"),
        ("c0000001", {"limit": "13812345678"}, "13812345678"),
        ("c0000001", {"cursor": "13812345678abc"}, "13812345678"),
        ("c0000001", {"cursor": "-1"}, None),
        ("c0000001", {"cursor": "9" * 40}, "9" * 40),
    ],
)
def test_bad_ids_and_parameters_are_rejected_without_echo(
    history: History, customer_id: str, params: dict[str, str], secret: str | None
) -> None:
    before = _event_count(history.world.container)

    response = history.world.get("analyst", REPORT.format(customer_id), params=params)

    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["error"] == "invalid_input" and payload["message"]
    if secret is not None:
        assert secret not in response.text
    assert _event_count(history.world.container) == before  # nothing was reported, so nothing is recorded


def test_an_erased_customer_keeps_their_report(history: History) -> None:
    assert history.world.delete("service", f"/v1/customers/{history.cid}").status_code == 200

    report = history.report("analyst").json()

    assert [(i["action"], i["actor"]["role"]) for i in report["items"][:2]] == [
        ("erase", "service"),
        ("view", "courier"),
    ]
    assert report["summary"]["total"] == 6


# -- command line ---------------------------------------------------------------------------------


def _run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(app, ["access-report", *args], env=_env(settings))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_cli_prints_the_report_and_records_it(history: History, settings: Settings) -> None:
    world = history.world
    over_http = history.report("analyst").json()

    result = _run(settings, history.cid, "--json")

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    # The same report as over HTTP, plus the analyst's report, which committed in between.
    assert printed["items"][1:] == over_http["items"]
    assert printed["items"][0]["actor"] == {"id": world.ids["analyst"], "role": "security_analyst", "kind": "staff"}
    assert printed["summary"]["total"] == 6
    [event] = stored_events(world.container, action="report", channel="cli")
    assert (event.actor_id, event.actor_role, event.actor_kind) == ("cli", "operator", "other")
    assert (event.customer_id, event.outcome, event.fields) == (history.cid, "ok", "")

    # A window around the fixture's clock: the report just made ran on the real clock.
    piped = _run(settings, history.cid, "--limit", "2", "--since", "2026-03-01", "--until", "2026-03-01T00:04Z")

    assert piped.exit_code == 0, piped.output
    lines = piped.stdout.splitlines()
    assert lines[0].split("\t")[:4] == ["at", "actor", "kind", "action"]
    supervisor = lines[1].split("\t")
    assert supervisor[:4] == [_at(T0 + 3 * MINUTE), f"cs_supervisor {world.ids['supervisor']}", "staff", "view"]
    assert lines[2].split("\t")[4:7] == ["mobile", "refund_dispute", history.ticket]
    assert "4 access events for c0000001; actor roles: cs_agent, cs_supervisor, service" in piped.stdout
    assert f"more: --cursor {lines[2].split(chr(9))[-1]}" in piped.stdout
    for value in [*_personal_values(history.body), *(name for name, _role in DISPLAY_NAMES.values())]:
        assert value not in piped.output


def test_cli_prints_a_table_on_a_terminal(
    history: History, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(access_cli, "out", Console(file=screen, force_terminal=True, width=250, color_system=None))

    result = _run(settings, history.cid)

    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    assert "Access report for c0000001" in shown
    assert f"cs_agent {history.world.ids['wang']}" in shown and "refund_dispute" in shown
    assert "5 access events for c0000001" in _flat(shown)
    assert history.body["mobile"] not in shown and "wang.xiaoming" not in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad id"], "customer_id: 1-64 letters"),
        (["c0000001", "--since", "last tuesday"], "--since: expected an ISO 8601"),
        (["c0000001", "--until", "2026-13-01"], "--until: expected an ISO 8601"),
        (["c0000001", "--since", "2026-03-02", "--until", "2026-03-01"], "--since must be before --until"),
        (["c0000001", "--limit", "0"], "--limit: must be between 1 and 1000"),
        (["c0000001", "--cursor", "abc"], "--cursor: must be the next cursor of a previous page"),
    ],
)
def test_cli_rejects_bad_input(settings: Settings, args: list[str], message: str) -> None:
    result = _run(settings, *args)

    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert "Traceback" not in result.output
