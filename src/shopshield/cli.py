"""The ``shopshield`` command: serve the API and administer principals, keys, exports, scam reports,
canaries, breach response and security alerts."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from shopshield.access.cli import access_report
from shopshield.access.cli import app as export_app
from shopshield.alerts.cli import app as alerts_app
from shopshield.audit.cli import app as audit_app
from shopshield.breach.cli import app as breach_app
from shopshield.breach.cli import warn_command
from shopshield.canary.cli import app as canary_app
from shopshield.channels.cli import app as channels_app
from shopshield.cliutil import ShopShieldGroup, acts_as, fail, open_container, settings_from_env
from shopshield.console.cli import app as console_app
from shopshield.core.callers import OPERATOR
from shopshield.core.errors import EXIT_INTERRUPTED
from shopshield.core.files import restrict_umask
from shopshield.demo.cli import demo_command
from shopshield.guard.cli import app as guard_app
from shopshield.investigate.cli import app as investigate_app
from shopshield.keys.cli import app as keys_app
from shopshield.notify.cli import app as notify_app
from shopshield.passwords.cli import app as passwords_app
from shopshield.principals.cli import app as principals_app
from shopshield.scams.cli import app as reports_app
from shopshield.simulate.cli import app as simulate_app
from shopshield.verify.cli import app as verify_app

app = typer.Typer(
    name="shopshield",
    help="ShopShield: keep customer data from leaking; protect customers from the scams it feeds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ShopShieldGroup,
)
app.add_typer(principals_app, name="principals")
app.add_typer(keys_app, name="keys")
app.add_typer(export_app, name="export")
app.command("access-report")(access_report)
app.add_typer(audit_app, name="audit")
app.add_typer(simulate_app, name="simulate")
app.add_typer(reports_app, name="reports")
app.add_typer(investigate_app, name="investigate")
app.add_typer(canary_app, name="canary")
app.add_typer(breach_app, name="breach")
app.command("warn")(warn_command)
app.add_typer(passwords_app, name="passwords")
app.add_typer(guard_app, name="guard")
app.add_typer(alerts_app, name="alerts")
app.add_typer(notify_app, name="notify")
app.add_typer(channels_app, name="channels")
app.add_typer(verify_app, name="verify")
app.add_typer(console_app, name="console")
app.command("demo")(demo_command)
console = Console(stderr=True)


@app.command()
@acts_as(OPERATOR, why="runs the API: each request is then checked against its route's declaration")
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default SHOPSHIELD_HOST or 127.0.0.1)"),
    port: int | None = typer.Option(None, help="Port (default SHOPSHIELD_PORT or 8080)"),
) -> None:
    """Run the HTTP API on the configured database and keys (migrating first)."""
    from shopshield import serving
    from shopshield.app import create_app

    settings = settings_from_env()
    # Migrating at start keeps `make serve` working on a fresh checkout.
    container = open_container(settings, migrate=True)
    if settings.notify_worker:
        console.print("notification worker on (SHOPSHIELD_NOTIFY_WORKER=false turns it off)")
    console.print(
        f"ShopShield on http://{host or settings.host}:{port or settings.port} "
        f"(data in {settings.resolved_data_dir()}, API docs at /docs)"
    )
    try:
        serving.run(
            create_app(container, notify_worker=settings.notify_worker),
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
        )
    finally:
        container.close()


@app.command()
@acts_as(OPERATOR, why="changes the schema of the database and the key store")
def migrate() -> None:
    """Bring the database and the key store to the latest schema."""
    container = open_container(settings_from_env(), migrate=True)
    container.close()
    console.print("database and key store are up to date")


def main() -> None:
    # Before anything is created: databases, keys, exports and case files are owner-only.
    restrict_umask()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KeyboardInterrupt:
        # ShopShieldGroup reports an interrupt inside a command; this is the last resort for one
        # that escapes click altogether, so it still exits 130 rather than with a traceback.
        fail("interrupted", code=EXIT_INTERRUPTED)
    sys.exit(0)
