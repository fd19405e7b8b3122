"""``shopshield notify``: run a delivery worker, and look after the queue (status, dead letters, retry)."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from types import FrameType

import orjson
import typer
from rich.console import Console

from shopshield.cliutil import acts_as, fail, open_container, opened_container, settings_from_env
from shopshield.core.callers import OPERATOR
from shopshield.core.db import transaction
from shopshield.core.permissions import Permission
from shopshield.notify import ops

app = typer.Typer(help="Customer notifications: the delivery worker and its queue.")
console = Console(stderr=True)


@app.command("run")
@acts_as(OPERATOR, why="delivers the outbox: opens customers' addresses for sending, each read recorded")
def run(
    once: bool = typer.Option(False, "--once", help="Deliver what is due now, then exit"),
) -> None:
    """Deliver notifications until stopped (SIGTERM or Ctrl-C finish the round in hand first)."""
    container = open_container(settings_from_env())
    worker = container.notify_worker()
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    try:
        if once:
            sent = worker.drain()
            console.print(f"{sent} notifications handled")
            return
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        console.print(f"notification worker {worker.name} running")
        worker.run(stop)
    finally:
        worker.close()
        container.close()


@app.command("status")
@acts_as(OPERATOR, Permission.NOTIFICATIONS_READ)
def status() -> None:
    """The queue by state and channel, and how long the oldest due message has waited (JSON)."""
    with opened_container() as container:
        found = ops.status(container.engine, datetime.now(UTC))
    typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())


@app.command("dead-letters")
@acts_as(OPERATOR, Permission.NOTIFICATIONS_READ)
def dead_letters(
    channel: str | None = typer.Option(None, "--channel", help="Only this channel: sms, email or push"),
    limit: int = typer.Option(100, "--limit", help=f"At most this many, newest first (1-{ops.MAX_LIMIT})"),
) -> None:
    """Messages given up on, newest first, with the last reason (JSON). Exit 2 on bad input."""
    chosen = ops.parse_channel(channel, "--channel")
    if not 1 <= limit <= ops.MAX_LIMIT:
        fail(f"--limit: between 1 and {ops.MAX_LIMIT}", code=2)
    with opened_container() as container, transaction(container.engine, read_only=True) as tx:
        found = ops.dead_letters(tx, channel=chosen, limit=limit)
    typer.echo(orjson.dumps({"dead_letters": found}, option=orjson.OPT_INDENT_2).decode())


@app.command("retry")
@acts_as(OPERATOR, Permission.NOTIFICATIONS_OPERATE)
def retry(notification_id: str = typer.Argument(..., help="The dead letter's notification id")) -> None:
    """Put a dead letter back in the queue, due now; it keeps its idempotency key."""
    with opened_container() as container, transaction(container.engine) as tx:
        found = ops.retry(tx, notification_id=notification_id, now=datetime.now(UTC))
    typer.echo(orjson.dumps(found).decode())
