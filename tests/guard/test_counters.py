"""The counter stores give the same answers in memory and on Redis, and Redis outages degrade to memory."""

from __future__ import annotations

import redis

from shopshield.guard.counters import (
    NOTHING,
    Add,
    Count,
    CounterStore,
    Distinct,
    Get,
    Known,
    MemoryCounters,
    Op,
    Pop,
    Put,
    RedisCounters,
    Remember,
    Resilient,
)
from testkit.counting_redis import CountingRedis
from tests.support.backends import REDIS_URL

T = 1_800_000_000.0  # a window boundary for every window used here (divisible by 60 and 600)


def test_sliding_window_weights_the_previous_window(store: CounterStore) -> None:
    for _ in range(10):
        store.run([Add("f", "k", 600)], T + 10)
    assert store.run([Count("f", "k", 600)], T + 20) == [10.0]
    # A quarter into the next window, three quarters of the previous one still overlap.
    [estimate] = store.run([Count("f", "k", 600)], T + 600 + 150)
    assert estimate == 7.5
    store.run([Add("f", "k", 600, amount=2)], T + 600 + 150)
    assert store.run([Count("f", "k", 600)], T + 600 + 150) == [9.5]
    # Two windows later nothing is left.
    assert store.run([Count("f", "k", 600)], T + 1800 + 1) == [0.0]


def test_keys_and_names_are_separate(store: CounterStore) -> None:
    store.run([Add("f", "a", 60), Add("f", "a", 60), Add("g", "a", 60)], T)
    assert store.run([Count("f", "a", 60), Count("g", "a", 60), Count("f", "b", 60)], T + 1) == [2.0, 1.0, 0.0]


def test_distinct_counts_members_over_two_windows(store: CounterStore) -> None:
    assert store.run([Distinct("u", "ip", "alice", 60)], T) == [1]
    assert store.run([Distinct("u", "ip", "alice", 60)], T + 1) == [1]
    assert store.run([Distinct("u", "ip", "bob", 60)], T + 2) == [2]
    # Next window: the previous window's members still count once each.
    assert store.run([Distinct("u", "ip", "bob", 60)], T + 61) == [2]
    assert store.run([Distinct("u", "ip", "carol", 60)], T + 62) == [3]
    # Two windows on, only the current window's members remain.
    assert store.run([Distinct("u", "ip", "dave", 60)], T + 181) == [1]


def test_remembered_members_expire(store: CounterStore) -> None:
    store.run([Remember("known", "acct", "d.phone", 100)], T)
    assert store.run([Known("known", "acct", "d.phone"), Known("known", "acct", "d.other")], T + 50) == [True, False]
    assert store.run([Known("known", "acct", "d.phone")], T + 101) == [False]


def test_put_get_pop(store: CounterStore) -> None:
    store.run([Put("stash", "a1", b"\x00sealed", 60)], T)
    assert store.run([Get("stash", "a1"), Get("stash", "a2")], T + 1) == [b"\x00sealed", None]
    assert store.run([Pop("stash", "a1")], T + 1) == [b"\x00sealed"]
    assert store.run([Pop("stash", "a1")], T + 1) == [None]


def test_memory_sweeps_ended_windows() -> None:
    store = MemoryCounters(sweep_every=2)
    store.run([Add("f", "old", 60), Distinct("u", "old", "m", 60), Put("s", "old", b"x", 10)], T)
    store.run([Add("f", "new", 60)], T + 500)  # the second batch sweeps
    assert ("f", "old") not in store._counts
    assert ("u", "old") not in store._sets
    assert ("s", "old") not in store._values
    assert ("f", "new") in store._counts


def test_a_redis_batch_is_one_round_trip(redis_client: CountingRedis, redis_prefix: str) -> None:
    store = RedisCounters(redis_client, prefix=redis_prefix)
    ops: list[Op] = [
        Count("f", "k", 60),
        Add("f", "k", 60),
        Distinct("u", "k", "m", 60),
        Known("n", "k", "x"),
        Get("s", "k"),
    ]
    store.run(ops, T)
    assert redis_client.trips == 1


def test_redis_outage_falls_back_to_memory_and_recovers(redis_prefix: str) -> None:
    fallbacks: list[int] = []
    clock = [0.0]
    dead = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2, socket_connect_timeout=0.2)
    primary = RedisCounters(dead, prefix=redis_prefix)
    store = Resilient(
        primary, MemoryCounters(), retry_after=5.0, on_fallback=lambda: fallbacks.append(1), clock=lambda: clock[0]
    )
    # Redis is unreachable: answers come from memory, and say so.
    store.run([Add("f", "k", 60)], T)
    assert store.run([Count("f", "k", 60)], T + 1) == [1.0]
    assert store.degraded and store.backend == "memory (redis unavailable)"
    assert len(fallbacks) == 2
    # Redis comes back; it is tried again only after retry_after, then sharing resumes.
    live = redis.Redis.from_url(REDIS_URL)
    primary._redis = live
    store.run([Add("f", "k", 60)], T + 2)
    assert store.degraded
    clock[0] = 6.0
    store.run([Add("f", "k", 60)], T + 3)
    assert not store.degraded and store.backend == "redis"
    # The shared count holds only what was written while Redis was up.
    assert store.run([Count("f", "k", 60)], T + 4) == [1.0]
    assert len(fallbacks) == 3
    live.close()


def test_nothing_keeps_positions_and_sends_nothing(store: CounterStore) -> None:
    assert store.run([Add("f", "k", 60), NOTHING, Count("f", "k", 60), NOTHING], T) == [1, None, 1.0, None]
