"""When a notification goes out: quiet hours, retries, dead letters, rate limits and digests, as
pure functions over times and counts.

The worker that later claims rows from the outbox asks these functions and does what they answer;
keeping them free of the database lets every rule be tested at any hour of any day, and lets the
PostgreSQL and SQLite workers share one policy. Every time taken and returned is aware and in UTC
except where a zone is named.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

from shopshield.core.times import utc
from shopshield.notify.catalogue import CATALOGUE, DIGEST_WINDOW_SECONDS, Channel, Event

__all__ = [
    "DEFAULT_QUIET",
    "DEFAULT_RATES",
    "DEFAULT_RETRY",
    "DEFAULT_ZONE",
    "DigestAction",
    "DigestDecision",
    "QuietHours",
    "RetryPolicy",
    "deliver_at",
    "digest_decision",
    "due",
    "idempotency_key",
    "next_attempt",
    "quiet_until",
    "rate_limited_until",
    "smtp_message_id",
]

DEFAULT_ZONE: Final = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span of local time when SMS and push wait. ``start == end`` means none.

    A span that crosses midnight (22:00-08:00) is the usual case; one within a day works too.
    """

    start: time = time(22, 0)
    end: time = time(8, 0)

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


DEFAULT_QUIET: Final = QuietHours()

# Channels that make a sound on the customer's phone. E-mail waits in an inbox and wakes nobody, so
# quiet hours do not hold it back.
_DISRUPTIVE: Final = frozenset({Channel.SMS, Channel.PUSH})


def quiet_until(now: datetime, zone: ZoneInfo = DEFAULT_ZONE, quiet: QuietHours = DEFAULT_QUIET) -> datetime | None:
    """The end of the quiet hours ``now`` falls in, in UTC, or None when it falls in none.

    Computed on the local calendar, so a daylight-saving change (in zones that have one) moves the
    end with the wall clock: quiet hours end at 08:00 local, whatever the offset that day.
    """
    local = utc(now).astimezone(zone)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return None
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    return end.astimezone(UTC)


def deliver_at(
    event: Event,
    channel: Channel,
    now: datetime,
    zone: ZoneInfo = DEFAULT_ZONE,
    quiet: QuietHours = DEFAULT_QUIET,
) -> datetime:
    """When a message for ``event`` on ``channel`` first becomes due: now, or the end of the quiet
    hours for SMS and push, unless the event overrides them (``EventSpec.quiet_override``)."""
    now = utc(now)
    if channel not in _DISRUPTIVE or CATALOGUE[event].quiet_override:
        return now
    return quiet_until(now, zone, quiet) or now


# Retries -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: before attempt n+1 the worker waits a random time
    between zero and ``min(cap, base * 2**(n-1))``. Full jitter spreads the retries of many
    messages that failed together (a gateway outage) instead of bringing them back in one burst.
    After ``max_attempts`` failed attempts the message goes to dead letters with its last reason.
    """

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base or self.max_attempts < 1:
            raise ValueError("retry policy: base > 0, cap >= base and max_attempts >= 1")

    def ceiling(self, attempts: int) -> timedelta:
        """The longest wait after ``attempts`` failed attempts (before jitter)."""
        # Capped before multiplying out, so a large attempt count cannot overflow timedelta.
        doublings = min(max(attempts - 1, 0), 32)
        grown: timedelta = self.base * (1 << doublings)
        return min(self.cap, grown)


DEFAULT_RETRY: Final = RetryPolicy()


def next_attempt(
    attempts: int, now: datetime, rng: random.Random, policy: RetryPolicy = DEFAULT_RETRY
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts (at least 1), or None: the message is
    dead and goes to dead letters. ``rng`` is injected so that tests can seed it; the worker passes
    one ``random.Random()`` of its own (jitter needs no secrecy)."""
    if attempts < 1:
        raise ValueError("next_attempt is asked after a failed attempt")
    if attempts >= policy.max_attempts:
        return None
    wait = rng.uniform(0.0, policy.ceiling(attempts).total_seconds())
    return utc(now) + timedelta(seconds=wait)


def is_dead(attempts: int, policy: RetryPolicy = DEFAULT_RETRY) -> bool:
    return attempts >= policy.max_attempts


# Idempotency -------------------------------------------------------------------------------------

_KEY_DOMAIN: Final = b"shopshield/notify/idempotency/v1|"


