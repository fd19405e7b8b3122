"""The tamper-evident access log: appending events as Merkle leaves, proofs, signed checkpoints.

Appending happens inside the transaction that carries the read it records. A service calls
``append(tx, event, now=...)`` where it records the event; the leaf writes are then done for every
event of the transaction (on SQLite, of its whole group commit) at once by ``append_batch``, which
the transaction runs just before its commit: it gives each event the next leaf index, stores it
with its leaf hash and stores the subtree nodes it completes (on every ``STRIDE``-th level). So an
event is in the tree the moment it commits, and the read it records cannot commit without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from shopshield.access.models import join_fields
from shopshield.audit import merkle
from shopshield.audit.canonical import event_leaf_hash
from shopshield.audit.models import EVENT_COLUMNS, STRIDE
from shopshield.audit.signing import Checkpoint, CheckpointSigner
from shopshield.audit.witness import Witness
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import InvalidInput, NotFound
from shopshield.core.events import AccessEvent
from shopshield.core.times import format_ts

log = logging.getLogger(__name__)


class Leaf(NamedTuple):
    leaf_index: int
    leaf_hash: bytes


class Node(NamedTuple):
    idx: int
    hash: bytes


class NodeHash(NamedTuple):
    hash: bytes


class CheckpointRow(NamedTuple):
    tree_size: int
    root_hash: bytes
    signed_at: Any
    note: str


_TAIL = Statement("SELECT leaf_index, leaf_hash FROM access_events ORDER BY leaf_index DESC LIMIT 1", row=Leaf)
# Appenders on PostgreSQL queue on this transaction-scoped advisory lock (SQLite's write lock does
# the same there); the number is arbitrary but fixed: b"SSlog" as an integer.
_PG_LOCK = Statement("SELECT pg_advisory_xact_lock(358580497255)")
_INSERT_EVENT = Statement(
    f"INSERT INTO access_events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",  # noqa: S608 - constant column names
    positional=True,
)
_INSERT_NODE = Statement("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", positional=True)
_NODE = Statement("SELECT hash FROM audit_nodes WHERE level = :level AND idx = :idx", row=NodeHash)
_NODES = Statement(
    "SELECT idx, hash FROM audit_nodes WHERE level = :level AND idx >= :first AND idx < :end ORDER BY idx",
    row=Node,
)
_LEAVES = Statement(
    "SELECT leaf_index, leaf_hash FROM access_events WHERE leaf_index >= :first AND leaf_index < :end "
    "ORDER BY leaf_index",
    row=Leaf,
)
_LATEST_CHECKPOINT = Statement(
    "SELECT tree_size, root_hash, signed_at, note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1",
    row=CheckpointRow,
)
_CHECKPOINT = Statement(
    "SELECT tree_size, root_hash, signed_at, note FROM audit_checkpoints WHERE tree_size = :size",
    row=CheckpointRow,
)
_INSERT_CHECKPOINT = Statement(
    "INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, key_id, note) "
    "VALUES (:size, :root, :signed_at, :key_id, :note)"
)


@dataclass(frozen=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    note: str


# The largest tree size or leaf index a request may name: beyond any log's size, and within a
# signed 64-bit column on every backend.
MAX_SIZE: Final = 2**62
# RFC 9162 §2.1.4 defines PROOF(m, D[n]) only for 0 < m: every tree extends the empty tree, so
# there is nothing to prove, and the RFC's verifier rejects an empty proof between different sizes.
EMPTY_TREE_HAS_NO_PROOF: Final = (
    "first: must be at least 1; a consistency proof from the empty tree does not exist (RFC 9162 §2.1.4)"
)


class AuditLog:
    """Appends access events to the Merkle tree and answers for it; one per database."""

    def __init__(self, *, signer: CheckpointSigner, clock: Callable[[], datetime] | None = None) -> None:
        self.signer = signer
        self._clock = clock or (lambda: datetime.now(UTC))
        # (size, last leaf hash, tree) as this process last appended: reused while it is current.
        self._cached: tuple[int, bytes, merkle.CompactRange] | None = None
        self._cache_lock = threading.Lock()

    # -- appending ----------------------------------------------------------------------------

    def append(self, tx: Tx, event: AccessEvent, *, now: datetime) -> None:
        """Append ``event`` to the log as part of ``tx``: it commits with ``tx`` or not at all.

        Its leaf index is taken at commit, not here: ``append_batch`` writes the leaves of every
        event appended in the transaction together, just before it commits, so the tree's lock
        is held only from there to the commit (decision 0005) and a group commit pays for one
        batch instead of one per request (decision 0006).
        """
        tx.defer(self.append_batch, (now, event))

    def append_batch(self, tx: Tx, items: list[Any]) -> None:
        """Write the leaves of ``items`` (``(now, event)`` pairs, in order) at the tree's end.

        Run by the transaction just before it commits (``Tx.flush_deferred``), under the tree's
        lock (``lock_tail``) until that commit.
        """
        # The hottest loop in ShopShield (every read of personal data passes here): rows are bound
        # as tuples, and SQLite's timestamp text is cut from the canonical one rather than
        # formatted twice.
        tree = self._locked_tree(tx)
        sqlite = tx.dialect == "sqlite"
        first = tree.size
        stamps = [format_ts(now) for now, _event in items]
        leaves = [
            event_leaf_hash(first + n, ts, event)
            for n, (ts, (_now, event)) in enumerate(zip(stamps, items, strict=True))
        ]
        nodes = tree.extend_stored(leaves, STRIDE)
        events = [
            (
                first + n,
                ts[:10] + " " + ts[11:26] if sqlite else now,
                event.actor_id,
                event.actor_kind,
                event.actor_role,
                event.action,
                event.customer_id,
                event.order_id,
                join_fields(event.fields),
                event.channel,
                event.source_ip,
                event.purpose,
                event.ticket_id,
                event.outcome,
                event.reason,
                leaf,
            )
            for n, (ts, leaf, (now, event)) in enumerate(zip(stamps, leaves, items, strict=True))
        ]
        tx.many(_INSERT_EVENT, events)
        tx.many(_INSERT_NODE, nodes)
        with self._cache_lock:
            self._cached = (tree.size, leaves[-1], tree)

    def _locked_tree(self, tx: Tx) -> merkle.CompactRange:
        """The tree as committed, locked for appending until ``tx`` ends.

        The frontier this process wrote last is reused when the last leaf is still the one it
        wrote; otherwise (another process appended, or that transaction rolled back) it is read
        back from the stored nodes.
        """
        tail = lock_tail(tx)
        size, last = (0, b"") if tail is None else (tail[0] + 1, tail[1])
        with self._cache_lock:
            cached = self._cached
        if cached is not None and cached[0] == size and cached[1] == last:
            # A copy: the cached range must stay as committed if this transaction rolls back.
            return cached[2].copy()
        return frontier(StoredNodes(tx), size)

    # -- reading ------------------------------------------------------------------------------

    def size(self, tx: Tx) -> int:
        row = tx.one(_TAIL, {})
        return int(row.leaf_index) + 1 if row else 0

    def inclusion_proof(self, tx: Tx, leaf_index: int, tree_size: int) -> list[bytes]:
        self._check_sizes(tx, tree_size, leaf_index + 1, "leaf_index")
        return merkle.inclusion_proof(StoredNodes(tx), leaf_index, tree_size)

    def consistency_proof(self, tx: Tx, first: int, second: int) -> list[bytes]:
        if first == 0:
            raise InvalidInput(EMPTY_TREE_HAS_NO_PROOF, field="first")
        self._check_sizes(tx, second, first, "first")
        return merkle.consistency_proof(StoredNodes(tx), first, second)

    def root(self, tx: Tx, tree_size: int) -> bytes:
        self._check_sizes(tx, tree_size, 0, "tree_size")
        return merkle.tree_root(StoredNodes(tx), tree_size)

    def _check_sizes(self, tx: Tx, tree_size: int, needed: int, what: str) -> None:
        if tree_size < 0 or needed < 0:
            raise InvalidInput("tree sizes and leaf indexes are not negative")
        if needed > tree_size:
            raise InvalidInput(f"{what} must lie within tree_size")
        if tree_size > self.size(tx):
            raise NotFound("the log is not that large yet")

    # -- checkpoints --------------------------------------------------------------------------

    def checkpoint(self, tx: Tx) -> StoredCheckpoint | None:
        """Sign and store a checkpoint of the current tree if it grew since the last one."""
        tree = self._locked_tree(tx)
        size = tree.size
        latest = self.latest_checkpoint(tx)
        if size == 0 or (latest is not None and latest.tree_size >= size):
            return None
        root = tree.root()
        now = self._clock()
        note = self.signer.sign(Checkpoint(self.signer.origin, size, root, now))
        tx.execute(
            _INSERT_CHECKPOINT,
            {
                "size": size,
                "root": root,
                "signed_at": tx.timestamp(now),
                "key_id": self.signer.verifier.key_id.hex(),
                "note": note,
            },
        )
        return StoredCheckpoint(size, root, now, note)

    def latest_checkpoint(self, tx: Tx) -> StoredCheckpoint | None:
        row = tx.one(_LATEST_CHECKPOINT, {})
        return _checkpoint(row) if row else None

    def checkpoint_at(self, tx: Tx, tree_size: int) -> StoredCheckpoint | None:
        row = tx.one(_CHECKPOINT, {"size": tree_size})
        return _checkpoint(row) if row else None


def lock_tail(tx: Tx) -> tuple[int, bytes] | None:
    """The last leaf's index and hash (None for an empty log), locked for appending until ``tx`` ends."""
    if tx.dialect == "postgresql":
        tx.execute(_PG_LOCK, {})
    row = tx.one(_TAIL, {})
    return None if row is None else (int(row.leaf_index), bytes(row.leaf_hash))


