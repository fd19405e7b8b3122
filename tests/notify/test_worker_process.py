"""The worker as real processes: inside ``shopshield serve`` (e-mail out within seconds of the
event), as ``shopshield notify run``, killed with SIGKILL in the middle of 10,000 messages and
restarted (none lost, duplicates only the ones in flight, each with its own Message-ID), and the
operators' commands."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import insert

from shopshield.bootstrap import Container, build
from shopshield.core.callers import Caller
from shopshield.core.db import Statement, transaction, unit_of_work
from shopshield.notify import service
from shopshield.notify.catalogue import Event
from shopshield.notify.models import QUEUED, NotificationRow
from shopshield.notify.schedule import idempotency_key, smtp_message_id
from shopshield.principals import service as principals
from shopshield.settings import Settings
from shopshield.vault import service as vault
from shopshield.vault.schemas import CustomerIn
from testkit import factories
from tests.support.clock import last_noon
from tests.support.peers import smtp_server
from tests.support.server import EXECUTABLE, Server, ensure_stopped, free_port, run_cli, wait_until_up

FROM = "no-reply@shop.example"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPSHIELD_")}
    env["SHOPSHIELD_DATA_DIR"] = str(data_dir)
    env["SHOPSHIELD_SMTP_FROM"] = FROM
    env.update(extra)
    return env


@contextmanager
def _instance(tmp_path: Path) -> Iterator[tuple[Path, Container]]:
    """A migrated embedded instance, and a container of the test's own on it."""
    data_dir = tmp_path / "var"
    run_cli(_env(data_dir), "migrate")
    container = build(Settings(data_dir=data_dir))
    try:
        yield data_dir, container
    finally:
        container.close()


def _customers(container: Container, count: int) -> list[str]:
    with unit_of_work(container.sessions) as session:
        created = principals.create(session=session, policies=container.policies, name="backend", role="service")
    caller = Caller(created.principal)
    made = [factories.customer(n) for n in range(count)]
    with unit_of_work(container.sessions) as session:
        for customer in made:
            vault.store_customer(vault=container.vault, session=session, caller=caller, customer=CustomerIn(**customer))
    return [c["customer_id"] for c in made]


def _wait(condition: object, seconds: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)  # polling a peer in another process or thread
    pytest.fail(f"{what} did not happen within {seconds}s")


