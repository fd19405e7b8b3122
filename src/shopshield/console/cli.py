"""``shopshield console``: one-time login links for the staff console."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import typer

from shopshield.cliutil import acts_as, open_container, settings_from_env
from shopshield.console import service
from shopshield.core import ids
from shopshield.core.callers import OPERATOR
from shopshield.core.db import unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.permissions import Permission

app = typer.Typer(help="The staff console at /console: one-time login links.")


@app.command("login-link")
@acts_as(OPERATOR, Permission.PRINCIPALS_MANAGE)
def login_link(
    principal_id: str = typer.Argument(..., help="Principal id of the person who will log in"),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Where the console is reached (default http://SHOPSHIELD_HOST:SHOPSHIELD_PORT)"
    ),
) -> None:
    """Print a login link for the console, good once and for 10 minutes (stored only as a digest)."""
    ids.check(principal_id, "principal_id")
    settings = settings_from_env()
    base = (base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InvalidInput("--base-url: must start with http:// or https://", field="base_url")
    container = open_container(settings)
    try:
        with unit_of_work(container.sessions) as session:
            token = service.issue_link(
                session, policies=container.policies, principal_id=principal_id, now=datetime.now(UTC)
            )
    finally:
        container.close()
    typer.echo(f"{base}/console/login/link?{urlencode({'token': token})}")
    typer.echo(f"good once, for {service.LINK_MINUTES} minutes", err=True)
