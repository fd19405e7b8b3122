"""``db.run_transaction``, the hot path's entry from async routes: on SQLite, calls that overlap
are batched into one turn of the group commit on one worker thread (decision 0014). Whatever the
batching, each call keeps the guarantees of ``db.transaction``: its own failure takes only its own
writes, a recorded refusal is committed and raised, and nothing returns before its commit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shopshield.access.models import AccessEventRow
from shopshield.bootstrap import Container
from shopshield.core.db import CommitFailed, Outcome, Tx, run_transaction, transaction, unit_of_work
from shopshield.core.db.batching import batcher
from shopshield.core.db.group import group_commit
from shopshield.core.errors import AccessDenied
from shopshield.core.events import AccessEvent
from tests.support.audit_history import checkpoint, verify

CALLS = 120


class Boom(Exception):
    """The failure under test, raised after the transaction has written its event."""


def _event(actor: str, n: int, outcome: str = "ok") -> AccessEvent:
    return AccessEvent(
        actor_id=actor,
        actor_kind="staff",
        actor_role="cs_agent",
        action="view",
        channel="cs-console",
        outcome=outcome,
        customer_id=f"c{n:07d}",
        fields=("name",),
    )


def _record(container: Container, n: int, actor: str = "a") -> Callable[[Tx], None]:
    return lambda tx: container.audit.append(tx, _event(actor, n), now=datetime.now(UTC))


def _outcomes(container: Container) -> list[tuple[int, str, str]]:
    with unit_of_work(container.sessions) as session:
        rows = session.execute(
            select(AccessEventRow.leaf_index, AccessEventRow.customer_id, AccessEventRow.outcome).order_by(
                AccessEventRow.leaf_index
            )
        ).all()
    outcomes = []
    for i, c, o in rows:
        assert c is not None  # every event these tests record is about a customer
        outcomes.append((int(i), c, o))
    return outcomes


def _committed(container: Container, customer_id: str) -> int:
    with unit_of_work(container.sessions) as session:
        found = session.scalar(
            select(func.count()).select_from(AccessEventRow).where(AccessEventRow.customer_id == customer_id)
        )
    return int(found or 0)


def test_overlapping_calls_each_keep_their_own_outcome(container: Container) -> None:
    """Every third call fails after writing (its event is gone), every fifth is a recorded refusal
    (its event stays and it raises), the rest succeed; threads using ``transaction`` meanwhile share
    the same groups. The tree has no gaps and verifies."""

    def work(n: int) -> Callable[[Tx], int]:
        def run(tx: Tx) -> int:
            if n % 3 == 0:
                container.audit.append(tx, _event("async", n, "denied"), now=datetime.now(UTC))
                tx.flush_deferred()
                raise Boom
            if n % 5 == 0:
                container.audit.append(tx, _event("async", n, "denied"), now=datetime.now(UTC))
                raise AccessDenied("refused")
            container.audit.append(tx, _event("async", n), now=datetime.now(UTC))
            return n

        return run

    def threaded() -> None:
        for n in range(40):
            with transaction(container.engine) as tx:
                container.audit.append(tx, _event("thread", 10_000 + n), now=datetime.now(UTC))

    async def main() -> list[int | BaseException]:
        return await asyncio.gather(
            *(run_transaction(container.engine, work(n)) for n in range(CALLS)), return_exceptions=True
        )

    thread = threading.Thread(target=threaded)
    thread.start()
    results = asyncio.run(main())
    thread.join(timeout=120)
    for n, result in enumerate(results):
        if n % 3 == 0:
            assert isinstance(result, Boom)
        elif n % 5 == 0:
            assert isinstance(result, AccessDenied)
        else:
            assert result == n
    events = _outcomes(container)
    assert [e[0] for e in events] == list(range(len(events)))
    ours = {int(c[1:]): o for _, c, o in events if int(c[1:]) < CALLS}
    assert ours == {n: ("denied" if n % 5 == 0 else "ok") for n in range(CALLS) if n % 3 != 0}
    assert sum(1 for _, c, _ in events if int(c[1:]) >= 10_000) == 40
    checkpoint(container)
    assert verify(container).ok


def test_a_call_returns_only_after_its_commit(container: Container) -> None:
    async def main() -> list[int]:
        async def one(n: int) -> int:
            await run_transaction(container.engine, _record(container, n))
            return _committed(container, f"c{n:07d}")

        return await asyncio.gather(*(one(n) for n in range(30)))

    assert asyncio.run(main()) == [1] * 30


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_batches_overlapping_calls(container: Container) -> None:
    group = group_commit(container.engine)
    assert group is not None
    batches: list[int] = []
    real = group.run_all

    def counting(works: Sequence[Callable[[Tx], object]]) -> list[Outcome]:
        batches.append(len(works))
        return real(works)

    group.run_all = counting  # type: ignore[method-assign]

    async def main() -> None:
        await asyncio.gather(
            *(
                run_transaction(
                    container.engine,
                    _record(container, n),
                )
                for n in range(CALLS)
            )
        )

    asyncio.run(main())
    assert sum(batches) == CALLS
    assert len(batches) < CALLS  # calls that overlapped went to the thread together
    assert len(_outcomes(container)) == CALLS


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_failed_shared_commit_fails_every_call_in_it(container: Container) -> None:
    """A call whose deferred work breaks the commit takes its batch down with it: every call of
    that batch raises ``CommitFailed`` and none of their writes is kept."""

    def poison(_tx: Tx, _items: list[object]) -> None:
        raise RuntimeError("the commit cannot complete")

    async def main() -> list[object]:
        calls = []
        for n in range(20):
            if n == 7:
                calls.append(run_transaction(container.engine, lambda tx: tx.defer(poison, None)))
            else:
                calls.append(
                    run_transaction(
                        container.engine,
                        _record(container, n),
                    )
                )
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[7], CommitFailed)
    failed = {n for n, r in enumerate(results) if isinstance(r, CommitFailed)}
    assert all(r is None for n, r in enumerate(results) if n not in failed)
    kept = {int(c[1:]) for _, c, _ in _outcomes(container)}
    assert kept == set(range(20)) - failed


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_cancelled_calls_leave_the_batcher_working(container: Container) -> None:
    """Callers cancelled while queued or while leading do not strand the calls behind them."""

    async def main() -> None:
        tasks = [
            asyncio.create_task(
                run_transaction(
                    container.engine,
                    _record(container, n),
                )
            )
            for n in range(60)
        ]
        for _ in range(5):
            await asyncio.sleep(0)
            for task in tasks[::7]:
                task.cancel()
        done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
        assert all(r is None or isinstance(r, asyncio.CancelledError) for r in done)
        assert any(r is None for r in done)
        # A later call still runs, and the batcher is idle afterwards.
        await run_transaction(container.engine, _record(container, 999))
        group = group_commit(container.engine)
        assert group is not None
        idle = batcher(container.engine, group)
        assert not idle._leading
        assert not idle._queue

    asyncio.run(main())
    assert _committed(container, "c0000999") == 1
    events = _outcomes(container)
    assert [e[0] for e in events] == list(range(len(events)))
