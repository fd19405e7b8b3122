"""RFC 9162 (RFC 6962) Merkle tree: hashing, an incremental compact range, proof building and verifiers.

Pure code with no I/O; storage layers supply node hashes through the ``NodeSource`` protocol.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

from shopshield.core.errors import InstanceFault

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MappingNodeSource",
    "MemoryNodeStore",
    "NodeEntry",
    "NodeId",
    "NodeSource",
    "ProofError",
    "ProofPlan",
    "consistency_proof",
    "consistency_proof_nodes",
    "inclusion_proof",
    "inclusion_proof_nodes",
    "leaf_hash",
    "node_hash",
    "resolve_proof",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32

# Bound once: attribute lookups on the hashlib module are measurable at tens of thousands of appends/s.
_sha256 = hashlib.sha256
_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"

EMPTY_ROOT: Final[bytes] = _sha256(b"").digest()

NodeId = tuple[int, int]
"""``(level, index)`` of a perfect subtree: it covers leaves ``[index << level, (index + 1) << level)``."""

NodeEntry = tuple[int, int, bytes]
"""``(level, index, hash)`` of a perfect subtree node."""

ProofPlan = list[tuple[NodeId, ...]]
"""One group of perfect nodes per proof hash, left to right; a group of several is folded into one hash."""


class ProofError(InstanceFault, ValueError):
    """A Merkle proof failed verification; the message says why."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash, SHA-256(0x00 || data)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash, SHA-256(0x01 || left || right)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return MTH (RFC 9162 §2.1.1) of a whole list of leaf hashes.

    Pairing level by level and promoting an unpaired last node yields exactly the tree that MTH's
    "split at the largest power of two" recursion describes, without recursion or slicing.
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    sha256, prefix = _sha256, _NODE_PREFIX
    while len(level) > 1:
        carry = level[-1] if len(level) & 1 else None
        pairs = iter(level)
        level = [sha256(prefix + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        if carry is not None:
            level.append(carry)
    return level[0]


class CompactRange:
    """Incremental Merkle tree that keeps only the roots of its right-edge perfect subtrees.

    The frontier holds one hash per set bit of ``size``, largest subtree first, so it never exceeds
    log2(size) + 1 hashes; persisting ``size`` and ``to_state()`` is enough to resume after a restart.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_state(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        """Restore a range saved with ``size`` and ``to_state()``."""
        if size < 0:
            raise ValueError(f"tree size must not be negative, got {size}")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} frontier hashes, got {len(hashes)}")
        for position, value in enumerate(hashes):
            if len(value) != HASH_SIZE:
                raise ValueError(f"frontier hash {position} is {len(value)} bytes, expected {HASH_SIZE}")
        restored = cls()
        restored._size = size
        restored._hashes = [bytes(value) for value in hashes]
        return restored

    def copy(self) -> CompactRange:
        """An independent copy (no revalidation: the source is already a valid range)."""
        twin = CompactRange()
        twin._size = self._size
        twin._hashes = list(self._hashes)
        return twin

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def to_state(self) -> list[bytes]:
        """Return a copy of the frontier, largest subtree first, for ``from_state``."""
        return list(self._hashes)

    def append(self, leaf_hash: bytes) -> list[NodeEntry]:
        """Add one leaf hash and return every perfect subtree node it completes, bottom up.

        The first entry is always the leaf itself at level 0; each further entry is an interior node
        that has just become complete, so storing them all lets proofs be built from stored nodes.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf_hash)} bytes, expected {HASH_SIZE}")
        index = self._size
        completed: list[NodeEntry] = [(0, index, leaf_hash)]
        hashes = self._hashes
        node = leaf_hash
        level = 0
        # Each trailing 1 bit of the old size is a frontier subtree of equal height awaiting a right sibling.
        while index & 1:
            node = _sha256(_NODE_PREFIX + hashes.pop() + node).digest()
            level += 1
            index >>= 1
            completed.append((level, index, node))
        hashes.append(node)
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[NodeEntry]:
        """Append several leaf hashes and return all nodes they complete, in completion order."""
        completed: list[NodeEntry] = []
        for value in leaf_hashes:
            completed.extend(self.append(value))
        return completed

    def extend_stored(self, leaf_hashes: Iterable[bytes], stride: int) -> list[NodeEntry]:
        """Append several leaf hashes; return only the completed nodes on levels that are positive
        multiples of ``stride``, in completion order.

        The same tree as ``extend``, for the log's append loop (decision 0005 stores every
        ``stride``-th level): no list of nodes per leaf that is thrown away at once.
        """
        hashes = self._hashes
        stored: list[NodeEntry] = []
        index = self._size
        for leaf_hash in leaf_hashes:
            if len(leaf_hash) != HASH_SIZE:
                raise ValueError(f"leaf hash is {len(leaf_hash)} bytes, expected {HASH_SIZE}")
            node = leaf_hash
            level = 0
            position = index
            while position & 1:
                node = _sha256(_NODE_PREFIX + hashes.pop() + node).digest()
                level += 1
                position >>= 1
                if level % stride == 0:
                    stored.append((level, position, node))
            hashes.append(node)
            index += 1
            self._size = index
        return stored

    def root(self) -> bytes:
        """Return the current tree head, MTH over all appended leaves."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        root = hashes[-1]
        for position in range(len(hashes) - 2, -1, -1):
            root = _sha256(_NODE_PREFIX + hashes[position] + root).digest()
        return root


class NodeSource(Protocol):
    """Read access to complete perfect subtree nodes; level 0 holds the leaf hashes."""

    def get(self, level: int, index: int) -> bytes:
        """Return the hash of node ``(level, index)``; raise ``KeyError`` if it is unknown."""
        ...


class MemoryNodeStore:
    """In-memory ``NodeSource`` fed with the entries that ``CompactRange.append`` returns."""

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = []

    @property
    def size(self) -> int:
        """Number of leaves stored."""
        return len(self._levels[0]) if self._levels else 0

    def add(self, level: int, index: int, node: bytes) -> None:
        """Store one node; nodes of a level must arrive in index order, as ``CompactRange`` emits them."""
        if level < 0:
            raise ValueError(f"level must not be negative, got {level}")
        levels = self._levels
        while len(levels) <= level:
            levels.append([])
        row = levels[level]
        if index != len(row):
            raise ValueError(f"node ({level}, {index}) is out of order; the next index at level {level} is {len(row)}")
        row.append(node)

    def extend(self, nodes: Iterable[NodeEntry]) -> None:
        """Store every ``(level, index, hash)`` entry, in order."""
        for level, index, node in nodes:
            self.add(level, index, node)

    def get(self, level: int, index: int) -> bytes:
        """Return the hash of node ``(level, index)``."""
        # Negative positions would silently wrap around in a Python list.
        if level >= 0 and index >= 0:
            try:
                return self._levels[level][index]
            except IndexError:
                pass
        raise KeyError((level, index))


class MappingNodeSource:
    """``NodeSource`` over a mapping, e.g. the rows of one batched query for a ``ProofPlan``."""

    __slots__ = ("_nodes",)

    def __init__(self, nodes: Mapping[NodeId, bytes]) -> None:
        self._nodes = nodes

    def get(self, level: int, index: int) -> bytes:
        """Return the hash of node ``(level, index)``."""
        return self._nodes[level, index]


def _range_nodes(start: int, end: int) -> tuple[NodeId, ...]:
    """Return the perfect nodes, left to right, that make up leaves ``[start, end)``.

    ``start`` must be aligned to the largest power of two not above ``end - start``, which holds for
    every range that the tree shape produces (a tree prefix, or the ragged right sibling on a path).
    """
    nodes: list[NodeId] = []
    width = end - start
    for level in range(width.bit_length() - 1, -1, -1):
        if (width >> level) & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return tuple(nodes)


def _path_nodes(index: int, size: int, lowest_level: int) -> ProofPlan:
    """Return the sibling groups on the path from leaf ``index`` to the root of a tree of ``size``."""
    last = size - 1
    # Below this level the path and the tree's last leaf sit in different subtrees; at and above it
    # they share the ragged right edge.
    inner = (index ^ last).bit_length()
    plan: ProofPlan = []
    for level in range(lowest_level, inner):
        sibling = (index >> level) ^ 1
        start = sibling << level
        if start + (1 << level) <= size:
            plan.append(((level, sibling),))
        else:
            # Only the right sibling just below `inner` can reach past the end of the tree; it is not
            # stored, so it is rebuilt from the perfect nodes it is made of.
            plan.append(_range_nodes(start, size))
    for level in range(inner, last.bit_length()):
        # On the right edge a node has a left sibling exactly where the index has a 1 bit; a 0 bit
        # means the node was promoted without a partner and contributes nothing.
        if (index >> level) & 1:
            plan.append(((level, (index >> level) ^ 1),))
    return plan


def inclusion_proof_nodes(leaf_index: int, tree_size: int) -> ProofPlan:
    """Return which complete nodes make up PATH(leaf_index, D[tree_size]) (RFC 9162 §2.1.3.1)."""
    if not 0 <= leaf_index < tree_size:
        raise ValueError(f"leaf index {leaf_index} is outside a tree of size {tree_size}")
    return _path_nodes(leaf_index, tree_size, 0)


def consistency_proof_nodes(size1: int, size2: int) -> ProofPlan:
    """Return which complete nodes make up PROOF(size1, D[size2]) (RFC 9162 §2.1.4.1)."""
    if not 0 <= size1 <= size2:
        raise ValueError(f"tree sizes must satisfy 0 <= size1 <= size2, got {size1} and {size2}")
    if size1 == size2:
        return []
    if size1 == 0:
        raise ValueError("no consistency proof exists from an empty tree; RFC 9162 requires 0 < size1")
    # The largest perfect subtree ending at size1 is shared unchanged by both trees, so the proof starts
    # from it; when it is the whole old tree the verifier already holds it as root1 and it is omitted.
    shift = (size1 & -size1).bit_length() - 1
    last1 = size1 - 1
    plan: ProofPlan = []
    if size1 != 1 << shift:
        plan.append(((shift, last1 >> shift),))
    plan.extend(_path_nodes(last1, size2, shift))
    return plan


def _fold(source: NodeSource, nodes: tuple[NodeId, ...]) -> bytes:
    level, index = nodes[-1]
    acc = source.get(level, index)
    for position in range(len(nodes) - 2, -1, -1):
        level, index = nodes[position]
        acc = _sha256(_NODE_PREFIX + source.get(level, index) + acc).digest()
    return acc


def resolve_proof(source: NodeSource, plan: ProofPlan) -> list[bytes]:
    """Turn a proof plan into proof hashes, reading each planned node once from ``source``."""
    return [_fold(source, group) for group in plan]


def inclusion_proof(source: NodeSource, leaf_index: int, tree_size: int) -> list[bytes]:
    """Return the RFC 9162 inclusion proof for a leaf, reading O(log n) complete nodes."""
    return resolve_proof(source, inclusion_proof_nodes(leaf_index, tree_size))


def consistency_proof(source: NodeSource, size1: int, size2: int) -> list[bytes]:
    """Return the RFC 9162 consistency proof between two tree sizes, reading O(log n) complete nodes."""
    return resolve_proof(source, consistency_proof_nodes(size1, size2))


def tree_root(source: NodeSource, tree_size: int) -> bytes:
    """Return MTH of the first ``tree_size`` leaves, e.g. to sign a checkpoint for a past size."""
    if tree_size < 0:
        raise ValueError(f"tree size must not be negative, got {tree_size}")
    if tree_size == 0:
        return EMPTY_ROOT
    return _fold(source, _range_nodes(0, tree_size))


def _require_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, expected a {HASH_SIZE}-byte SHA-256 hash")


def _require_proof_hashes(proof: Sequence[bytes], expected: int, what: str) -> None:
    if len(proof) != expected:
        raise ProofError(f"{what} needs {expected} proof hashes, got {len(proof)}")
    for position, value in enumerate(proof):
        _require_hash(f"proof hash {position}", value)


def root_from_inclusion_proof(leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root that an inclusion proof leads to, following RFC 9162 §2.1.3.2.

    Raises ``ProofError`` when the index, the hash sizes or the proof length cannot be right.
    """
    if not 0 <= leaf_index < tree_size:
        raise ProofError(f"leaf index {leaf_index} is outside a tree of size {tree_size}")
    _require_hash("leaf hash", leaf_hash)
    inner = (leaf_index ^ (tree_size - 1)).bit_length()
    _require_proof_hashes(
        proof,
        inner + (leaf_index >> inner).bit_count(),
        f"inclusion of leaf {leaf_index} in a tree of size {tree_size}",
    )
    fn = leaf_index
    sn = tree_size - 1
    result = leaf_hash
    for sibling in proof:
        # This and the final sn check cannot fire after the length check (fn and sn evolve the same way
        # for any proof contents); they stay so the loop is the RFC algorithm verbatim.
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            result = _sha256(_NODE_PREFIX + sibling + result).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = _sha256(_NODE_PREFIX + result + sibling).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    return result


