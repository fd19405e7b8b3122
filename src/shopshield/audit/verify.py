"""``audit verify``: recompute the whole tree from the stored events and hold it against every
signed checkpoint, the stored nodes and the witness.

What each check catches:

- an event whose columns no longer give its stored leaf hash: a changed column (the leaf index is
  part of the hashed bytes, so a row moved to another position fails here too);
- a missing leaf index: a deleted event;
- a recomputed stored node (levels 4, 8, ...) that differs from the one written at append time:
  events changed together with their leaf hashes, inserted, deleted or reordered, localised to
  the node's range of leaves;
- a recomputed root that differs from a signed checkpoint's: history before that size rewritten;
- a checkpoint (in the database or at the witness) larger than the log: events deleted at the end,
  or the database restored from an older copy;
- a checkpoint whose signature does not verify: a forged or altered checkpoint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopshield.access.models import split_fields
from shopshield.audit import merkle
from shopshield.audit.canonical import event_leaf_hash
from shopshield.audit.models import SELECT_EVENTS, STRIDE, EventRecord
from shopshield.audit.service import StoredNodes, frontier
from shopshield.audit.signing import CheckpointError, Verifier
from shopshield.audit.witness import Witness
from shopshield.core.db import Statement, Tx
from shopshield.core.events import AccessEvent
from shopshield.core.times import format_ts

BATCH = 5_000
_EVENTS = Statement(SELECT_EVENTS + " WHERE leaf_index >= :start ORDER BY leaf_index LIMIT :limit", row=EventRecord)
_CHECKPOINTS = Statement("SELECT tree_size, root_hash, note FROM audit_checkpoints ORDER BY tree_size")
_NODES = Statement("SELECT level, idx, hash FROM audit_nodes WHERE level = :level AND idx >= :first AND idx < :end")
_ARCHIVES = Statement("SELECT first_leaf, end_leaf, file_name, sha256 FROM audit_archives ORDER BY first_leaf")


@dataclass(frozen=True)
class Problem:
    """One finding; ``leaf`` is the first leaf index it concerns, when there is one."""

    message: str
    leaf: int | None = None


@dataclass
class Report:
    tree_size: int = 0
    events_checked: int = 0
    checkpoints_checked: int = 0
    witnessed_checked: int = 0
    archived_leaves: int = 0
    archive_files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_leaf(self) -> int | None:
        leaves = [p.leaf for p in self.problems if p.leaf is not None]
        return min(leaves) if leaves else None


@dataclass(frozen=True)
class _Signed:
    source: str
    tree_size: int
    root: bytes
    signed_at: str


def verify_log(
    tx: Tx,
    *,
    verifier: Verifier,
    witness: Witness | None,
    archive_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Check everything; ``tx`` should be a read snapshot (``db.transaction(engine, read_only=True)``).

    ``witness=None`` skips the witness (the report notes it). A witness whose file is gone raises
    ``WitnessMissing`` instead of reporting: without it nothing can be said about a rollback.
    """
    report = Report()
    signed = _signed_checkpoints(tx, verifier, witness, report)
    by_size: dict[int, list[_Signed]] = {}
    for item in signed:
        by_size.setdefault(item.tree_size, []).append(item)

    tree, start = _start_after_archives(tx, report, archive_dir, by_size)
    nodes = _NodeChecker(tx)
    expected = start
    broken = False
    last_good = start
    for row in _stream(tx, start):
        index = int(row.leaf_index)
        report.events_checked += 1
        if progress is not None:
            progress(1)
        if broken:
            continue
        if index != expected:
            report.problems.append(
                Problem(
                    f"leaf {expected} is missing: the next stored event is leaf {index} (events were deleted)", expected
                )
            )
            broken = True
            continue
        computed = _leaf_hash(row)
        if computed is None or computed != bytes(row[15]):
            report.problems.append(
                Problem(
                    f"the event at leaf {index} no longer matches its leaf hash: it was changed after it was logged",
                    index,
                )
            )
            broken = True
            continue
        for level, idx, node in tree.append(computed):
            if level and not level % STRIDE and not nodes.matches(level, idx, node):
                first, end = idx << level, (idx + 1) << level
                report.problems.append(
                    Problem(
                        f"leaves {first}..{end - 1} do not rebuild the tree node stored when they were appended: "
                        "events in that range were changed, inserted, deleted or reordered",
                        first,
                    )
                )
                broken = True
                break
        expected += 1
        if not broken and tree.size in by_size:
            if _check_roots(tree, by_size[tree.size], report, last_good):
                last_good = tree.size
            else:
                broken = True
    if broken:
        return report
    report.tree_size = tree.size
    for size, items in sorted(by_size.items()):
        if size > tree.size:
            for item in items:
                report.problems.append(
                    Problem(
                        f"the {item.source} holds a checkpoint of {size} events signed at {item.signed_at}, but "
                        f"the log has only {tree.size}: events were deleted at its end or the database was "
                        "restored from an older copy",
                        tree.size,
                    )
                )
    return report


def _check_roots(tree: merkle.CompactRange, items: Sequence[_Signed], report: Report, last_good: int) -> bool:
    """Whether the tree's root matches every checkpoint signed for its size; problems if not."""
    root = tree.root()
    good = True
    for item in items:
        if item.source == "witness":
            report.witnessed_checked += 1
        else:
            report.checkpoints_checked += 1
        if item.root != root:
            good = False
            report.problems.append(
                Problem(
                    f"the first {tree.size} events do not give the root signed in the {item.source}'s checkpoint "
                    f"({item.signed_at}): an event among leaves {last_good}..{tree.size - 1} was changed, "
                    "inserted, deleted or reordered",
                    last_good,
                )
            )
    return good


