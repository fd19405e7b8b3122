"""Delivery with real peers, on SQLite and PostgreSQL: an aiosmtpd server, a local HTTP endpoint that
checks signatures and idempotency keys, and the JSON-lines default. Rows go sent, back to the queue
with a backoff, or to dead letters; a killed worker's rows come back after the lease; two workers on
PostgreSQL never send one message twice; every address opened is an access event."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shopshield.bootstrap import Container, build_senders
from shopshield.core.callers import Caller
from shopshield.core.db import transaction, unit_of_work
from shopshield.notify import ops, service
from shopshield.notify.adapters import FileSender, HttpSender, Outcome, SmtpSender, SmtpTarget, parse_smtp_url
from shopshield.notify.catalogue import DIGEST_WINDOW_SECONDS, Channel, Event
from shopshield.notify.models import (
    DEAD,
    DIGESTED,
    QUEUED,
    SENDING,
    SENT,
    NotificationRow,
)
from shopshield.notify.schedule import idempotency_key, smtp_message_id
from shopshield.notify.worker import PURPOSE, WORKER, Worker
from shopshield.principals import service as principals
from shopshield.settings import BadSettings, Settings
from shopshield.vault import service as vault
from shopshield.vault.schemas import ContactIn, CustomerIn
from testkit import factories
from tests.support.events import stored_events
from tests.support.outbox import intents
from tests.support.peers import Mailbox, http_endpoint, self_signed, smtp_server, starttls_smtp_server

NOW = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai: outside the quiet hours
SECRET = b"s" * 32
FROM = "no-reply@shop.example"


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def customers(container: Container, count: int, start: int = 0) -> list[dict[str, Any]]:
    with unit_of_work(container.sessions) as session:
        created = principals.create(
            session=session, policies=container.policies, name=f"backend{start}", role="service"
        )
    caller = Caller(created.principal)
    made = [factories.customer(n) for n in range(start, start + count)]
    with unit_of_work(container.sessions) as session:
        for customer in made:
            vault.store_customer(vault=container.vault, session=session, caller=caller, customer=CustomerIn(**customer))
    return made


def enqueue(container: Container, customer_id: str, event: Event, ref: str, **details: object) -> list[str]:
    with transaction(container.engine) as tx:
        return service.enqueue(
            tx,
            customer_id=customer_id,
            event=event,
            details=details,
            source="test",
            source_ref=ref,
            occurred_at=NOW,
            now=NOW,
        )


def worker(container: Container, senders: dict[Channel, Any], clock: Clock, **kw: Any) -> Worker:
    return dataclasses.replace(container.notify_worker(), senders=senders, clock=clock, **kw)


def rows(container: Container) -> dict[str, NotificationRow]:
    with unit_of_work(container.sessions) as session:
        found = session.scalars(select(NotificationRow)).all()
        for row in found:
            session.expunge(row)
    return {row.notification_id: row for row in found}


@pytest.fixture
def mail() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as found:
        yield found


def smtp(port: int) -> SmtpSender:
    return SmtpSender(SmtpTarget("127.0.0.1", port, None, None, starttls=False), FROM)


def test_email_goes_to_the_smtp_server_with_the_message_id_of_its_key(
    container: Container, mail: tuple[Mailbox, int], tmp_path: Any
) -> None:
    box, port = mail
    (customer,) = customers(container, 1)
    ids = enqueue(container, customer["customer_id"], Event.PASSWORD_RESET_REQUIRED, "r-1", reason="breached_password")
    files = FileSender(tmp_path / "out", Channel.SMS)
    w = worker(container, {Channel.EMAIL: smtp(port), Channel.SMS: files}, Clock())
    assert w.drain() == 2
    w.close()
    assert box.count() == 1
    (email,) = [i for i, r in rows(container).items() if r.channel == "email"]
    assert box.message_ids() == [smtp_message_id(idempotency_key(email), "shop.example")]
    assert box.recipients == [[customer["email"]]]
    text = box.messages[0].get_payload(decode=True)
    assert isinstance(text, bytes)
    assert customer["mobile"] not in text.decode() and customer["email"] not in text.decode()
    assert {r.state for r in rows(container).values()} == {SENT}
    assert set(ids) == set(rows(container))
    # Each address opened is a read recorded as the worker's, for the purpose of notifying.
    reads = [e for e in stored_events(container) if e.actor_id == WORKER.principal.principal_id]
    assert sorted(e.fields for e in reads) == ["email", "mobile"]
    assert {e.purpose for e in reads} == {PURPOSE}
    assert {e.customer_id for e in reads} == {customer["customer_id"]}
    lines = [json.loads(line) for line in files.path.read_text(encoding="utf-8").splitlines()]
    # The file is not a gateway: it names the address masked, and holds no full value at all.
    mobile = customer["mobile"]
    assert [(line["to"], line["channel"]) for line in lines] == [(f"{mobile[:3]}****{mobile[-4:]}", "sms")]
    assert mobile not in files.path.read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(files.path).st_mode) == 0o600


def test_email_goes_over_starttls_when_the_url_asks_for_it(container: Container, tmp_path: Path) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    (customer,) = customers(container, 1)
    enqueue(container, customer["customer_id"], Event.DATA_EXPORTED, "e-1", partner="顺丰速运")
    with starttls_smtp_server(server_tls) as (box, port):
        plain = worker(container, {Channel.EMAIL: smtp(port)}, Clock())
        plain.drain()
        (row,) = rows(container).values()
        # The server insists on TLS (530): a permanent refusal, so a dead letter until an operator
        # fixes the setting and sends it again.
        assert (row.state, row.attempts, row.last_error) == (DEAD, 1, "smtp server answered 530")
        with transaction(container.engine) as tx:
            ops.retry(tx, notification_id=row.notification_id, now=NOW)
        target = parse_smtp_url(f"smtp://127.0.0.1:{port}?starttls=true")
        secure = worker(container, {Channel.EMAIL: SmtpSender(target, FROM, tls=client_tls)}, Clock())
        assert secure.drain() == 1
        secure.close()
    assert box.recipients == [[customer["email"]]]
    assert rows(container)[row.notification_id].state == SENT


def test_an_smtp_4xx_is_retried_and_a_5xx_is_a_dead_letter(container: Container, mail: tuple[Mailbox, int]) -> None:
    box, port = mail
    first, second = customers(container, 2)
    box.refuse_with = 450
    enqueue(container, first["customer_id"], Event.DATA_EXPORTED, "e-1", partner="顺丰速运")
    w = worker(container, {Channel.EMAIL: smtp(port)}, Clock())
    w.drain()
    (row,) = rows(container).values()
    assert (row.state, row.attempts, row.last_error) == (QUEUED, 1, "smtp recipient refused 450")
    box.refuse_with = 550
    enqueue(container, second["customer_id"], Event.DATA_EXPORTED, "e-2", partner="顺丰速运")
    w.drain()
    dead = [r for r in rows(container).values() if r.state == DEAD]
    assert [(r.customer_id, r.last_error) for r in dead] == [(second["customer_id"], "smtp recipient refused 550")]
    w.close()
    assert box.count() == 0


def test_sms_and_push_are_signed_and_carry_the_idempotency_key(container: Container) -> None:
    (customer,) = customers(container, 1)
    with http_endpoint(SECRET) as sms, http_endpoint(SECRET) as push:
        enqueue(container, customer["customer_id"], Event.SCAM_WARNING, "w-1", pattern="refund")
        w = worker(
            container,
            {
                Channel.SMS: HttpSender(sms.url, SECRET, Channel.SMS),
                Channel.PUSH: HttpSender(push.url, SECRET, Channel.PUSH),
            },
            Clock(),
        )
        assert w.drain() == 2
    by_channel = {r.channel: r.notification_id for r in rows(container).values()}
    assert [(r.key, r.signed, r.body["to"]) for r in sms.received] == [
        (idempotency_key(by_channel["sms"]), True, customer["mobile"])
    ]
    assert [(r.key, r.signed, r.body["customer_id"]) for r in push.received] == [
        (idempotency_key(by_channel["push"]), True, customer["customer_id"])
    ]
    assert "【ShopShield】" in sms.received[0].body["text"]


def test_a_changed_mobile_and_email_are_told_to_the_old_ones_too(
    container: Container, mail: tuple[Mailbox, int]
) -> None:
    """Someone who takes over an account changes its contacts to their own: the change is told on
    the customer's channels (the new contacts) and to the mobile and e-mail it replaced, which the
    worker opens from the sealed copy on the message, recording the read."""
    mailbox, port = mail
    (customer,) = customers(container, 1)
    cid, old_mobile, old_email = customer["customer_id"], customer["mobile"], customer["email"]
    with unit_of_work(container.sessions) as session:
        backend = principals.create(session=session, policies=container.policies, name="changer", role="service")
    with unit_of_work(container.sessions) as session:
        vault.change_contact(
            vault=container.vault,
            session=session,
            caller=Caller(backend.principal),
            customer_id=cid,
            change=ContactIn(mobile="13900001234", email="taker@example.net"),
        )
    queued = [r for r in rows(container).values() if r.event == "contact.changed"]
    previous = [r for r in queued if r.address_ct is not None]
    assert sorted(r.channel for r in previous) == ["email", "sms"]
    for row in previous:
        assert old_mobile.encode() not in bytes(row.address_ct or b"")
        assert old_email.encode() not in bytes(row.address_ct or b"")
    with http_endpoint(SECRET) as sms:
        w = worker(
            container,
            {Channel.SMS: HttpSender(sms.url, SECRET, Channel.SMS), Channel.EMAIL: smtp(port), Channel.PUSH: _null()},
            Clock(datetime.now(UTC) + timedelta(seconds=1)),  # the vault queued on the real clock
        )
        w.drain()
    # Each change on both channels to the new contacts, and the mobile's to the old mobile, the
    # e-mail's to the old e-mail.
    assert sorted(r.body["to"] for r in sms.received) == sorted([old_mobile, "13900001234", "13900001234"])
    (to_old,) = [r for r in sms.received if r.body["to"] == old_mobile]
    assert "139****1234" in to_old.body["text"]
    assert sorted(to for recipients in mailbox.recipients for to in recipients) == sorted(
        [old_email, "taker@example.net", "taker@example.net"]
    )
    opened = stored_events(container, action="notify", customer_id=cid)
    assert len(opened) == 6 and {e.purpose for e in opened} == {PURPOSE}


def test_a_temporary_failure_is_retried_later_and_a_permanent_one_is_a_dead_letter(container: Container) -> None:
    first, second = customers(container, 2)
    clock = Clock()
    with http_endpoint(SECRET) as sms:
        sms.script = [503]
        enqueue(container, first["customer_id"], Event.SCAM_WARNING, "w-1", pattern="refund")
        w = worker(container, {Channel.SMS: HttpSender(sms.url, SECRET, Channel.SMS), Channel.PUSH: _null()}, clock)
        w.drain()
        (row,) = [r for r in rows(container).values() if r.channel == "sms"]
        assert (row.state, row.attempts, row.last_error) == (QUEUED, 1, "sms endpoint answered 503")
        assert row.due_at.replace(tzinfo=UTC) <= NOW + timedelta(seconds=30)
        clock.now = NOW + timedelta(seconds=31)
        w.drain()
        assert len(sms.received) == 1
        assert rows(container)[row.notification_id].state == SENT
        # 400: the gateway will never take it; no retry.
        sms.script = [400]
        enqueue(container, second["customer_id"], Event.SCAM_WARNING, "w-2", pattern="refund")
        w.drain()
    dead = [r for r in rows(container).values() if r.state == DEAD]
    assert [(r.customer_id, r.last_error) for r in dead] == [(second["customer_id"], "sms endpoint answered 400")]


def test_after_the_last_attempt_a_message_is_a_dead_letter_with_its_reason(container: Container) -> None:
    (customer,) = customers(container, 1)
    clock = Clock()
    with http_endpoint(SECRET) as push:
        push.script = [503] * 3
        enqueue(container, customer["customer_id"], Event.SCAM_WARNING, "w-1", pattern="refund")
        w = worker(container, {Channel.PUSH: HttpSender(push.url, SECRET, Channel.PUSH), Channel.SMS: _null()}, clock)
        w = dataclasses.replace(w, retry=dataclasses.replace(w.retry, max_attempts=3))
        for _ in range(3):
            w.drain()
            clock.now += timedelta(hours=2)
    (row,) = [r for r in rows(container).values() if r.channel == "push"]
    assert (row.state, row.attempts, row.last_error) == (DEAD, 3, "push endpoint answered 503")
    assert push.received == []


def test_a_killed_workers_messages_return_after_the_lease_with_the_same_message_id(
    container: Container, mail: tuple[Mailbox, int]
) -> None:
    box, port = mail
    (customer,) = customers(container, 1)
    enqueue(container, customer["customer_id"], Event.DATA_EXPORTED, "e-1", partner="顺丰速运")
    clock = Clock()
    crashed = worker(container, {Channel.EMAIL: smtp(port)}, clock, name="crashed")
    # Claimed and sent, then "killed" before recording: the row stays with the dead worker.
    with transaction(container.engine) as tx:
        (job,) = crashed._claim(tx)
    job.outcome = crashed._send(job)
    (row,) = rows(container).values()
    assert (row.state, row.claimed_by) == (SENDING, "crashed")
    other = worker(container, {Channel.EMAIL: smtp(port)}, clock, name="other")
    assert other.drain() == 0  # the lease holds
    clock.now += crashed.lease + timedelta(seconds=1)
    assert other.drain() == 1
    other.close()
    assert rows(container)[row.notification_id].state == SENT
    # One duplicate: the message in flight, both copies with the same Message-ID.
    expected = smtp_message_id(idempotency_key(row.notification_id), "shop.example")
    assert box.message_ids() == [expected, expected]
    # The crashed worker's late record changes nothing: it no longer holds the row.
    with transaction(container.engine) as tx:
        crashed._record(tx, [job])
    assert rows(container)[row.notification_id].attempts == 1


def test_a_batch_that_outlasts_most_of_its_lease_hands_the_rest_back_unsent(
    container: Container, mail: tuple[Mailbox, int]
) -> None:
    box, port = mail
    made = customers(container, 3)
    for customer in made:
        enqueue(container, customer["customer_id"], Event.DATA_EXPORTED, "e-1", partner="顺丰速运")
    # A lease so short that every batch is past it after its first message.
    w = worker(container, {Channel.EMAIL: smtp(port)}, Clock(), lease=timedelta(0))
    assert w.run_once() == 3
    states = sorted((r.state, r.last_error or "", r.attempts) for r in rows(container).values())
    assert states == [
        (QUEUED, "released before its lease ran out", 0),
        (QUEUED, "released before its lease ran out", 0),
        (SENT, "", 1),
    ]
    w.drain()
    w.close()
    assert {r.state for r in rows(container).values()} == {SENT}
    assert len(box.message_ids()) == len(set(box.message_ids())) == 3


def test_a_window_split_across_batches_still_goes_as_one_digest(container: Container, tmp_path: Path) -> None:
    """A batch smaller than the window's reveals does not split the digest: the rows of its key
    that are due are folded into the first one claimed, wherever the batch ended."""
    (customer,) = customers(container, 1)
    reveal = {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["mobile"]}
    for n in range(6):
        enqueue(container, customer["customer_id"], Event.DATA_REVEALED, f"b-{n}", **reveal)
    files = FileSender(tmp_path / "out", Channel.EMAIL)
    clock = Clock()
    w = worker(container, {Channel.EMAIL: files, Channel.PUSH: _null()}, clock, batch=2)
    w.drain()  # the first reveal, at once
    clock.now += timedelta(seconds=DIGEST_WINDOW_SECONDS + 1)
    w.drain()  # the other five, as one message though a batch holds two rows
    email = sorted(r.state for r in rows(container).values() if r.channel == "email")
    assert email == [DIGESTED] * 4 + [SENT, SENT]
    texts = [json.loads(line)["text"] for line in files.path.read_text(encoding="utf-8").splitlines()]
    assert len(texts) == 2 and "共5次" in texts[1]


class _FailsOnce:
    """A sender whose gateway is down for the first message, then delivers to ``inner``."""

    def __init__(self, inner: FileSender) -> None:
        self.inner, self.failed = inner, False

    def send(self, message: Any, address: str, key: str) -> Outcome:
        if not self.failed:
            self.failed = True
            return Outcome.temporary("gateway down")
        return self.inner.send(message, address, key)

    def idle(self) -> None:
        self.inner.idle()

    def close(self) -> None:
        self.inner.close()


def test_a_digest_retried_later_keeps_its_count(container: Container, tmp_path: Path) -> None:
    """The rows folded into a digest are gone from the queue; a digest whose send fails and is
    retried still tells how many it stands for, plus what was folded into it meanwhile."""
    (customer,) = customers(container, 1)
    reveal = {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["mobile"]}
    for n in range(4):
        enqueue(container, customer["customer_id"], Event.DATA_REVEALED, f"c-{n}", **reveal)
    files = FileSender(tmp_path / "out", Channel.EMAIL)
    clock = Clock()
    w = worker(container, {Channel.EMAIL: files, Channel.PUSH: _null()}, clock)
    w.drain()  # the first reveal, at once
    w.senders = {Channel.EMAIL: _FailsOnce(files), Channel.PUSH: _null()}
    clock.now += timedelta(seconds=DIGEST_WINDOW_SECONDS + 1)
    w.drain()  # the other three fold into one digest, whose send fails
    (held,) = [r for r in rows(container).values() if r.channel == "email" and r.state == QUEUED]
    assert held.digest_count == 3
    clock.now += timedelta(hours=2)
    w.drain()  # the retry
    texts = [json.loads(line)["text"] for line in files.path.read_text(encoding="utf-8").splitlines()]
    assert len(texts) == 2 and "共3次" in texts[1]


def test_reveals_after_the_first_in_a_window_go_as_one_digest(container: Container, tmp_path: Path) -> None:
    (customer,) = customers(container, 1)
    reveal = {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["mobile"]}
    for n in range(4):
        enqueue(container, customer["customer_id"], Event.DATA_REVEALED, f"a-{n}", **reveal)
    files = FileSender(tmp_path / "out", Channel.EMAIL)
    clock = Clock()
    w = worker(container, {Channel.EMAIL: files, Channel.PUSH: _null()}, clock)
    w.drain()  # the first reveal, at once
    clock.now += timedelta(seconds=DIGEST_WINDOW_SECONDS + 1)
    w.drain()  # the other three, as one message
    email = sorted(r.state for r in rows(container).values() if r.channel == "email")
    assert email == [DIGESTED, DIGESTED, SENT, SENT]
    texts = [json.loads(line)["text"] for line in files.path.read_text(encoding="utf-8").splitlines()]
    assert len(texts) == 2
    assert "共3次" in texts[1] and "共" not in texts[0]


def test_reveals_queued_for_the_worker_to_expand_are_delivered_like_the_others(
    container: Container, tmp_path: Path
) -> None:
    """What the reveal's hot path queues (one intent per event) is expanded by the
    worker into a row per channel and delivered: the first at once, the rest as one digest."""
    (customer,) = customers(container, 1)
    reveal = {"role": "cs_agent", "purpose": "refund_dispute", "fields": ["mobile"]}
    for n in range(4):
        with transaction(container.engine) as tx:
            service.enqueue(
                tx,
                customer_id=customer["customer_id"],
                event=Event.DATA_REVEALED,
                details=reveal,
                source="test",
                source_ref=f"a-{n}",
                occurred_at=NOW,
                now=NOW,
                expand_later=True,
            )
    assert rows(container) == {} and len(intents(container)) == 4
    files = FileSender(tmp_path / "out", Channel.EMAIL)
    clock = Clock()
    w = worker(container, {Channel.EMAIL: files, Channel.PUSH: _null()}, clock)
    w.drain()
    clock.now += timedelta(seconds=DIGEST_WINDOW_SECONDS + 1)
    w.drain()
    found = rows(container).values()
    assert intents(container) == []
    assert sorted(r.state for r in found if r.channel == "email") == [DIGESTED, DIGESTED, SENT, SENT]
    texts = [json.loads(line)["text"] for line in files.path.read_text(encoding="utf-8").splitlines()]
    assert len(texts) == 2 and "共3次" in texts[1]


def test_an_erased_customer_is_a_dead_letter_and_nothing_is_read(container: Container, tmp_path: Any) -> None:
    (customer,) = customers(container, 1)
    enqueue(container, customer["customer_id"], Event.SCAM_WARNING, "w-1", pattern="refund")
    with unit_of_work(container.sessions) as session:
        eraser = principals.create(session=session, policies=container.policies, name="eraser", role="service")
    with unit_of_work(container.sessions) as session:
        vault.erase(
            vault=container.vault, session=session, caller=Caller(eraser.principal), customer_id=customer["customer_id"]
        )
    files = FileSender(tmp_path / "out", Channel.SMS)
    worker(container, {Channel.SMS: files, Channel.PUSH: files}, Clock()).drain()
    assert {r.state for r in rows(container).values()} == {DEAD}
    assert not files.path.exists()


def test_a_row_with_a_channel_the_catalogue_does_not_know_is_a_dead_letter(container: Container) -> None:
    (customer,) = customers(container, 1)
    enqueue(container, customer["customer_id"], Event.DATA_EXPORTED, "e-1", partner="顺丰速运")
    with unit_of_work(container.sessions) as session:
        (row,) = session.scalars(select(NotificationRow)).all()
        row.channel = "fax"
    worker(container, {Channel.EMAIL: _null()}, Clock()).drain()
    (row,) = rows(container).values()
    assert (row.state, row.last_error) == (DEAD, "unknown event or channel in the outbox")


# PostgreSQL only: SQLite runs one worker per database (decision 0027).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_workers_on_postgresql_never_send_a_message_twice(
    container: Container, mail: tuple[Mailbox, int], backend: str
) -> None:
    box, port = mail
    made = customers(container, 20)
    for customer in made:
        for n in range(10):
            enqueue(container, customer["customer_id"], Event.DATA_EXPORTED, f"e-{n}", partner="顺丰速运")
    clock = Clock(NOW + timedelta(hours=3))
    workers = [worker(container, {Channel.EMAIL: smtp(port)}, clock, name=f"w{i}", batch=7) for i in range(2)]
    # Each export row is due at once or after the digest window; three hours on, all are due.
    threads = [threading.Thread(target=w.drain) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = box.message_ids()
    assert len(ids) == len(set(ids))
    states = [r.state for r in rows(container).values()]
    assert QUEUED not in states and SENDING not in states
    assert len(ids) == states.count(SENT)


def test_the_gateways_come_from_settings_and_bad_ones_are_refused_without_echoing_them(tmp_path: Any) -> None:
    senders = build_senders(Settings(data_dir=tmp_path))
    assert {type(s) for s in senders.values()} == {FileSender}
    chosen = build_senders(
        Settings(
            data_dir=tmp_path,
            smtp_url="smtp://u:p%40ss@mail.example:587?starttls=true",
            sms_gateway_url="https://sms.example/send",
            sms_gateway_secret="k" * 16,
        )
    )
    assert isinstance(chosen[Channel.EMAIL], SmtpSender) and isinstance(chosen[Channel.SMS], HttpSender)
    assert parse_smtp_url("smtp://u:p%40ss@mail.example:587?starttls=true") == SmtpTarget(
        "mail.example", 587, "u", "p@ss", True
    )
    for values, problem in (
        ({"smtp_url": "http://secret-host:25"}, "SHOPSHIELD_SMTP_URL: an SMTP URL"),
        ({"smtp_url": "smtp://secret-host:25?tls=1"}, "only query option is starttls"),
        (
            {"sms_gateway_url": "https://secret-host/x"},
            "SHOPSHIELD_SMS_GATEWAY_URL needs SHOPSHIELD_SMS_GATEWAY_SECRET",
        ),
        ({"push_webhook_url": "ftp://secret-host/x", "push_webhook_secret": "k" * 16}, "SHOPSHIELD_PUSH_WEBHOOK_URL"),
        ({"smtp_from": "not an address"}, "SHOPSHIELD_SMTP_FROM"),
        ({"notify_brand": "13800138000"}, "SHOPSHIELD_NOTIFY_BRAND: 1-12 characters naming the store"),
    ):
        with pytest.raises(BadSettings) as refused:
            Settings.load(data_dir=tmp_path, **values)
        assert problem in str(refused.value)
        assert "secret-host" not in str(refused.value)


def _null() -> FileSender:
    """A sender for the channel a test does not look at."""
    return FileSender(_SPARE, Channel.PUSH)


_SPARE = Path(tempfile.mkdtemp(prefix="notify-spare-"))
