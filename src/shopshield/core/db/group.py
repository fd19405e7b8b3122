"""SQLite's group commit: many request transactions, one database transaction (decision 0006)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from shopshield.core.db.connections import driver_pool, write_lock
from shopshield.core.db.failures import CommitFailed, RefusalNotRecorded
from shopshield.core.db.tx import Deferred, Tx
from shopshield.core.errors import RecordedRefusal


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


class _Unit:
    """One request transaction inside a batch; its work is the body of ``with _Unit(...) as unit``.

    This is the one place that decides what happens to a member's writes, for ``GroupCommit.member``
    (one per thread) and ``GroupCommit.run_all`` (several on one thread) alike:

    - in a savepoint (unless ``savepoint`` is false: the batch's first member, whose failure may
      roll back the whole database transaction);
    - a ``RecordedRefusal`` keeps its writes (the event that records it) and is held in
      ``refusal``, to be raised once the commit has made that event durable;
    - any other failure rolls back to the savepoint and propagates; if the savepoint cannot be
      undone, or there was none, the whole batch fails (``batch.error``);
    - its deferred work (the audit log's leaf writes) joins the batch's, which runs once for every
      member just before the shared commit.

    A class rather than a generator context manager: it runs once per request of a batch, and the
    generator's machinery cost about a microsecond more each time.
    """

    __slots__ = ("_batch", "_savepoint", "refusal", "tx")

    def __init__(self, batch: _Batch, *, savepoint: bool) -> None:
        self._batch = batch
        self._savepoint = savepoint
        self.tx = Tx(batch.driver, "sqlite")
        self.refusal: RecordedRefusal | None = None

    def __enter__(self) -> _Unit:
        if self._savepoint:
            try:
                self._batch.driver.execute("SAVEPOINT member")
            except BaseException:
                self._undo()
                raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> bool:
        if error is not None and not isinstance(error, RecordedRefusal):
            self._undo()
            return False
        self.refusal = error
        batch = self._batch
        try:
            if self._savepoint:
                batch.driver.execute("RELEASE member")
            for flush, items in self.tx.take_deferred().items():
                batch.deferred.setdefault(flush, []).extend(items)
        except BaseException:
            self._undo()
            raise
        batch.members += 1
        # A refusal ends here: its writes stay, and it is raised after the commit.
        return True

    def _undo(self) -> None:
        batch = self._batch
        if self._savepoint:
            try:
                batch.driver.execute("ROLLBACK TO member")
                batch.driver.execute("RELEASE member")
            except BaseException as undo:
                # The connection cannot undo this member's writes: the whole group must fail.
                batch.error = undo
        else:
            batch.error = batch.error or _FirstMemberFailed()


def _settled(outcome: Outcome, error: BaseException | None) -> Outcome:
    """What a member's outcome comes to once its batch's commit is over (``error``: why it failed).

    A member's own error stands; its value, or its refusal's event, was never committed if the
    commit failed.
    """
    if error is None:
        return outcome
    if isinstance(outcome.error, RecordedRefusal):
        unrecorded = RefusalNotRecorded("the refusal could not be recorded")
        unrecorded.__cause__ = error
        return Outcome(error=unrecorded)
    if outcome.error is not None:
        return outcome
    failed = CommitFailed("the transaction could not be committed")
    failed.__cause__ = error
    return Outcome(error=failed)


class GroupCommit:
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
        found = write_lock(engine)
        if found is None:
            raise ValueError("a group commit needs the engine's write lock")
        self._write_lock = found
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
        """One request transaction of this thread: its turn on the connection, then the commit.

        Returns (or raises) only once the commit that holds its writes is over.
        """
        batch = self._take_turn()
        try:
            # The first member of a batch needs no savepoint: if it fails, nobody else has joined
            # yet and the whole transaction rolls back.
            with _Unit(batch, savepoint=batch.members > 0) as unit:
                yield unit.tx
        except BaseException:
            self._end_turn(batch)
            raise
        self._end_turn(batch)
        self._wait(batch)
        _settled(Outcome(error=unit.refusal), batch.error).unwrap()

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
        try:
            for work in works:
                value: Any = None
                try:
                    # Always a savepoint: a later work must survive the failure of the first.
                    with _Unit(batch, savepoint=True) as unit:
                        value = work(unit.tx)
                    outcome = Outcome(value) if unit.refusal is None else Outcome(error=unit.refusal)
                except BaseException as exc:
                    outcome = Outcome(error=exc)
                    if not isinstance(exc, Exception):
                        # Interrupted (KeyboardInterrupt, SystemExit): the batch stops and fails.
                        batch.error = batch.error or exc
                outcomes.append(outcome)
                if batch.error is not None:
                    break
        finally:
            self._end_turn(batch)
        self._wait(batch)
        if batch.error is not None:
            outcomes = [_settled(o, batch.error) for o in outcomes]
            outcomes += [_settled(Outcome(), batch.error) for _ in range(len(works) - len(outcomes))]
        return outcomes

    def _wait(self, batch: _Batch) -> None:
        """Until the turn's commit (or its failure) is over."""
        if not batch.done:
            with self._done:
                while not batch.done:
                    self._done.wait()

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
        lock = self._write_lock
        pool = driver_pool(self._engine)
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
            pool = driver_pool(self._engine)
            pool.release(driver, broken=not reusable)
            self._write_lock.release()
            with self._turn:
                batch.done = True
                self._busy = False
                self._done.notify_all()
                self._turn.notify()

    def _hand_on(self) -> None:
        with self._turn:
            self._busy = False
            self._turn.notify()


_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()


def add_group_commit(engine: Engine) -> None:
    """Make ``transaction`` on ``engine`` (a SQLite one) share commits between threads."""
    _GROUPS[engine] = GroupCommit(engine)


def group_commit(engine: Engine) -> GroupCommit | None:
    """The engine's group commit, or None where transactions run in parallel (PostgreSQL)."""
    return _GROUPS.get(engine)
