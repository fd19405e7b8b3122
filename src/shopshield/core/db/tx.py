"""``Tx``: one transaction on a driver connection, and the work it defers to its commit."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from shopshield.core.db.statements import R, Statement

Deferred = Callable[["Tx", list[Any]], None]


class Tx:
    """One transaction on a driver connection: pre-written statements, rows named as each
    statement says (``Statement(sql, row=...)``).

    Work can be deferred to just before commit (``defer``): ``AuditLog.append`` hands its events
    to ``AuditLog.append_batch`` there, which writes them all in one go, so the lock on the tree is
    held only while committing.
    """

    __slots__ = ("_conn", "_deferred", "dialect")

    def __init__(self, driver_connection: Any, dialect: str) -> None:
        self._conn = driver_connection
        self.dialect = dialect
        self._deferred: dict[Deferred, list[Any]] = {}

    @classmethod
    def of_session(cls, session: Session) -> Tx:
        """The driver connection under a session's open transaction, to share that transaction.

        One ``Tx`` per session, so work deferred through it runs when ``unit_of_work`` commits.
        """
        found = session.info.get(SESSION_TX)
        if isinstance(found, Tx):
            return found
        connection = session.connection()
        tx = cls(connection.connection.driver_connection, connection.dialect.name)
        session.info[SESSION_TX] = tx
        return tx

    def execute(self, statement: Statement[Any], params: Mapping[str, Any]) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(statement.text(self.dialect), params)
        return cursor

    def many(self, statement: Statement[Any], rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]]) -> None:
        if len(rows) == 1:
            # One row is the common case (a transaction that records one read); executemany
            # costs measurably more for it.
            self._conn.cursor().execute(statement.text(self.dialect), rows[0])
        elif rows:
            self._conn.cursor().executemany(statement.text(self.dialect), rows)

    def one(self, statement: Statement[R], params: Mapping[str, Any]) -> R | None:
        """The first row, named as the statement says, or None."""
        row = self.execute(statement, params).fetchone()
        make = statement.make
        if row is None or make is None:
            found: R | None = row
            return found
        return make(row)

    def all(self, statement: Statement[R], params: Mapping[str, Any]) -> list[R]:
        """Every row, named as the statement says."""
        rows = self.execute(statement, params).fetchall()
        make = statement.make
        if make is None:
            plain: list[R] = rows
            return plain
        return list(map(make, rows))

    def timestamp(self, moment: datetime) -> Any:
        """A UTC timestamp as the column type expects it; SQLite stores SQLAlchemy's text form."""
        if self.dialect == "sqlite":
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return moment

    def defer(self, flush: Deferred, item: Any) -> None:
        """Queue ``item``; ``flush(tx, items)`` runs once with every queued item before commit."""
        queued = self._deferred.get(flush)
        if queued is None:
            self._deferred[flush] = [item]
        else:
            queued.append(item)

    def take_deferred(self) -> dict[Deferred, list[Any]]:
        """Hand the queued work to someone who will run it on this connection before commit."""
        deferred, self._deferred = self._deferred, {}
        return deferred

    def flush_deferred(self) -> None:
        """Run the deferred work; called by ``transaction`` and ``unit_of_work`` before commit."""
        while self._deferred:
            deferred, self._deferred = self._deferred, {}
            for flush, items in deferred.items():
                flush(self, items)


SESSION_TX = "shopshield.tx"


def flush_session(session: Session) -> None:
    tx = session.info.pop(SESSION_TX, None)
    if isinstance(tx, Tx):
        tx.flush_deferred()
