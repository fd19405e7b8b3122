"""Archiving old events to Parquet keeps the log verifiable and provable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shopshield.access.models import AccessEventRow
from shopshield.audit import merkle
from shopshield.audit.archive import archive_before, read_archive
from shopshield.audit.service import ArchivedLeaf
from shopshield.audit.verify import verify_log
from shopshield.bootstrap import Container
from shopshield.core.db import Statement, transaction, unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.events import AccessEvent
from tests.support.audit_history import checkpoint, verify

OLD = datetime(2020, 3, 1, 8, 0, tzinfo=UTC)
NEW = datetime.now(UTC) - timedelta(days=1)
_LEAF = Statement("SELECT leaf_hash FROM access_events WHERE leaf_index = :i")


def _log(container: Container, count: int, start: datetime, step: timedelta) -> None:
    with transaction(container.engine) as tx:
        for n in range(count):
            event = AccessEvent(
                actor_id=f"staff-{n % 5}",
                actor_kind="staff",
                actor_role="cs_agent",
                action="view",
                channel="cs-console",
                outcome="ok",
                customer_id=f"c{n % 7:07d}",
                fields=("name", "mobile"),
            )
            container.audit.append(tx, event, now=start + n * step)


@pytest.fixture
def logged(container: Container) -> Container:
    _log(container, 45, OLD, timedelta(hours=1))  # leaves 0..44 in 2020
    checkpoint(container)
    _log(container, 20, NEW, timedelta(seconds=1))  # leaves 45..64, yesterday
    checkpoint(container)
    return container


def _count(container: Container) -> int:
    with unit_of_work(container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(AccessEventRow)) or 0)


def test_archive_moves_an_aligned_prefix_and_the_log_still_verifies(logged: Container, tmp_path: Path) -> None:
    done = archive_before(
        logged.engine, tmp_path / "archive", before=datetime(2021, 1, 1, tzinfo=UTC), retention_days=1096
    )
    assert done is not None
    assert (done.first_leaf, done.end_leaf) == (0, 32)  # 45 old events, rounded down to 16s
    assert _count(logged) == 65 - 32
    rows = list(read_archive(done.path))
    assert [r[0] for r in rows] == list(range(32))

    without_files = verify(logged)
    assert without_files.ok, without_files.problems
    assert without_files.archived_leaves == 32 and "not checked" in without_files.notes[0]
    with transaction(logged.engine, read_only=True) as tx:
        with_files = verify_log(
            tx, verifier=logged.audit.signer.verifier, witness=logged.witness, archive_dir=done.path.parent
        )
    assert with_files.ok, with_files.problems
    assert with_files.archive_files_checked == 1


def test_proofs_for_later_events_survive_archiving(logged: Container, tmp_path: Path) -> None:
    archive_before(logged.engine, tmp_path, before=datetime(2021, 1, 1, tzinfo=UTC), retention_days=1096)
    with transaction(logged.engine, read_only=True) as tx:
        latest = logged.audit.latest_checkpoint(tx)
        assert latest is not None
        for leaf in range(32, latest.tree_size):
            proof = logged.audit.inclusion_proof(tx, leaf, latest.tree_size)
            leaf_hash = tx.one(_LEAF, {"i": leaf})
            assert leaf_hash is not None
            merkle.verify_inclusion(leaf, latest.tree_size, bytes(leaf_hash[0]), proof, latest.root_hash)
        with pytest.raises(ArchivedLeaf):
            logged.audit.inclusion_proof(tx, 3, latest.tree_size)
    # And appending goes on from the right size.
    _log(logged, 3, NEW, timedelta(seconds=1))
    checkpoint(logged)
    assert verify(logged).ok


def test_a_changed_archive_file_is_reported(logged: Container, tmp_path: Path) -> None:
    done = archive_before(logged.engine, tmp_path, before=datetime(2021, 1, 1, tzinfo=UTC), retention_days=1096)
    assert done is not None
    done.path.write_bytes(done.path.read_bytes() + b"\0")
    with transaction(logged.engine, read_only=True) as tx:
        report = verify_log(tx, verifier=logged.audit.signer.verifier, witness=logged.witness, archive_dir=tmp_path)
    assert not report.ok
    assert "not the file that was archived" in report.problems[0].message


def test_archive_refuses_the_retention_period_and_has_nothing_to_do_twice(logged: Container, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="kept at least 1096 days"):
        archive_before(logged.engine, tmp_path, before=datetime.now(UTC) - timedelta(days=30), retention_days=1096)
    assert archive_before(logged.engine, tmp_path, before=datetime(2019, 1, 1, tzinfo=UTC), retention_days=1096) is None
    assert archive_before(logged.engine, tmp_path, before=datetime(2021, 1, 1, tzinfo=UTC), retention_days=1096)
    assert archive_before(logged.engine, tmp_path, before=datetime(2021, 1, 1, tzinfo=UTC), retention_days=1096) is None
    assert _count(logged) == 33


def test_deleting_old_events_without_archiving_them_is_tampering(logged: Container) -> None:
    with logged.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM access_events WHERE leaf_index < 16")
    report = verify(logged)
    assert not report.ok and report.first_bad_leaf == 0
