"""A Redis client that counts its network round trips, for the guard's tests and its benchmark."""

from __future__ import annotations

import redis


class CountingRedis(redis.Redis):  # type: ignore[type-arg]
    """A real client that counts network round trips: each pipeline run, each plain command."""

    trips = 0

    def pipeline(self, transaction: bool = True, shard_hint: object = None) -> redis.client.Pipeline:  # type: ignore[type-arg]
        owner = self

        class Counted(redis.client.Pipeline):  # type: ignore[type-arg]
            def execute(self, raise_on_error: bool = True) -> list[object]:
                owner.trips += 1
                return super().execute(raise_on_error)

        return Counted(self.connection_pool, self.response_callbacks, transaction, shard_hint)

    def execute_command(self, *args: object, **options: object) -> object:
        self.trips += 1
        return super().execute_command(*args, **options)
