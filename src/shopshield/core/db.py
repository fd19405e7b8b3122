"""Database engines, sessions and the unit of work shared by every domain."""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from shopshield.core.errors import InstanceFault, RecordedRefusal

log = logging.getLogger(__name__)

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Tables of the main database."""

    metadata = MetaData(naming_convention=NAMING)


class KeystoreBase(DeclarativeBase):
    """Tables of the data-key store, which lives in a database of its own (see docs/decisions)."""

    metadata = MetaData(naming_convention=NAMING)


# SQLite has one writer at a time. Threads of one process queue on this lock instead of on
# SQLite's busy handler, which sleeps and retries and turned 8 concurrent requests into
# second-long tail latencies. Other processes (a CLI during `serve`) still meet busy_timeout.
# A plain Lock, not an RLock: a shared group commit (``_GroupCommit``) is released by whichever
# thread commits it.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
# How many idle driver connections ``transaction`` keeps per engine (more are opened under load
# and closed when they come back).
_HOT_CONNECTIONS = 8


def make_engine(url: str) -> Engine:
    """Create an engine tuned for the backend behind ``url``."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"isolation_level": None, "timeout": 30})
        _tune_sqlite(engine)
        _WRITE_LOCKS[engine] = threading.Lock()
        _GROUPS[engine] = _GroupCommit(engine)
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


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed on success and on a recorded refusal, rolled back otherwise.

    A refusal is committed because its only write is the access event that records it: a refused
    read must leave evidence, and the service checks before it writes anything else. A refusal
    whose event cannot be committed is rolled back and becomes ``RefusalNotRecorded``.
    """
    bind = factory.kw.get("bind")
    lock = _WRITE_LOCKS.get(bind) if isinstance(bind, Engine) else None
    with lock or nullcontext():
        session = factory()
        committed = False
        try:
            try:
                yield session
            except RecordedRefusal as refusal:
                with _recording(refusal):
                    _flush_session(session)
                    session.commit()
                committed = True
                raise
            _flush_session(session)
            session.commit()
        except BaseException:
            if not committed:
                session.rollback()
            raise
        finally:
            session.close()


@contextmanager
def _recording(refusal: RecordedRefusal) -> Iterator[None]:
    """Around the commit of a refusal's event: a failure becomes ``RefusalNotRecorded``."""
    try:
        yield
    except Exception as exc:
        log.error("a refusal (%s) could not be recorded: %s", type(refusal).__name__, type(exc).__name__)
        raise RefusalNotRecorded("the refusal could not be recorded") from exc


class Statement:
    """SQL written once with ``:name`` placeholders, turned into each driver's style on first use.

    The hot read path (masked views, reveals, searches) runs a handful of these on the driver
    connection: going through the ORM costs several times the SQL itself (see docs/benchmarks.md).
    """

    __slots__ = ("_by_dialect", "positional", "sql")
    _PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

    def __init__(self, sql: str, *, positional: bool = False) -> None:
        """``positional``: the SQL uses ``?`` and takes tuples, which bind faster than dicts
        (worth it only where rows are bound by the thousand, as in audit appends)."""
        self.sql = sql
        self.positional = positional
        self._by_dialect: dict[str, str] = {}

    def text(self, dialect: str) -> str:
        found = self._by_dialect.get(dialect)
        if found is None:
            if dialect == "sqlite":
                found = self.sql
            elif self.positional:
                found = self.sql.replace("?", "%s")
            else:
                found = self._PLACEHOLDER.sub(r"%(\1)s", self.sql)
            self._by_dialect[dialect] = found
        return found


Deferred = Callable[["Tx", list[Any]], None]


