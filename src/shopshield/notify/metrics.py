"""The notification metrics on the app's Prometheus registry: counts and ages, never an address.

Counters (``_total`` on the wire) count what this process's worker did: messages sent, attempts
that failed, messages that went to dead letters, by channel. Gauges are read from the outbox when
Prometheus scrapes, so they are right whichever process delivers: messages waiting (queued or
sending) by channel, dead letters by channel, and the age of the oldest message that is due and
not yet sent, the number to alert on when delivery stalls.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from shopshield.core import times
from shopshield.core.db import Statement, transaction
from shopshield.notify.catalogue import Channel
from shopshield.notify.circuit import GAUGE, Breaker
from shopshield.notify.models import DEAD, QUEUED, SENDING

__all__ = ["NotifyMetrics", "OutboxCollector", "queue_status"]


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.sent = Counter(
            "shopshield_notifications_sent", "Notifications delivered, by channel", ["channel"], registry=self.registry
        )
        self.failed = Counter(
            "shopshield_notifications_failed",
            "Delivery attempts that failed (retried or dead), by channel",
            ["channel"],
            registry=self.registry,
        )
        self.dead = Counter(
            "shopshield_notifications_dead",
            "Notifications moved to dead letters, by channel",
            ["channel"],
            registry=self.registry,
        )
        self._breakers: weakref.WeakSet[Breaker] = weakref.WeakSet()
        self.registry.register(_CircuitCollector(self._breakers))

    def watch(self, breakers: Iterable[Breaker]) -> None:
        """Report these breakers' states on the circuit gauge (held weakly: a worker that is gone
        drops out)."""
        self._breakers.update(breakers)


class _CircuitCollector(Collector):
    def __init__(self, breakers: weakref.WeakSet[Breaker]) -> None:
        self._breakers = breakers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        worst: dict[str, int] = {}
        for breaker in list(self._breakers):
            value = GAUGE[breaker.snapshot().state]
            worst[breaker.gateway] = max(value, worst.get(breaker.gateway, 0))
        gauge = GaugeMetricFamily(
            "shopshield_notifications_gateway_circuit",
            "Circuit breaker of each gateway in this process's workers: 0 closed, 1 half-open, 2 open",
            labels=["channel"],
        )
        for channel, value in sorted(worst.items()):
            gauge.add_metric([channel], value)
        yield gauge

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


class _Count(NamedTuple):
    state: str
    channel: str
    n: int


class _Oldest(NamedTuple):
    oldest: Any


_COUNTS = Statement(
    "SELECT state, channel, COUNT(*) FROM notifications WHERE state IN (:queued, :sending, :dead) "
    "GROUP BY state, channel",
    row=_Count,
)
_OLDEST_DUE = Statement(
    "SELECT MIN(due_at) FROM notifications WHERE state IN (:queued, :sending) AND due_at <= :now", row=_Oldest
)


class _Intents(NamedTuple):
    n: int
    oldest: Any


# Intents are due as soon as they are written: the worker has yet to expand them into messages.
_INTENTS = Statement("SELECT COUNT(*), MIN(created_at) FROM notification_intents", row=_Intents)


class Status(NamedTuple):
    waiting: dict[str, int]
    sending: dict[str, int]
    dead: dict[str, int]
    oldest_due_age_seconds: float
    # Events raised on a hot path that the worker has not yet turned into messages.
    to_expand: int


def queue_status(engine: Engine, now: datetime | None = None) -> Status:
    """Counts by state and channel, and how long the oldest due message has waited (0 when none)."""
    now = now or datetime.now(UTC)
    zero = {str(c): 0 for c in Channel}
    waiting, sending, dead = dict(zero), dict(zero), dict(zero)
    with transaction(engine, read_only=True) as tx:
        params = {"queued": QUEUED, "sending": SENDING, "dead": DEAD}
        for row in tx.all(_COUNTS, params):
            {QUEUED: waiting, SENDING: sending, DEAD: dead}[row.state][row.channel] = int(row.n)
        found = tx.one(_OLDEST_DUE, {"queued": QUEUED, "sending": SENDING, "now": tx.timestamp(now)})
        intents = tx.one(_INTENTS, {})
    oldest = [r.oldest for r in (found, intents) if r is not None and r.oldest is not None]
    age = max(0.0, max((now - times.stored(t)).total_seconds() for t in oldest)) if oldest else 0.0
    return Status(waiting, sending, dead, age, 0 if intents is None else int(intents.n))


class OutboxCollector(Collector):
    """Gauges read from the outbox on each scrape."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._engine = engine
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = queue_status(self._engine, self._clock())
        queued = GaugeMetricFamily(
            "shopshield_notifications_queued",
            "Notifications waiting to be delivered (queued or being sent), by channel",
            labels=["channel"],
        )
        for channel in status.waiting:
            queued.add_metric([channel], status.waiting[channel] + status.sending[channel])
        yield queued
        dead = GaugeMetricFamily(
            "shopshield_notifications_dead_letters", "Notifications in dead letters, by channel", labels=["channel"]
        )
        for channel, n in status.dead.items():
            dead.add_metric([channel], n)
        yield dead
        yield GaugeMetricFamily(
            "shopshield_notifications_to_expand",
            "Events raised on a hot path (reveals) not yet turned into messages by the worker",
            value=status.to_expand,
        )
        yield GaugeMetricFamily(
            "shopshield_notifications_oldest_due_age_seconds",
            "How long the oldest due, undelivered notification has waited",
            value=status.oldest_due_age_seconds,
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Described without querying, so registering the collector does not touch the database.
        return iter(())
