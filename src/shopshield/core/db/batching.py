"""Hot-path transactions from async code, batched on the event loop (decision 0014)."""

from __future__ import annotations

import asyncio
import collections
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from shopshield.core.db.group import GroupCommit, Outcome
from shopshield.core.db.tx import Tx

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
    takes itself and every call queued behind it (up to ``GroupCommit.MAX_GROUP``) to the worker
    thread, hands each its outcome, and makes the first call still queued the next leader. Only
    the event loop's thread touches this object, so it needs no lock.
    """

    def __init__(self, group: GroupCommit) -> None:
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


def batcher(engine: Engine, group: GroupCommit) -> _Batcher:
    """The running event loop's batcher for ``engine``."""
    loop = asyncio.get_running_loop()
    batchers = _BATCHERS.get(loop)
    if batchers is None:
        batchers = _BATCHERS.setdefault(loop, weakref.WeakKeyDictionary())
    found = batchers.get(engine)
    if found is None:
        found = batchers.setdefault(engine, _Batcher(group))
    return found
