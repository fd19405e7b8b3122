"""``shopshield investigate``: find where the scammers' data came from."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import typer
from rich.console import Console
from rich.table import Table

from shopshield.access.cli import export_log
from shopshield.cliutil import Format, acts_as, fail, open_container, parse_moment, settings_from_env
from shopshield.core.callers import OPERATOR
from shopshield.core.db import Tx, unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.permissions import Permission
from shopshield.investigate import events, insiders
from shopshield.investigate.attribution import Attribution, Config, Engine, Victim, attribute, victims_from_reports
from shopshield.investigate.duck import DuckDBEngine
from shopshield.scams.formats import parse_reports

app = typer.Typer(help="Investigate a leak: which actor's accesses explain the scam victims.")
out = Console()
err = Console(stderr=True)


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@app.command("attribute")
@acts_as(OPERATOR, Permission.AUDIT_READ)
def attribute_command(
    reports: Path = typer.Option(..., "--reports", help="Scam reports, CSV or JSON lines, in the shared format"),
    event_files: list[Path] = typer.Option(
        [],
        "--events",
        help="Access events, CSV or Parquet in the shared format (repeat for several files); "
        "ShopShield's own log when left out",
    ),
    top: int = typer.Option(10, "--top", min=1, max=1000, help="How many suspects to list"),
    output: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
    window_days: float = typer.Option(30.0, "--window-days", min=0.04, max=3660, help="Look-back before a contact"),
    alpha: float = typer.Option(0.001, "--alpha", min=1e-12, max=0.5, help="Family-wise error rate of a verdict"),
    min_victims: int = typer.Option(3, "--min-victims", min=1, help="Fewest victims a verdict may rest on"),
    engine: EngineName = typer.Option(EngineName.duckdb, "--engine", help="duckdb (embedded) or spark (local mode)"),
) -> None:
    """Rank the actors whose accesses explain the victims of the scam reports, best first."""
    victims = _victims(reports)
    config = Config(window=timedelta(days=window_days), alpha=alpha, min_victims=min_victims, top=top)
    result = attribute_log(event_files, victims, config, engine)
    if output is Format.json:
        typer.echo(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print_table(result)


@app.command("insiders")
@acts_as(OPERATOR, Permission.AUDIT_READ)
def insiders_command(
    event_files: list[Path] = typer.Option(
        [],
        "--events",
        help="Access events, CSV or Parquet (repeatable); ShopShield's own log when left out",
    ),
    actors: Path | None = typer.Option(
        None, "--actors", help="CSV: actor_id; region, merchant_id, team, declared (a bulk reader's pattern)"
    ),
    customers: Path | None = typer.Option(None, "--customers", help="CSV: customer_id, province"),
    orders: Path | None = typer.Option(
        None, "--orders", help="CSV: customer_id, merchant_id; order_id, return_requested_at for fresh returns"
    ),
    tickets: Path | None = typer.Option(None, "--tickets", help="CSV: ticket_id, assignee_id"),
    raise_alerts: bool = typer.Option(
        False, "--raise-alerts", help="Put the alerts in the security alert list (shopshield alerts list)"
    ),
    since: str | None = typer.Option(None, help="Only events at or after this ISO 8601 date/time"),
    until: str | None = typer.Option(None, help="Only events before this ISO 8601 date/time"),
    threshold: float = typer.Option(insiders.DEFAULT_THRESHOLD, "--threshold", min=0.0, help="Alert at this score"),
    tz: str = typer.Option(insiders.DEFAULT_TZ, "--tz", help="Time zone of working hours and days"),
    top: int = typer.Option(20, "--top", min=1, max=10_000, help="How many alerts to list"),
    output: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
) -> None:
    """Actor-days unusual against their peers and against the actor's own days before the period
    under test (--since; by default the log's last 14 days), with reasons in words."""
    start, end = parse_moment(since, "--since"), parse_moment(until, "--until")
    if start and end and start >= end:
        fail("--since must be before --until", code=2)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--tz: unknown time zone {tz!r}", code=2)
    config = insiders.Config(tz=tz, threshold=threshold)
    with tempfile.TemporaryDirectory(prefix="shopshield-insiders-") as tmp:
        sources = event_files or [_own_log(Path(tmp) / "events.parquet")]
        con = events.connect()
        try:
            events.open_events(con, sources)
            insiders.load_metadata(con, actors=actors, customers=customers, orders=orders, tickets=tickets)
            days = insiders.detect(con, since=start, until=end, config=config)
        finally:
            con.close()
    alerting = insiders.alerts(days, config)
    if raise_alerts:
        container = open_container(settings_from_env())
        try:
            with unit_of_work(container.sessions) as session:
                new = insiders.raise_alerts(Tx.of_session(session), alerting, now=datetime.now(UTC))
        finally:
            container.close()
        err.print(f"{new} new insider alert(s) in the alert list ({len(alerting) - new} already there)")
    raised = alerting[:top]
    if output is Format.json:
        document = {"threshold": threshold, "actor_days": len(days), "alerts": [d.to_json() for d in raised]}
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"{len(raised)} alerts at score >= {threshold:g} among {len(days):,} actor-days")
    for column in ("score", "actor", "role", "day", "reasons"):
        table.add_column(column, justify="right" if column == "score" else "left")
    for day in raised:
        table.add_row(
            f"{day.score:.1f}",
            day.actor_id,
            day.role,
            day.day.isoformat(),
            "; ".join(r.words() for r in day.reasons[:3]),
        )
    out.print(table)


