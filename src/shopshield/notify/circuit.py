"""A circuit breaker per gateway: stop sending to a gateway that keeps failing, and try it again
after a cool-down with one message (decision 0031).

The worker asks ``allow`` before each send and tells ``record`` each outcome. States:

- **closed**: messages go. ``threshold`` consecutive gateway failures (``Outcome.gateway_failure``:
  unreachable, timed out, dropped, 421, HTTP 5xx or 429) open the circuit. Any other outcome, a
  refused recipient included, shows the gateway answering and resets the count.
- **open**: nothing goes until ``open_until``; the worker puts each message back in the queue for
  then, without counting an attempt (the message did not fail: it was not tried). The cool-down is
  ``cool_down`` with up to ``jitter`` of it added at random, so that workers which opened together
  do not all probe the recovering gateway at the same instant. It doubles for each reopening in a
  row, up to ``max_cool_down``.
- **half-open**: after the cool-down the next message is the probe, and the only one allowed until
  its outcome is known. Sent (or refused on its own merits): closed. A gateway failure: open again.

Pure logic with an injected clock and random source; one breaker per gateway per worker, used from
the worker's thread (a lock keeps ``snapshot`` readers from other threads consistent).
"""

from __future__ import annotations

import random
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

__all__ = ["Breaker", "BreakerPolicy", "Snapshot", "State", "live_states"]


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# Gauge values: the higher, the worse.
GAUGE: Final = {State.CLOSED: 0, State.HALF_OPEN: 1, State.OPEN: 2}


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    threshold: int = 5
    cool_down: timedelta = timedelta(seconds=30)
    max_cool_down: timedelta = timedelta(minutes=10)
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("a breaker opens after at least one failure")
        if not timedelta(0) < self.cool_down <= self.max_cool_down:
            raise ValueError("0 < cool_down <= max_cool_down")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter is a share of the cool-down, between 0 and 1")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A breaker's state as operators see it (``notify status``)."""

    gateway: str
    state: State
    consecutive_failures: int
    open_until: datetime | None
    opened: int

    def json(self) -> dict[str, object]:
        return {
            "state": str(self.state),
            "consecutive_failures": self.consecutive_failures,
            "open_until": None if self.open_until is None else self.open_until.isoformat(),
            "times_opened": self.opened,
        }


@dataclass(eq=False)
class Breaker:
    gateway: str
    policy: BreakerPolicy = field(default_factory=BreakerPolicy)
    rng: random.Random = field(default_factory=random.Random)
    state: State = State.CLOSED
    failures: int = 0
    open_until: datetime | None = None
    # Reopenings in a row without a success: the cool-down doubles with each.
    streak: int = 0
    # Times opened since the worker started (operators: "how often has this gateway failed us").
    opened: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        _LIVE.add(self)

    def allow(self, now: datetime) -> bool:
        """Whether a message may go to the gateway now; the first one after the cool-down is the probe."""
        with self._lock:
            if self.state is State.CLOSED:
                return True
            if self.state is State.OPEN and self.open_until is not None and now >= self.open_until:
                self.state = State.HALF_OPEN
                return True
            # Open and cooling down, or half-open with the probe's outcome not yet known.
            return False

    def record(self, now: datetime, *, gateway_failure: bool) -> None:
        with self._lock:
            if not gateway_failure:
                self.state, self.failures, self.open_until, self.streak = State.CLOSED, 0, None, 0
                return
            self.failures += 1
            if self.state is State.HALF_OPEN or self.failures >= self.policy.threshold:
                self._open(now)

    def _open(self, now: datetime) -> None:
        base = min(self.policy.cool_down * (2**self.streak), self.policy.max_cool_down)
        self.open_until = now + base * (1.0 + self.policy.jitter * self.rng.random())
        self.state = State.OPEN
        self.streak += 1
        self.opened += 1

    def held_until(self, now: datetime) -> datetime:
        """When a message the breaker held back is due again: at the end of the cool-down, spread
        over a further tenth of it so that the held messages do not all come due at the probe's
        instant."""
        with self._lock:
            until = self.open_until if self.open_until is not None and self.open_until > now else now
            return until + self.policy.cool_down * (0.1 * self.rng.random())

    def snapshot(self) -> Snapshot:
        with self._lock:
            return Snapshot(self.gateway, self.state, self.failures, self.open_until, self.opened)


# Every breaker alive in this process (weakly held: a worker that is gone takes its breakers with
# it), for ``notify status`` and the API's status of the workers running in this process.
_LIVE: weakref.WeakSet[Breaker] = weakref.WeakSet()


def live_states() -> dict[str, Snapshot]:
    """Per gateway, the worst state among this process's breakers (open before half-open before closed)."""
    worst: dict[str, Snapshot] = {}
    for breaker in list(_LIVE):
        found = breaker.snapshot()
        held = worst.get(found.gateway)
        if held is None or GAUGE[found.state] > GAUGE[held.state]:
            worst[found.gateway] = found
    return worst