def _signed_checkpoints(tx: Tx, verifier: Verifier, witness: Witness | None, report: Report) -> list[_Signed]:
    found: list[_Signed] = []
    for size, root, note in tx.all(_CHECKPOINTS, {}):
        try:
            checkpoint = verifier.verify(str(note))
        except CheckpointError as exc:
            report.problems.append(Problem(f"the stored checkpoint of {size} events does not verify: {exc}"))
            continue
        if checkpoint.tree_size != int(size) or checkpoint.root_hash != bytes(root):
            report.problems.append(Problem(f"the stored checkpoint of {size} events differs from its signed note"))
            continue
        found.append(_Signed("database", checkpoint.tree_size, checkpoint.root_hash, checkpoint.signed_at.isoformat()))
    if witness is None:
        report.notes.append("the witness was not checked: a database restored from an older copy cannot be detected")
        return found
    try:
        notes = witness.notes()
    except CheckpointError as exc:
        report.problems.append(Problem(f"the witness file is damaged: {exc}"))
        return found
    if not notes:
        report.notes.append("the witness holds no checkpoints yet")
    for note in notes:
        try:
            checkpoint = verifier.verify(note)
        except CheckpointError as exc:
            report.problems.append(Problem(f"a checkpoint held by the witness does not verify: {exc}"))
            continue
        found.append(_Signed("witness", checkpoint.tree_size, checkpoint.root_hash, checkpoint.signed_at.isoformat()))
    return found


def _start_after_archives(
    tx: Tx, report: Report, archive_dir: Path | None, by_size: dict[int, list[_Signed]]
) -> tuple[merkle.CompactRange, int]:
    archives = tx.all(_ARCHIVES, {})
    if not archives:
        return merkle.CompactRange(), 0
    end = 0
    for first, last, _name, _digest in archives:
        if int(first) != end:
            report.problems.append(Problem(f"archived ranges are not contiguous at leaf {end}", end))
        end = int(last)
    report.archived_leaves = end
    files = [(archive_dir / str(name), bytes(digest)) for _f, _e, name, digest in archives] if archive_dir else []
    if files and all(path.exists() for path, _digest in files):
        from shopshield.audit.archive import read_archive  # pyarrow is only needed here

        tree = merkle.CompactRange()
        for path, digest in files:
            if hashlib.sha256(path.read_bytes()).digest() != digest:
                report.problems.append(Problem(f"archive file {path.name} is not the file that was archived"))
                continue
            for row in read_archive(path):
                computed = _leaf_hash(row)
                if computed is None or computed != bytes(row.leaf_hash) or int(row.leaf_index) != tree.size:
                    report.problems.append(
                        Problem(f"archived event at leaf {row.leaf_index} does not match its hash", int(row.leaf_index))
                    )
                    return tree, end
                tree.append(computed)
                if tree.size in by_size:
                    _check_roots(tree, by_size[tree.size], report, 0)
            report.archive_files_checked += 1
        return tree, end
    report.notes.append(
        f"the first {end} events are archived and their files were not checked; the rest of the log is verified "
        "from the tree nodes stored for them"
    )
    return frontier(StoredNodes(tx), end), end


def _stream(tx: Tx, start: int) -> Iterator[EventRecord]:
    while True:
        rows = tx.all(_EVENTS, {"start": start, "limit": BATCH})
        yield from rows
        if len(rows) < BATCH:
            return
        start = int(rows[-1].leaf_index) + 1


def event_from_row(values: Sequence[Any]) -> tuple[int, str, AccessEvent]:
    """``(leaf_index, canonical ts, event)`` from a row in ``EVENT_COLUMNS`` order."""
    row = values if isinstance(values, EventRecord) else EventRecord._make(values)
    ts = row.ts
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if not isinstance(ts, datetime):
        raise ValueError("ts is not a timestamp")
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    event = AccessEvent(
        actor_id=row.actor_id,
        actor_kind=row.actor_kind,
        actor_role=row.actor_role,
        action=row.action,
        customer_id=row.customer_id,
        order_id=row.order_id,
        fields=split_fields(row.fields or ""),
        channel=row.channel,
        source_ip=row.source_ip,
        purpose=row.purpose,
        ticket_id=row.ticket_id,
        outcome=row.outcome,
        reason=row.reason,
    )
    return int(row.leaf_index), format_ts(ts), event


def _leaf_hash(row: EventRecord) -> bytes | None:
    try:
        index, ts, event = event_from_row(row)
    except (ValueError, TypeError):
        return None
    return event_leaf_hash(index, ts, event)


class _NodeChecker:
    """Compares recomputed stored-level nodes with ``audit_nodes``, reading them in ranges."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._loaded: dict[int, tuple[int, dict[int, bytes]]] = {}

    def matches(self, level: int, idx: int, node: bytes) -> bool:
        window = self._loaded.get(level)
        if window is None or not window[0] <= idx < window[0] + BATCH:
            rows = self._tx.all(_NODES, {"level": level, "first": idx, "end": idx + BATCH})
            window = (idx, {int(r[1]): bytes(r[2]) for r in rows})
            self._loaded[level] = window
        return window[1].get(idx) == node
