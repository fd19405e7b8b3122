"""Notification delivery end to end: the outbox worker against raw smtplib, to one SMTP server.

Both send the same e-mails to the same local aiosmtpd server over one kept connection. The
baseline is the floor of any sender: ``smtplib.send_message`` in a loop over messages rendered
beforehand. The worker does everything delivery needs on top: claims rows in batches, opens each
customer's address (and records the read in the access log), reads their language, zone and
anti-phishing code, renders the message from its templates, sends, and records the outcome. Target:
the worker at least half the baseline's rate.
"""

from __future__ import annotations

import smtplib
import socket
import tempfile
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Final

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import insert

from bench.common import (
    Measurement,
    Options,
    Ratio,
    console,
    markdown_results,
    phase,
    print_results,
    run_stamp,
    write_section,
)
from shopshield.bootstrap import build
from shopshield.core.callers import Caller
from shopshield.core.db import unit_of_work
from shopshield.notify.adapters import SmtpSender, SmtpTarget
from shopshield.notify.catalogue import Channel, Event, parse_details
from shopshield.notify.messages import Audience, Email, Language
from shopshield.notify.models import QUEUED, NotificationRow
from shopshield.notify.schedule import DEFAULT_ZONE, idempotency_key, smtp_message_id
from shopshield.principals import service as principals
from shopshield.settings import Settings
from shopshield.vault import service as vault
from shopshield.vault.schemas import CustomerIn
from testkit import factories

NAME: Final = "notify"
TARGET: Final = 0.5
FROM: Final = "no-reply@shop.example"
DETAILS: Final = '{"reason": "breached_password"}'


@dataclass(frozen=True)
class Scale:
    customers: int
    messages: int
    batch: int


# The e-mail limit is 20 an hour per customer, so customers * 20 >= messages.
FULL: Final = Scale(customers=500, messages=10_000, batch=200)
QUICK: Final = Scale(customers=50, messages=1_000, batch=200)


class _Sink:
    """Counts what the server accepts; keeps nothing else."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.count += 1
        return "250 OK"


@dataclass(frozen=True)
class Result:
    raw: float
    outbox: float
    raw_seconds: float
    outbox_seconds: float
    messages: int


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(tmp: Path, scale: Scale) -> Result:
    sink = _Sink()
    port = _port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    container = build(Settings(data_dir=tmp / "var"), migrate=True)
    try:
        with phase(f"storing {scale.customers} customers and queueing {scale.messages} e-mails"):
            with unit_of_work(container.sessions) as session:
                created = principals.create(
                    session=session, policies=container.policies, name="backend", role="service"
                )
            caller = Caller(created.principal)
            made = [factories.customer(n) for n in range(scale.customers)]
            with unit_of_work(container.sessions) as session:
                for customer in made:
                    vault.store_customer(
                        vault=container.vault, session=session, caller=caller, customer=CustomerIn(**customer)
                    )
            now = datetime.now(UTC)
            rows: list[dict[str, Any]] = [
                {
                    "notification_id": str(uuid.uuid4()),
                    "customer_id": made[n % scale.customers]["customer_id"],
                    "event": str(Event.PASSWORD_RESET_REQUIRED),
                    "channel": str(Channel.EMAIL),
                    "details": DETAILS,
                    "source": "bench",
                    "source_ref": f"b-{n}",
                    "occurred_at": now,
                    "created_at": now,
                    "state": QUEUED,
                    "due_at": now,
                    "attempts": 0,
                }
                for n in range(scale.messages)
            ]
            with container.engine.begin() as conn:
                conn.execute(insert(NotificationRow), rows)
        # The baseline sends the very messages the worker will: rendered beforehand, not timed.
        details = parse_details(Event.PASSWORD_RESET_REQUIRED, {"reason": "breached_password"})
        audience = Audience(Language.ZH_CN, DEFAULT_ZONE, None)
        mails = []
        for n, row in enumerate(rows):
            rendered = container.renderer.email(Event.PASSWORD_RESET_REQUIRED, details, now, audience)
            assert isinstance(rendered, Email)
            mail = EmailMessage()
            mail["From"] = FROM
            mail["To"] = made[n % scale.customers]["email"]
            mail["Subject"] = rendered.subject
            mail["Message-ID"] = smtp_message_id(idempotency_key(row["notification_id"]), "shop.example")
            mail.set_content(rendered.text)
            mails.append(mail)
        with phase("raw smtplib") as raw_phase, smtplib.SMTP("127.0.0.1", port) as smtp:
            for mail in mails:
                smtp.send_message(mail)
        raw_seconds = raw_phase.seconds
        worker = replace(
            container.notify_worker(),
            senders={Channel.EMAIL: SmtpSender(SmtpTarget("127.0.0.1", port, None, None, starttls=False), FROM)},
            batch=scale.batch,
        )
        before = sink.count
        with phase("outbox worker") as outbox_phase:
            handled = worker.drain()
        worker.close()
        outbox_seconds = outbox_phase.seconds
        if handled != scale.messages or sink.count - before != scale.messages:
            raise RuntimeError(f"the worker handled {handled} and the server got {sink.count - before}")
    finally:
        container.close()
        controller.stop()
    return Result(
        raw=scale.messages / raw_seconds,
        outbox=scale.messages / outbox_seconds,
        raw_seconds=raw_seconds,
        outbox_seconds=outbox_seconds,
        messages=scale.messages,
    )


def result_rows(res: Result) -> tuple[list[Measurement], list[Ratio]]:
    rows = [
        Measurement("raw smtplib, pre-rendered, one connection", res.raw, "/s", count=res.messages),
        Measurement(
            "outbox worker: claim, open address (recorded), render, send, record",
            res.outbox,
            "/s",
            count=res.messages,
        ),
    ]
    ratios = [Ratio("outbox / raw smtplib", res.outbox / res.raw, TARGET, f">= {TARGET}")]
    return rows, ratios


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    stamp = run_stamp(options)
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as tmp:
        res = measure(Path(tmp), scale)
    rows, ratios = result_rows(res)
    title = "Notification delivery" + (" (quick)" if options.quick else "")
    print_results(title, rows, ratios)
    if options.write_docs:
        body = "\n\n".join(
            [
                "## Notification delivery",
                f"Run: {stamp}. Command: `.venv/bin/python -m bench notify" + (" --quick`." if options.quick else "`."),
                markdown_results(rows, ratios),
                f"{res.messages:,} e-mails to {scale.customers} customers (the e-mail rate limit is 20 an hour per "
                "customer) on the embedded SQLite database, to an aiosmtpd server in the same process; both "
                f"senders keep one SMTP connection. The worker claims {scale.batch} rows per transaction and "
                "records their outcomes in one more; each address it opens is an access event in the log.",
            ]
        )
        path = write_section(NAME, body, stamp)
        console.print(f"wrote the {NAME} section of {path}")
