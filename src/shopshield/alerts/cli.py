"""``shopshield alerts``: the security alerts, as GET /v1/alerts lists them."""

from __future__ import annotations

import re

import orjson
import typer
from rich.console import Console

from shopshield.alerts import service
from shopshield.alerts.schemas import CODE_PATTERN, parse_since
from shopshield.cliutil import Format, acts_as, fail, opened_container, print_rows
from shopshield.core import ids
from shopshield.core.callers import OPERATOR
from shopshield.core.db import unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.permissions import Permission

app = typer.Typer(help="Security alerts: principals passing search limits, and what later kinds add.")
out = Console()

COLUMNS = ("raised_at", "kind", "actor_id", "actor_role", "occurrences", "status", "reason")


@app.command("list")
@acts_as(OPERATOR, Permission.ALERTS_READ)
def list_alerts(
    kind: str | None = typer.Option(None, "--kind", help="Only this kind, e.g. search_limit"),
    status: str | None = typer.Option(None, "--status", help="Only this status, e.g. open"),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor's (a principal id)"),
    since: str | None = typer.Option(None, "--since", help="Raised at or after this ISO 8601 date/time (UTC)"),
    limit: int = typer.Option(100, "--limit", help=f"At most this many, newest first (1-{service.MAX_LIMIT})"),
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
) -> None:
    """Security alerts, newest first. Exit 0 whether or not there are any; 2 on bad input."""
    for option, value in (("--kind", kind), ("--status", status)):
        if value is not None and not re.fullmatch(CODE_PATTERN, value):
            fail(f"{option}: 1-32 lower-case letters or '_'", code=2)
    problem = None if actor is None else ids.problem(actor)
    if problem is not None:
        fail(f"--actor: {problem}", code=2)
    if not 1 <= limit <= service.MAX_LIMIT:
        fail(f"--limit: between 1 and {service.MAX_LIMIT}", code=2)
    try:
        start = parse_since(since)
    except InvalidInput:
        fail("--since: expected an ISO 8601 date or time such as 2026-12-01", code=2)
    with opened_container() as container, unit_of_work(container.sessions) as session:
        found = service.list_alerts(session=session, kind=kind, status=status, actor_id=actor, since=start, limit=limit)
    if fmt is Format.json:
        typer.echo(orjson.dumps({"alerts": found}, option=orjson.OPT_INDENT_2).decode())
        return
    print_rows(found, COLUMNS, title="Security alerts", console=out)
