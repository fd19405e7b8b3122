"""Insider bulk-access detection on a hand-built staff: the bulk day stands out, busy roles and
busy days do not."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shopshield.access.export import SCHEMA as EXPORT_SCHEMA
from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.investigate import events, insiders
from shopshield.principals import service as principals
from shopshield.settings import Settings
from testkit import factories
from tests.support.environment import cli_env
from tests.support.world import make_world

START = datetime(2026, 10, 1, tzinfo=UTC)  # 08:00 in Shanghai
SCHEMA = pa.schema(
    [
        EXPORT_SCHEMA.field(n)
        for n in ("ts", "actor_id", "actor_kind", "actor_role", "action", "customer_id", "fields", "ticket_id")
    ]
)
SURGE_DAY = 18  # inside the period under test: the log's last 14 days (16-29)
INSIDER_DAY = 20


def _staff(tmp_path: Path, *, insider: bool = True) -> Path:
    rng = random.Random(5)
    rows: list[tuple[object, ...]] = []

    def read(actor: str, role: str, day: int, customer: int, *, hour: float | None = None, ticket: bool = True) -> None:
        at = START + timedelta(days=day, hours=hour if hour is not None else rng.uniform(0.5, 11))
        rows.append((at, actor, "staff", role, "view", f"c{customer:06d}", "name|mobile", "t-1" if ticket else None))

    for day in range(30):
        surge = 2 if day == SURGE_DAY else 1  # a sale: every agent reads twice as much
        for a in range(40):
            for _ in range(rng.randint(30, 50) * surge):
                read(f"agent-{a:02d}", "cs_agent", day, rng.randrange(100_000))
        for s in range(3):
            for _ in range(rng.randint(350, 450)):
                read(f"sup-{s}", "cs_supervisor", day, rng.randrange(100_000))
    for day in range(27, 30):  # a new agent, three normal days
        for _ in range(rng.randint(30, 50)):
            read("agent-new", "cs_agent", day, rng.randrange(100_000))
    if insider:  # agent-07 walks 400 consecutive customers in the evening, without tickets
        first = rng.randrange(50_000)
        for n in range(400):
            read("agent-07", "cs_agent", INSIDER_DAY, first + n, hour=13 + n / 200, ticket=False)
    return _write(rows, tmp_path / "staff.parquet")


def _write(rows: Sequence[tuple[object, ...]], path: Path) -> Path:
    columns = zip(*rows, strict=True)
    pq.write_table(
        pa.table({name: list(col) for name, col in zip(SCHEMA.names, columns, strict=True)}, schema=SCHEMA), path
    )
    return path


def _detect(path: Path) -> list[insiders.ActorDay]:
    con = events.connect()
    events.open_events(con, [path])
    insiders.load_metadata(con)
    return insiders.detect(con)


def test_the_bulk_day_is_the_top_alert_with_its_reasons(tmp_path: Path) -> None:
    days = _detect(_staff(tmp_path))
    top = days[0]
    assert (top.actor_id, top.day) == ("agent-07", date(2026, 10, 1) + timedelta(days=INSIDER_DAY))
    assert top.score >= insiders.DEFAULT_THRESHOLD
    words = " ".join(r.words() for r in top.reasons)
    for feature in ("customers accessed", "without a ticket", "outside working hours", "consecutive customer ids"):
        assert feature in words
    assert top.values["sequential"] >= 399


def test_busy_roles_busy_days_and_new_staff_do_not_alert(tmp_path: Path) -> None:
    days = _detect(_staff(tmp_path))
    raised = insiders.alerts(days, insiders.Config())
    assert [(d.actor_id, d.day.day) for d in raised] == [("agent-07", 1 + INSIDER_DAY)]
    surge = [d for d in days if d.day == date(2026, 10, 1) + timedelta(days=SURGE_DAY)]
    assert max(d.score for d in surge) < insiders.DEFAULT_THRESHOLD / 2
    supervisors = [d for d in days if d.role == "cs_supervisor"]
    assert max(d.score for d in supervisors) < insiders.DEFAULT_THRESHOLD / 2
    new = [d for d in days if d.actor_id == "agent-new"]
    # No day before the period under test: judged against its peers (and its own days in the
    # period for how much it reads), and it says so.
    assert new and all(d.history_days == 0 and "judged against its peers" in d.notes[0] for d in new)
    assert max(d.score for d in new) < insiders.DEFAULT_THRESHOLD
    assert {d.day for d in days} == {date(2026, 10, 1) + timedelta(days=n) for n in range(16, 30)}


def test_without_an_insider_nothing_alerts(tmp_path: Path) -> None:
    assert insiders.alerts(_detect(_staff(tmp_path, insider=False)), insiders.Config()) == []


def test_out_of_scope_customers_count_with_metadata(tmp_path: Path) -> None:
    rows = [
        (START + timedelta(hours=1, minutes=n), "courier-1", "courier", "courier", "view", f"c{n}", "address", None)
        for n in range(6)
    ]
    _write(rows, tmp_path / "e.parquet")
    (tmp_path / "actors.csv").write_text("actor_id,region,merchant_id\ncourier-1,浙江省,\n", encoding="utf-8")
    customers = "customer_id,province\n" + "".join(f"c{n},{'浙江省' if n < 2 else '广东省'}\n" for n in range(6))
    (tmp_path / "customers.csv").write_text(customers, encoding="utf-8")
    con = events.connect()
    events.open_events(con, [tmp_path / "e.parquet"])
    insiders.load_metadata(con, actors=tmp_path / "actors.csv", customers=tmp_path / "customers.csv")
    (day,) = insiders.detect(con)
    assert day.values["out_of_scope"] == 4 and day.values["customers"] == 6


def test_cli_json_and_bad_input(tmp_path: Path) -> None:
    path = _staff(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["investigate", "insiders", "--events", str(path), "--format", "json"], env=cli_env())
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [a["actor_id"] for a in document["alerts"]] == ["agent-07"]
    assert document["alerts"][0]["reasons"]
    for args, message in (
        (["--tz", "Mars/Olympus"], "unknown time zone"),
        (["--since", "2026-11-01", "--until", "2026-10-01"], "--since must be before --until"),
        (["--actors", str(tmp_path / "none.csv")], "expected an existing .csv file"),
    ):
        bad = runner.invoke(app, ["investigate", "insiders", "--events", str(path), *args], env=cli_env())
        assert bad.exit_code == 2, bad.output
        assert message in " ".join(bad.output.split())


def test_reasons_name_the_usual_day_and_the_peers_in_words(tmp_path: Path) -> None:
    top = _detect(_staff(tmp_path))[0]
    words = [r.words() for r in top.reasons]
    assert any(" customers accessed (its usual day before 2026-10-17: " in w for w in words)
    assert all("its peers that day: " in w and "_" not in w for w in words)


GUESS_DAY = 22


def _guesses(tmp_path: Path, *, outcome: bool) -> Path:
    """agent-11 tries middle digits of a masked number one evening: 10 misses, then 40 refusals
    at the search limit; with ``outcome`` as ShopShield exports them, without it as a store's own
    shared-format CSV would hold them (a search that names no customer)."""
    at = START + timedelta(days=GUESS_DAY, hours=11)
    results = ["no_match"] * 10 + ["quota_exceeded"] * 40
    if outcome:
        schema = pa.schema([EXPORT_SCHEMA.field(n) for n in ("ts", "actor_id", "actor_kind", "actor_role", "action")])
        schema = schema.append(EXPORT_SCHEMA.field("customer_id")).append(EXPORT_SCHEMA.field("outcome"))
        table = pa.table(
            {
                "ts": [at + timedelta(seconds=n) for n in range(len(results))],
                "actor_id": ["agent-11"] * len(results),
                "actor_kind": ["staff"] * len(results),
                "actor_role": ["cs_agent"] * len(results),
                "action": ["search"] * len(results),
                "customer_id": [None] * len(results),
                "outcome": results,
            },
            schema=schema,
        )
        path = tmp_path / "guesses.parquet"
        pq.write_table(table, path)
        return path
    lines = ["ts,actor_id,actor_kind,actor_role,action,customer_id"]
    lines += [f"{(at + timedelta(seconds=n)).isoformat()},agent-11,staff,cs_agent,search," for n in range(len(results))]
    path = tmp_path / "guesses.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("outcome", [True, False], ids=["shopshield-export", "shared-format"])
def test_guessing_a_masked_number_alerts_from_the_searches_that_found_nobody(tmp_path: Path, outcome: bool) -> None:
    staff = _staff(tmp_path, insider=False)
    guesses = _guesses(tmp_path, outcome=outcome)
    if not outcome:  # one kind of file at a time: the staff's days as CSV too
        staff_csv = tmp_path / "staff.csv"
        con = events.connect()
        con.execute(f"COPY (SELECT * FROM read_parquet('{staff}')) TO '{staff_csv}' (HEADER)")
        staff = staff_csv
    con = events.connect()
    events.open_events(con, [staff, guesses])
    insiders.load_metadata(con)
    days = insiders.detect(con)

    raised = insiders.alerts(days, insiders.Config())
    assert [(d.actor_id, d.day) for d in raised] == [("agent-11", date(2026, 10, 1) + timedelta(days=GUESS_DAY))]
    top = raised[0]
    assert top.values["search_misses"] == 50 and top.reasons[0].feature == "search_misses"
    assert top.reasons[0].words() == (
        "50 searches that found nobody or were refused (its usual day before 2026-10-17: 0; its peers that day: 0)"
    )
    # The guesses were the agent's only searches that day; its ordinary reads are unchanged.
    assert top.values["customers"] > 0


def test_the_enumeration_over_http_shows_in_insiders_over_shopshields_own_log(
    container: Container, settings: Settings
) -> None:
    """The red team's attack as an agent, then ``investigate insiders`` on ShopShield's own log:
    five other agents read a customer each; the one who kept guessing is the alert."""
    world = make_world(container)
    agents = [world.tokens["agent2"]]
    with unit_of_work(container.sessions) as session:
        for n in range(4):
            agents.append(
                principals.create(session=session, policies=container.policies, name=f"peer-{n}", role="cs_agent").token
            )
    for n, token in enumerate(agents):
        body = factories.customer(n + 1)
        assert world.post("service", "/v1/customers", body).status_code == 201
        headers = {"Authorization": f"Bearer {token}"}
        assert world.client.get(f"/v1/customers/{body['customer_id']}", headers=headers).status_code == 200
    assert world.get("agent", "/v1/customers/c0000001").status_code == 200
    guesses = [{"mobile": f"159{m:04d}8494", "purpose": "inbound_call"} for m in range(40)]
    answers = [world.post("agent", "/v1/customers/search", guess).status_code for guess in guesses]
    world.client.close()
    assert answers.count(200) == 10 and answers.count(429) == 30

    result = CliRunner().invoke(app, ["investigate", "insiders", "--format", "json"], env=cli_env(settings))

    assert result.exit_code == 0, result.output
    [alert] = json.loads(result.stdout)["alerts"]
    assert alert["actor_id"] == world.ids["agent"] and alert["features"]["search_misses"] == 40
    assert alert["reasons"][0].startswith("40 searches that found nobody or were refused")
