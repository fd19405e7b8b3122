"""Tests for the RFC 9162 Merkle tree: conformance vectors, an RFC-literal oracle and tamper detection."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopshield.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    MappingNodeSource,
    MemoryNodeStore,
    NodeId,
    ProofError,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    node_hash,
    resolve_proof,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

TESTDATA_ENV = "SHOPSHIELD_TESTDATA"

# No example database: it would leave a .hypothesis/ folder in every checkout that runs the tests.
PROPERTY = settings(database=None, deadline=None, max_examples=150)


def locate_vectors(environ: Mapping[str, str]) -> Path:
    """Return where the RFC 9162 vectors should be: $SHOPSHIELD_TESTDATA or shared/ beside the repo."""
    override = environ.get(TESTDATA_ENV)
    if override:
        # Accept either the shared testdata folder or its rfc9162 folder itself.
        base = Path(override)
        return base if (base / "leaves.json").is_file() else base / "rfc9162"
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata" / "rfc9162"


VECTOR_DIR = locate_vectors(os.environ)
MISSING_DATA = (
    f"RFC 9162 test vectors not found at {VECTOR_DIR}: put shared/ beside the repository "
    f"or set {TESTDATA_ENV} to the shared testdata folder"
)


def vector_params(kind: str) -> list[Any]:
    """Return one parameter per vector file; a missing folder yields one failing case, never a skip."""
    folder = VECTOR_DIR / kind
    files = sorted(folder.rglob("*.json")) if folder.is_dir() else []
    if not files:
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(path, id=path.relative_to(VECTOR_DIR).as_posix()) for path in files]


def load_json(path: Path | None) -> Any:
    if path is None or not path.is_file():
        pytest.fail(MISSING_DATA, pytrace=False)
    return json.loads(path.read_text(encoding="utf-8"))


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def b64_list(texts: list[str] | None) -> list[bytes]:
    # The vectors come from Go, where an empty proof is serialised as null.
    return [b64(text) for text in texts or []]


@cache
def known_leaves() -> tuple[list[bytes], list[bytes]]:
    """Return the leaf hashes and the expected roots by size from leaves.json."""
    data = load_json(VECTOR_DIR / "leaves.json")
    hashes = [leaf_hash(bytes.fromhex(text)) for text in data["leaf_inputs_hex"]]
    roots = [bytes.fromhex(text) for text in data["root_hashes_hex_by_size"]]
    return hashes, roots


# --- An oracle written straight from the recursive definitions of RFC 9162 §2.1 -------------------


def largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def rfc_mth(hashes: Sequence[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = largest_power_of_two_below(n)
    return hashlib.sha256(b"\x01" + rfc_mth(hashes[:k]) + rfc_mth(hashes[k:])).digest()


def rfc_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*rfc_path(m, hashes[:k]), rfc_mth(hashes[k:])]
    return [*rfc_path(m - k, hashes[k:]), rfc_mth(hashes[:k])]


def rfc_subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [rfc_mth(hashes)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return [*rfc_subproof(m, hashes[:k], complete), rfc_mth(hashes[k:])]
    return [*rfc_subproof(m - k, hashes[k:], False), rfc_mth(hashes[:k])]


def rfc_proof(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    return rfc_subproof(m, hashes, True)


# --- Shared tree for generated proofs ----------------------------------------------------------------

BIG = 300


@dataclass(frozen=True)
class Tree:
    leaves: list[bytes]
    store: MemoryNodeStore
    roots: list[bytes]  # roots[n] is the head after n appends


@cache
def big_tree() -> Tree:
    leaves = [leaf_hash(b"event-%d" % i) for i in range(BIG)]
    store = MemoryNodeStore()
    tree = CompactRange()
    roots = [tree.root()]
    for value in leaves:
        store.extend(tree.append(value))
        roots.append(tree.root())
    return Tree(leaves, store, roots)


class RecordingSource:
    """Answers from a store and remembers every node asked for."""

    def __init__(self, inner: MemoryNodeStore) -> None:
        self.inner = inner
        self.requests: list[NodeId] = []

    def get(self, level: int, index: int) -> bytes:
        self.requests.append((level, index))
        return self.inner.get(level, index)


def flip_bit(value: bytes, bit: int) -> bytes:
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


size_and_index = st.integers(1, BIG).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1)))
size_pair = st.integers(1, BIG).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n)))
proper_size_pair = st.integers(2, BIG).flatmap(lambda n: st.tuples(st.integers(1, n - 1), st.just(n)))


# --- Conformance ----------------------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert node_hash(left, right) != node_hash(right, left)


def test_vector_folder_is_complete() -> None:
    if not (VECTOR_DIR / "leaves.json").is_file():
        pytest.fail(MISSING_DATA, pytrace=False)
    for kind in ("inclusion", "consistency"):
        outcomes = {load_json(path)["wantErr"] for path in (VECTOR_DIR / kind).rglob("*.json")}
        assert outcomes == {True, False}, f"{kind} vectors must contain both accepted and rejected cases"


def test_testdata_env_override(tmp_path: Path) -> None:
    assert locate_vectors({TESTDATA_ENV: str(tmp_path)}) == tmp_path / "rfc9162"
    (tmp_path / "leaves.json").write_text("{}", encoding="utf-8")
    assert locate_vectors({TESTDATA_ENV: str(tmp_path)}) == tmp_path
    default = locate_vectors({})
    repository = Path(__file__).resolve().parents[2]
    assert (repository / "pyproject.toml").is_file()
    assert default.resolve() == (repository.parent / "shared" / "testdata" / "rfc9162").resolve()


def test_roots_for_known_leaves() -> None:
    hashes, roots = known_leaves()
    assert len(roots) == 9
    tree = CompactRange()
    store = MemoryNodeStore()
    for size, expected in enumerate(roots):
        assert root_from_leaf_hashes(hashes[:size]) == expected
        assert tree.root() == expected
        assert tree_root(store, size) == expected
        if size < len(hashes):
            store.extend(tree.append(hashes[size]))


@pytest.mark.parametrize("path", vector_params("inclusion"))
def test_inclusion_vector(path: Path | None) -> None:
    vector = load_json(path)
    args = (
        vector["leafIdx"],
        vector["treeSize"],
        b64(vector["leafHash"]),
        b64_list(vector["proof"]),
        b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", vector_params("consistency"))
def test_consistency_vector(path: Path | None) -> None:
    vector = load_json(path)
    args = (
        vector["size1"],
        vector["size2"],
        b64_list(vector["proof"]),
        b64(vector["root1"]),
        b64(vector["root2"]),
    )
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def happy_path_params() -> list[Any]:
    return [
        param
        for kind in ("inclusion", "consistency")
        for param in vector_params(kind)
        if param.values[0] is None or param.values[0].name == "happy-path.json"
    ]


@pytest.mark.parametrize("path", happy_path_params())
def test_generated_proof_matches_vector(path: Path | None) -> None:
    vector = load_json(path)
    hashes, _ = known_leaves()
    tree = CompactRange()
    store = MemoryNodeStore()
    store.extend(tree.extend(hashes))
    if "leafIdx" in vector:
        assert b64(vector["leafHash"]) == hashes[vector["leafIdx"]]
        generated = inclusion_proof(store, vector["leafIdx"], vector["treeSize"])
    else:
        generated = consistency_proof(store, vector["size1"], vector["size2"])
    assert generated == b64_list(vector["proof"])


# --- Generated proofs against the RFC-literal oracle ----------------------------------------------


def test_all_small_trees_match_rfc_definitions() -> None:
    leaves = big_tree().leaves[:40]
    store = big_tree().store
    tree = CompactRange()
    for n in range(len(leaves) + 1):
        prefix = leaves[:n]
        root = rfc_mth(prefix)
        assert tree.root() == root_from_leaf_hashes(prefix) == tree_root(store, n) == root
        for m in range(n):
            proof = inclusion_proof(store, m, n)
            assert proof == rfc_path(m, prefix)
            verify_inclusion(m, n, leaves[m], proof, root)
        for m in range(1, n):
            proof = consistency_proof(store, m, n)
            assert proof == rfc_proof(m, prefix)
            verify_consistency(m, n, proof, rfc_mth(leaves[:m]), root)
        if n < len(leaves):
            tree.append(leaves[n])


def test_large_batch_root_is_iterative() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range((1 << 16) + 5)]
    tree = CompactRange()
    tree.extend(leaves)
    assert root_from_leaf_hashes(leaves) == tree.root()
    assert len(tree.to_state()) == tree.size.bit_count() == 3


@PROPERTY
@given(st.lists(st.binary(max_size=12), max_size=BIG))
def test_compact_range_root_matches_batch_root(data: list[bytes]) -> None:
    hashes = [leaf_hash(item) for item in data]
    tree = CompactRange()
    for size in range(len(hashes) + 1):
        assert len(tree.to_state()) == size.bit_count()
        if size in (0, len(hashes)) or size % 17 == 0:
            assert tree.root() == root_from_leaf_hashes(hashes[:size])
        if size < len(hashes):
            tree.append(hashes[size])
    assert tree.root() == rfc_mth(hashes)


@PROPERTY
@given(st.integers(0, BIG), st.data())
def test_state_round_trip_resumes_identically(size: int, data: st.DataObject) -> None:
    leaves = big_tree().leaves
    cut = data.draw(st.integers(0, size), label="cut")
    original = CompactRange()
    original.extend(leaves[:cut])
    restored = CompactRange.from_state(original.size, original.to_state())
    assert restored.size == cut
    assert restored.root() == original.root()
    assert restored.extend(leaves[cut:size]) == original.extend(leaves[cut:size])
    assert restored.root() == original.root() == big_tree().roots[size]


def test_append_reports_every_complete_node_once() -> None:
    leaves = big_tree().leaves[:70]
    tree = CompactRange()
    seen: dict[NodeId, bytes] = {}
    for n, value in enumerate(leaves, start=1):
        emitted = tree.append(value)
        assert emitted[0] == (0, n - 1, value)
        assert [level for level, _, _ in emitted] == list(range(len(emitted)))
        for level, index, digest in emitted:
            assert (level, index) not in seen
            assert (index + 1) << level == n, "a node is reported exactly when its last leaf arrives"
            assert digest == rfc_mth(leaves[index << level : (index + 1) << level])
            seen[level, index] = digest
    expected = {(level, index) for level in range(8) for index in range(70) if (index + 1) << level <= 70}
    assert set(seen) == expected


@pytest.mark.parametrize("stride", [1, 2, 4])
@pytest.mark.parametrize(("start", "count"), [(0, 1), (0, 300), (1, 16), (15, 1), (17, 240), (255, 45)])
def test_extend_stored_keeps_the_nodes_on_stored_levels(stride: int, start: int, count: int) -> None:
    leaves = big_tree().leaves[: start + count]
    one_by_one, batched = CompactRange(), CompactRange()
    one_by_one.extend(leaves[:start])
    batched.extend(leaves[:start])
    expected = [node for node in one_by_one.extend(leaves[start:]) if node[0] and node[0] % stride == 0]
    assert batched.extend_stored(leaves[start:], stride) == expected
    assert batched.size == one_by_one.size == start + count
    assert batched.root() == one_by_one.root() == big_tree().roots[start + count]


def test_extend_stored_refuses_a_short_hash() -> None:
    with pytest.raises(ValueError, match="31 bytes"):
        CompactRange().extend_stored([b"\x00" * 31], 4)


@PROPERTY
@given(size_and_index)
def test_inclusion_proofs_verify(case: tuple[int, int]) -> None:
    size, index = case
    tree = big_tree()
    source = RecordingSource(tree.store)
    proof = inclusion_proof(source, index, size)
    assert proof == rfc_path(index, tree.leaves[:size])
    verify_inclusion(index, size, tree.leaves[index], proof, tree.roots[size])
    assert root_from_inclusion_proof(index, size, tree.leaves[index], proof) == tree.roots[size]
    assert_only_complete_nodes_read(source.requests, size)


@PROPERTY
@given(size_pair)
def test_consistency_proofs_verify(case: tuple[int, int]) -> None:
    size1, size2 = case
    tree = big_tree()
    source = RecordingSource(tree.store)
    proof = consistency_proof(source, size1, size2)
    assert proof == rfc_proof(size1, tree.leaves[:size2])
    verify_consistency(size1, size2, proof, tree.roots[size1], tree.roots[size2])
    assert_only_complete_nodes_read(source.requests, size2)


def assert_only_complete_nodes_read(requests: list[NodeId], tree_size: int) -> None:
    for level, index in requests:
        assert (index + 1) << level <= tree_size, f"node ({level}, {index}) is not complete at {tree_size}"
    assert len(requests) == len(set(requests))
    assert len(requests) <= 2 * tree_size.bit_length() + 1


@PROPERTY
@given(size_and_index, st.data())
def test_tampered_inclusion_proofs_are_rejected(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    tree = big_tree()
    leaf, root = tree.leaves[index], tree.roots[size]
    proof = inclusion_proof(tree.store, index, size)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, HASH_SIZE * 8 - 1), label="bit")
        tampered = list(proof)
        tampered[position] = flip_bit(proof[position], bit)
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf, tampered, root)
    other = data.draw(st.integers(-1, size).filter(lambda i: i != index), label="wrong index")
    with pytest.raises(ProofError):
        verify_inclusion(other, size, leaf, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, flip_bit(leaf, data.draw(st.integers(0, 255), label="leaf bit")), proof, root)


@PROPERTY
@given(proper_size_pair, st.data())
def test_tampered_consistency_proofs_are_rejected(case: tuple[int, int], data: st.DataObject) -> None:
    size1, size2 = case
    tree = big_tree()
    root1, root2 = tree.roots[size1], tree.roots[size2]
    proof = consistency_proof(tree.store, size1, size2)
    position = data.draw(st.integers(0, len(proof) - 1), label="position")
    bit = data.draw(st.integers(0, HASH_SIZE * 8 - 1), label="bit")
    tampered = list(proof)
    tampered[position] = flip_bit(proof[position], bit)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, tampered, root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, flip_bit(root1, bit), root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof, root1, flip_bit(root2, bit))
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, proof[:-1], root1, root2)
    with pytest.raises(ProofError):
        verify_consistency(size1, size2, [*proof, proof[-1]], root1, root2)


def test_proof_plan_can_be_fetched_in_one_batch() -> None:
    tree = big_tree()
    for plan, expected in (
        (inclusion_proof_nodes(123, 299), inclusion_proof(tree.store, 123, 299)),
        (consistency_proof_nodes(77, 250), consistency_proof(tree.store, 77, 250)),
    ):
        wanted = {node for group in plan for node in group}
        rows = {node: tree.store.get(*node) for node in wanted}
        assert resolve_proof(MappingNodeSource(rows), plan) == expected
    # 299 leaves: the right sibling of leaf 123 near the top is ragged and built from several nodes.
    assert any(len(group) > 1 for group in inclusion_proof_nodes(123, 299))


# --- Errors and their reasons ---------------------------------------------------------------------


def test_inclusion_rejection_reasons() -> None:
    tree = big_tree()
    leaf, root = tree.leaves[5], tree.roots[11]
    proof = inclusion_proof(tree.store, 5, 11)
    verify_inclusion(5, 11, leaf, proof, root)
    with pytest.raises(ProofError, match="outside a tree of size 11"):
        verify_inclusion(11, 11, leaf, proof, root)
    with pytest.raises(ProofError, match="outside a tree of size 0"):
        verify_inclusion(0, 0, leaf, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(-1, 11, leaf, proof, root)
    with pytest.raises(ProofError, match="needs 4 proof hashes, got 3"):
        verify_inclusion(5, 11, leaf, proof[:-1], root)
    with pytest.raises(ProofError, match="leaf hash is 31 bytes"):
        verify_inclusion(5, 11, leaf[:-1], proof, root)
    with pytest.raises(ProofError, match="root is 0 bytes"):
        verify_inclusion(5, 11, leaf, proof, b"")
    with pytest.raises(ProofError, match="proof hash 2 is 33 bytes"):
        verify_inclusion(5, 11, leaf, [*proof[:2], proof[2] + b"x", proof[3]], root)
    with pytest.raises(ProofError, match="leads to root"):
        verify_inclusion(5, 11, leaf, proof, tree.roots[12])


def test_consistency_rejection_reasons() -> None:
    tree = big_tree()
    root5, root13 = tree.roots[5], tree.roots[13]
    proof = consistency_proof(tree.store, 5, 13)
    verify_consistency(5, 13, proof, root5, root13)
    verify_consistency(13, 13, [], root13, root13)
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="larger than size2"):
        verify_consistency(13, 5, proof, root13, root5)
    with pytest.raises(ProofError, match="negative"):
        verify_consistency(-1, 5, proof, root5, root5)
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(13, 13, proof, root13, root13)
    with pytest.raises(ProofError, match="roots differ"):
        verify_consistency(13, 13, [], root5, root13)
    with pytest.raises(ProofError, match="empty tree must be"):
        verify_consistency(0, 0, [], root5, root5)
    with pytest.raises(ProofError, match="from an empty tree"):
        verify_consistency(0, 13, [], EMPTY_ROOT, root13)
    with pytest.raises(ProofError, match=r"needs \d+ proof hashes, got 0"):
        verify_consistency(5, 13, [], root5, root13)
    with pytest.raises(ProofError, match="root1 is 12 bytes"):
        verify_consistency(5, 13, proof, b"don't care 1", root13)
    with pytest.raises(ProofError, match="proof hash 0 is 0 bytes"):
        verify_consistency(5, 13, [b"", *proof[1:]], root5, root13)
    with pytest.raises(ProofError, match="leads to root1"):
        verify_consistency(5, 13, proof, tree.roots[4], root13)
    with pytest.raises(ProofError, match="leads to root2"):
        verify_consistency(5, 13, proof, root5, tree.roots[14])


def test_proof_building_rejects_impossible_requests() -> None:
    store = big_tree().store
    assert consistency_proof(store, 7, 7) == []
    assert consistency_proof(store, 0, 0) == []
    assert inclusion_proof(store, 0, 1) == []
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(store, 3, 3)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(store, -1, 3)
    with pytest.raises(ValueError, match="size1 <= size2"):
        consistency_proof(store, 4, 3)
    with pytest.raises(ValueError, match="empty tree"):
        consistency_proof(store, 0, 3)
    with pytest.raises(ValueError, match="negative"):
        tree_root(store, -1)
    with pytest.raises(KeyError):
        inclusion_proof(store, 0, BIG + 1)


def test_compact_range_validates_input() -> None:
    tree = CompactRange()
    with pytest.raises(ValueError, match="leaf hash is 3 bytes"):
        tree.append(b"abc")
    assert tree.size == 0
    with pytest.raises(ValueError, match="2 frontier hashes, got 1"):
        CompactRange.from_state(5, [EMPTY_ROOT])
    with pytest.raises(ValueError, match="frontier hash 1 is 4 bytes"):
        CompactRange.from_state(3, [EMPTY_ROOT, b"abcd"])
    with pytest.raises(ValueError, match="negative"):
        CompactRange.from_state(-1, [])
    assert CompactRange.from_state(0, []).root() == EMPTY_ROOT


def test_memory_store_rejects_gaps_and_unknown_nodes() -> None:
    store = MemoryNodeStore()
    assert store.size == 0
    store.add(0, 0, EMPTY_ROOT)
    with pytest.raises(ValueError, match="out of order"):
        store.add(0, 2, EMPTY_ROOT)
    with pytest.raises(ValueError, match="negative"):
        store.add(-1, 0, EMPTY_ROOT)
    assert store.size == 1
    assert store.get(0, 0) == EMPTY_ROOT
    for level, index in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        with pytest.raises(KeyError):
            store.get(level, index)
    with pytest.raises(KeyError):
        MappingNodeSource({}).get(0, 0)
