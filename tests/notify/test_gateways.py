"""Gateways hardened (decision 0031), against real peers on 127.0.0.1: SMTP with TLS from the first
byte (smtps) trusting a given CA and nothing unverified; one SMTP session while the worker is busy
(not one per message) and a fresh one when the server drops or ends it; one kept HTTP connection
per gateway; and a circuit breaker that stops sending to a failing gateway without charging
attempts, probes it, and closes when it recovers, visible in ``notify status`` and on ``/metrics``."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from prometheus_client import generate_latest
from sqlalchemy import select

from shopshield.bootstrap import Container, build_senders
from shopshield.core.callers import Caller
from shopshield.core.db import transaction, unit_of_work
from shopshield.notify import ops, service
from shopshield.notify.adapters import (
    FileSender,
    HttpSender,
    Result,
    SmtpSender,
    SmtpTarget,
    parse_smtp_url,
    tls_context,
)
from shopshield.notify.catalogue import Channel, Event
from shopshield.notify.circuit import BreakerPolicy, State
from shopshield.notify.messages import Email, Sms
from shopshield.notify.models import QUEUED, SENT, NotificationRow
from shopshield.notify.worker import CIRCUIT_HELD, Worker
from shopshield.principals import service as principals
from shopshield.settings import BadSettings, Settings
from shopshield.vault import service as vault
from shopshield.vault.schemas import CustomerIn
from testkit import factories
from tests.support.peers import Mailbox, http_endpoint, self_signed, smtp_server, smtps_server

NOW = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai: outside the quiet hours
SECRET = b"s" * 32
FROM = "no-reply@shop.example"
MAIL = Email(subject="测试 subject", text="正文 body")
SMS = Sms(body="【ShopShield】测试", encoding="ucs2", segments=1)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class CountingMailbox(Mailbox):
    """A mailbox that also counts SMTP sessions (each says EHLO once without STARTTLS)."""

    sessions = 0

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname  # what aiosmtpd's own EHLO does when no hook takes over
        return responses


def _customers(container: Container, count: int) -> list[dict[str, Any]]:
    with unit_of_work(container.sessions) as session:
        created = principals.create(session=session, policies=container.policies, name="backend", role="service")
    caller = Caller(created.principal)
    made = [factories.customer(n) for n in range(count)]
    with unit_of_work(container.sessions) as session:
        for customer in made:
            vault.store_customer(vault=container.vault, session=session, caller=caller, customer=CustomerIn(**customer))
    return made


def _queue(container: Container, made: list[dict[str, Any]], event: Event, **details: object) -> None:
    with transaction(container.engine) as tx:
        for customer in made:
            service.enqueue(
                tx,
                customer_id=customer["customer_id"],
                event=event,
                details=details,
                source="test",
                source_ref=f"g-{customer['customer_id']}",
                occurred_at=NOW,
                now=NOW,
            )


def _worker(container: Container, senders: dict[Channel, Any], clock: Clock, **kw: Any) -> Worker:
    return dataclasses.replace(container.notify_worker(), senders=senders, clock=clock, **kw)


def _rows(container: Container, channel: str) -> list[NotificationRow]:
    with unit_of_work(container.sessions) as session:
        found = list(session.scalars(select(NotificationRow).where(NotificationRow.channel == channel)))
        session.expunge_all()
    return found


@pytest.fixture
def spare(tmp_path: Path) -> FileSender:
    """A sender for the channel a test does not look at."""
    return FileSender(tmp_path / "spare", Channel.PUSH)


# -- SMTP over TLS from the start -------------------------------------------------------------------


def test_smtps_urls_parse_with_port_465_and_take_no_starttls_option() -> None:
    assert parse_smtp_url("smtps://u:p%40ss@mail.example") == SmtpTarget(
        "mail.example", 465, "u", "p@ss", starttls=False, implicit_tls=True
    )
    assert parse_smtp_url("smtps://mail.example:2465").port == 2465
    with pytest.raises(ValueError, match="no query options") as refused:
        parse_smtp_url("smtps://secret-host:465?starttls=true")
    assert "secret-host" not in str(refused.value)


def test_email_goes_over_smtps_to_a_server_whose_ca_file_is_given(container: Container, tmp_path: Path) -> None:
    server_tls, _client = self_signed(tmp_path)
    made = _customers(container, 2)
    _queue(container, made, Event.DATA_EXPORTED, partner="顺丰速运")
    with smtps_server(server_tls) as (box, port):
        configured = Settings.load(
            data_dir=tmp_path / "var", smtp_url=f"smtps://127.0.0.1:{port}", smtp_ca_file=tmp_path / "cert.pem"
        )
        senders = build_senders(configured)
        assert isinstance(senders[Channel.EMAIL], SmtpSender)
        w = _worker(container, senders, Clock())
        w.drain()
        w.close()
    assert sorted(r[0] for r in box.recipients) == sorted(c["email"] for c in made)
    assert {r.state for r in _rows(container, "email")} == {SENT}


def test_an_smtps_server_the_sender_cannot_verify_gets_nothing(container: Container, tmp_path: Path) -> None:
    server_tls, _client = self_signed(tmp_path)
    with smtps_server(server_tls) as (box, port):
        # The system's trust store does not know the test's CA: refused, never sent unverified.
        untrusted = SmtpSender(parse_smtp_url(f"smtps://127.0.0.1:{port}"), FROM)
        outcome = untrusted.send(MAIL, "someone@example.cn", "k-1")
        untrusted.close()
        # Trusting the CA but naming the server by another name fails the host name check.
        other = tmp_path / "other"
        other.mkdir()
        self_signed(other)
        wrong_ca = SmtpSender(parse_smtp_url(f"smtps://127.0.0.1:{port}"), FROM, tls=tls_context(other / "cert.pem"))
        second = wrong_ca.send(MAIL, "someone@example.cn", "k-2")
        wrong_ca.close()
    assert (outcome.result, outcome.reason, outcome.gateway_failure) == (
        Result.TEMPORARY,
        "smtp server certificate not trusted",
        True,
    )
    assert second.reason == "smtp server certificate not trusted"
    assert box.count() == 0


def test_a_ca_file_that_is_not_there_stops_the_settings(tmp_path: Path) -> None:
    with pytest.raises(BadSettings, match="SHOPSHIELD_SMTP_CA_FILE"):
        Settings.load(data_dir=tmp_path, smtp_ca_file=tmp_path / "none.pem")


# -- one session per batch, a fresh one when the server drops it ------------------------------------


def test_one_smtp_session_while_the_worker_is_busy(container: Container, spare: FileSender) -> None:
    made = _customers(container, 10)
    _queue(container, made[:5], Event.DATA_EXPORTED, partner="顺丰速运")
    box = CountingMailbox()
    with smtp_server(box) as (_box, port):
        sender = SmtpSender(SmtpTarget("127.0.0.1", port, None, None, starttls=False), FROM)
        w = _worker(container, {Channel.EMAIL: sender, Channel.PUSH: spare}, Clock())
        w.drain()
        assert (box.count(), box.sessions, sender.sessions) == (5, 1, 1)
        _queue(container, made[5:], Event.DATA_EXPORTED, partner="顺丰速运")
        # Five more in three batches of at most two: one more session, kept across the batches
        # and ended when the worker found nothing more due.
        small = _worker(container, {Channel.EMAIL: sender, Channel.PUSH: spare}, Clock(), batch=2)
        assert small.drain() == 5
        small.close()
    assert (box.count(), box.sessions, sender.sessions) == (10, 2, 2)


class SessionLimit(CountingMailbox):
    """A server that takes two messages per session and answers 421 to the third, as servers with
    a per-session limit do."""

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        taken = getattr(session, "taken", 0)
        if taken >= 2:
            return "421 too many messages in this session"
        session.taken = taken + 1  # type: ignore[attr-defined]
        envelope.mail_from = address
        return "250 OK"


def test_a_session_the_server_ends_with_421_is_opened_again_for_the_message() -> None:
    box = SessionLimit()
    with smtp_server(box) as (_box, port):
        sender = SmtpSender(SmtpTarget("127.0.0.1", port, None, None, starttls=False), FROM)
        outcomes = [sender.send(MAIL, f"u{n}@example.cn", f"k-{n}").result for n in range(5)]
        sender.idle()
    assert outcomes == [Result.SENT] * 5
    assert (box.count(), sender.sessions) == (5, 3)


def test_a_session_the_server_drops_is_opened_again_for_the_message_in_hand() -> None:
    box = CountingMailbox()
    with smtp_server(box) as (_box, port):
        sender = SmtpSender(SmtpTarget("127.0.0.1", port, None, None, starttls=False), FROM)
        assert sender.send(MAIL, "a@example.cn", "k-1").result is Result.SENT
    # The server goes away and comes back on the same port, dropping the session we hold.
    with smtp_server(box, port=port):
        outcome = sender.send(MAIL, "b@example.cn", "k-2")
        sender.idle()
    assert outcome.result is Result.SENT
    assert (sender.sessions, box.sessions, box.recipients) == (2, 2, [["a@example.cn"], ["b@example.cn"]])


# -- HTTP keep-alive --------------------------------------------------------------------------------


def test_sms_go_to_the_gateway_on_one_kept_connection(container: Container, spare: FileSender) -> None:
    made = _customers(container, 6)
    _queue(container, made, Event.SCAM_WARNING, pattern="refund")
    with http_endpoint(SECRET) as sms:
        sender = HttpSender(sms.url, SECRET, Channel.SMS)
        w = _worker(container, {Channel.SMS: sender, Channel.PUSH: spare}, Clock(), batch=2)
        w.drain()
        w.close()
    assert len(sms.by_key) == 6 and sms.requests == 6
    # Three batches, one connection: kept while the worker is busy.
    assert (len(sms.connections), sender.connections) == (1, 1)


def test_a_kept_connection_the_gateway_closed_is_opened_again() -> None:
    with http_endpoint(SECRET) as sms:
        sms.close_silently = True
        sender = HttpSender(sms.url, SECRET, Channel.SMS)
        outcomes = [sender.send(SMS, "13812345678", f"k-{n}").result for n in range(3)]
        sender.close()
    assert outcomes == [Result.SENT] * 3
    assert len(sms.by_key) == 3 and sender.connections == 3 == len(sms.connections)


# -- the circuit breaker ----------------------------------------------------------------------------


def test_a_failing_gateway_opens_its_circuit_then_a_probe_closes_it_when_it_recovers(
    container: Container, spare: FileSender
) -> None:
    made = _customers(container, 10)
    _queue(container, made, Event.SCAM_WARNING, pattern="refund")
    clock = Clock()
    with http_endpoint(SECRET) as sms:
        sms.script = [503] * 3
        sender = HttpSender(sms.url, SECRET, Channel.SMS)
        w = _worker(
            container,
            {Channel.SMS: sender, Channel.PUSH: spare},
            clock,
            breaker_policy=BreakerPolicy(threshold=3, cool_down=timedelta(seconds=30)),
            rng=random.Random(1),
        )
        w.drain()
        # Three failures in a row, then nothing more was tried: the other seven wait for the
        # cool-down, with no attempt counted.
        assert sms.requests == 3
        breaker = w.breakers[Channel.SMS]
        assert breaker.snapshot().state is State.OPEN and breaker.open_until is not None
        rows = _rows(container, "sms")
        failed = [r for r in rows if r.attempts == 1]
        held = [r for r in rows if r.last_error == CIRCUIT_HELD]
        assert len(failed) == 3 and {r.last_error for r in failed} == {"sms endpoint answered 503"}
        assert len(held) == 7 and {(r.state, r.attempts) for r in held} == {(QUEUED, 0)}
        assert all(r.due_at.replace(tzinfo=UTC) >= breaker.open_until for r in held)

        shown = ops.status(container.engine, clock.now, breakers={"sms": breaker.snapshot()})["circuits"]
        assert shown["sms"]["worker_state"] == "open" and shown["sms"]["held"] == 7
        assert shown["sms"]["consecutive_failures"] == 3 and shown["sms"]["times_opened"] == 1
        assert (shown["email"]["worker_state"], shown["email"]["held"]) == (None, 0)
        scraped = generate_latest(container.metrics).decode()
        assert 'shopshield_notifications_gateway_circuit{channel="sms"} 2.0' in scraped

        # Still cooling down: nothing is tried.
        clock.now += timedelta(seconds=10)
        w.drain()
        assert sms.requests == 3
        # The gateway is back; after the cool-down the probe goes first and closes the circuit.
        clock.now = NOW + timedelta(minutes=2)
        w.drain()
        w.close()
    assert breaker.snapshot().state is State.CLOSED
    rows = _rows(container, "sms")
    assert {r.state for r in rows} == {SENT} and len(sms.by_key) == 10
    assert sorted(r.attempts for r in rows) == [1] * 7 + [2] * 3
    assert sms.requests == 13
    assert 'shopshield_notifications_gateway_circuit{channel="sms"} 0.0' in generate_latest(container.metrics).decode()


def test_a_probe_that_fails_opens_the_circuit_again_and_refusals_do_not_open_it(
    container: Container, spare: FileSender
) -> None:
    made = _customers(container, 4)
    _queue(container, made, Event.SCAM_WARNING, pattern="refund")
    clock = Clock()
    with http_endpoint(SECRET) as sms:
        # 400s are the messages' own problem (dead letters), not the gateway's: the circuit stays closed.
        sms.script = [400, 400, 503, 503]
        sender = HttpSender(sms.url, SECRET, Channel.SMS)
        w = _worker(
            container,
            {Channel.SMS: sender, Channel.PUSH: spare},
            clock,
            breaker_policy=BreakerPolicy(threshold=2, cool_down=timedelta(seconds=30)),
        )
        w.drain()
        breaker = w.breakers[Channel.SMS]
        assert sms.requests == 4 and breaker.snapshot().state is State.OPEN and breaker.opened == 1
        sms.script = [503]
        assert breaker.open_until is not None
        clock.now = breaker.open_until + timedelta(minutes=1)
        w.drain()
        # One probe, which failed: open again, for longer; the other message was not tried.
        assert sms.requests == 5 and breaker.snapshot().state is State.OPEN and breaker.opened == 2
        assert breaker.open_until is not None and breaker.open_until >= clock.now + timedelta(seconds=60)
        w.close()
