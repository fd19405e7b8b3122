"""Engines tuned per backend, and the ORM's session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from shopshield.core.db.connections import add_write_lock
from shopshield.core.db.group import add_group_commit


def make_engine(url: str) -> Engine:
    """Create an engine tuned for the backend behind ``url``."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
        _tune_sqlite(engine)
        add_write_lock(engine)
        add_group_commit(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers proceed during a write; synchronous=NORMAL in WAL mode keeps every
        # committed transaction across a process crash (kill -9), losing at most the last ones
        # on power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Every read of personal data appends an event, and inserting into the event indexes at
        # random places missed SQLite's default 2 MB page cache on a large log (docs/benchmarks.md,
        # audit appends): a 32 MB cache per connection, and checkpoints every ~40 MB of WAL
        # instead of every 4 MB, so that a commit rarely pays for a checkpoint.
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Almost every request writes (an access event), so take the write lock up front:
        # a deferred transaction that upgrades later can fail with SQLITE_BUSY without waiting.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
