"""The gateway circuit breaker as pure logic: when it opens, how long it stays open, the single
probe, and what resets it (decision 0031)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from shopshield.notify.circuit import Breaker, BreakerPolicy, State

NOW = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
POLICY = BreakerPolicy(threshold=3, cool_down=timedelta(seconds=30), max_cool_down=timedelta(minutes=2), jitter=0.2)


def breaker(seed: int = 0) -> Breaker:
    return Breaker("sms", POLICY, random.Random(seed))


def test_it_opens_after_k_consecutive_gateway_failures_and_holds_messages_for_the_cool_down() -> None:
    b = breaker()
    for _ in range(2):
        assert b.allow(NOW)
        b.record(NOW, gateway_failure=True)
    assert b.snapshot().state is State.CLOSED
    assert b.allow(NOW)
    b.record(NOW, gateway_failure=True)
    assert b.snapshot().state is State.OPEN and b.opened == 1
    assert b.open_until is not None
    assert NOW + timedelta(seconds=30) <= b.open_until <= NOW + timedelta(seconds=36)
    assert not b.allow(NOW + timedelta(seconds=29))
    held = b.held_until(NOW)
    assert b.open_until <= held <= b.open_until + timedelta(seconds=3)


def test_a_refused_message_is_not_a_gateway_failure_and_resets_the_count() -> None:
    b = breaker()
    for _ in range(10):
        b.record(NOW, gateway_failure=True)
        b.record(NOW, gateway_failure=True)
        b.record(NOW, gateway_failure=False)  # the gateway answered (sent, or refused the recipient)
    assert (b.snapshot().state, b.failures, b.opened) == (State.CLOSED, 0, 0)


def test_after_the_cool_down_one_probe_goes_and_its_outcome_decides() -> None:
    b = breaker()
    for _ in range(3):
        b.record(NOW, gateway_failure=True)
    assert b.open_until is not None
    later = b.open_until
    assert b.allow(later) and b.snapshot().state is State.HALF_OPEN
    assert not b.allow(later), "only the probe goes until its outcome is known"
    b.record(later, gateway_failure=True)
    # Open again, for twice the cool-down (a gateway still down is asked less often).
    assert b.snapshot().state is State.OPEN and b.opened == 2
    assert b.open_until is not None
    assert later + timedelta(seconds=60) <= b.open_until <= later + timedelta(seconds=72)
    again = b.open_until
    assert b.allow(again)
    b.record(again, gateway_failure=False)
    closed = b.snapshot()
    assert (closed.state, closed.consecutive_failures, closed.open_until, b.streak) == (State.CLOSED, 0, None, 0)


def test_the_cool_down_doubles_up_to_its_ceiling_and_its_jitter_spreads_workers() -> None:
    b = breaker()
    moment = NOW
    lengths = []
    for _ in range(3):
        b.record(moment, gateway_failure=True)
    for _ in range(6):
        assert b.open_until is not None
        lengths.append((b.open_until - moment).total_seconds())
        moment = b.open_until
        assert b.allow(moment)
        b.record(moment, gateway_failure=True)
    assert all(30 * 2**k <= n <= 36 * 2**k for k, n in enumerate(lengths[:3]))
    assert all(120 <= n <= 144 for n in lengths[3:])
    # Workers that opened at the same moment come back at different moments.
    opened = set()
    for seed in range(20):
        other = breaker(seed)
        for _ in range(3):
            other.record(NOW, gateway_failure=True)
        opened.add(other.open_until)
    assert len(opened) == 20


@pytest.mark.parametrize(
    "policy",
    [
        {"threshold": 0},
        {"cool_down": timedelta(0)},
        {"cool_down": timedelta(minutes=5), "max_cool_down": timedelta(minutes=1)},
        {"jitter": 1.5},
    ],
)
def test_a_policy_that_cannot_work_is_refused(policy: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        BreakerPolicy(**policy)  # type: ignore[arg-type]
