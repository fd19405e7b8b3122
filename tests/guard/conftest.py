"""Counter stores for the guard's tests: in memory, and a real Redis (never skipped: CI has one)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from shopshield.guard.counters import CounterStore, MemoryCounters, RedisCounters
from testkit.counting_redis import CountingRedis
from tests.support.backends import REDIS_URL


@pytest.fixture
def redis_client() -> Iterator[CountingRedis]:
    client = CountingRedis(connection_pool=redis.ConnectionPool.from_url(REDIS_URL))
    try:
        client.ping()
    except redis.RedisError as exc:  # the suite needs Redis: fail loudly rather than skip
        raise RuntimeError(f"Redis is required for the test suite at {REDIS_URL}: {exc}") from exc
    client.trips = 0
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: CountingRedis) -> Iterator[str]:
    prefix = f"test:{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> CounterStore:
    if request.param == "memory":
        return MemoryCounters()
    client: CountingRedis = request.getfixturevalue("redis_client")
    return RedisCounters(client, prefix=request.getfixturevalue("redis_prefix"))
