"""Removing erased data keys from the key store's storage, not only from its table.

Deleting a key row hides it from SQL but not from the files: SQLite keeps the deleted bytes in its
write-ahead log (until a checkpoint, by default at ~40 MB of log) and in the freed space of the
database file, and PostgreSQL keeps the deleted row version until VACUUM removes it. Whoever holds
those files (or a copy), the master key file and a database backup from before the erasure reads
the erased customer again. This module makes an erasure reach the storage, and says when it could
not (docs/decisions/0017-erasure-leaves-no-key-bytes.md).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from shopshield.core.db import make_engine

log = logging.getLogger(__name__)

# How long one SQLite checkpoint attempt may wait for readers. A waiting TRUNCATE checkpoint holds
# the write lock, so short attempts let the service's own key writes through between them.
_SQLITE_ATTEMPT_MS = 100
_POLL_SECONDS = 0.02

# Transactions (and prepared transactions, replication slots, standbys with hot_standby_feedback)
# that started before ``mark`` may still see a row deleted before it; VACUUM keeps its version for
# them. From PostgreSQL 14 only sessions of the same database hold a table's horizon back; before
# 14, every session did. ``age(x) > age(mark)`` reads "x is older than mark" across xid wraparound.
_HOLDERS = text(
    """
    SELECT
      (SELECT count(*) FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()
          AND (datname = current_database() OR datname IS NULL
               OR current_setting('server_version_num')::int < 140000)
          AND (age(backend_xid) > age(CAST(CAST(:mark AS xid8) AS xid))
               OR age(backend_xmin) > age(CAST(CAST(:mark AS xid8) AS xid))))
    + (SELECT count(*) FROM pg_prepared_xacts
        WHERE database = current_database() AND age(transaction) > age(CAST(CAST(:mark AS xid8) AS xid)))
    + (SELECT count(*) FROM pg_replication_slots
        WHERE (database IS NULL OR database = current_database())
          AND age(xmin) > age(CAST(CAST(:mark AS xid8) AS xid)))
    """
)


@dataclass(frozen=True)
class PurgeResult:
    """Whether the key store's storage holds no deleted data key any more, and if not, why."""

    complete: bool
    reason: str | None
    seconds: float


def make_keystore_engine(url: str) -> Engine:
    """The key store's engine: ``db.make_engine``, and on SQLite deleted rows overwritten with zeros.

    secure_delete costs nothing when a key is created; it makes a delete zero the row (and any page
    it frees) in the database file instead of leaving it in free space.
    """
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _secure_delete)
    return engine