class Tx:
    """One transaction on a driver connection: pre-written statements, plain tuples back.

    Work can be deferred to just before commit (``defer``): the audit log appends a transaction's
    access events there, in one go, so the lock on the tree is held only while committing.
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
        found = session.info.get(_SESSION_TX)
        if isinstance(found, Tx):
            return found
        connection = session.connection()
        tx = cls(connection.connection.driver_connection, connection.dialect.name)
        session.info[_SESSION_TX] = tx
        return tx

    def execute(self, statement: Statement, params: Mapping[str, Any]) -> Any:
        cursor = self._conn.cursor()
        cursor.execute(statement.text(self.dialect), params)
        return cursor

    def many(self, statement: Statement, rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]]) -> None:
        if len(rows) == 1:
            # One row is the common case (a transaction that records one read); executemany
            # costs measurably more for it.
            self._conn.cursor().execute(statement.text(self.dialect), rows[0])
        elif rows:
            self._conn.cursor().executemany(statement.text(self.dialect), rows)

    def one(self, statement: Statement, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.execute(statement, params).fetchone()
        return row

    def all(self, statement: Statement, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self.execute(statement, params).fetchall()
        return rows

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


_SESSION_TX = "shopshield.tx"


def _flush_session(session: Session) -> None:
    tx = session.info.pop(_SESSION_TX, None)
    if isinstance(tx, Tx):
        tx.flush_deferred()


class _DriverPool:
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


_DRIVER_POOLS: weakref.WeakKeyDictionary[Engine, _DriverPool] = weakref.WeakKeyDictionary()


def _driver_pool(engine: Engine) -> _DriverPool:
    found = _DRIVER_POOLS.get(engine)
    if found is None:
        found = _DRIVER_POOLS.setdefault(engine, _DriverPool(engine, keep=_HOT_CONNECTIONS))
    return found


@contextmanager
def transaction(engine: Engine) -> Iterator[Tx]:
    """Like ``unit_of_work`` but on a driver connection, for the hot read path.

    On SQLite, transactions that overlap in time share one database transaction and one commit
    (see ``_GroupCommit``); each still commits or fails as a whole, and none returns before the
    commit that makes its writes durable.
    """
    group = _GROUPS.get(engine)
    if group is not None:
        with group.member() as tx:
            yield tx
        return
    pool = _driver_pool(engine)
    driver = pool.acquire()
    tx = Tx(driver, engine.dialect.name)
    reusable = True
    committed = False
    try:
        try:
            yield tx
        except RecordedRefusal as refusal:
            with _recording(refusal):
                tx.flush_deferred()
                driver.commit()
            committed = True
            raise
        tx.flush_deferred()
        driver.commit()
    except BaseException:
        # Every way out but a commit rolls back before the connection goes back to the pool: a
        # PostgreSQL connection left in an aborted transaction fails whoever takes it next.
        if not committed:
            try:
                driver.rollback()
            except Exception:
                reusable = False
                raise
        raise
    finally:
        pool.release(driver, broken=not reusable)


class CommitFailed(InstanceFault, RuntimeError):
    """The commit failed (for a group of transactions, their shared commit); nothing took effect."""


class RefusalNotRecorded(CommitFailed):
    """A refusal whose access event could not be committed (its transaction is rolled back).

    It reaches the edges as an internal error (5xx), never as the refusal: a 403 or 404 says the
    attempt is on record, and this one is not.
    """


class _FirstMemberFailed(Exception):
    """The batch's first member failed before anyone joined: its transaction is rolled back."""


class _Batch:
    __slots__ = ("deferred", "done", "driver", "error", "members")

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.members = 0
        # Members' deferred work (their access events), run once for the whole batch just before
        # the shared commit: one append of N events instead of N appends.
        self.deferred: dict[Deferred, list[Any]] = {}
        # Set under the group's condition, which the members wait on (a threading.Event per
        # batch cost more than the rest of the group's bookkeeping).
        self.done = False
        self.error: BaseException | None = None


