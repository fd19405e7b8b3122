"""Where the guard keeps its state: sliding-window counts, distinct sets, remembered devices.

The engine hands a store one batch of operations per step (``run``), so that a Redis store can send
the whole batch as one pipelined round trip: an assessment is one batch, an outcome at most two.
``MemoryCounters`` (one process) and ``RedisCounters`` (shared by instances) give the same answers
for the same batches; ``Resilient`` puts Redis in front and falls back to memory while Redis is away.

Keys are already keyed hashes when they arrive here (see ``engine.Hasher``): neither memory nor
Redis ever holds a username, an IP address or a device id in plaintext.

A count over a window is the sliding-window estimate used by rate limiters at scale: the current
fixed window plus the previous one weighted by how much of it still overlaps
``[now - window, now]``. It needs two integers per key instead of one entry per event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import redis

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Count:
    """Read the sliding-window count of ``key``; result: float."""

    name: str
    key: str
    window: int


@dataclass(frozen=True, slots=True)
class Add:
    """Add ``amount`` to the window count of ``key``; result: the current fixed window's new count
    (int), which lets a caller act exactly once when a count reaches a limit."""

    name: str
    key: str
    window: int
    amount: int = 1


@dataclass(frozen=True, slots=True)
class Distinct:
    """Add ``member`` to the window's set of ``key`` and count the distinct members of the current
    and previous windows; result: int (HyperLogLog's estimate on Redis, exact in memory)."""

    name: str
    key: str
    member: str
    window: int


@dataclass(frozen=True, slots=True)
class Known:
    """Whether ``member`` was remembered for ``key`` and has not expired; result: bool."""

    name: str
    key: str
    member: str


@dataclass(frozen=True, slots=True)
class Remember:
    """Remember ``member`` for ``key`` for ``ttl`` seconds from now; result: None."""

    name: str
    key: str
    member: str
    ttl: int


@dataclass(frozen=True, slots=True)
class Put:
    name: str
    key: str
    value: bytes
    ttl: int


@dataclass(frozen=True, slots=True)
class Get:
    name: str
    key: str


@dataclass(frozen=True, slots=True)
class Pop:
    """Read and delete; result: bytes or None."""

    name: str
    key: str


@dataclass(frozen=True, slots=True)
class Nothing:
    """A placeholder for a batch's slot where an op does not apply (no device id, no location
    source), so that a batch keeps one shape; result: None, and no command is sent."""


NOTHING: Final = Nothing()

Op = Count | Add | Distinct | Known | Remember | Put | Get | Pop | Nothing
Result = float | int | bool | bytes | None


class CounterStore(Protocol):
    @property
    def backend(self) -> str: ...

    def run(self, ops: Sequence[Op], now: float) -> list[Result]: ...


def _window(now: float, window: int) -> tuple[int, float]:
    """The fixed window ``now`` falls in and the weight left to the previous one."""
    index = int(now // window)
    return index, 1.0 - (now - index * window) / window


class MemoryCounters:
    """One process's state; the default, and the fallback while Redis is away.

    Memory stays bounded: entries of windows that ended are swept every ``sweep_every`` batches,
    and a distinct set stops growing at ``distinct_cap`` members (thresholds are far below it).
    """

    backend = "memory"

    def __init__(self, *, sweep_every: int = 50_000, distinct_cap: int = 1024) -> None:
        self._counts: dict[tuple[str, str], list[int]] = {}  # [window index, window length, current, previous]
        self._sets: dict[tuple[str, str], tuple[int, int, set[str], set[str]]] = {}
        self._known: dict[tuple[str, str], dict[str, float]] = {}
        self._values: dict[tuple[str, str], tuple[bytes, float]] = {}
        self._lock = threading.Lock()
        self._batches = 0
        self._sweep_every = sweep_every
        self._cap = distinct_cap
        self._handlers = self._dispatch()

    def run(self, ops: Sequence[Op], now: float) -> list[Result]:
        handlers = self._handlers
        with self._lock:
            self._batches += 1
            if self._batches % self._sweep_every == 0:
                self._sweep(now)
            return [handlers[type(op)](op, now) for op in ops]

    def _dispatch(self) -> dict[type, Callable[[Any, float], Result]]:
        # One lookup per op instead of a chain of isinstance checks: this is the hot loop.
        return {
            Count: self._count,
            Add: self._add,
            Distinct: self._distinct,
            Known: self._is_known,
            Remember: self._remember,
            Put: self._put,
            Get: self._get,
            Pop: self._pop,
            Nothing: lambda _op, _now: None,
        }

    def _slot(self, op: Count | Add, index: int) -> tuple[int, int]:
        slot = self._counts.get((op.name, op.key))
        if slot is None or slot[0] < index - 1:
            return 0, 0
        if slot[0] == index - 1:
            return 0, slot[2]
        return slot[2], slot[3]

    def _count(self, op: Count, now: float) -> Result:
        index, weight = _window(now, op.window)
        current, previous = self._slot(op, index)
        return current + previous * weight

    def _add(self, op: Add, now: float) -> Result:
        index, _ = _window(now, op.window)
        current, previous = self._slot(op, index)
        self._counts[(op.name, op.key)] = [index, op.window, current + op.amount, previous]
        return current + op.amount

    def _distinct(self, op: Distinct, now: float) -> Result:
        index, _ = _window(now, op.window)
        entry = self._sets.get((op.name, op.key))
        cur: set[str]
        prev: set[str]
        if entry is None or entry[0] < index - 1:
            cur, prev = set(), set()
        elif entry[0] == index - 1:
            cur, prev = set(), entry[2]
        else:
            cur, prev = entry[2], entry[3]
        if len(cur) < self._cap:
            cur.add(op.member)
        self._sets[(op.name, op.key)] = (index, op.window, cur, prev)
        return len(cur | prev) if prev else len(cur)

    def _is_known(self, op: Known, now: float) -> Result:
        expires = self._known.get((op.name, op.key), {}).get(op.member)
        return expires is not None and expires > now

    def _remember(self, op: Remember, now: float) -> Result:
        self._known.setdefault((op.name, op.key), {})[op.member] = now + op.ttl
        return None

    def _put(self, op: Put, now: float) -> Result:
        self._values[(op.name, op.key)] = (op.value, now + op.ttl)
        return None

    def _get(self, op: Get, now: float) -> Result:
        held = self._values.get((op.name, op.key))
        return held[0] if held is not None and held[1] > now else None

    def _pop(self, op: Pop, now: float) -> Result:
        held = self._values.pop((op.name, op.key), None)
        return held[0] if held is not None and held[1] > now else None

    def _sweep(self, now: float) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] >= int(now // v[1]) - 1}
        self._sets = {k: v for k, v in self._sets.items() if v[0] >= int(now // v[1]) - 1}
        self._values = {k: v for k, v in self._values.items() if v[1] > now}
        for key in list(self._known):
            alive = {m: t for m, t in self._known[key].items() if t > now}
            if alive:
                self._known[key] = alive
            else:
                del self._known[key]


class RedisCounters:
    """State in Redis, shared by every instance that points at the same server.

    Each batch is one pipeline (no MULTI: the operations are independent and each is atomic on its
    own), so a batch costs one network round trip whatever its size.
    """

    backend = "redis"

    def __init__(self, client: redis.Redis[bytes], *, prefix: str = "shopshield:guard") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 0.25, prefix: str = "shopshield:guard") -> RedisCounters:
        # A short timeout: a login waits on this, and the fallback is better than a slow answer.
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        return cls(client, prefix=prefix)

    def _k(self, name: str, key: str, suffix: int | None = None) -> str:
        base = f"{self._prefix}:{name}:{key}"
        return base if suffix is None else f"{base}:{suffix}"

    def run(self, ops: Sequence[Op], now: float) -> list[Result]:
        pipe = self._redis.pipeline(transaction=False)
        spans: list[int] = []  # how many replies each op owns, in order
        for op in ops:
            if isinstance(op, Count):
                index, _ = _window(now, op.window)
                pipe.mget(self._k(op.name, op.key, index), self._k(op.name, op.key, index - 1))
                spans.append(1)
            elif isinstance(op, Add):
                index, _ = _window(now, op.window)
                key = self._k(op.name, op.key, index)
                pipe.incrby(key, op.amount)
                pipe.expire(key, 2 * op.window)
                spans.append(2)
            elif isinstance(op, Distinct):
                index, _ = _window(now, op.window)
                key = self._k(op.name, op.key, index)
                pipe.pfadd(key, op.member)
                pipe.expire(key, 2 * op.window)
                pipe.execute_command("PFCOUNT", key, self._k(op.name, op.key, index - 1))  # type: ignore[no-untyped-call]  # both windows
                spans.append(3)
            elif isinstance(op, Known):
                pipe.zscore(self._k(op.name, op.key), op.member)
                spans.append(1)
            elif isinstance(op, Remember):
                key = self._k(op.name, op.key)
                pipe.zadd(key, {op.member: now + op.ttl})
                pipe.zremrangebyscore(key, "-inf", now)  # forget what expired, so the set stays small
                pipe.expire(key, op.ttl)
                spans.append(3)
            elif isinstance(op, Put):
                pipe.set(self._k(op.name, op.key), op.value, px=op.ttl * 1000)
                spans.append(1)
            elif isinstance(op, Get):
                pipe.get(self._k(op.name, op.key))
                spans.append(1)
            elif isinstance(op, Nothing):
                spans.append(0)
            else:
                pipe.getdel(self._k(op.name, op.key))
                spans.append(1)
        replies: list[object] = pipe.execute()
        results: list[Result] = []
        position = 0
        for op, span in zip(ops, spans, strict=True):
            if span == 0:
                results.append(None)
                continue
            first, last = replies[position], replies[position + span - 1]
            position += span
            if isinstance(op, Count):
                current, previous = _pair(last)
                results.append(current + previous * _window(now, op.window)[1])
            elif isinstance(op, Distinct):
                results.append(_int(last))
            elif isinstance(op, Add):
                results.append(_int(first))
            elif isinstance(op, Known):
                results.append(last is not None and float(str(last)) > now)
            elif isinstance(op, Get | Pop):
                results.append(last if isinstance(last, bytes) else None)
            else:
                results.append(None)
        return results


def _int(reply: object) -> int:
    return int(reply) if isinstance(reply, int | bytes | str) else 0


def _pair(reply: object) -> tuple[int, int]:
    values = reply if isinstance(reply, list) else [None, None]
    return _int(values[0]), _int(values[1])


class Resilient:
    """Redis in front, memory behind: a Redis outage never turns a login into an error.

    While Redis is unreachable, batches run on the local counters, each fallback is counted
    (``on_fallback``) and the first is logged; Redis is tried again every ``retry_after`` seconds of
    wall-clock time, and sharing resumes with the first batch that succeeds. State written locally
    during the outage stays local: the windows are short, so it ages out within minutes.
    """

    def __init__(
        self,
        primary: RedisCounters,
        fallback: MemoryCounters,
        *,
        retry_after: float = 5.0,
        on_fallback: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self._retry_after = retry_after
        self._on_fallback = on_fallback
        self._clock = clock
        self._down_until = 0.0
        self.degraded = False

    @property
    def backend(self) -> str:
        return "memory (redis unavailable)" if self.degraded else "redis"

    def run(self, ops: Sequence[Op], now: float) -> list[Result]:
        if not self.degraded or self._clock() >= self._down_until:
            try:
                results = self.primary.run(ops, now)
            except redis.RedisError as exc:
                if not self.degraded:
                    log.warning("guard: Redis unavailable (%s); deciding on local counters", type(exc).__name__)
                self.degraded = True
                self._down_until = self._clock() + self._retry_after
            else:
                if self.degraded:
                    log.warning("guard: Redis is back; counters are shared again")
                    self.degraded = False
                return results
        self._on_fallback()
        return self.fallback.run(ops, now)