def _secure_delete(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class KeyStorePurger:
    """Removes every deleted data key's bytes from the key store's files (SQLite) or row versions
    (PostgreSQL), waiting at most ``timeout_seconds`` for whatever still holds them.

    The work covers every key deleted so far, not one: a purge that could not finish is finished by
    the next one.
    """

    def __init__(self, engine: Engine, *, table: str, timeout_seconds: float) -> None:
        self._engine = engine
        self._table = table
        self._timeout = timeout_seconds

    @property
    def backend(self) -> str:
        return self._engine.dialect.name

    def purge(self, *, compact: bool = False) -> PurgeResult:
        """Purge now. ``compact`` also rewrites the whole key store: on PostgreSQL that clears the
        freed space of its pages, where VACUUM leaves old bytes; on SQLite, free space left by deletes
        made without secure_delete (before this version). It locks the key store while it runs."""
        started = time.monotonic()
        deadline = started + self._timeout
        failure: Exception | None = None
        try:
            if self.backend == "sqlite":
                reason = self._purge_sqlite(deadline, compact=compact)
            else:
                reason = self._purge_postgres(deadline, compact=compact)
        except (DBAPIError, sqlite3.Error) as exc:
            # The delete is committed whatever happens here; the next purge retries the clean-up.
            # Purge statements carry no personal data, so the driver's message is safe to show.
            failure = exc
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            message = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
            reason = f"the key store refused the purge ({message}); repeat the erase or run `shopshield keys purge`"
        seconds = time.monotonic() - started
        if reason is not None:
            log.warning("deleted data keys may still be in the key store: %s", reason, exc_info=failure)
        return PurgeResult(complete=reason is None, reason=reason, seconds=seconds)

    # -- SQLite ------------------------------------------------------------------------------

    def _purge_sqlite(self, deadline: float, *, compact: bool) -> str | None:
        raw = self._engine.raw_connection()
        try:
            # A driver connection in autocommit: both statements refuse to run inside a transaction.
            connection = raw.driver_connection
            assert connection is not None
            previous = connection.execute("PRAGMA busy_timeout").fetchone()[0]
            try:
                if compact:
                    connection.execute(f"PRAGMA busy_timeout={_ms_left(deadline)}")
                    connection.execute("VACUUM")
                return self._truncate_wal(connection, deadline)
            finally:
                connection.execute(f"PRAGMA busy_timeout={int(previous)}")
        finally:
            raw.close()

    def _truncate_wal(self, connection: Any, deadline: float) -> str | None:
        # With secure_delete the database file no longer holds the key; the log still has the
        # pages as they were. A TRUNCATE checkpoint copies the log into the database and cuts the
        # log to zero bytes, but only once no reader is still reading from it.
        while True:
            connection.execute(f"PRAGMA busy_timeout={min(_SQLITE_ATTEMPT_MS, _ms_left(deadline))}")
            busy = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy == 0:
                return None
            if time.monotonic() >= deadline:
                return (
                    f"another connection kept reading or writing the key store's write-ahead log for "
                    f"{self._timeout:g} s; "
                    "repeat the erase or run `shopshield keys purge`"
                )
            time.sleep(_POLL_SECONDS)

    # -- PostgreSQL --------------------------------------------------------------------------

    def _purge_postgres(self, deadline: float, *, compact: bool) -> str | None:
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            may_vacuum, deferred = connection.execute(
                text(
                    "SELECT pg_has_role(relowner, 'USAGE'), "
                    "coalesce(current_setting('vacuum_defer_cleanup_age', true), '0') "
                    "FROM pg_class WHERE oid = to_regclass(:t)"
                ),
                {"t": self._table},
            ).one()
            if not may_vacuum:
                return f"the key store's database user may not VACUUM {self._table} (it must own the table)"
            if deferred != "0":
                # PostgreSQL 15 and older can keep dead rows this many transactions longer than any
                # session needs them, which the wait below cannot see.
                return "vacuum_defer_cleanup_age is set on the key store's server; set it to 0"
            # Every key deleted before this point has an older transaction id than the mark.
            mark = connection.scalar(text("SELECT CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text)"))
            while connection.scalar(_HOLDERS, {"mark": mark}):
                if time.monotonic() >= deadline:
                    return (
                        f"a transaction that began before the delete was still open after {self._timeout:g} s, "
                        "so PostgreSQL keeps the deleted key's row version for it; repeat the erase or run "
                        "`shopshield keys purge` once it ends"
                    )
                time.sleep(_POLL_SECONDS)
            # FREEZE makes the VACUUM aggressive: it waits for a page that another session has
            # pinned instead of skipping it, so no removable row version survives it.
            statement = f'VACUUM ({"FULL" if compact else "FREEZE"}) "{self._table}"'
            connection.exec_driver_sql(f"SET lock_timeout = {_ms_left(deadline)}")
            try:
                connection.exec_driver_sql(statement)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                return (
                    f"another session held the {self._table} table for {self._timeout:g} s; repeat the erase "
                    "or run `shopshield keys purge`"
                )
            finally:
                connection.exec_driver_sql("RESET lock_timeout")
        return None


def _ms_left(deadline: float) -> int:
    return max(1, int((deadline - time.monotonic()) * 1000))
