"""The delivery worker: claims due messages from the outbox, sends them, records what happened.

One round (``Worker.run_once``) is three steps, each short:

1. **Claim**, in one transaction: up to ``batch`` due rows (queued and due, or sending with a lease
   that ran out) become ``sending`` under this worker's id and a lease. PostgreSQL takes them with
   ``FOR UPDATE SKIP LOCKED``, so workers on other machines claim disjoint rows. SQLite has one
   writer and no row locks: one worker per database (decision 0027), with the lease still
   returning a killed worker's rows. In the same transaction the worker opens each customer's
   address and anti-phishing code, and records each address it opened as an access event of its
   own principal, purpose ``notification``.
2. **Send**, outside any transaction: render at send time (the customer's language, zone and code
   of now), hand to the channel's ``Sender`` with the idempotency key.
3. **Record**, in one transaction: sent, back to queued with the next attempt (full jitter), or
   dead with the reason. Only rows this worker still holds are updated, so a worker that
   outlived its lease cannot overwrite another's result.

Crash anywhere: before 3, the rows stay ``sending`` until the lease runs out and are sent again
with the same idempotency key (a duplicate the receiver can drop); nothing is lost.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine

from shopshield.core import times
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Statement, Tx, transaction
from shopshield.core.errors import ShopShieldError
from shopshield.notify import service
from shopshield.notify.adapters import Outcome, Result, Sender
from shopshield.notify.catalogue import Channel, Event, parse_details
from shopshield.notify.circuit import Breaker, BreakerPolicy
from shopshield.notify.messages import Audience, Renderer
from shopshield.notify.metrics import NotifyMetrics
from shopshield.notify.models import DEAD, DIGESTED, QUEUED, SENDING, SENT
from shopshield.notify.schedule import (
    DEFAULT_RETRY,
    RetryPolicy,
    due,
    idempotency_key,
    next_attempt,
    rate_limited_until,
)

log = logging.getLogger(__name__)

# Whose reads of addresses the access log shows: the worker, as a system service of the store.
WORKER: Final = Caller(
    principal=Principal(
        principal_id="notify-worker", name="notify-worker", role="service", actor_kind="service", link_id=None
    ),
    channel="worker",
)
PURPOSE: Final = "notification"
ACTION: Final = "notify"
# The share of the lease a worker spends sending one batch before it hands the rest back.
_LEASE_SHARE: Final = 0.8
# ``last_error`` of a message put back because its gateway's circuit is open (``ops.status``
# counts them); no attempt is counted for it.
CIRCUIT_HELD: Final = "gateway circuit open"
# Which vault field is the address of which channel; push goes to the store's app by customer id.
_ADDRESS_FIELD: Final = {Channel.SMS: "mobile", Channel.EMAIL: "email"}


class _Claimed(NamedTuple):
    notification_id: str
    customer_id: str
    event: str
    channel: str
    details: str
    occurred_at: Any
    attempts: int
    digest_key: str | None
    digest_count: int | None
    address_ct: bytes | None


class _SentAt(NamedTuple):
    customer_id: str
    channel: str
    sent_at: Any


_RETURNING: Final = (
    "RETURNING notification_id, customer_id, event, channel, details, occurred_at, attempts, digest_key, digest_count, "
    "address_ct"
)
_DUE: Final = (
    "(state = :queued AND due_at <= :now) OR (state = :sending AND lease_until IS NOT NULL AND lease_until < :now)"
)
# An intent is not a message yet: ``service.expand_pending`` turns it into one per channel first
# (the reveal's hot path writes it so, decision 0028).
_ANY_INTENT: Final = Statement("SELECT intent_id FROM notification_intents LIMIT 1")
_CLAIM_PG: Final = Statement(
    "UPDATE notifications SET state = :sending, claimed_by = :me, lease_until = :lease "  # noqa: S608 (constant text)
    "WHERE notification_id IN (SELECT notification_id FROM notifications WHERE " + _DUE + " "
    "ORDER BY due_at LIMIT :n FOR UPDATE SKIP LOCKED) " + _RETURNING,
    row=_Claimed,
)
_CLAIM_SQLITE: Final = Statement(
    "UPDATE notifications SET state = :sending, claimed_by = :me, lease_until = :lease "  # noqa: S608 (constant text)
    "WHERE notification_id IN (SELECT notification_id FROM notifications WHERE " + _DUE + " "
    "ORDER BY due_at LIMIT :n) " + _RETURNING,
    row=_Claimed,
)
# Asked before claiming, in a snapshot: an idle worker polls once a second, and on SQLite even an
# UPDATE that matches nothing takes the database's write lock, which requests would then wait for.
_ANY_DUE: Final = Statement("SELECT notification_id FROM notifications WHERE " + _DUE + " LIMIT 1")  # noqa: S608
_FOLD: Final = Statement(
    "UPDATE notifications SET state = :digested, claimed_by = NULL, lease_until = NULL, last_error = :reason "
    "WHERE notification_id = :notification_id AND claimed_by = :me AND state = :sending"
)
# The queued, due rows of a digest whose first row this batch claimed: folded into it now, so that
# one window's reveals go as one message however the batches (or the workers) split them.
_SIBLINGS: Final = (
    "SELECT notification_id FROM notifications WHERE digest_key = :digest_key AND state = :queued AND due_at <= :now"
)
_FOLD_SIBLINGS_SQLITE: Final = Statement(
    "UPDATE notifications SET state = :digested, last_error = :reason "  # noqa: S608 (constant text)
    "WHERE notification_id IN (" + _SIBLINGS + ") RETURNING notification_id"
)
# A sibling another worker holds (claimed in its batch, or being folded by it) is skipped, not
# waited for: two workers folding the same key in opposite order would otherwise deadlock. The
# skipped row goes out with that worker's digest, or is folded by the next claim.
_FOLD_SIBLINGS_PG: Final = Statement(
    "UPDATE notifications SET state = :digested, last_error = :reason "  # noqa: S608 (constant text)
    "WHERE notification_id IN (" + _SIBLINGS + " FOR UPDATE SKIP LOCKED) RETURNING notification_id"
)
# How many a digest row stands for, kept on the row: a digest held back or retried is told later
# with the count of every row folded into it, not just those of its last batch.
_COUNT_DIGEST: Final = Statement(
    "UPDATE notifications SET digest_count = :count WHERE notification_id = :notification_id"
)
_RECENT_SENDS: Final = Statement(
    "SELECT customer_id, channel, sent_at FROM notifications "
    "WHERE customer_id = :customer_id AND state = :sent AND sent_at > :since",
    row=_SentAt,
)
_MARK_SENT: Final = Statement(
    "UPDATE notifications SET state = :sent, sent_at = :now, attempts = attempts + 1, claimed_by = NULL, "
    "lease_until = NULL, last_error = NULL "
    "WHERE notification_id = :notification_id AND claimed_by = :me AND state = :sending"
)
_MARK_RETRY: Final = Statement(
    "UPDATE notifications SET state = :queued, due_at = :due_at, attempts = attempts + :failed, "
    "claimed_by = NULL, lease_until = NULL, last_error = :reason "
    "WHERE notification_id = :notification_id AND claimed_by = :me AND state = :sending"
)
_MARK_DEAD: Final = Statement(
    "UPDATE notifications SET state = :dead, attempts = attempts + :failed, claimed_by = NULL, "
    "lease_until = NULL, last_error = :reason "
    "WHERE notification_id = :notification_id AND claimed_by = :me AND state = :sending"
)


class Contacts(Protocol):
    """Where the worker gets a customer's data key and addresses: the vault, wired in ``bootstrap``
    (``vault.contacts.VaultContacts``). Notify does not import the vault, which raises
    notifications, so it names what it needs."""

    def data_key(self, tx: Tx, *, customer_id: str) -> AESGCM | None:
        """None for a customer unknown or erased: nothing can be sent to them."""
        ...

    def address(self, tx: Tx, *, customer_id: str, field: str, data_key: AESGCM, now: datetime) -> str | None:
        """The ``field`` (mobile or email) in the clear, the read recorded as an access event of
        ``WORKER`` with purpose ``PURPOSE``; None when the customer has none."""
        ...

    def previous_address(
        self, tx: Tx, *, customer_id: str, field: str, sealed: bytes, data_key: AESGCM, now: datetime
    ) -> str | None:
        """A ``field`` value the customer had before a change, opened from ``sealed`` (as the vault
        sealed it), the read recorded like ``address``; None when it no longer opens."""
        ...


@dataclass(slots=True)
class _Job:
    """One claimed message on its way: what to send, and to whom (in memory for this round only)."""

    row: _Claimed
    channel: Channel
    event: Event
    address: str | None = None
    audience: Audience | None = None
    count: int = 1
    # Set when the row cannot be sent at all (no address, the customer erased): it goes dead.
    problem: str | None = None
    # Set when a rate limit holds it back, or the lease is nearly over: back to queued, due then,
    # no attempt counted.
    wait_until: datetime | None = None
    hold_reason: str = "rate limited"
    outcome: Outcome | None = None


def worker_id() -> str:
    """A name for this worker that no other running worker has: host, process, and a random tail."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Worker:
    """Delivers the outbox of ``engine``. Build with ``bootstrap.Container.notify_worker``."""

    engine: Engine
    contacts: Contacts
    senders: Mapping[Channel, Sender]
    renderer: Renderer
    metrics: NotifyMetrics
    batch: int = 200
    lease: timedelta = timedelta(seconds=60)
    poll_seconds: float = 1.0
    retry: RetryPolicy = DEFAULT_RETRY
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    rng: random.Random = field(default_factory=random.Random)
    name: str = field(default_factory=worker_id)
    breaker_policy: BreakerPolicy = field(default_factory=BreakerPolicy)
    # One per channel's gateway, made from ``breaker_policy`` (decision 0031); never shared with a
    # copy made by ``dataclasses.replace``, which gets its own.
    breakers: dict[Channel, Breaker] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.breakers = {channel: Breaker(str(channel), self.breaker_policy, self.rng) for channel in self.senders}
        self.metrics.watch(self.breakers.values())

    # -- one round ---------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Expand what the hot path queued per event; claim, send and record one batch; the number
        of rows claimed (0: nothing was due)."""
        self._expand_pending()
        if not self._anything_due():
            self._idle()
            return 0
        with transaction(self.engine) as tx:
            jobs = self._claim(tx)
        if not jobs:
            self._idle()
            return 0
        # Past most of the lease, the rest of the batch goes back to the queue unsent: another worker
        # may claim it once the lease runs out, and a message still being sent here would then go
        # twice. One message is always sent, so that a slow gateway still makes progress.
        deadline = time.monotonic() + self.lease.total_seconds() * _LEASE_SHARE
        sent_one = False
        try:
            for job in jobs:
                if job.problem is None and job.wait_until is None:
                    if sent_one and time.monotonic() > deadline:
                        job.wait_until, job.hold_reason = self.clock(), "released before its lease ran out"
                        continue
                    job.outcome = self._send(job)
                    sent_one = True
        except BaseException:
            # A session in an unknown state is not reused by the next round.
            self._idle()
            raise
        with transaction(self.engine) as tx:
            self._record(tx, jobs)
        return len(jobs)

    def _idle(self) -> None:
        """Nothing due: the senders end their sessions and connections (decision 0031)."""
        for sender in self.senders.values():
            try:
                sender.idle()
            except Exception as exc:
                # Ending a session that already broke: no message depends on it.
                log.warning("ending a sender's session failed (%s)", type(exc).__name__)

    def _expand_pending(self) -> None:
        # Asked in a snapshot first, like ``_anything_due``: expanding takes the write lock.
        with transaction(self.engine, read_only=True) as tx:
            if tx.one(_ANY_INTENT, {}) is None:
                return
        with transaction(self.engine) as tx:
            service.expand_pending(tx, now=self.clock(), limit=self.batch)

    def _anything_due(self) -> bool:
        now = self.clock()
        with transaction(self.engine, read_only=True) as tx:
            found = tx.one(_ANY_DUE, {"queued": QUEUED, "sending": SENDING, "now": tx.timestamp(now)})
        return found is not None

    def drain(self, *, rounds: int = 1_000_000) -> int:
        """Run rounds until nothing is due (tests, ``notify run --once``); the rows claimed in all."""
        total = 0
        for _ in range(rounds):
            claimed = self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    def run(self, stop: threading.Event) -> None:
        """Rounds until ``stop`` is set; idle, waits ``poll_seconds`` (or until stopped)."""
        while not stop.is_set():
            try:
                claimed = self.run_once()
            except Exception as exc:
                # A database that went away, say: retried, never the end of delivery. Logged by type
                # only: a driver's message can quote the values of the statement that failed.
                log.error("notification round failed (%s); trying again", type(exc).__name__)
                claimed = 0
            if not claimed:
                stop.wait(self.poll_seconds)

    def close(self) -> None:
        for sender in self.senders.values():
            sender.close()

    # -- steps -------------------------------------------------------------------------------------

    def _claim(self, tx: Tx) -> list[_Job]:
        now = self.clock()
        statement = _CLAIM_PG if tx.dialect == "postgresql" else _CLAIM_SQLITE
        rows = tx.all(
            statement,
            {
                "queued": QUEUED,
                "sending": SENDING,
                "now": tx.timestamp(now),
                "me": self.name,
                "lease": tx.timestamp(now + self.lease),
                "n": self.batch,
            },
        )
        rows.sort(key=lambda r: (times.stored(r.occurred_at), r.notification_id))
        jobs: list[_Job] = []
        digests: dict[str, _Job] = {}
        for row in rows:
            try:
                job = _Job(row, Channel(row.channel), Event(row.event), count=row.digest_count or 1)
            except ValueError:
                job = _Job(row, Channel.EMAIL, Event.DATA_REVEALED, problem="unknown event or channel in the outbox")
                jobs.append(job)
                continue
            if row.digest_key is not None:
                first = digests.get(row.digest_key)
                if first is not None:
                    # Due together with an earlier one of its kind: told as one message, "n times".
                    first.count += row.digest_count or 1
                    tx.execute(
                        _FOLD,
                        {
                            "digested": DIGESTED,
                            "reason": f"digested into {first.row.notification_id}",
                            "notification_id": row.notification_id,
                            "me": self.name,
                            "sending": SENDING,
                        },
                    )
                    continue
                digests[row.digest_key] = job
            jobs.append(job)
        for key, first in digests.items():
            folded = tx.all(
                _FOLD_SIBLINGS_PG if tx.dialect == "postgresql" else _FOLD_SIBLINGS_SQLITE,
                {
                    "digested": DIGESTED,
                    "reason": f"digested into {first.row.notification_id}",
                    "digest_key": key,
                    "queued": QUEUED,
                    "now": tx.timestamp(now),
                },
            )
            first.count += len(folded)
            if first.count != (first.row.digest_count or 1):
                tx.execute(_COUNT_DIGEST, {"count": first.count, "notification_id": first.row.notification_id})
        self._hold_rate_limited(tx, jobs, now)
        self._look_up(tx, jobs, now)
        return jobs

    def _hold_rate_limited(self, tx: Tx, jobs: Sequence[_Job], now: datetime) -> None:
        """Mark the jobs whose customer already had their hour's worth on the channel: they wait."""
        since = tx.timestamp(now - timedelta(hours=1))
        sent: dict[tuple[str, str], list[datetime]] = {}
        for customer_id in {j.row.customer_id for j in jobs if j.problem is None}:
            for row in tx.all(_RECENT_SENDS, {"customer_id": customer_id, "sent": SENT, "since": since}):
                sent.setdefault((row.customer_id, row.channel), []).append(times.stored(row.sent_at))
        for job in jobs:
            if job.problem is not None:
                continue
            key = (job.row.customer_id, str(job.channel))
            earlier = sent.setdefault(key, [])
            if rate_limited_until(job.channel, earlier, now) is not None:
                # Held back: when the window has room, and (SMS, push) not in the customer's quiet hours.
                zone = service.settings_for(tx, customer_id=job.row.customer_id).zone
                job.wait_until = due(job.event, job.channel, now, sent=earlier, zone=zone)
            else:
                # Counts against the window for the next job of this customer in the same batch.
                earlier.append(now)

    def _look_up(self, tx: Tx, jobs: Sequence[_Job], now: datetime) -> None:
        """Each job's address, language, zone and code; every address opened is recorded."""
        keys: dict[str, AESGCM | None] = {}
        for job in jobs:
            if job.problem is not None or job.wait_until is not None:
                continue
            customer_id = job.row.customer_id
            if customer_id not in keys:
                keys[customer_id] = self.contacts.data_key(tx, customer_id=customer_id)
            aead = keys[customer_id]
            if aead is None:
                job.problem = "customer erased or unknown"
                continue
            name = _ADDRESS_FIELD.get(job.channel)
            if name is None:
                job.address = customer_id
            elif job.row.address_ct is not None:
                # To the contact a change replaced (``contact.changed``), not the current one.
                job.address = self.contacts.previous_address(
                    tx, customer_id=customer_id, field=name, sealed=bytes(job.row.address_ct), data_key=aead, now=now
                )
            else:
                job.address = self.contacts.address(tx, customer_id=customer_id, field=name, data_key=aead, now=now)
                if job.address is None:
                    job.problem = f"customer has no {name}"
                    continue
            chosen = service.settings_for(tx, customer_id=customer_id)
            code = service.anti_phishing_code(tx, data_key=aead, customer_id=customer_id)
            job.audience = Audience(chosen.language, chosen.zone, code)

    def _send(self, job: _Job) -> Outcome | None:
        """The send's outcome; None when the gateway's circuit is open and the job is held back
        (``job.wait_until`` set, no attempt counted)."""
        sender = self.senders.get(job.channel)
        if sender is None:
            return Outcome.permanent(f"no sender for channel {job.channel}")
        assert job.audience is not None
        assert job.address is not None
        try:
            raw = json.loads(job.row.details)
            if job.count > 1:
                raw["count"] = job.count
            details = parse_details(job.event, raw)
            message = self.renderer.render(
                job.channel, job.event, details, times.stored(job.row.occurred_at), job.audience
            )
        except (ShopShieldError, ValueError) as exc:
            # Stored details the templates cannot render will not render on a retry either.
            return Outcome.permanent(f"cannot render: {type(exc).__name__}")
        # Asked after rendering, so that a message that cannot render never takes the probe's place.
        breaker = self.breakers.get(job.channel)
        now = self.clock()
        if breaker is not None and not breaker.allow(now):
            job.wait_until, job.hold_reason = breaker.held_until(now), CIRCUIT_HELD
            return None
        try:
            outcome = sender.send(message, job.address, idempotency_key(job.row.notification_id))
        except Exception as exc:
            # By type only: the message of an error raised mid-send can quote the address.
            log.error("sender for %s failed (%s)", job.channel, type(exc).__name__)
            outcome = Outcome.temporary(f"sender error ({type(exc).__name__})", gateway_failure=True)
        if breaker is not None:
            breaker.record(self.clock(), gateway_failure=outcome.gateway_failure)
        return outcome

    def _record(self, tx: Tx, jobs: Sequence[_Job]) -> None:
        now = self.clock()
        stamp = tx.timestamp(now)
        for job in jobs:
            base = {"notification_id": job.row.notification_id, "me": self.name, "sending": SENDING}
            channel = job.row.channel  # as stored: an unknown one is counted under its own name
            if job.wait_until is not None:
                tx.execute(
                    _MARK_RETRY,
                    base
                    | {
                        "queued": QUEUED,
                        "due_at": tx.timestamp(job.wait_until),
                        "failed": 0,
                        "reason": job.hold_reason,
                    },
                )
                continue
            if job.problem is not None:
                tx.execute(_MARK_DEAD, base | {"dead": DEAD, "failed": 1, "reason": job.problem})
                self.metrics.dead.labels(channel).inc()
                continue
            outcome = job.outcome
            assert outcome is not None
            if outcome.result is Result.SENT:
                tx.execute(_MARK_SENT, base | {"sent": SENT, "now": stamp})
                self.metrics.sent.labels(channel).inc()
                continue
            self.metrics.failed.labels(channel).inc()
            attempts = job.row.attempts + 1
            retry_at = None
            if outcome.result is Result.TEMPORARY:
                retry_at = next_attempt(attempts, now, self.rng, self.retry)
            if retry_at is None:
                tx.execute(_MARK_DEAD, base | {"dead": DEAD, "failed": 1, "reason": outcome.reason})
                self.metrics.dead.labels(channel).inc()
            else:
                tx.execute(
                    _MARK_RETRY,
                    base | {"queued": QUEUED, "due_at": tx.timestamp(retry_at), "failed": 1, "reason": outcome.reason},
                )


class DeliveryThread:
    """A worker in a daemon thread of ``serve``: started with the app, stopped (the round in hand
    finished, its senders closed) when the app shuts down."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=worker.run, args=(self._stop,), name="notify-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self.worker.close()
