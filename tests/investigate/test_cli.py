"""``shopshield investigate attribute`` from files and from ShopShield's own log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.core.db import transaction
from shopshield.core.events import AccessEvent
from shopshield.settings import Settings
from tests.support.attribution_world import ORDER_VIEW, World
from tests.support.environment import cli_env


def _run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(app, ["investigate", "attribute", *args], env=env or cli_env())


def _leaky_world(seed: int = 1, customers: int = 2_000, reads: int = 150, victims: int = 10) -> World:
    world = World(seed=seed, customers=customers)
    world.background()
    world.leak_through(
        "agent-07", "staff", ORDER_VIEW, "name|mobile|items|price|return_request", reads=reads, victims=victims
    )
    return world


def test_json_names_the_insider(tmp_path: Path) -> None:
    world = _leaky_world()
    events = world.write(tmp_path / "events.parquet")
    reports = world.write_reports(tmp_path / "reports.csv")
    result = _run("--events", str(events), "--reports", str(reports), "--format", "json", "--top", "3")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["conclusive"] is True and document["likely_source"] == "insider"
    assert document["suspects"][0]["actor_id"] == "agent-07"
    assert len(document["suspects"]) == 3
    assert document["suspects"][0]["victims_covered"] == document["suspects"][0]["victims_total"] == 10


def test_table_is_for_people(tmp_path: Path) -> None:
    world = _leaky_world()
    events = world.write(tmp_path / "events.parquet")
    reports = world.write_reports(tmp_path / "reports.jsonl")
    result = _run("--events", str(events), "--reports", str(reports))
    assert result.exit_code == 0, result.output
    assert "conclusive: likely source insider" in result.stdout
    assert "agent-07" in result.stdout and "10/10" in result.stdout


def test_bad_report_rows_are_named_and_skipped(tmp_path: Path) -> None:
    world = _leaky_world()
    events = world.write(tmp_path / "events.parquet")
    reports = world.write_reports(tmp_path / "reports.csv")
    with reports.open("a", encoding="utf-8") as handle:
        handle.write("r-bad,not a time,c00001,2026-10-01T00:00:00+08:00,call,,,,,,,CNY\n")
    result = _run("--events", str(events), "--reports", str(reports), "--format", "json")
    assert result.exit_code == 0, result.output
    assert "line 12" in result.stderr and "reported_at" in result.stderr
    assert json.loads(result.stdout)["suspects"][0]["actor_id"] == "agent-07"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--reports", "missing.csv"], "no such file"),
        (["--reports", "{reports}", "--events", "{tmp}/events.txt"], "give .parquet files or .csv files"),
        (["--reports", "{reports}", "--events", "{tmp}/absent.parquet"], "no such file"),
        (["--reports", "{empty}", "--events", "{events}"], "no usable scam reports"),
        (["--reports", "{reports}", "--events", "{events}", "--format", "xml"], "xml"),
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    world = _leaky_world(customers=300, reads=40, victims=5)
    names = {
        "tmp": str(tmp_path),
        "events": str(world.write(tmp_path / "events.parquet")),
        "reports": str(world.write_reports(tmp_path / "reports.csv")),
        "empty": str(tmp_path / "empty.csv"),
    }
    (tmp_path / "empty.csv").write_text("report_id,reported_at,customer_id,contacted_at,channel\n", encoding="utf-8")
    (tmp_path / "events.txt").write_text("x", encoding="utf-8")
    result = _run(*[a.format(**names) for a in args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_own_log_when_no_events_are_given(container: Container, settings: Settings, tmp_path: Path) -> None:
    world = _leaky_world(customers=600, reads=40, victims=8)
    rows = sorted(world.rows, key=lambda r: r[0])  # type: ignore[arg-type,return-value]
    with transaction(container.engine) as tx:
        for ts, actor, kind, action, customer, order, fields, channel, ip in rows:
            event = AccessEvent(
                actor_id=str(actor),
                actor_kind=str(kind),
                actor_role="cs_agent" if kind == "staff" else str(kind),
                action=str(action),
                channel=str(channel),
                outcome="ok",
                customer_id=str(customer),
                order_id=None if order is None else str(order),
                fields=tuple(str(fields).split("|")),
                source_ip=None if ip is None else str(ip),
            )
            container.audit.append(tx, event, now=ts)  # type: ignore[arg-type]
    reports = world.write_reports(tmp_path / "reports.csv")
    result = _run("--reports", str(reports), "--format", "json", env=cli_env(settings))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["conclusive"] and document["suspects"][0]["actor_id"] == "agent-07"


def test_casefile_investigate_includes_the_attribution(settings: Settings, tmp_path: Path) -> None:
    world = _leaky_world()
    events = world.write(tmp_path / "events.parquet")
    reports = world.write_reports(tmp_path / "reports.csv")
    env = cli_env(settings)
    imported = CliRunner().invoke(app, ["reports", "import", str(reports)], env=env)
    assert imported.exit_code == 0, imported.output
    out = tmp_path / "case"
    result = CliRunner().invoke(
        app, ["reports", "casefile", "--out", str(out), "--investigate", "--events", str(events)], env=env
    )
    assert result.exit_code == 0, result.output
    rows = (out / "attribution.csv").read_text(encoding="utf-8-sig").splitlines()
    assert "agent-07" in rows[1]
    assert "agent-07" in (out / "index.html").read_text(encoding="utf-8")
    both = CliRunner().invoke(
        app,
        ["reports", "casefile", "--out", str(tmp_path / "x"), "--investigate", "--attribution", str(reports)],
        env=env,
    )
    assert both.exit_code == 2 and "not both" in both.output
    alone = CliRunner().invoke(
        app, ["reports", "casefile", "--out", str(tmp_path / "y"), "--events", str(events)], env=env
    )
    assert alone.exit_code == 2 and "--events needs --investigate" in " ".join(alone.output.split())
