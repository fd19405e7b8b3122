"""The access log as a Merkle tree: leaves in commit order, stored nodes, checkpoints, proofs, CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shopshield.access.models import AccessEventRow
from shopshield.audit import merkle
from shopshield.audit.canonical import event_leaf_hash
from shopshield.audit.models import STRIDE, AuditNodeRow
from shopshield.audit.service import StoredNodes, frontier
from shopshield.audit.signing import Verifier
from shopshield.audit.verify import event_from_row
from shopshield.audit.witness import FileWitness, WitnessRefused
from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.core.db import transaction, unit_of_work
from shopshield.settings import Settings
from tests.support.audit_history import History, checkpoint, log_views, verify
from tests.support.environment import cli_env as _env
from tests.support.world import World


def _rows(container: Container) -> list[AccessEventRow]:
    with unit_of_work(container.sessions) as session:
        return list(session.scalars(select(AccessEventRow).order_by(AccessEventRow.leaf_index)))


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_every_event_is_a_leaf_in_commit_order_with_its_canonical_hash(world: World, history: History) -> None:
    rows = _rows(world.container)
    assert [r.leaf_index for r in rows] == list(range(len(rows)))
    assert len(rows) == 3 + 50  # three stores, fifty views
    for row in rows:
        values = (
            row.leaf_index, row.ts, row.actor_id, row.actor_kind, row.actor_role, row.action, row.customer_id,
            row.order_id, row.fields, row.channel, row.source_ip, row.purpose, row.ticket_id, row.outcome,
            row.reason, row.leaf_hash,
        )  # fmt: skip
        index, ts, event = event_from_row(values)
        assert event_leaf_hash(index, ts, event) == row.leaf_hash
    with transaction(world.container.engine, read_only=True) as tx:
        tree = frontier(StoredNodes(tx), len(rows))
    assert tree.root() == merkle.root_from_leaf_hashes([r.leaf_hash for r in rows])


def test_nodes_are_stored_on_every_fourth_level_only(world: World, history: History) -> None:
    rows = _rows(world.container)
    with unit_of_work(world.container.sessions) as session:
        nodes = list(session.scalars(select(AuditNodeRow)))
    assert {n.level for n in nodes} == {STRIDE}
    assert sorted(n.idx for n in nodes) == list(range(len(rows) // (1 << STRIDE)))
    for node in nodes:
        first = node.idx << STRIDE
        expected = merkle.root_from_leaf_hashes([r.leaf_hash for r in rows[first : first + (1 << STRIDE)]])
        assert node.hash == expected


def test_checkpoints_are_signed_stored_and_witnessed(world: World, history: History) -> None:
    one, two = history.checkpoints
    assert (one.tree_size, two.tree_size) == (3 + 30, 3 + 50)
    verifier = world.container.audit.signer.verifier
    assert verifier.verify(two.note).root_hash == two.root_hash
    assert world.container.witness.notes() == [one.note, two.note]
    # Nothing new: no checkpoint, nothing handed to the witness.
    assert world.container.checkpointer().tick() is None
    assert len(world.container.witness.notes()) == 2


def test_latest_checkpoint_endpoint_carries_a_note_that_verifies(world: World, history: History) -> None:
    body = world.get("agent", "/v1/audit/checkpoints/latest").json()
    verifier = Verifier.parse(body["verifier_key"])
    signed = verifier.verify(body["note"])
    assert (signed.tree_size, signed.root_hash) == (body["tree_size"], _b64(body["root_hash"]))
    assert body["tree_size"] == history.checkpoints[-1].tree_size


def test_inclusion_proofs_verify_for_every_leaf_against_both_checkpoints(world: World, history: History) -> None:
    for cp in history.checkpoints:
        for leaf in range(cp.tree_size):
            body = world.get("agent", f"/v1/audit/proofs/inclusion?leaf_index={leaf}&tree_size={cp.tree_size}").json()
            proof = [_b64(h) for h in body["proof"]]
            merkle.verify_inclusion(leaf, cp.tree_size, _b64(body["leaf_hash"]), proof, cp.root_hash)
            assert body["checkpoint"]["note"] == cp.note
            assert "event" not in body  # agents get hashes, not who accessed whom


def test_inclusion_proof_includes_the_event_for_audit_readers(world: World, history: History) -> None:
    body = world.get("analyst", "/v1/audit/proofs/inclusion?leaf_index=5").json()
    event = body["event"]
    assert event["i"] == 5 and event["v"] == 1 and event["action"] == "view"
    canonical = json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    assert merkle.leaf_hash(canonical) == _b64(body["leaf_hash"])


def test_consistency_proofs_verify_between_checkpoints_and_any_sizes(world: World, history: History) -> None:
    one, two = history.checkpoints
    body = world.get("agent", f"/v1/audit/proofs/consistency?first={one.tree_size}").json()
    assert body["second"] == two.tree_size
    merkle.verify_consistency(
        one.tree_size, two.tree_size, [_b64(h) for h in body["proof"]], one.root_hash, two.root_hash
    )
    with transaction(world.container.engine, read_only=True) as tx:
        for first in (1, 7, 16, 17, 32):
            proof = world.container.audit.consistency_proof(tx, first, two.tree_size)
            root1 = world.container.audit.root(tx, first)
            merkle.verify_consistency(first, two.tree_size, proof, root1, two.root_hash)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("inclusion?leaf_index=53&tree_size=53", 422),
        ("inclusion?leaf_index=0&tree_size=54", 404),
        ("inclusion?leaf_index=-1", 422),
        ("inclusion?leaf_index=abc", 422),
        ("consistency?first=54&second=53", 422),
        ("consistency?first=1&second=999", 404),
    ],
)
def test_bad_proof_requests_get_a_reason(world: World, history: History, query: str, status: int) -> None:
    response = world.get("agent", f"/v1/audit/proofs/{query}")
    assert response.status_code == status, response.text
    assert response.json()["message"]


def test_no_checkpoint_yet_is_a_404(world: World) -> None:
    response = world.get("agent", "/v1/audit/checkpoints/latest")
    assert response.status_code == 404
    assert world.client.get("/v1/audit/checkpoints/latest").status_code == 401


def test_verify_reports_an_intact_log(world: World, history: History) -> None:
    report = verify(world.container)
    assert report.ok, report.problems
    assert report.tree_size == 53
    assert report.checkpoints_checked == 2 and report.witnessed_checked == 2


def test_file_witness_refuses_a_smaller_tree_even_after_a_restart(world: World, history: History) -> None:
    again = FileWitness(world.container.witness.path)
    with pytest.raises(WitnessRefused):
        again.add(10, history.checkpoints[0].note)


def test_events_logged_without_serve_are_covered_by_the_next_checkpoint(world: World, history: History) -> None:
    log_views(world, history.customer_ids, 5)
    made = checkpoint(world.container)
    assert made.tree_size == 58
    assert verify(world.container).ok


def test_cli_verify_prove_checkpoint_and_key(world: World, history: History, settings: Settings) -> None:
    runner = CliRunner()
    env = _env(settings)
    result = runner.invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "intact: 53 events" in result.output

    result = runner.invoke(app, ["audit", "prove", "inclusion", "--leaf-index", "4"], env=env)
    assert result.exit_code == 0, result.output
    proof = json.loads(result.output)
    two = history.checkpoints[1]
    merkle.verify_inclusion(
        4, two.tree_size, _b64(proof["leaf_hash"]), [_b64(h) for h in proof["proof"]], two.root_hash
    )

    result = runner.invoke(app, ["audit", "prove", "consistency", "--first", "33"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["second"] == 53

    result = runner.invoke(app, ["audit", "key"], env=env)
    assert result.output.strip() == world.container.audit.signer.verifier_key

    log_views(world, history.customer_ids, 2)
    result = runner.invoke(app, ["audit", "checkpoint"], env=env)
    assert result.exit_code == 0 and "\n55\n" in result.output

    result = runner.invoke(app, ["audit", "prove", "inclusion", "--leaf-index", "99"], env=env)
    assert result.exit_code == 2 and "smaller than the tree size" in result.output


def test_cli_verify_with_a_verifier_key_needs_no_private_key(
    world: World, history: History, settings: Settings, tmp_path: Path
) -> None:
    runner = CliRunner()
    key = world.container.audit.signer.verifier_key
    # An auditor's copy: the configured key file is someone else's (a fresh one is made for it).
    env = {**_env(settings), "SHOPSHIELD_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "not-the-key.pem")}
    assert runner.invoke(app, ["audit", "verify"], env=env).exit_code == 1
    result = runner.invoke(app, ["audit", "verify", "--verifier-key", key], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["audit", "verify", "--verifier-key", "garbage"], env=env)
    assert result.exit_code == 2 and "--verifier-key" in result.output
