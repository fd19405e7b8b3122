"""``shopshield export accesses``: access events to Parquet in the shared format; and
``shopshield access-report``: one customer's access report."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shopshield.access import report
from shopshield.access.export import count, export_parquet
from shopshield.cliutil import (
    acts_as,
    fail,
    open_container,
    opened_container,
    parse_moment,
    progress_bar,
    settings_from_env,
)
from shopshield.core import ids
from shopshield.core.callers import OPERATOR
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.events import OK
from shopshield.core.permissions import Permission
from shopshield.vault import service as vault

app = typer.Typer(help="Export records in the shared formats.")
out = Console()


@app.command("accesses")
@acts_as(OPERATOR, Permission.AUDIT_READ)
def accesses(
    out_file: Path = typer.Option(..., "--out", help="Parquet file to write"),
    since: str | None = typer.Option(None, help="Only events at or after this ISO 8601 date/time"),
    until: str | None = typer.Option(None, help="Only events before this ISO 8601 date/time"),
    partner: str | None = typer.Option(
        None,
        "--partner",
        help="The partner the file goes to: recorded, and each customer in it is told (data.exported)",
    ),
) -> None:
    """Write access events in the shared "Access events" format to a Parquet file."""
    if out_file.suffix != ".parquet":
        fail("--out: the file name must end in .parquet", code=2)
    if not out_file.parent.exists():
        fail(f"--out: directory {out_file.parent} does not exist", code=2)
    start, end = parse_moment(since, "--since"), parse_moment(until, "--until")
    if start and end and start >= end:
        fail("--since must be before --until", code=2)
    if partner is not None:
        ids.check(partner, "partner", shape=ids.ACTOR, rule=ids.ACTOR_RULE, label="--partner")
        if len(partner) > PARTNER_MAX:
            fail(f"--partner: at most {PARTNER_MAX} characters (it is named in the customers' messages)", code=2)
    written = export_log(out_file, since=start, until=end, label="exporting access events", partner=partner)
    out.print(f"wrote {written} access events to {out_file}")


# The notify catalogue's limit on a partner's name in a message (it goes into an SMS).
PARTNER_MAX = 20
DATA_EXPORTED = "data.exported"


def export_log(
    path: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    label: str,
    partner: str | None = None,
) -> int:
    """ShopShield's access events in ``[since, until)`` to a Parquet file, with a progress bar;
    returns how many were written. Also how the investigation commands read the store's own log.

    With ``partner``, the file is an export to that partner: before the file is published, one
    transaction records the export as an access event and queues ``data.exported`` for every
    customer the file names; when that fails, there is no file either (decision 0028)."""
    container = open_container(settings_from_env())
    customers: set[str] | None = None if partner is None else set()

    def record() -> None:
        if partner is None or customers is None:
            return
        now = container.vault.clock()
        ref = uuid.uuid4().hex
        with transaction(container.engine) as tx:
            reason = f"access events exported to partner {partner}: {len(customers)} customers"
            container.audit.append(tx, OPERATOR.event("export", OK, reason=reason[:200]), now=now)
            for customer_id in sorted(customers):
                # An event may name an id that is no customer (a refused look-up) or one erased.
                if not vault.is_live(tx=tx, customer_id=customer_id):
                    continue
                container.vault.notices(
                    tx,
                    customer_id=customer_id,
                    event=DATA_EXPORTED,
                    details={"partner": partner},
                    source="export",
                    source_ref=ref,
                    occurred_at=now,
                    now=now,
                )

    try:
        with unit_of_work(container.sessions) as session:
            total = count(session, since, until)
        with progress_bar(label) as bar:
            task = bar.add_task("export", total=total)
            return export_parquet(
                container.sessions,
                path,
                since=since,
                until=until,
                progress=lambda n: bar.advance(task, n),
                customers=customers,
                before_publish=record,
            )
    finally:
        container.close()


_COLUMNS = ("at", "actor", "kind", "action", "fields", "purpose", "ticket", "channel", "outcome", "leaf")


@acts_as(OPERATOR, Permission.ACCESS_REPORTS_READ)
def access_report(
    customer_id: str = typer.Argument(..., help="The store's customer id"),
    since: str | None = typer.Option(None, help="Only events at or after this ISO 8601 date/time (no zone: UTC)"),
    until: str | None = typer.Option(None, help="Only events before this ISO 8601 date/time (no zone: UTC)"),
    limit: int = typer.Option(report.DEFAULT_LIMIT, help=f"Events per page, 1-{report.MAX_LIMIT}"),
    cursor: str | None = typer.Option(None, help="The next cursor printed with the previous page"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON, as the HTTP API returns it"),
) -> None:
    """Who accessed a customer's data, when, which fields and why, newest first. The report is
    itself recorded as an access event."""
    query = report.parse_query(customer_id, since=since, until=until, limit=limit, cursor=cursor, prefix="--")
    with opened_container() as container, transaction(container.engine) as tx:
        now = container.vault.clock()
        result = report.access_report(audit=container.audit, tx=tx, caller=OPERATOR, query=query, now=now)
    if as_json:
        typer.echo(orjson.dumps(result).decode())
        return
    _print(result)


def _print(result: dict[str, Any]) -> None:
    items: list[dict[str, Any]] = result["items"]
    lines = [
        (
            item["at"],
            f"{item['actor']['role']} {item['actor']['id']}",
            item["actor"]["kind"],
            item["action"],
            ", ".join(item["fields"]),
            item["purpose"] or "",
            item["ticket_id"] or "",
            item["channel"],
            item["outcome"],
            str(item["leaf_index"]),
        )
        for item in items
    ]
    summary = result["summary"]
    roles = ", ".join(summary["actor_roles"]) or "none"
    footer = [f"{summary['total']} access events for {result['customer_id']}; actor roles: {roles}"]
    if result["next_cursor"] is not None:
        footer.append(f"more: --cursor {result['next_cursor']}")
    if not out.is_terminal:
        # Piped or scripted: whole values, tab-separated, never cut to a terminal's width.
        for line in (_COLUMNS, *lines):
            typer.echo("\t".join(line))
        for text in footer:
            typer.echo(text)
        return
    table = Table(*_COLUMNS, title=Text(f"Access report for {result['customer_id']}"))
    for line in lines:
        # Text, not markup: a stored value with brackets must print as it is.
        table.add_row(*(Text(cell) for cell in line))
    out.print(table)
    for text in footer:
        out.print(text, highlight=False)