def idempotency_key(message_id: str) -> str:
    """The key every adapter receives for one message: the same on every attempt, so a crash
    between sending and recording yields at most a duplicate the receiver can drop.

    Derived from the outbox row's id (``message_id``) by hashing, so the key a gateway or mail
    server logs says nothing about how many messages the store sends or in which order.
    """
    if not message_id:
        raise ValueError("idempotency_key needs the message's id")
    return "ntf_" + hashlib.sha256(_KEY_DOMAIN + message_id.encode()).hexdigest()[:32]


def smtp_message_id(key: str, domain: str) -> str:
    """The e-mail's Message-ID header for an idempotency key (RFC 5322 ``<left@right>``)."""
    return f"<{key}@{domain}>"


# Rate limits -------------------------------------------------------------------------------------

# Messages per customer and channel in any rolling hour. SMS is the tightest: it costs money, and a
# flood of them is itself a scam tactic (SMS bombing hides a bank's warning among hundreds).
DEFAULT_RATES: Final[Mapping[Channel, int]] = MappingProxyType({Channel.SMS: 5, Channel.EMAIL: 20, Channel.PUSH: 20})
_RATE_WINDOW: Final = timedelta(hours=1)


def rate_limited_until(
    channel: Channel,
    sent: Sequence[datetime],
    now: datetime,
    rates: Mapping[Channel, int] = DEFAULT_RATES,
) -> datetime | None:
    """None when one more message on ``channel`` may go to the customer now; otherwise the time
    it may (when the oldest send in the window leaves it). ``sent``: when earlier messages to this
    customer on this channel went out. A limited message waits, it is never dropped: security
    events included, so an attacker who triggers many cannot flood the customer, and none is lost."""
    now = utc(now)
    recent = sorted(t for t in map(utc, sent) if now - _RATE_WINDOW < t <= now)
    limit = rates[channel]
    if len(recent) < limit:
        return None
    # The (len - limit + 1)th oldest must leave the window before one more fits.
    return recent[len(recent) - limit] + _RATE_WINDOW


# Digests -----------------------------------------------------------------------------------------


class DigestAction(StrEnum):
    SEND = "send"  # a message of its own, due now
    FOLD = "fold"  # counted on the digest already waiting
    HOLD = "hold"  # a new digest, due when the window since the last message closes


@dataclass(frozen=True, slots=True)
class DigestDecision:
    action: DigestAction
    due: datetime


def digest_decision(
    event: Event,
    *,
    now: datetime,
    last_sent_at: datetime | None,
    pending_due: datetime | None,
) -> DigestDecision:
    """What to do with a new ``event`` for one customer and channel.

    ``last_sent_at``: when the last message of this event went to them on this channel;
    ``pending_due``: when the digest already waiting for it is due, if one is. Events that may not
    be digested are always sent. For the rest, the first in a window goes at once (the customer
    hears about the first reveal when it happens), and the ones after it wait for the window to
    close and go as one digest: ten reveals in an hour are two messages, not ten.
    """
    now = utc(now)
    if not CATALOGUE[event].digest:
        return DigestDecision(DigestAction.SEND, now)
    if pending_due is not None:
        return DigestDecision(DigestAction.FOLD, utc(pending_due))
    window = timedelta(seconds=DIGEST_WINDOW_SECONDS)
    if last_sent_at is None or utc(last_sent_at) + window <= now:
        return DigestDecision(DigestAction.SEND, now)
    return DigestDecision(DigestAction.HOLD, utc(last_sent_at) + window)


# Together ----------------------------------------------------------------------------------------


def due(
    event: Event,
    channel: Channel,
    now: datetime,
    *,
    sent: Sequence[datetime] = (),
    zone: ZoneInfo = DEFAULT_ZONE,
    quiet: QuietHours = DEFAULT_QUIET,
    rates: Mapping[Channel, int] = DEFAULT_RATES,
) -> datetime:
    """When a new message first becomes due: after the quiet hours (unless it overrides them or
    goes by e-mail) and once the rate limit has room. A rate limit can push a message into the
    quiet hours and the quiet hours cannot push it back into a full window (the sends are past), so
    two rounds settle it; the loop checks until nothing moves."""
    moment = deliver_at(event, channel, now, zone, quiet)
    while True:
        room = rate_limited_until(channel, sent, moment, rates)
        if room is None:
            return moment
        moment = deliver_at(event, channel, room, zone, quiet)
