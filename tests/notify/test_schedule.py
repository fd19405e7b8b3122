"""Delivery policy: quiet hours in the customer's zone, backoff with full jitter, dead letters,
idempotency keys, rate limits and digests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shopshield.notify.catalogue import Channel, Event
from shopshield.notify.schedule import (
    DEFAULT_RATES,
    DigestAction,
    QuietHours,
    RetryPolicy,
    deliver_at,
    digest_decision,
    due,
    idempotency_key,
    is_dead,
    next_attempt,
    quiet_until,
    rate_limited_until,
    smtp_message_id,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def beijing(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "until"),
    [
        (beijing(23), beijing(8, day=6)),
        (beijing(22), beijing(8, day=6)),
        (beijing(0, 30), beijing(8)),
        (beijing(7, 59), beijing(8)),
        (beijing(8), None),
        (beijing(14), None),
        (beijing(21, 59), None),
    ],
)
def test_default_quiet_hours_are_22_to_8_in_shanghai(local: datetime, until: datetime | None) -> None:
    assert quiet_until(local) == until


def test_quiet_hours_follow_the_customers_zone_across_a_clock_change() -> None:
    # New York springs forward on 2026-03-08 at 02:00: at 01:00 EST quiet hours end at 08:00 EDT.
    night = datetime(2026, 3, 8, 1, 0, tzinfo=NEW_YORK)
    assert quiet_until(night, NEW_YORK) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    # 23:00 in Beijing is 10:00 in New York: quiet in one, not in the other.
    assert quiet_until(beijing(23), NEW_YORK) is None


def test_other_quiet_hours() -> None:
    assert quiet_until(beijing(3), quiet=QuietHours(time(8), time(8))) is None
    lunch = QuietHours(time(12), time(14))
    assert quiet_until(beijing(13), quiet=lunch) == beijing(14)
    assert quiet_until(beijing(11), quiet=lunch) is None


@pytest.mark.parametrize(
    ("event", "channel", "due"),
    [
        (Event.LOGIN_RISKY, Channel.SMS, beijing(23)),  # an attacker in the account will not wait
        (Event.CONTACT_CHANGED, Channel.PUSH, beijing(23)),
        (Event.PASSWORD_RESET_REQUIRED, Channel.SMS, beijing(23)),
        (Event.LOGIN_NEW_DEVICE, Channel.SMS, beijing(8, day=6)),  # security, but it can wait
        (Event.BREACH_WARNING, Channel.SMS, beijing(8, day=6)),
        (Event.DATA_REVEALED, Channel.PUSH, beijing(8, day=6)),
        (Event.DATA_REVEALED, Channel.EMAIL, beijing(23)),  # e-mail wakes nobody
    ],
)
def test_which_messages_wait_for_morning(event: Event, channel: Channel, due: datetime) -> None:
    assert deliver_at(event, channel, beijing(23)) == due
    assert deliver_at(event, channel, beijing(12)) == beijing(12)


def test_backoff_grows_doubles_and_caps_with_full_jitter() -> None:
    policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(minutes=10), max_attempts=8)
    assert [policy.ceiling(n).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]
    now = beijing(12)
    rng = random.Random(13)
    for attempts in range(1, 8):
        waits = [(next_attempt(attempts, now, rng, policy) or now) - now for _ in range(2000)]
        ceiling = policy.ceiling(attempts)
        assert all(timedelta(0) <= w <= ceiling for w in waits)
        # Full jitter: the waits spread over the whole range, not bunched near the ceiling.
        assert min(waits) < ceiling * 0.05
        assert max(waits) > ceiling * 0.95
        assert ceiling * 0.45 < sum(waits, timedelta(0)) / len(waits) < ceiling * 0.55


def test_the_same_seed_gives_the_same_schedule() -> None:
    now = beijing(12)
    first = [next_attempt(n, now, random.Random(5)) for n in range(1, 8)]
    assert first == [next_attempt(n, now, random.Random(5)) for n in range(1, 8)]


def test_after_max_attempts_a_message_is_dead() -> None:
    policy = RetryPolicy(max_attempts=3)
    rng = random.Random(1)
    assert next_attempt(2, beijing(12), rng, policy) is not None
    assert next_attempt(3, beijing(12), rng, policy) is None
    assert not is_dead(2, policy)
    assert is_dead(3, policy)
    with pytest.raises(ValueError, match="failed attempt"):
        next_attempt(0, beijing(12), rng, policy)
    # A huge attempt count neither overflows nor waits past the cap.
    long = RetryPolicy(max_attempts=10_000)
    assert long.ceiling(5_000) == long.cap
    with pytest.raises(ValueError, match="retry policy"):
        RetryPolicy(base=timedelta(0))


def test_the_idempotency_key_is_stable_and_says_nothing_about_the_row() -> None:
    key = idempotency_key("ntf-000123")
    assert key == idempotency_key("ntf-000123")
    assert key != idempotency_key("ntf-000124")
    assert key.startswith("ntf_") and len(key) == 36
    assert "000123" not in key
    assert smtp_message_id(key, "mail.example.cn") == f"<{key}@mail.example.cn>"
    with pytest.raises(ValueError, match="id"):
        idempotency_key("")


def test_rate_limits_hold_messages_back_and_drop_none() -> None:
    now = beijing(12)
    limit = DEFAULT_RATES[Channel.SMS]
    sent = [now - timedelta(minutes=50 - 10 * i) for i in range(limit - 1)]
    assert rate_limited_until(Channel.SMS, sent, now) is None
    full = [*sent, now - timedelta(minutes=1)]
    assert rate_limited_until(Channel.SMS, full, now) == full[0] + timedelta(hours=1)
    # Sends older than an hour do not count.
    assert rate_limited_until(Channel.SMS, [now - timedelta(hours=2)] * 50, now) is None
    # Over the limit already: the one that must leave first is the right one.
    many = sorted(now - timedelta(minutes=m) for m in range(1, 8))
    assert rate_limited_until(Channel.SMS, many, now) == many[2] + timedelta(hours=1)
    assert rate_limited_until(Channel.EMAIL, full, now) is None


def test_non_digest_events_are_always_sent() -> None:
    now = beijing(12)
    decision = digest_decision(Event.LOGIN_RISKY, now=now, last_sent_at=now, pending_due=now)
    assert (decision.action, decision.due) == (DigestAction.SEND, now)


def test_ten_reveals_in_an_hour_are_two_messages() -> None:
    start = beijing(12)
    messages: list[tuple[datetime, int]] = []  # due, count
    last_sent: datetime | None = None
    pending: int | None = None  # index into messages of the digest waiting
    for minute in range(0, 60, 6):
        now = start + timedelta(minutes=minute)
        if pending is not None and messages[pending][0] <= now:
            last_sent, pending = messages[pending][0], None
        decision = digest_decision(
            Event.DATA_REVEALED,
            now=now,
            last_sent_at=last_sent,
            pending_due=None if pending is None else messages[pending][0],
        )
        match decision.action:
            case DigestAction.SEND:
                messages.append((decision.due, 1))
                last_sent = decision.due
            case DigestAction.HOLD:
                messages.append((decision.due, 1))
                pending = len(messages) - 1
            case DigestAction.FOLD:
                assert pending is not None
                due, count = messages[pending]
                assert decision.due == due
                messages[pending] = (due, count + 1)
    assert messages == [(start, 1), (start + timedelta(hours=1), 9)]
    # An hour after the last message, the next one goes at once again.
    later = start + timedelta(hours=1, minutes=1)
    assert digest_decision(Event.DATA_REVEALED, now=later, last_sent_at=start, pending_due=None).action is (
        DigestAction.SEND
    )


def test_due_combines_quiet_hours_and_the_rate_limit() -> None:
    # Five SMS between 21:10 and 21:50: the sixth waits for the first to leave the hour (22:10),
    # which is in the quiet hours, so a data reveal goes at 08:00; a risky login at 22:10.
    sent = [beijing(21, 10 * i) for i in range(1, 6)]
    assert due(Event.DATA_REVEALED, Channel.SMS, beijing(21, 55), sent=sent) == beijing(8, day=6)
    assert due(Event.LOGIN_RISKY, Channel.SMS, beijing(21, 55), sent=sent) == beijing(22, 10)
    assert due(Event.DATA_REVEALED, Channel.EMAIL, beijing(21, 55), sent=sent) == beijing(21, 55)
    assert due(Event.DATA_REVEALED, Channel.SMS, beijing(12)) == beijing(12)