class _GroupCommit:
    """Group commit for SQLite's hot path: one database transaction, many request transactions.

    Each request transaction runs in turn on one connection inside a savepoint, so its own
    failure rolls back only its own writes. When it finishes and others are waiting for their
    turn, it hands the still-open transaction on instead of committing; the last one of the
    group commits for everyone and wakes them. Under load a commit (the costliest step of a
    masked view: WAL frames for the event, its indexes and the quota row) is paid once per group
    instead of once per request, and so is the audit log's append (the members' deferred work runs
    once, for all their events, just before the commit; if it fails, they all fail). Alone, a
    request commits at once as before.
    """

    MAX_GROUP = 32

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        lock = threading.Lock()
        # Two conditions on one lock: waiting for a turn on the connection, and waiting for the
        # commit of one's batch. One condition for both would let a hand-over wake the wrong one.
        self._turn = threading.Condition(lock)
        self._done = threading.Condition(lock)
        self._busy = False
        self._waiting = 0
        self._batch: _Batch | None = None

    @contextmanager
    def member(self) -> Iterator[Tx]:
        batch = self._take_turn()
        driver = batch.driver
        tx = Tx(driver, "sqlite")
        refusal: RecordedRefusal | None = None
        # The first member of a batch needs no savepoint: if it fails, nobody else has joined
        # yet and the whole transaction rolls back.
        savepoint = batch.members > 0
        try:
            if savepoint:
                driver.execute("SAVEPOINT member")
            try:
                yield tx
            except RecordedRefusal as exc:
                refusal = exc
            if savepoint:
                driver.execute("RELEASE member")
            for flush, items in tx.take_deferred().items():
                batch.deferred.setdefault(flush, []).extend(items)
        except BaseException:
            if savepoint:
                try:
                    driver.execute("ROLLBACK TO member")
                    driver.execute("RELEASE member")
                except Exception as exc:
                    # The connection cannot undo this member's writes: the whole group must fail.
                    batch.error = exc
            else:
                batch.error = batch.error or _FirstMemberFailed()
            self._end_turn(batch)
            raise
        batch.members += 1
        self._end_turn(batch)
        self._wait(batch)
        if batch.error is not None:
            if refusal is not None:
                raise RefusalNotRecorded("the refusal could not be recorded") from batch.error
            raise CommitFailed("the transaction could not be committed") from batch.error
        if refusal is not None:
            raise refusal

    def _wait(self, batch: _Batch) -> None:
        """Until the turn's commit (or its failure) is over."""
        if not batch.done:
            with self._done:
                while not batch.done:
                    self._done.wait()

    def run_all(self, works: Sequence[Callable[[Tx], Any]]) -> list[Outcome]:
        """Run each of ``works`` as a transaction of its own, one after another on this thread,
        inside one turn of the group (each in a savepoint); return once they are committed.

        The same guarantees as ``member``, one outcome per work: its value; its own error, with
        its writes rolled back (a ``RecordedRefusal`` keeps them and is committed); or
        ``CommitFailed`` for all if the shared commit fails. It does not raise.
        """
        outcomes: list[Outcome] = []
        try:
            batch = self._take_turn()
        except BaseException as exc:
            return [Outcome(error=exc)] * len(works)
        driver = batch.driver
        try:
            for work in works:
                tx = Tx(driver, "sqlite")
                try:
                    driver.execute("SAVEPOINT member")
                    try:
                        outcome = Outcome(work(tx))
                    except RecordedRefusal as exc:
                        outcome = Outcome(error=exc)
                    driver.execute("RELEASE member")
                    for flush, items in tx.take_deferred().items():
                        batch.deferred.setdefault(flush, []).extend(items)
                    batch.members += 1
                except BaseException as exc:
                    outcome = Outcome(error=exc)
                    try:
                        driver.execute("ROLLBACK TO member")
                        driver.execute("RELEASE member")
                    except BaseException as undo:
                        # The connection cannot undo this work's writes: the whole group must fail.
                        batch.error = undo
                    if not isinstance(exc, Exception):
                        batch.error = batch.error or exc
                outcomes.append(outcome)
                if batch.error is not None:
                    break
        finally:
            self._end_turn(batch)
        self._wait(batch)
        if batch.error is not None:
            failed = CommitFailed("the transaction could not be committed")
            failed.__cause__ = batch.error
            unrecorded = RefusalNotRecorded("the refusal could not be recorded")
            unrecorded.__cause__ = batch.error

            def settled(outcome: Outcome) -> Outcome:
                # A work's own error stands; its value or its refusal's event was never committed.
                if isinstance(outcome.error, RecordedRefusal):
                    return Outcome(error=unrecorded)
                return outcome if outcome.error is not None else Outcome(error=failed)

            outcomes = [settled(o) for o in outcomes]
            outcomes += [Outcome(error=failed)] * (len(works) - len(outcomes))
        return outcomes

    def _take_turn(self) -> _Batch:
        with self._turn:
            self._waiting += 1
            while self._busy:
                self._turn.wait()
            self._waiting -= 1
            self._busy = True
            batch = self._batch
        if batch is not None:
            return batch
        lock = _WRITE_LOCKS[self._engine]
        pool = _driver_pool(self._engine)
        lock.acquire()
        try:
            driver = pool.acquire()
            try:
                driver.execute("BEGIN IMMEDIATE")
            except BaseException:
                pool.release(driver)
                raise
        except BaseException:
            lock.release()
            self._hand_on()
            raise
        self._batch = _Batch(driver)
        return self._batch

    def _end_turn(self, batch: _Batch) -> None:
        with self._turn:
            if self._waiting and batch.error is None and batch.members < self.MAX_GROUP:
                self._busy = False
                self._turn.notify()
                return
        self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        driver = batch.driver
        reusable = True
        try:
            if batch.error is None and batch.members:
                tx = Tx(driver, "sqlite")
                tx._deferred = batch.deferred
                tx.flush_deferred()
                driver.commit()
            else:
                driver.rollback()
        except BaseException as exc:
            batch.error = exc
            try:
                driver.rollback()
            except Exception:
                reusable = False
        finally:
            self._batch = None
            pool = _driver_pool(self._engine)
            pool.release(driver, broken=not reusable)
            _WRITE_LOCKS[self._engine].release()
            with self._turn:
                batch.done = True
                self._busy = False
                self._done.notify_all()
                self._turn.notify()

    def _hand_on(self) -> None:
        with self._turn:
            self._busy = False
            self._turn.notify()