def verify_inclusion(leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``leaf_index`` of the tree with ``root`` (RFC 9162 §2.1.3.2)."""
    _require_hash("root", root)
    calculated = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, proof)
    if calculated != root:
        raise ProofError(f"inclusion proof leads to root {calculated.hex()}, not the expected {root.hex()}")


def verify_consistency(size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree with ``root2`` extends the tree with ``root1`` (RFC 9162 §2.1.4.2)."""
    if size1 < 0 or size2 < 0:
        raise ProofError(f"tree sizes must not be negative, got {size1} and {size2}")
    if size1 > size2:
        raise ProofError(f"size1 ({size1}) is larger than size2 ({size2}); a log only grows")
    if size1 == size2:
        if proof:
            raise ProofError(f"proof must be empty for equal tree sizes, got {len(proof)} hashes")
        # Nothing is hashed for equal sizes, so the roots are compared as given; only the empty tree
        # has a root known in advance.
        if size1 == 0 and (root1 != EMPTY_ROOT or root2 != EMPTY_ROOT):
            raise ProofError("the root of an empty tree must be SHA-256 of the empty string")
        if root1 != root2:
            raise ProofError(f"roots differ for two trees of the same size {size1}")
        return
    if size1 == 0:
        raise ProofError(
            "no consistency proof exists from an empty tree (RFC 9162 requires 0 < size1); "
            "every tree extends the empty tree, so callers must decide that case themselves"
        )
    _require_hash("root1", root1)
    _require_hash("root2", root2)
    last1 = size1 - 1
    inner = (last1 ^ (size2 - 1)).bit_length()
    shift = (size1 & -size1).bit_length() - 1
    is_perfect = size1 == 1 << shift
    _require_proof_hashes(
        proof,
        (0 if is_perfect else 1) + inner - shift + (last1 >> inner).bit_count(),
        f"consistency between sizes {size1} and {size2}",
    )
    # RFC 9162 §2.1.4.2, steps 2 to 7; step 1 (empty proof) is covered by the length check above.
    path = [root1, *proof] if is_perfect else list(proof)
    fn = last1
    sn = size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = path[0]
    for position in range(1, len(path)):
        node = path[position]
        # As in root_from_inclusion_proof, the sn checks are the RFC's own and cannot fire here.
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            first = _sha256(_NODE_PREFIX + node + first).digest()
            second = _sha256(_NODE_PREFIX + node + second).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second = _sha256(_NODE_PREFIX + second + node).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if first != root1:
        raise ProofError(f"consistency proof leads to root1 {first.hex()}, not the expected {root1.hex()}")
    if second != root2:
        raise ProofError(f"consistency proof leads to root2 {second.hex()}, not the expected {root2.hex()}")
