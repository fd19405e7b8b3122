"""Notification delivery end to end: the outbox worker against raw smtplib, to one SMTP server.

Both send the same e-mails to the same local aiosmtpd server over one kept connection. The
baseline is the floor of any sender: ``smtplib.sendmail`` in a loop over messages rendered and
serialised beforehand. The worker does everything delivery needs on top: claims rows in batches, opens each
customer's address (and records the read in the access log), reads their language, zone and
anti-phishing code, renders the message from its templates, sends, and records the outcome. Target:
the worker at least half the baseline's rate.
"""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from typing import Any, Final

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
from shopshield.bootstrap import Container, build
from shopshield.core.callers import Caller
from shopshield.core.db import unit_of_work
from shopshield.notify import ops
from shopshield.notify.adapters import Outcome, SmtpSender, SmtpTarget
from shopshield.notify.catalogue import Channel, Event, parse_details
from shopshield.notify.messages import Audience, Email, Language, Message
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


@contextmanager
def _smtp_server(port: int) -> Iterator[None]:
    """aiosmtpd's own server with its Sink handler (accepts and drops every message), in a process
    of its own as a mail server would be: in this process it would compete with both senders for
    the interpreter lock, and penalise whichever does more Python work per message."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink", "-l", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the aiosmtpd server did not start") from None
                time.sleep(0.1)  # waiting for the server process to listen
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Result:
    raw: float
    outbox: float
    raw_seconds: float
    outbox_seconds: float
    messages: int
    per_message: float
    per_message_count: int
    sessions: int


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(tmp: Path, scale: Scale) -> Result:
    port = _port()
    with _smtp_server(port):
        return _measure(tmp, scale, port)


def _measure(tmp: Path, scale: Scale, port: int) -> Result:
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
            rows = _queued(made, scale, now, "b")
            with container.engine.begin() as conn:
                conn.execute(insert(NotificationRow), rows)
        # The baseline sends the very messages the worker will, rendered and serialised beforehand
        # (not timed), so that it times nothing but smtplib's exchange with the server.
        details = parse_details(Event.PASSWORD_RESET_REQUIRED, {"reason": "breached_password"})
        audience = Audience(Language.ZH_CN, DEFAULT_ZONE, None)
        mails: list[tuple[str, bytes]] = []
        for n, row in enumerate(rows):
            rendered = container.renderer.email(Event.PASSWORD_RESET_REQUIRED, details, now, audience)
            assert isinstance(rendered, Email)
            to = made[n % scale.customers]["email"]
            mail = EmailMessage(policy=SMTP_POLICY)
            mail["From"] = FROM
            mail["To"] = to
            mail["Subject"] = rendered.subject
            mail["Message-ID"] = smtp_message_id(idempotency_key(row["notification_id"]), "shop.example")
            mail.set_content(rendered.text)
            mails.append((to, mail.as_bytes()))
        with phase("raw smtplib") as raw_phase, smtplib.SMTP("127.0.0.1", port) as smtp:
            for to, data in mails:
                smtp.sendmail(FROM, [to], data)
        raw_seconds = raw_phase.seconds
        worker = replace(
            container.notify_worker(),
            senders={Channel.EMAIL: SmtpSender(SmtpTarget("127.0.0.1", port, None, None, starttls=False), FROM)},
            batch=scale.batch,
        )
        with phase("outbox worker") as outbox_phase:
            handled = worker.drain()
        used = worker.senders[Channel.EMAIL]
        sessions = used.sessions if isinstance(used, SmtpSender) else 0
        worker.close()
        outbox_seconds = outbox_phase.seconds
        _check(container, handled, scale.messages)
        # The same again with a new SMTP session for every message: what keeping the session
        # saves. Two hours on, so that the first run's sends do not count against the customers'
        # hourly e-mail limit. A tenth of the messages: at the rate it runs, that is plenty.
        later = now + timedelta(hours=2)
        few = scale.messages // 10
        with container.engine.begin() as conn:
            conn.execute(insert(NotificationRow), _queued(made, scale, later, "s", few))
        target = SmtpTarget("127.0.0.1", port, None, None, starttls=False)
        single = replace(
            container.notify_worker(),
            senders={Channel.EMAIL: _SessionPerMessage(target, FROM)},
            batch=scale.batch,
            clock=lambda: datetime.now(UTC) + timedelta(hours=2),
        )
        with phase("outbox worker, a session per message") as single_phase:
            handled = single.drain()
        single.close()
        _check(container, handled, few)
    finally:
        container.close()
    return Result(
        raw=scale.messages / raw_seconds,
        outbox=scale.messages / outbox_seconds,
        raw_seconds=raw_seconds,
        outbox_seconds=outbox_seconds,
        messages=scale.messages,
        per_message=few / single_phase.seconds,
        per_message_count=few,
        sessions=sessions,
    )


class _SessionPerMessage(SmtpSender):
    """The sender as it would be without reuse: every message opens and ends its own session."""

    def send(self, message: Message, address: str, idempotency_key: str) -> Outcome:
        try:
            return super().send(message, address, idempotency_key)
        finally:
            self.idle()


def _queued(made: list[dict[str, Any]], scale: Scale, now: datetime, tag: str, count: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "notification_id": str(uuid.uuid4()),
            "customer_id": made[n % scale.customers]["customer_id"],
            "event": str(Event.PASSWORD_RESET_REQUIRED),
            "channel": str(Channel.EMAIL),
            "details": DETAILS,
            "source": "bench",
            "source_ref": f"{tag}-{n}",
            "occurred_at": now,
            "created_at": now,
            "state": QUEUED,
            "due_at": now,
            "attempts": 0,
        }
        for n in range(count or scale.messages)
    ]


def _check(container: Container, handled: int, expected: int) -> None:
    sent = ops.status(container.engine, datetime.now(UTC) + timedelta(hours=3))
    if handled != expected or any(sent["queued"].values()) or any(sent["dead"].values()):
        raise RuntimeError(f"the worker handled {handled} of {expected}: {sent}")


def result_rows(res: Result) -> tuple[list[Measurement], list[Ratio]]:
    rows = [
        Measurement(
            "raw smtplib.sendmail, messages serialised beforehand, one connection", res.raw, "/s", count=res.messages
        ),
        Measurement(
            "outbox worker: claim, open address (recorded), render, send, record",
            res.outbox,
            "/s",
            count=res.messages,
        ),
    ]
    rows.append(
        Measurement(
            "outbox worker with a new SMTP session per message (no reuse)",
            res.per_message,
            "/s",
            count=res.per_message_count,
        )
    )
    ratios = [
        Ratio("outbox / raw smtplib", res.outbox / res.raw, TARGET, f">= {TARGET}"),
        Ratio("kept session / session per message", res.outbox / res.per_message, 0.0, "informative"),
    ]
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
                "customer) on the embedded SQLite database, to aiosmtpd's Sink server in a process of its own. The "
                "baseline keeps one SMTP connection for all messages; the worker keeps one SMTP session while it has "
                f"messages due ({res.sessions} for {res.messages:,} messages, decision 0031). The worker claims "
                f"{scale.batch} rows per transaction and records their outcomes in one more; each address it opens "
                "is an access event in the log. The third row is the same worker with a new session for every "
                "message: what reusing the session buys.",
            ]
        )
        path = write_section(NAME, body, stamp)
        console.print(f"wrote the {NAME} section of {path}")