def test_serve_delivers_an_email_within_seconds_of_the_event(tmp_path: Path) -> None:
    with smtp_server() as (box, smtp_port), _instance(tmp_path) as (data_dir, container):
        (customer_id,) = _customers(container, 1)
        port = free_port()
        log = tmp_path / "serve.log"
        env = _env(data_dir, SHOPSHIELD_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", SHOPSHIELD_NOTIFY_POLL_SECONDS="0.2")
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [str(EXECUTABLE), "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            wait_until_up(Server(process, f"http://127.0.0.1:{port}", log, env, data_dir))
            now = datetime.now(UTC)
            with transaction(container.engine) as tx:
                (notification_id,) = service.enqueue(
                    tx,
                    customer_id=customer_id,
                    event=Event.DATA_EXPORTED,
                    details={"partner": "顺丰速运"},
                    source="test",
                    source_ref="x-1",
                    occurred_at=now,
                    now=now,
                )
            started = time.monotonic()
            _wait(lambda: box.count() == 1, 10.0, "the e-mail")
            assert time.monotonic() - started < 5.0
            assert box.message_ids() == [smtp_message_id(idempotency_key(notification_id), "shop.example")]
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        finally:
            ensure_stopped(process)
        assert "notification worker on" in log.read_text(errors="replace")


def test_the_commands_report_the_queue_and_refuse_bad_input(tmp_path: Path) -> None:
    with _instance(tmp_path) as (data_dir, container):
        (customer_id,) = _customers(container, 1)
        now = last_noon()  # daytime: the SMS and push are due at once
        with transaction(container.engine) as tx:
            service.enqueue(
                tx,
                customer_id=customer_id,
                event=Event.SCAM_WARNING,
                details={"pattern": "refund"},
                source="test",
                source_ref="w-1",
                occurred_at=now,
                now=now,
            )
        env = _env(data_dir)
        status = orjson.loads(run_cli(env, "notify", "status"))
        assert status["queued"] == {"sms": 1, "email": 0, "push": 1}
        assert (
            "handled"
            in subprocess.run(
                [str(EXECUTABLE), "notify", "run", "--once"], env=env, capture_output=True, timeout=60, check=True
            ).stderr.decode()
        )
        status = orjson.loads(run_cli(env, "notify", "status"))
        assert status["queued"] == {"sms": 0, "email": 0, "push": 0}
        assert orjson.loads(run_cli(env, "notify", "dead-letters")) == {"dead_letters": []}
        for args, message in (
            (("dead-letters", "--channel", "fax"), "--channel: one of sms, email, push"),
            (("dead-letters", "--limit", "0"), "--limit: between 1 and 1000"),
            (("retry", "n-none"), "no such notification"),
        ):
            done = subprocess.run(
                [str(EXECUTABLE), "notify", *args], env=env, capture_output=True, timeout=60, check=False
            )
            assert done.returncode == 2, done.stderr
            assert message in done.stderr.decode()


MESSAGES = 10_000
# The e-mail limit is 20 an hour per customer: 500 customers take 10,000 at once.
CUSTOMERS = 500
BATCH = 200


def test_a_worker_killed_mid_delivery_loses_nothing(tmp_path: Path) -> None:
    with smtp_server() as (box, smtp_port), _instance(tmp_path) as (data_dir, container):
        customer_ids = _customers(container, CUSTOMERS)
        queued = _queue_emails(container, customer_ids, MESSAGES)
        expected = {smtp_message_id(idempotency_key(row["notification_id"]), "shop.example") for row in queued}
        env = _env(
            data_dir,
            SHOPSHIELD_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
            SHOPSHIELD_NOTIFY_BATCH_SIZE=str(BATCH),
            SHOPSHIELD_NOTIFY_LEASE_SECONDS="2",
            SHOPSHIELD_NOTIFY_POLL_SECONDS="0.1",
        )

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [str(EXECUTABLE), "notify", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        first = start()
        try:
            _wait(lambda: box.count() >= MESSAGES // 3, 120.0, "a third of the messages")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            ensure_stopped(first)
        at_kill = box.count()
        assert at_kill < MESSAGES, "killed too late to test anything"
        second = start()
        try:
            _wait(lambda: _delivered(container) == MESSAGES, 240.0, "every message")
        finally:
            ensure_stopped(second)
        ids = box.message_ids()
        counts = Counter(ids)
        # None lost: every message arrived, under the Message-ID of its own idempotency key.
        assert set(counts) == expected
        # Duplicates only of what was in flight when the worker died: at most one batch, once each.
        duplicates = {i: n for i, n in counts.items() if n > 1}
        assert set(duplicates.values()) <= {2}
        assert len(duplicates) <= BATCH
        assert len(ids) == MESSAGES + len(duplicates)


def _queue_emails(container: Container, customer_ids: list[str], count: int) -> list[dict[str, Any]]:
    """``count`` e-mails due now, spread over the customers, written as ``enqueue`` would."""
    now = datetime.now(UTC)
    queued: list[dict[str, Any]] = [
        {
            "notification_id": str(uuid.uuid4()),
            "customer_id": customer_ids[n % len(customer_ids)],
            "event": str(Event.PASSWORD_RESET_REQUIRED),
            "channel": "email",
            "details": '{"reason": "breached_password"}',
            "source": "test",
            "source_ref": f"m-{n}",
            "occurred_at": now,
            "created_at": now,
            "state": QUEUED,
            "due_at": now,
            "attempts": 0,
        }
        for n in range(count)
    ]
    with container.engine.begin() as conn:
        conn.execute(insert(NotificationRow), queued)
    return queued


# PostgreSQL only: SQLite runs one worker per database (decision 0027).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_notify_run_processes_on_postgresql_send_each_message_once(
    container: Container, backend: str, tmp_path: Path
) -> None:
    settings = container.settings
    assert settings.database_url is not None and settings.keystore_url is not None
    with smtp_server() as (box, smtp_port):
        queued = _queue_emails(container, _customers(container, 100), 2_000)
        env = _env(
            settings.resolved_data_dir(),
            SHOPSHIELD_DATABASE_URL=settings.database_url.get_secret_value(),
            SHOPSHIELD_KEYSTORE_URL=settings.keystore_url.get_secret_value(),
            SHOPSHIELD_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
            SHOPSHIELD_NOTIFY_BATCH_SIZE="25",
            SHOPSHIELD_NOTIFY_POLL_SECONDS="0.1",
        )
        workers = [
            subprocess.Popen(
                [str(EXECUTABLE), "notify", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(2)
        ]
        try:
            _wait(lambda: _delivered(container) == len(queued), 180.0, "every message")
        finally:
            for process in workers:
                ensure_stopped(process)
        ids = box.message_ids()
    expected = {smtp_message_id(idempotency_key(row["notification_id"]), "shop.example") for row in queued}
    # Disjoint claims: every message once, none twice.
    assert len(ids) == len(set(ids)) == len(queued)
    assert set(ids) == expected


def _delivered(container: Container) -> int:
    with transaction(container.engine, read_only=True) as tx:
        found = tx.execute(_SENT_COUNT, {})
        return int(found.fetchone()[0])


_SENT_COUNT = Statement("SELECT COUNT(*) FROM notifications WHERE state = 'sent'")