def _victims(path: Path) -> list[Victim]:
    if not path.is_file():
        fail(f"--reports: no such file: {path}", code=2)
    try:
        parsed = parse_reports(path)
    except InvalidInput as exc:
        # The parser names the line; the option says which of the command's files it is in.
        fail(f"--reports: {exc}", code=2)
    for error in parsed.errors:
        err.print(f"--reports line {error.line}: {error.reason} (skipped)", highlight=False, markup=False)
    if not parsed.reports:
        fail("--reports: no usable scam reports", code=2)
    return victims_from_reports(parsed.reports)


def attribute_log(
    event_files: list[Path], victims: list[Victim], config: Config, engine: EngineName = EngineName.duckdb
) -> Attribution:
    """The attribution over ``event_files``, or ShopShield's own log when there are none; exits 2
    on unusable files. ``reports casefile --investigate`` runs it too."""
    with tempfile.TemporaryDirectory(prefix="shopshield-attribute-") as tmp:
        sources = event_files or [_own_log(Path(tmp) / "events.parquet")]
        return _run(engine, sources, victims, config)


def _own_log(path: Path) -> Path:
    """ShopShield's access events exported to ``path`` (the analyses read Parquet)."""
    export_log(path, label="reading ShopShield's access log")
    return path


def _run(name: EngineName, sources: list[Path], victims: list[Victim], config: Config) -> Attribution:
    engine: Engine
    if name is EngineName.spark:
        try:
            from shopshield.investigate.spark import SparkEngine, local_session, read_events
        except ImportError:
            fail("--engine spark needs PySpark: pip install 'shopshield[spark]'", code=2)
        spark = local_session()
        try:
            return attribute(SparkEngine(spark, read_events(spark, sources)), victims, config)
        finally:
            spark.stop()
    con = events.connect()
    try:
        events.open_events(con, sources)
        engine = DuckDBEngine(con)
        return attribute(engine, victims, config)
    finally:
        con.close()


def _print_table(result: Attribution) -> None:
    verdict = "[bold green]conclusive[/]" if result.conclusive else "[bold yellow]not conclusive[/]"
    out.print(f"{verdict}: likely source [bold]{result.likely_source}[/]")
    out.print(result.explanation, highlight=False, markup=False)
    table = Table(title=f"Suspects ({result.actors_tested:,} actors tested, {result.victims_total} victims)")
    for column in ("#", "actor", "kind", "victims", "expected", "p", "adjusted p", "accesses"):
        table.add_column(
            column, justify="right" if column in {"#", "victims", "expected", "p", "adjusted p"} else "left"
        )
    for rank, s in enumerate(result.suspects, start=1):
        span = (
            ""
            if s.first_access is None or s.last_access is None
            else f"{s.first_access:%m-%d %H:%M} to {s.last_access:%m-%d %H:%M}"
        )
        table.add_row(
            str(rank),
            s.actor_id,
            s.actor_kind,
            f"{s.victims_covered}/{s.victims_total}",
            f"{s.expected:.2f}",
            f"{s.p_value:.1e}",
            f"{s.adjusted_p_value:.1e}",
            span,
        )
    out.print(table)
    for rank, s in enumerate(result.suspects[:3], start=1):
        out.print(f"{rank}. {s.actor_id}: {s.explanation}", highlight=False, markup=False)
    out.print(result.stuffing.explanation, highlight=False, markup=False)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, markup=False)
