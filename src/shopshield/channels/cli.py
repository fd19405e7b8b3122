"""``shopshield channels``: the registry of official channels, as /v1/channels manages it."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console

from shopshield.channels import service
from shopshield.channels.numbers import Kind
from shopshield.channels.schemas import ChannelIn
from shopshield.cliutil import Format, acts_as, fail, opened_container, print_rows
from shopshield.core import ids
from shopshield.core.callers import OPERATOR
from shopshield.core.db import Tx, unit_of_work
from shopshield.core.permissions import Permission

app = typer.Typer(help="Official channels: the store's numbers, SMS senders, domains and payee accounts.")
out = Console()

COLUMNS = ("channel_id", "kind", "value", "label", "added_at", "added_by")
KINDS = ", ".join(Kind)


def _kind(text: str) -> Kind:
    try:
        return Kind(text)
    except ValueError:
        fail(f"KIND: one of {KINDS}", code=2)


@app.command("add")
@acts_as(OPERATOR, Permission.CHANNELS_MANAGE)
def add(
    kind: str = typer.Argument(..., help=f"One of {KINDS}"),
    value: str = typer.Argument(..., help="The number, sender id, domain, account or brand; normalised"),
    label: str | None = typer.Option(None, "--label", help="What it is, for people (e.g. 'customer service')"),
) -> None:
    """Add an official channel. Exit 0 when added, 2 on bad input or when it is there already."""
    try:
        channel = ChannelIn(kind=_kind(kind), value=value, label=label)
    except ValidationError as exc:
        # Where, never the value: pydantic's own message would echo it.
        where = ", ".join(str(e["loc"][0]).upper() if e["loc"] else "input" for e in exc.errors())
        fail(f"{where}: VALUE is 1-300 characters, --label 1-100 without control characters", code=2)
    with opened_container() as container, unit_of_work(container.sessions) as session:
        added = service.add_channel(
            Tx.of_session(session),
            caller=OPERATOR,
            channel=channel,
            now=datetime.now(UTC),
            metrics=container.vault.alert_metrics,
        )
    typer.echo(orjson.dumps(added, option=orjson.OPT_INDENT_2).decode())


@app.command("list")
@acts_as(OPERATOR, Permission.CHANNELS_READ)
def list_channels(
    kind: str | None = typer.Option(None, "--kind", help=f"Only this kind: {KINDS}"),
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
) -> None:
    """The official channels, by kind and value."""
    only = None if kind is None else _kind(kind)
    with opened_container() as container, unit_of_work(container.sessions) as session:
        found = service.list_channels(Tx.of_session(session), kind=only)
    if fmt is Format.json:
        typer.echo(orjson.dumps({"channels": found}, option=orjson.OPT_INDENT_2).decode())
        return
    print_rows(found, COLUMNS, title="Official channels", console=out)


@app.command("remove")
@acts_as(OPERATOR, Permission.CHANNELS_MANAGE)
def remove(channel_id: str = typer.Argument(..., help="The channel_id, as `channels list` shows it")) -> None:
    """Remove an official channel. Exit 0 when removed, 2 when there is none with this id."""
    problem = ids.problem(channel_id)
    if problem is not None:
        fail(f"CHANNEL_ID: {problem}", code=2)
    with opened_container() as container, unit_of_work(container.sessions) as session:
        removed = service.remove_channel(
            Tx.of_session(session),
            caller=OPERATOR,
            channel_id=channel_id,
            now=datetime.now(UTC),
            metrics=container.vault.alert_metrics,
        )
    typer.echo(orjson.dumps(removed, option=orjson.OPT_INDENT_2).decode())
