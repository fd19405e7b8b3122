"""Per-engine write locks and the pool of driver connections the hot path runs on."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Engine, event

# SQLite has one writer at a time. Threads of one process queue on this lock instead of on
# SQLite's busy handler, which sleeps and retries and turned 8 concurrent requests into
# second-long tail latencies. Other processes (a CLI during `serve`) still meet busy_timeout.
# A plain Lock, not an RLock: a shared group commit (``group.GroupCommit``) is released by
# whichever thread commits it.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
# How many idle driver connections a pool keeps per engine (more are opened under load and
# closed when they come back).
HOT_CONNECTIONS = 8


def add_write_lock(engine: Engine) -> None:
    """Give ``engine`` (a SQLite one) the process-wide lock its writers queue on."""
    _WRITE_LOCKS[engine] = threading.Lock()


def write_lock(engine: Engine) -> threading.Lock | None:
    """The engine's write lock, or None where the database takes concurrent writers (PostgreSQL)."""
    return _WRITE_LOCKS.get(engine)


class DriverPool:
    """Idle driver connections for ``transaction``, outside SQLAlchemy's pool.

    Checking a connection out of SQLAlchemy's pool and back in (fairy objects, weakref finalizers,
    reset-on-return) cost about a tenth of an HTTP masked view. These connections come from the
    engine once (so its connect-time PRAGMAs have run), are detached from its pool, and are
    reused last-in first-out; ``engine.dispose()`` closes the idle ones. A connection that failed
    to roll back is closed rather than reused.
    """

    def __init__(self, engine: Engine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close_idle())

    def acquire(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        fairy = self._engine.raw_connection()
        driver = fairy.driver_connection
        fairy.detach()
        return driver

    def release(self, connection: Any, *, broken: bool = False) -> None:
        """Take a connection back; a ``broken`` one (its rollback failed) is closed, never reused."""
        if broken:
            connection.close()
            return
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        connection.close()

    def close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


_DRIVER_POOLS: weakref.WeakKeyDictionary[Engine, DriverPool] = weakref.WeakKeyDictionary()


def driver_pool(engine: Engine) -> DriverPool:
    found = _DRIVER_POOLS.get(engine)
    if found is None:
        found = _DRIVER_POOLS.setdefault(engine, DriverPool(engine, keep=HOT_CONNECTIONS))
    return found
