"""Concurrent hot-path transactions: on SQLite they share commits (``db.group.GroupCommit``), on
PostgreSQL they queue on the log's advisory lock. Either way every committed event is a leaf, the
tree has no gaps, a failing transaction takes only its own writes with it, and no transaction
returns before its writes are durable."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from shopshield.access.models import AccessEventRow
from shopshield.bootstrap import Container
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.events import AccessEvent
from tests.support.audit_history import checkpoint, verify

THREADS = 8
PER_THREAD = 40


def _event(worker: int, n: int, outcome: str = "ok") -> AccessEvent:
    return AccessEvent(
        actor_id=f"staff-{worker}",
        actor_kind="staff",
        actor_role="cs_agent",
        action="view",
        channel="cs-console",
        outcome=outcome,
        customer_id=f"c{n:07d}",
        fields=("name", "mobile"),
    )


def _run(workers: int, body: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def run(worker: int) -> None:
        start.wait()
        try:
            body(worker)
        except BaseException as exc:  # collected and asserted on by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _events(container: Container) -> list[tuple[int, str, str]]:
    with unit_of_work(container.sessions) as session:
        rows = session.execute(
            select(AccessEventRow.leaf_index, AccessEventRow.actor_id, AccessEventRow.outcome).order_by(
                AccessEventRow.leaf_index
            )
        ).all()
    return [(int(i), a, o) for i, a, o in rows]


def test_concurrent_transactions_all_land_as_a_gapless_tree(container: Container) -> None:
    def work(worker: int) -> None:
        for n in range(PER_THREAD):
            with transaction(container.engine) as tx:
                container.audit.append(tx, _event(worker, n), now=datetime.now(UTC))

    assert _run(THREADS, work) == []
    events = _events(container)
    assert [e[0] for e in events] == list(range(THREADS * PER_THREAD))
    for worker in range(THREADS):
        assert sum(1 for e in events if e[1] == f"staff-{worker}") == PER_THREAD
    checkpoint(container)
    assert verify(container).ok


def test_a_failing_transaction_takes_only_its_own_writes(container: Container) -> None:
    class Boom(Exception):
        """The failure under test, raised after the transaction has written its event."""

    def work(worker: int) -> None:
        for n in range(PER_THREAD):
            with contextlib.suppress(Boom), transaction(container.engine) as tx:
                fails = (worker + n) % 3 == 0
                container.audit.append(tx, _event(worker, n, "denied" if fails else "ok"), now=datetime.now(UTC))
                if fails:
                    tx.flush_deferred()  # its event is written, then the transaction fails
                    raise Boom

    assert _run(THREADS, work) == []
    events = _events(container)
    expected = sum(1 for w in range(THREADS) for n in range(PER_THREAD) if (w + n) % 3 != 0)
    assert len(events) == expected
    assert {e[2] for e in events} == {"ok"}
    assert [e[0] for e in events] == list(range(expected))
    checkpoint(container)
    assert verify(container).ok


def test_a_transaction_returns_only_after_its_commit(container: Container) -> None:
    """What one thread's transaction returned is visible to a fresh connection at once."""
    seen: list[int] = []

    def work(worker: int) -> None:
        for n in range(10):
            with transaction(container.engine) as tx:
                container.audit.append(tx, _event(worker, n), now=datetime.now(UTC))
            with unit_of_work(container.sessions) as session:
                mine = session.scalar(
                    select(func.count()).select_from(AccessEventRow).where(AccessEventRow.actor_id == f"staff-{worker}")
                )
            seen.append(int(mine or 0) - (n + 1))

    assert _run(4, work) == []
    assert seen and all(missing == 0 for missing in seen)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_groups_share_commits_under_contention(container: Container) -> None:
    from shopshield.core.db.group import group_commit

    group = group_commit(container.engine)
    assert group is not None
    commits = 0
    real = group._commit

    def counting(batch: object) -> None:
        nonlocal commits
        commits += 1
        real(batch)  # type: ignore[arg-type]

    group._commit = counting  # type: ignore[method-assign]

    def work(worker: int) -> None:
        for n in range(PER_THREAD):
            with transaction(container.engine) as tx:
                container.audit.append(tx, _event(worker, n), now=datetime.now(UTC))

    assert _run(THREADS, work) == []
    assert len(_events(container)) == THREADS * PER_THREAD
    assert commits < THREADS * PER_THREAD  # some transactions shared a commit
