"""``shopshield breach scope``: from a confirmed source to the customers it reached, their warnings
and the regulator report draft."""

from __future__ import annotations

import csv
import shutil
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shopshield.breach import atrisk, report, service
from shopshield.cliutil import Format, acts_as, open_container, settings_from_env
from shopshield.core.callers import OPERATOR
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.files import open_private, private_dir
from shopshield.core.permissions import Permission
from shopshield.scams import casefile

app = typer.Typer(help="Breach response: affected customers, warnings, and the regulator report draft.")
out = Console()
err = Console(stderr=True)

FILES = ("scope.json", "customers.csv", "report.md", "report.html")


@app.command("scope")
@acts_as(OPERATOR, Permission.BREACHES_SCOPE)
def scope_command(
    actor: str | None = typer.Option(None, "--actor", help="The confirmed source's actor id"),
    kind: str | None = typer.Option(None, "--kind", help="Its actor kind (staff, partner, ...), to match it exactly"),
    since: str | None = typer.Option(None, "--since", help="Start of the window, ISO 8601 (no offset: in --tz)"),
    until: str | None = typer.Option(None, "--until", help="End of the window, exclusive (default: open)"),
    tz: str | None = typer.Option(
        None, "--tz", help="IANA zone for times without an offset (default SHOPSHIELD_TIMEZONE)"
    ),
    attribution: Path | None = typer.Option(
        None, "--attribution", help="JSON of `investigate attribute`: its top suspect, or the one named by --actor"
    ),
    case_id: str | None = typer.Option(None, "--case", help="Breach case id (default: derived from actor and window)"),
    warn: bool = typer.Option(False, "--warn", help="Queue an anti-scam warning for each affected customer"),
    out_dir: Path | None = typer.Option(
        None, "--out", help="New directory for scope.json, customers.csv, report.md/html"
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json as the HTTP API returns it"),
) -> None:
    """List the customers a source accessed in the window, with the fields per customer (ids and
    field names only, never values). Exit 0, or 2 on bad input (nothing recorded or written)."""
    settings = settings_from_env()
    suspect = None
    if attribution is not None:
        actor, kind, suspect = service.source_from_attribution(
            casefile.load_attribution(attribution), actor_id=actor, actor_kind=kind
        )
    if actor is None:
        raise InvalidInput("--actor: name the confirmed source, or give --attribution", field="actor")
    query = service.parse_query(
        actor_id=actor,
        actor_kind=kind,
        since=since,
        until=until,
        tz=tz or settings.timezone,
        case_id=case_id,
        suspect=suspect,
        prefix="--",
    )
    if out_dir is not None:
        casefile.check_out_dir(out_dir)
    container = open_container(settings)
    partial: Path | None = None
    try:
        with transaction(container.engine, read_only=True) as tx:
            found = service.scope(tx=tx, query=query, now=container.vault.clock())
        with unit_of_work(container.sessions) as session:
            found = service.record(vault=container.vault, session=session, caller=OPERATOR, scope=found, warn=warn)
            # Written before the commit, shown only after it: a failure on either side leaves neither.
            partial = None if out_dir is None else _write(out_dir, found)
        if partial is not None and out_dir is not None:
            if out_dir.exists():
                out_dir.rmdir()  # empty, as checked
            partial.rename(out_dir)
            partial = None
    finally:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        container.close()
    if fmt is Format.json:
        typer.echo(orjson.dumps(found.json(), option=orjson.OPT_INDENT_2).decode())
    else:
        _print(found)
    if out_dir is not None:
        err.print(f"wrote {out_dir}: {', '.join(FILES)}", highlight=False, markup=False, soft_wrap=True)


def _write(out_dir: Path, found: service.Scope) -> Path:
    partial = private_dir(out_dir.parent / f".{out_dir.name}.partial-{uuid.uuid4().hex[:8]}")
    with open_private(partial / "scope.json", "wb") as scope:
        scope.write(orjson.dumps(found.json(), option=orjson.OPT_INDENT_2))
    # A byte-order mark, so that spreadsheets read the file as UTF-8 (as the case file's CSVs).
    with open_private(partial / "customers.csv", "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("customer_id", "fields", "orders", "first_access", "last_access", "events"))
        for c in found.customers:
            row = c.json()
            writer.writerow(
                (c.customer_id, "|".join(c.fields), c.orders, row["first_access"], row["last_access"], c.events)
            )
    for name, text in (("report.md", report.markdown(found)), ("report.html", report.html(found))):
        with open_private(partial / name, "w", encoding="utf-8") as document:
            document.write(text)
    return partial


def _print(found: service.Scope) -> None:
    q = found.query
    summary = (
        f"case {q.case_id}: {q.actor_kind or 'actor'} {q.actor_id} reached {len(found.customers)} customers "
        f"in {found.events} access events ({found.orders} orders)"
    )
    if found.canaries:
        summary += f", and {len(found.canaries)} canaries of " + ", ".join(sorted({r for _c, r, _n in found.canaries}))
    out.print(summary, highlight=False, markup=False, soft_wrap=True)
    if found.warnings is not None:
        w = found.warnings
        out.print(f"warnings: {w.queued} queued, {w.already_queued} already queued for this case", highlight=False)
    categories = Table("category", "customers", title="Categories of personal information")
    for category, n in found.category_counts():
        categories.add_row(Text(category.label), str(n))
    out.print(categories)
    fields = Table("field", "customers", title="Fields")
    for name, n in found.field_counts():
        fields.add_row(Text(name), str(n))
    out.print(fields)


@acts_as(OPERATOR, Permission.WARNINGS_SEND)
def warn_command(
    breach_case: str | None = typer.Option(None, "--breach", help="A breach case id (from `breach scope --warn`)"),
    cluster: int | None = typer.Option(None, "--cluster", help="A scam cluster's number in `reports summary`"),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="List who was already warned (with each message's state) and who would be warned now; warn nobody",
    ),
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json as the HTTP API returns it"),
) -> None:
    """Warn the customers a breach case or a scam cluster puts at risk, once each, through their
    notification channels, and show what became of each message. Exit 0, or 2 on bad input or
    when there is no such case or cluster (nothing written)."""
    target = atrisk.Target.parse(breach_case=breach_case, cluster=cluster, prefix="--")
    settings = settings_from_env()
    container = open_container(settings)
    try:
        with unit_of_work(container.sessions) as session:
            answer = atrisk.run(
                vault=container.vault,
                session=session,
                caller=OPERATOR,
                target=target,
                dry_run=dry_run,
                tz=ZoneInfo(settings.timezone),
            )
    finally:
        container.close()
    if fmt is Format.json:
        typer.echo(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
        return
    if dry_run:
        states = ", ".join(f"{n} {state}" for state, n in sorted(answer["messages"].items())) or "no messages"
        lines = [
            f"run {answer['run_id']} (dry run): already warned {answer['already_warned']} customers ({states})",
            f"would warn {len(answer['would_warn'])} customers now: "
            + (" ".join(answer["would_warn"]) or "nobody new"),
        ]
        if answer["would_queue_for_warned"]:
            lines.append(
                f"would queue the missing messages of {len(answer['would_queue_for_warned'])} warned customers: "
                + " ".join(answer["would_queue_for_warned"])
            )
    else:
        lines = [
            f"run {answer['run_id']}: warned {answer['warned']} customers; {answer['queued_now']} messages queued now"
        ]
    for line in lines:
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    title = "Already warned: messages" if dry_run else "Messages"
    table = Table("customer", "channel", "state", "attempts", "sent at", title=title)
    for entry in answer["customers"]:
        for message in entry["messages"] or [{"channel": "-", "state": "-", "attempts": 0, "sent_at": None}]:
            table.add_row(
                Text(entry["customer_id"]),
                Text(message["channel"]),
                Text(message["state"]),
                str(message["attempts"]),
                Text(message["sent_at"] or ""),
            )
    out.print(table)