_GROUPS: weakref.WeakKeyDictionary[Engine, _GroupCommit] = weakref.WeakKeyDictionary()


# -- the hot path from async code -------------------------------------------------------------------

T = TypeVar("T")


class Outcome:
    """What one transaction of a batch came to: a value or an error."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


async def run_transaction(engine: Engine, work: Callable[[Tx], T]) -> T:
    """``work(tx)`` inside ``transaction(engine)`` on a worker thread, awaited from the event loop.

    On SQLite, calls that arrive while others are running queue on the event loop and go to the
    worker thread together, as one turn of the group commit (``_GroupCommit.run_all``): one
    thread hop and one commit for all of them, instead of a hop each and a hand-over of the
    connection between threads (decision 0014). Each keeps the guarantees of ``transaction``:
    its own failure rolls back only its own writes, and it returns only once they are committed.
    On PostgreSQL each runs in its own transaction on a worker thread, in parallel.
    """
    if engine not in _GROUPS:
        return await run_in_threadpool(_alone, engine, work)
    loop = asyncio.get_running_loop()
    batchers = _BATCHERS.get(loop)
    if batchers is None:
        batchers = _BATCHERS.setdefault(loop, weakref.WeakKeyDictionary())
    batcher = batchers.get(engine)
    if batcher is None:
        batcher = batchers.setdefault(engine, _Batcher(_GROUPS[engine]))
    outcome = await batcher.run(work)
    result: T = outcome.unwrap()
    return result


def _alone(engine: Engine, work: Callable[[Tx], T]) -> T:
    with transaction(engine) as tx:
        return work(tx)


# A waiting call's future gets this instead of an outcome when it is its turn to lead a batch.
_LEAD = Outcome()


class _Queued:
    __slots__ = ("future", "work")

    def __init__(self, work: Callable[[Tx], Any], future: asyncio.Future[Outcome]) -> None:
        self.work = work
        self.future = future


class _Batcher:
    """Calls of ``run_transaction`` on one event loop and one SQLite engine.

    At most one batch is on a worker thread at a time. A call that finds none running leads: it
    takes itself and every call queued behind it (up to ``_GroupCommit.MAX_GROUP``) to the worker
    thread, hands each its outcome, and makes the first call still queued the next leader. Only
    the event loop's thread touches this object, so it needs no lock.
    """

    def __init__(self, group: _GroupCommit) -> None:
        self._group = group
        self._queue: collections.deque[_Queued] = collections.deque()
        self._leading = False

    async def run(self, work: Callable[[Tx], Any]) -> Outcome:
        mine = _Queued(work, asyncio.get_running_loop().create_future())
        self._queue.append(mine)
        if self._leading:
            try:
                outcome = await mine.future
            except asyncio.CancelledError:
                if mine.future.done() and not mine.future.cancelled() and mine.future.result() is _LEAD:
                    # Made leader just as it was cancelled: pass the lead on.
                    self._queue.remove(mine)
                    self._leading = False
                    self._promote()
                raise
            if outcome is not _LEAD:
                return outcome
        self._leading = True
        batch: list[_Queued] = []
        while self._queue and len(batch) < self._group.MAX_GROUP:
            queued = self._queue.popleft()
            if not queued.future.cancelled():
                batch.append(queued)
        outcomes: list[Outcome] = []
        try:
            outcomes = await run_in_threadpool(self._group.run_all, [q.work for q in batch])
        finally:
            if outcomes:
                for queued, outcome in zip(batch[1:], outcomes[1:], strict=True):
                    if not queued.future.done():
                        queued.future.set_result(outcome)
            else:
                # Cancelled before the batch reached the thread: the others go back to the front.
                self._queue.extendleft(reversed(batch[1:]))
            self._leading = False
            self._promote()
        return outcomes[0]

    def _promote(self) -> None:
        while self._queue:
            head = self._queue[0]
            if head.future.cancelled():
                self._queue.popleft()
                continue
            self._leading = True
            head.future.set_result(_LEAD)
            return


_BATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Engine, _Batcher]] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def reading(engine: Engine) -> Iterator[Tx]:
    """A read-only snapshot on a driver connection: every statement sees the same committed state,
    and no write lock is taken, so long reads (verifying the log, proofs) never hold up requests."""
    pool = _driver_pool(engine)
    driver = pool.acquire()
    tx = Tx(driver, engine.dialect.name)
    reusable = True
    try:
        if tx.dialect == "sqlite":
            driver.execute("BEGIN")
        else:
            driver.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield tx
    finally:
        try:
            driver.rollback()
        except Exception:
            reusable = False
        pool.release(driver, broken=not reusable)
