"""Exporting access events to Parquet in the shared "Access events" format, by API and by CLI."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from shopshield.access.export import export_parquet
from shopshield.access.models import AccessEventRow
from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.settings import Settings
from testkit import factories
from tests.support.environment import cli_env as _env
from tests.support.events import stored_events
from tests.support.faults import access_events_refused
from tests.support.outbox import outbox
from tests.support.world import CLIENT_ADDRESS, World, make_world

SHARED_COLUMNS = [
    "ts",
    "actor_id",
    "actor_kind",
    "action",
    "customer_id",
    "order_id",
    "fields",
    "channel",
    "source_ip",
]
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
CST = timezone(timedelta(hours=8))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _world_with_history(container: Container) -> tuple[World, dict[datetime, int]]:
    """Writes, views and refusals at known times; returns how many events each moment got."""
    clock = Clock(T0)
    container.vault = dataclasses.replace(container.vault, clock=clock)
    world = make_world(container)
    customer = factories.customer(1)
    cid = customer["customer_id"]

    assert world.post("service", "/v1/customers", customer).status_code == 201  # write, ok

    clock.now = T0 + HOUR
    courier_app = {**world.headers("courier"), "X-ShopShield-Channel": "courier-app"}
    assert world.get("agent", f"/v1/customers/{cid}").status_code == 200  # view, ok
    assert world.client.get(f"/v1/customers/{cid}", headers=courier_app).status_code == 403  # denied
    assert world.get("agent", "/v1/customers/c-none").status_code == 404  # not_found

    clock.now = T0 + 2 * HOUR
    reveal = {"fields": ["mobile"], "purpose": "refund_dispute", "ticket_id": "tk-none"}
    assert world.post("agent", f"/v1/customers/{cid}/reveal", reveal).status_code == 403  # denied
    assert world.get("partner", "/v1/customers", params={"email": customer["email"]}).status_code == 403
    miss = {"mobile": "13900000000", "purpose": "inbound_call"}
    assert world.get("agent", "/v1/customers", params=miss).status_code == 200  # no_match

    clock.now = T0 + 24 * HOUR
    assert world.get("supervisor", f"/v1/customers/{cid}").status_code == 200  # view, ok
    return world, {T0: 1, T0 + HOUR: 3, T0 + 2 * HOUR: 3, T0 + 24 * HOUR: 1}


def _rows_in_db(container: Container) -> int:
    with unit_of_work(container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(AccessEventRow)) or 0)


def _ts(table: pa.Table) -> list[datetime]:
    return [t.astimezone(UTC) for t in table.column("ts").to_pylist()]


def test_export_writes_the_shared_format(container: Container, tmp_path: Path) -> None:
    world, per_moment = _world_with_history(container)
    out = tmp_path / "accesses.parquet"

    written = export_parquet(container.sessions, out)

    table = pq.read_table(out)
    assert table.schema.names[: len(SHARED_COLUMNS)] == SHARED_COLUMNS
    ts_type = table.schema.field("ts").type
    assert pa.types.is_timestamp(ts_type) and ts_type.tz == "UTC"
    assert written == table.num_rows == _rows_in_db(container) == sum(per_moment.values())
    assert not list(tmp_path.glob("*.partial"))
    assert sorted(_ts(table)) == sorted(t for t, n in per_moment.items() for _ in range(n))

    rows = table.to_pylist()
    assert {r["outcome"] for r in rows} == {"ok", "denied", "not_found", "no_match"}
    assert sum(r["outcome"] == "denied" for r in rows) == 3
    courier = next(r for r in rows if r["actor_id"] == world.ids["courier"])
    assert courier["actor_kind"] == "courier"
    assert courier["action"] == "view"
    assert courier["outcome"] == "denied"
    assert courier["customer_id"] == "c0000001"
    assert courier["channel"] == "courier-app"
    assert courier["source_ip"] == CLIENT_ADDRESS
    assert courier["reason"]
    view = next(r for r in rows if r["actor_id"] == world.ids["agent"] and r["action"] == "view")
    assert view["outcome"] == "ok"
    assert view["fields"].split("|")[:2] == ["name", "mobile"]
    assert view["actor_kind"] == "staff"
    assert view["ts"].astimezone(UTC) == T0 + HOUR
    reveal = next(r for r in rows if r["action"] == "reveal")
    assert (reveal["outcome"], reveal["purpose"], reveal["ticket_id"]) == (
        "denied",
        "refund_dispute",
        "tk-none",
    )
    assert [r["leaf_index"] for r in rows] == sorted(r["leaf_index"] for r in rows)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (T0 + HOUR, T0 + 2 * HOUR, [T0 + HOUR]),
        (T0 + HOUR, None, [T0 + HOUR, T0 + 2 * HOUR, T0 + 24 * HOUR]),
        (None, T0 + HOUR, [T0]),
        (T0 + HOUR + timedelta(microseconds=1), T0 + 24 * HOUR, [T0 + 2 * HOUR]),
        (T0 + 25 * HOUR, None, []),
        # The same instants given in another time zone.
        (
            datetime(2026, 3, 1, 9, 0, tzinfo=CST),
            datetime(2026, 3, 1, 10, 0, tzinfo=CST),
            [T0 + HOUR],
        ),
    ],
)
def test_since_and_until_select_a_half_open_window(
    container: Container,
    tmp_path: Path,
    since: datetime | None,
    until: datetime | None,
    expected: list[datetime],
) -> None:
    _world, per_moment = _world_with_history(container)
    out = tmp_path / "window.parquet"

    written = export_parquet(container.sessions, out, since=since, until=until)

    table = pq.read_table(out)
    assert written == table.num_rows == sum(per_moment[t] for t in expected)
    assert sorted(set(_ts(table))) == expected
    assert table.schema.names[: len(SHARED_COLUMNS)] == SHARED_COLUMNS


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_cli_exports_accesses(container: Container, settings: Settings, tmp_path: Path) -> None:
    _world, per_moment = _world_with_history(container)
    runner = CliRunner()
    out = tmp_path / "all.parquet"

    result = runner.invoke(app, ["export", "accesses", "--out", str(out)], env=_env(settings))

    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == _rows_in_db(container) == sum(per_moment.values())
    assert table.schema.names[: len(SHARED_COLUMNS)] == SHARED_COLUMNS
    assert f"wrote {table.num_rows} access events" in _flat(result.stdout)

    window = tmp_path / "window.parquet"
    result = runner.invoke(
        app,
        [
            "export",
            "accesses",
            "--out",
            str(window),
            "--since",
            "2026-03-01T09:00+08:00",
            "--until",
            "2026-03-01T02:00",
        ],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(window)
    # 09:00+08:00 is 01:00 UTC; a naive --until is UTC: [01:00, 02:00) holds the T0 + 1 h events only.
    expected = [T0 + HOUR]
    assert table.num_rows == sum(per_moment[t] for t in expected)
    assert sorted(set(_ts(table))) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/x.csv"], "--out: the file name must end in .parquet"),
        (["--out", "{tmp}/missing/x.parquet"], "does not exist"),
        (["--out", "{tmp}/x.parquet", "--since", "last tuesday"], "--since: expected an ISO 8601"),
        (["--out", "{tmp}/x.parquet", "--until", "2026-13-01"], "--until: expected an ISO 8601"),
        (
            ["--out", "{tmp}/x.parquet", "--since", "2026-03-02", "--until", "2026-03-01"],
            "--since must be before --until",
        ),
    ],
)
def test_cli_rejects_bad_input(settings: Settings, tmp_path: Path, args: list[str], message: str) -> None:
    argv = ["export", "accesses", *(a.format(tmp=tmp_path) for a in args)]

    result = CliRunner().invoke(app, argv, env=_env(settings))

    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.parquet")) and not list(tmp_path.glob("*.csv"))


def test_an_export_to_a_partner_tells_each_customer_in_it_once(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    world, _per_moment = _world_with_history(container)
    cid = factories.customer(1)["customer_id"]
    out = tmp_path / "partner.parquet"
    argv = ["export", "accesses", "--out", str(out), "--partner", "acme-logistics"]

    result = CliRunner().invoke(app, argv, env=_env(settings))

    assert result.exit_code == 0, result.output
    rows = outbox(container, event="data.exported")
    # The file also names c-none (a refused look-up), which is no customer: only customers are told.
    named = {c for c in pq.read_table(out).column("customer_id").to_pylist() if c is not None}
    assert named == {cid, "c-none"}
    assert {r.customer_id for r in rows} == {cid}
    assert {r.source for r in rows} == {"export"}
    assert {r.details for r in rows} == {'{"partner": "acme-logistics"}'}
    (recorded,) = stored_events(world.container, action="export")
    assert recorded.reason is not None and "acme-logistics" in recorded.reason


def test_an_export_to_a_partner_that_cannot_be_recorded_publishes_nothing(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    _world_with_history(container)
    out = tmp_path / "partner.parquet"
    argv = ["export", "accesses", "--out", str(out), "--partner", "acme-logistics"]

    with access_events_refused(container, action="export"):
        result = CliRunner().invoke(app, argv, env=_env(settings))

    assert result.exit_code != 0
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    assert outbox(container) == []


def test_an_export_without_a_partner_tells_nobody(container: Container, settings: Settings, tmp_path: Path) -> None:
    _world_with_history(container)
    result = CliRunner().invoke(app, ["export", "accesses", "--out", str(tmp_path / "a.parquet")], env=_env(settings))
    assert result.exit_code == 0, result.output
    assert outbox(container) == []


def test_a_partner_name_too_long_for_a_message_is_refused(settings: Settings, tmp_path: Path) -> None:
    argv = ["export", "accesses", "--out", str(tmp_path / "a.parquet"), "--partner", "a-very-long-partner-name-indeed"]
    result = CliRunner().invoke(app, argv, env=_env(settings))
    assert result.exit_code == 2, result.output
    assert not list(tmp_path.glob("*.parquet"))
