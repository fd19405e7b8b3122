"""Proof requests at the edges of their parameters (issue 11, item 7): a consistency proof from the
empty tree was a 500 over HTTP and a traceback on the command line. RFC 9162 §2.1.4 defines
PROOF(m, D[n]) for 0 < m only, so ``first=0`` is refused with the reason; every other edge (equal
sizes, sizes beyond the log, negative, beyond 64 bits) is an answer or a 4xx, never a 5xx."""

from __future__ import annotations

import base64

from typer.testing import CliRunner

from shopshield.audit import merkle
from shopshield.cli import app
from shopshield.settings import Settings
from tests.support.audit_history import History
from tests.support.environment import cli_env as _env
from tests.support.world import World

SIZE = 53  # events in the history fixture; checkpoints at 30 and 53
# Just beyond the API's bound (2**62), beyond a signed 64-bit column, and far beyond.
HUGE = (str(2**62 + 1), str(2**63), str(10**30))


def test_consistency_from_the_empty_tree_is_refused_with_the_reason(world: World, history: History) -> None:
    for query in ("first=0", "first=0&second=0", f"first=0&second={SIZE}"):
        response = world.get("agent", f"/v1/audit/proofs/consistency?{query}")
        assert response.status_code == 422, (query, response.text)
        body = response.json()
        assert body["error"] == "invalid_input"
        assert "first" in body["message"] and "1" in body["message"], body


def test_consistency_between_equal_sizes_is_the_empty_proof(world: World, history: History) -> None:
    one, two = history.checkpoints
    for checkpoint in (one, two):
        size = checkpoint.tree_size
        response = world.get("agent", f"/v1/audit/proofs/consistency?first={size}&second={size}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["proof"] == []
        assert body["checkpoints"][0]["tree_size"] == size
        merkle.verify_consistency(size, size, [], checkpoint.root_hash, checkpoint.root_hash)


EDGE_QUERIES = [
    "consistency?first=-1",
    "consistency?first=1&second=-1",
    "consistency?first=1&second=0",
    f"consistency?first={SIZE + 1}",
    f"consistency?first={SIZE + 1}&second={SIZE + 1}",
    f"consistency?first=1&second={SIZE + 1}",
    *(f"consistency?first={n}" for n in HUGE),
    *(f"consistency?first=1&second={n}" for n in HUGE),
    *(f"consistency?first={n}&second={n}" for n in HUGE),
    "inclusion?leaf_index=0&tree_size=0",
    "inclusion?leaf_index=-1&tree_size=1",
    f"inclusion?leaf_index={SIZE}",
    *(f"inclusion?leaf_index={n}" for n in HUGE),
    *(f"inclusion?leaf_index=0&tree_size={n}" for n in HUGE),
    *(f"inclusion?leaf_index={n}&tree_size={n}" for n in HUGE),
]


def test_proof_parameters_at_their_edges_get_a_4xx_with_a_reason(world: World, history: History) -> None:
    for query in EDGE_QUERIES:
        response = world.get("agent", f"/v1/audit/proofs/{query}")
        assert 400 <= response.status_code < 500, (query, response.status_code, response.text)
        assert response.json()["message"], query


EDGE_ARGS = [
    ["consistency", "--first", "0"],
    ["consistency", "--first", "0", "--second", str(SIZE)],
    ["consistency", "--first", "-1"],
    ["consistency", "--first", "1", "--second", "0"],
    ["consistency", "--first", "1", "--second", str(SIZE + 1)],
    ["consistency", "--first", str(SIZE + 1), "--second", str(SIZE)],
    *(["consistency", "--first", n] for n in HUGE),
    *(["consistency", "--first", "1", "--second", n] for n in HUGE),
    ["inclusion", "--leaf-index", "-1"],
    ["inclusion", "--leaf-index", "0", "--tree-size", "0"],
    ["inclusion", "--leaf-index", str(SIZE)],
    *(["inclusion", "--leaf-index", n] for n in HUGE),
    *(["inclusion", "--leaf-index", "0", "--tree-size", n] for n in HUGE),
]


def test_cli_proofs_at_the_edges_exit_with_one_line(history: History, settings: Settings) -> None:
    runner, env = CliRunner(), _env(settings)
    for args in EDGE_ARGS:
        result = runner.invoke(app, ["audit", "prove", *args], env=env)
        # A clean exit with a code, not an exception escaping the command (a traceback when run).
        assert isinstance(result.exception, SystemExit), (args, repr(result.exception))
        # Every one is the caller's: a size or index the log does not have (decision 0022).
        assert result.exit_code == 2, (args, result.exit_code, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.stderr)
        assert result.stdout == "", args


def test_cli_consistency_from_the_empty_tree_names_the_rule(history: History, settings: Settings) -> None:
    result = CliRunner().invoke(app, ["audit", "prove", "consistency", "--first", "0"], env=_env(settings))
    assert result.exit_code == 2
    assert "--first: must be at least 1" in result.stderr and "RFC 9162" in result.stderr


def test_cli_consistency_between_equal_sizes_prints_the_empty_proof(history: History, settings: Settings) -> None:
    two = history.checkpoints[1]
    size = str(two.tree_size)
    result = CliRunner().invoke(
        app, ["audit", "prove", "consistency", "--first", size, "--second", size], env=_env(settings)
    )
    assert result.exit_code == 0, result.output
    assert '"proof": []' in result.stdout
    assert base64.b64encode(two.root_hash).decode() in result.stdout
