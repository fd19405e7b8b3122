"""``shopshield reports``: import scam reports from a file, summarise them, write a case file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shopshield.cliutil import Format, acts_as, fail, open_container, progress_bar, settings_from_env
from shopshield.core.callers import OPERATOR
from shopshield.core.db import unit_of_work
from shopshield.core.errors import ShopShieldError, exit_code
from shopshield.core.permissions import Permission
from shopshield.core.times import parse_window
from shopshield.investigate.attribution import Config, victims_from_reports
from shopshield.investigate.cli import attribute_log
from shopshield.scams import casefile, service
from shopshield.scams.formats import RowError, ScamReport, parse_reports
from shopshield.scams.summary import Losses, Summary, losses_text, money, summarize, summary_json
from shopshield.settings import Settings

app = typer.Typer(help="Scam reports: import them, summarise them, write a case file for police and regulators.")
out = Console()

# Rows per transaction: each batch commits on its own, so a long import never holds SQLite's write
# lock for long (the server's reads append access events and would wait). An import interrupted
# between batches is finished by running it again: stored rows come back as identical duplicates.
BATCH = 1000
# Who stored an imported report (``received_by``): whoever runs the command holds the database.
IMPORTER = "cli"

SINCE = typer.Option(None, help="Only reports contacted at or after this ISO 8601 date/time (no offset: in --tz)")
UNTIL = typer.Option(None, help="Only reports contacted before this ISO 8601 date/time (no offset: in --tz)")
TZ = typer.Option(None, "--tz", help="IANA time zone whose days are counted (default SHOPSHIELD_TIMEZONE)")


@app.command("import")
@acts_as(OPERATOR, Permission.SCAM_REPORTS_WRITE)
def import_reports(
    file: Path = typer.Argument(..., help="Reports in the shared format: .csv (with a header), .jsonl or .json"),
) -> None:
    """Store the reports of a file. Good rows are stored even when others are rejected; a row
    already stored exactly so is skipped. Exit 0 when every row was good, 1 when some were
    rejected, 2 when the file cannot be read."""
    parsed = parse_reports(file)
    rejected = list(parsed.errors)
    line_of = dict(zip((r.report_id for r in parsed.reports), parsed.lines, strict=True))
    stored = 0
    skipped = len(parsed.repeated_lines)
    canary_hits = []
    container = open_container(settings_from_env())
    try:
        with progress_bar("storing scam reports") as bar:
            task = bar.add_task("import", total=len(parsed.reports))
            for start in range(0, len(parsed.reports), BATCH):
                batch = parsed.reports[start : start + BATCH]
                with unit_of_work(container.sessions) as session:
                    result = service.store(session=session, reports=batch, received_by=IMPORTER, now=datetime.now(UTC))
                stored += len(result.stored)
                canary_hits += result.canary_hits
                skipped += len(result.unchanged)
                rejected += [
                    RowError(line_of[report_id], "report_id: a different report with this report_id is already stored")
                    for report_id in result.conflicting
                ]
                bar.advance(task, len(batch))
    except ShopShieldError as exc:
        # Batches before the failure are committed: say how far it got and how to finish.
        fail(
            f"{exc.message} ({stored} reports were stored before this; importing the file again finishes it)",
            code=exit_code(exc),
        )
    finally:
        container.close()
    # One line per fact, never wrapped at the terminal's width: scripts read these lines.
    out.print(
        f"{stored} stored, {skipped} skipped as identical duplicates, {len(rejected)} rejected ({file.name})",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for error in sorted(rejected, key=lambda e: e.line):
        out.print(f"line {error.line}: {error.reason}", highlight=False, markup=False, soft_wrap=True)
    for hit in canary_hits:
        out.print(
            f"canary hit: report {hit.report_id} is about canary {hit.customer_id} of recipient {hit.recipient}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if rejected:
        raise typer.Exit(1)


@app.command("summary")
@acts_as(OPERATOR, Permission.SCAM_REPORTS_READ)
def summary(
    since: str | None = SINCE,
    until: str | None = UNTIL,
    tz: str | None = TZ,
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json as the HTTP API returns it"),
) -> None:
    """Reports, victims and losses per day; clusters of reports sharing a scammer's number, link
    domain or payee account; and what the scammers knew."""
    settings = settings_from_env()
    result = _summary(settings, since, until, tz)[0]
    if fmt is Format.json:
        typer.echo(orjson.dumps(summary_json(result), option=orjson.OPT_INDENT_2).decode())
        return
    _print(result)


@app.command("casefile")
@acts_as(OPERATOR, Permission.SCAM_REPORTS_READ)
def write_casefile(
    out_dir: Path = typer.Option(..., "--out", help="New (or empty) directory to write the case file into"),
    since: str | None = SINCE,
    until: str | None = UNTIL,
    tz: str | None = TZ,
    attribution: Path | None = typer.Option(
        None, "--attribution", help="JSON output of `shopshield investigate attribute` to include"
    ),
    investigate: bool = typer.Option(
        False, "--investigate", help="Run the leak-source attribution on these reports and include its result"
    ),
    event_files: list[Path] = typer.Option(
        [], "--events", help="With --investigate: access events files (default: ShopShield's own log)"
    ),
) -> None:
    """Write index.html (self-contained, for police and regulators) and the CSV files behind it."""
    settings = settings_from_env()
    if investigate and attribution is not None:
        fail("give --attribution or --investigate, not both", code=2)
    if event_files and not investigate:
        fail("--events needs --investigate", code=2)
    casefile.check_out_dir(out_dir)
    found = None if attribution is None else casefile.load_attribution(attribution)
    result, reports = _summary(settings, since, until, tz)
    if investigate:
        found = _investigate(reports, event_files)
    names = casefile.write(out_dir, casefile.CaseFile(result, reports, found, datetime.now(UTC)))
    out.print(
        f"wrote {out_dir}: {', '.join(names)} ({result.reports} reports)", highlight=False, markup=False, soft_wrap=True
    )


def _investigate(reports: list[ScamReport], event_files: list[Path]) -> casefile.Attribution:
    """The attribution over the case's reports, as the case file's model of it."""
    if not reports:
        fail("--investigate: no scam reports in the window", code=2)
    result = attribute_log(event_files, victims_from_reports(reports), Config())
    return casefile.Attribution.model_validate(result.to_json())


def _summary(
    settings: Settings, since: str | None, until: str | None, tz: str | None
) -> tuple[Summary, list[ScamReport]]:
    window = parse_window(since=since, until=until, tz=tz or settings.timezone, prefix="--")
    container = open_container(settings)
    try:
        with unit_of_work(container.sessions) as session:
            reports = service.load(session=session, window=window)
    finally:
        container.close()
    return summarize(reports, window), reports


def _losses(losses: list[Losses], part: Literal["total", "median", "largest"] = "total") -> Text:
    return Text(losses_text(losses, part, sep="\n"), overflow="fold")


def _print(result: Summary) -> None:
    tz = result.window.tz

    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    days = Table("day", "reports", "victims", "lost", "median", "largest", title=f"Scam reports per day ({tz.key})")
    for day in result.days:
        days.add_row(
            day.day.isoformat(),
            str(day.reports),
            str(day.victims),
            _losses(day.losses),
            _losses(day.losses, "median"),
            _losses(day.losses, "largest"),
        )
    out.print(days)
    totals = f"{result.reports} reports, {result.victims} victims"
    for loss in result.losses:
        totals += (
            f"; {loss.currency} {money(loss.total)} lost over {loss.reports} reports"
            f" (median {money(loss.median)}, largest {money(loss.largest)})"
        )
    out.print(totals + f"; {result.loss_unknown} without a stated loss", highlight=False, markup=False)

    clusters = Table("#", "reports", "victims", "lost", "first contact", "last contact", "shared indicators")
    clusters.title = "Clusters of reports sharing a scammer's indicator"
    for cluster in result.clusters:
        clusters.add_row(
            str(cluster.number),
            str(len(cluster.reports)),
            str(cluster.victims),
            _losses(cluster.losses),
            local(cluster.first_contact),
            local(cluster.last_contact),
            # Text, not markup: an indicator with brackets must print as it is.
            Text("\n".join(f"{i.kind} {i.value} ({i.reports})" for i in cluster.indicators), overflow="fold"),
        )
    out.print(clusters if result.clusters else "No two reports share an indicator.")

    knew = Table("item", "reports", "share", title="What the scammers knew")
    for known in result.knew:
        knew.add_row(Text(known.item), str(known.reports), f"{known.share:.0%}")
    out.print(knew if result.knew else "No report says what the scammer knew.")
