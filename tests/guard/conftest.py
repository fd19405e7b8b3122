"""Counter stores for the guard's tests: in memory, and a real Redis (never skipped: CI has one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from shopshield.guard.counters import CounterStore, MemoryCounters, RedisCounters

REDIS_URL = os.environ.get("SHOPSHIELD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class CountingRedis(redis.Redis):  # type: ignore[type-arg]
    """A real client that counts network round trips: each pipeline run, each plain command."""

    trips = 0

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        client = self

        class Counted(redis.client.Pipeline):  # type: ignore[type-arg]
            def execute(self, raise_on_error: bool = True) -> Any:
                client.trips += 1
                return super().execute(raise_on_error)

        return Counted(self.connection_pool, self.response_callbacks, transaction, shard_hint)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.trips += 1
        return super().execute_command(*args, **options)


@pytest.fixture
def redis_client() -> Iterator[CountingRedis]:
    client = CountingRedis.from_url(REDIS_URL)
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
