"""The one way to open a transaction for each kind of work (decision 0024).

- ``unit_of_work(sessions)``: an ORM session, for admin writes and admin listings;
- ``transaction(engine)``: a ``Tx`` on a driver connection, for request paths (grouped on SQLite);
- ``transaction(engine, read_only=True)``: a snapshot that takes no write lock, for long reads;
- ``await run_transaction(engine, work)``: ``transaction`` from an ``async def`` route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from shopshield.core.db.batching import batcher
from shopshield.core.db.connections import driver_pool, write_lock
from shopshield.core.db.failures import recording
from shopshield.core.db.group import group_commit
from shopshield.core.db.tx import Tx, flush_session
from shopshield.core.errors import RecordedRefusal

T = TypeVar("T")


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed on success and on a recorded refusal, rolled back otherwise.

    A refusal is committed because its only write is the access event that records it: a refused
    read must leave evidence, and the service checks before it writes anything else. A refusal
    whose event cannot be committed is rolled back and becomes ``RefusalNotRecorded``.
    """
    bind = factory.kw.get("bind")
    lock = write_lock(bind) if isinstance(bind, Engine) else None
    with lock or nullcontext():
        session = factory()
        committed = False
        try:
            try:
                yield session
            except RecordedRefusal as refusal:
                with recording(refusal):
                    flush_session(session)
                    session.commit()
                committed = True
                raise
            flush_session(session)
            session.commit()
        except BaseException:
            if not committed:
                session.rollback()
            raise
        finally:
            session.close()


@contextmanager
def transaction(engine: Engine, *, read_only: bool = False) -> Iterator[Tx]:
    """Like ``unit_of_work`` but on a driver connection, for the hot read path.

    On SQLite, transactions that overlap in time share one database transaction and one commit
    (see ``GroupCommit``); each still commits or fails as a whole, and none returns before the
    commit that makes its writes durable.

    ``read_only``: a snapshot instead; every statement sees the same committed state, nothing is
    written or committed, and no write lock is taken, so long reads (verifying the log, proofs)
    never hold up requests.
    """
    if read_only:
        with _snapshot(engine) as tx:
            yield tx
        return
    group = group_commit(engine)
    if group is not None:
        with group.member() as tx:
            yield tx
        return
    pool = driver_pool(engine)
    driver = pool.acquire()
    tx = Tx(driver, engine.dialect.name)
    reusable = True
    committed = False
    try:
        try:
            yield tx
        except RecordedRefusal as refusal:
            with recording(refusal):
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


async def run_transaction(engine: Engine, work: Callable[[Tx], T]) -> T:
    """``work(tx)`` inside ``transaction(engine)`` on a worker thread, awaited from the event loop.

    On SQLite, calls that arrive while others are running queue on the event loop and go to the
    worker thread together, as one turn of the group commit (``GroupCommit.run_all``): one
    thread hop and one commit for all of them, instead of a hop each and a hand-over of the
    connection between threads (decision 0014). Each keeps the guarantees of ``transaction``:
    its own failure rolls back only its own writes, and it returns only once they are committed.
    On PostgreSQL each runs in its own transaction on a worker thread, in parallel.
    """
    group = group_commit(engine)
    if group is None:
        return await run_in_threadpool(_alone, engine, work)
    outcome = await batcher(engine, group).run(work)
    result: T = outcome.unwrap()
    return result


def _alone(engine: Engine, work: Callable[[Tx], T]) -> T:
    with transaction(engine) as tx:
        return work(tx)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Tx]:
    """``transaction(engine, read_only=True)``: a snapshot that is always rolled back."""
    pool = driver_pool(engine)
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