def frontier(source: merkle.NodeSource, size: int) -> merkle.CompactRange:
    """The compact range of a tree of ``size`` leaves, from its perfect subtrees' stored hashes."""
    hashes: list[bytes] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            hashes.append(source.get(level, start >> level))
            start += 1 << level
    return merkle.CompactRange.from_state(size, hashes)


def _checkpoint(row: CheckpointRow) -> StoredCheckpoint:
    signed_at = row.signed_at
    if isinstance(signed_at, str):
        signed_at = datetime.fromisoformat(signed_at)
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    return StoredCheckpoint(int(row.tree_size), bytes(row.root_hash), signed_at, str(row.note))


class ArchivedLeaf(NotFound):
    """A proof would need leaf hashes that were archived out of the database."""


class StoredNodes:
    """``merkle.NodeSource`` over the database: stored levels are read, the levels between are
    recomputed from at most ``2**(STRIDE-1)`` stored nodes or leaf hashes."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._cache: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes:
        found = self._cache.get((level, index))
        if found is not None:
            return found
        base = level - level % STRIDE
        if base == level and level > 0:
            row = self._tx.one(_NODE, {"level": level, "idx": index})
            if row is None:
                raise ArchivedLeaf(f"tree node {level}/{index} is not stored")
            node = bytes(row.hash)
        else:
            span = level - base
            first, end = index << span, (index + 1) << span
            if base == 0:
                hashes = [r.leaf_hash for r in self._tx.all(_LEAVES, {"first": first, "end": end})]
            else:
                hashes = [r.hash for r in self._tx.all(_NODES, {"level": base, "first": first, "end": end})]
            if len(hashes) != end - first:
                raise ArchivedLeaf("a proof needs leaf hashes that are no longer in the database (archived)")
            node = merkle.root_from_leaf_hashes([bytes(h) for h in hashes])
        self._cache[(level, index)] = node
        return node


class Checkpointer:
    """Signs a checkpoint every ``interval`` seconds while the tree grows and hands it to the witness.

    Runs as a daemon thread in ``serve``. Several instances on one database may each run one: the
    checkpoint is taken under the tree's lock, so two never sign different roots for one size.
    """

    def __init__(
        self,
        *,
        audit: AuditLog,
        transaction: Callable[[], AbstractContextManager[Tx]],
        witness: Witness | None,
        interval: float,
    ) -> None:
        self._audit = audit
        self._transaction = transaction
        self._witness = witness
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> StoredCheckpoint | None:
        """Take one checkpoint now if the tree grew; hand it to the witness."""
        with self._transaction() as tx:
            made = self._audit.checkpoint(tx)
        if made is not None and self._witness is not None:
            self._witness.add(made.tree_size, made.note)
        return made

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-checkpointer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._safe_tick()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._safe_tick()

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception:
            # Logged, not raised: the next tick retries, and a witness that refuses is what
            # `audit verify` reports on. The message carries no personal data (sizes and hashes).
            log.exception("audit checkpoint failed")
