"""``shopshield principals``: create, list and disable API principals; set a person's console password."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from shopshield.cliutil import acts_as, opened_container
from shopshield.console import service as console_service
from shopshield.core import ids
from shopshield.core.callers import OPERATOR
from shopshield.core.db import unit_of_work
from shopshield.core.permissions import Permission
from shopshield.principals import hashing, service

app = typer.Typer(help="Manage the principals (staff, couriers, merchants, partners, services) that call ShopShield.")
out = Console()


@app.command("create")
@acts_as(OPERATOR, Permission.PRINCIPALS_MANAGE)
def create(
    name: str = typer.Argument(..., help="Unique login-style name, e.g. agent-042"),
    role: str = typer.Option(..., "--role", help="Role from the policy file, e.g. cs_agent, admin"),
    link: str | None = typer.Option(None, "--link", help="Store's courier or merchant id (couriers, merchants)"),
    principal_id: str | None = typer.Option(None, "--id", help="Principal id to use (default: generated)"),
) -> None:
    """Create a principal and print its API token. The token is shown once and stored only hashed."""
    service.check_identifiers(name=name, link_id=link, principal_id=principal_id)
    with opened_container() as container, unit_of_work(container.sessions) as session:
        created = service.create(
            session=session,
            policies=container.policies,
            name=name,
            role=role,
            link_id=link,
            principal_id=principal_id,
        )
    p = created.principal
    typer.echo(f"principal_id: {p.principal_id}\nrole: {p.role}\ntoken: {created.token}")


@app.command("list")
@acts_as(OPERATOR, Permission.PRINCIPALS_MANAGE)
def list_principals() -> None:
    """List principals (never their tokens)."""
    with opened_container() as container, unit_of_work(container.sessions) as session:
        rows = service.list_all(session=session)
    header = ("principal_id", "name", "role", "link", "created", "disabled")
    lines = [
        (
            row.principal_id,
            row.name,
            row.role,
            row.link_id or "",
            row.created_at.isoformat(timespec="seconds"),
            row.disabled_at.isoformat(timespec="seconds") if row.disabled_at else "",
        )
        for row in rows
    ]
    if not out.is_terminal:
        # Piped or scripted: whole values, tab-separated, never cut to a terminal's width.
        for line in (header, *lines):
            typer.echo("\t".join(line))
        return
    table = Table(*header)
    for line in lines:
        table.add_row(*line)
    out.print(table)


@app.command("disable")
@acts_as(OPERATOR, Permission.PRINCIPALS_MANAGE)
def disable(principal_id: str = typer.Argument(..., help="Principal id to disable")) -> None:
    """Disable a principal. A running server honours it within SHOPSHIELD_TOKEN_CACHE_SECONDS (default
    5 s), the time it may keep a verified token; POST /v1/principals/{id}/disable acts at once."""
    ids.check(principal_id, "principal_id")
    with opened_container() as container, unit_of_work(container.sessions) as session:
        service.disable(session=session, principal_id=principal_id)
    typer.echo(f"disabled {principal_id}")


@app.command("set-password")
@acts_as(OPERATOR, Permission.PRINCIPALS_MANAGE)
def set_password(
    principal_id: str = typer.Argument(..., help="Principal id of the person who logs in to the console"),
) -> None:
    """Set a principal's console password, read from a prompt (or stdin), never from the command
    line. Stored as a scrypt hash; at least 12 characters. Ends the principal's console sessions;
    API tokens are unchanged."""
    ids.check(principal_id, "principal_id")
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    hashing.check_password(password)
    with opened_container() as container, unit_of_work(container.sessions) as session:
        service.set_password(session, principal_id=principal_id, password=password)
        # A new password ends the console sessions the old one opened (someone may have had it).
        ended = console_service.end_all(session, principal_id=principal_id)
    typer.echo(f"password set for {principal_id}; {ended} console session(s) ended")
