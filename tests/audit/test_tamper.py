"""Whoever writes to the database directly cannot change, drop, insert or reorder access events, or
roll the log back, without ``audit verify`` noticing and naming where."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text
from typer.testing import CliRunner

from shopshield.app import create_app
from shopshield.audit import merkle
from shopshield.audit.canonical import event_leaf_hash
from shopshield.audit.verify import event_from_row
from shopshield.audit.witness import WitnessMissing, WitnessRefused
from shopshield.bootstrap import Container, build
from shopshield.cli import app
from shopshield.settings import Settings
from tests.support.audit_history import History, checkpoint, log_views, verify
from tests.support.environment import cli_env
from tests.support.world import World

COLUMNS = (
    "leaf_index, ts, actor_id, actor_kind, actor_role, action, customer_id, order_id, fields, channel, "
    "source_ip, purpose, ticket_id, outcome, reason, leaf_hash"
)
TARGET = 20  # a leaf inside the first checkpoint, in the second 16-leaf block


def _sql(container: Container, statement: str, **params: Any) -> list[Any]:
    with container.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def _row(container: Container, leaf: int) -> dict[str, Any]:
    (row,) = _sql(container, f"SELECT {COLUMNS} FROM access_events WHERE leaf_index = :i", i=leaf)
    return dict(row._mapping)


def _rehash(container: Container, leaf: int) -> None:
    """What a careful attacker does after editing a row: recompute its leaf hash with our own code."""
    row = _row(container, leaf)
    index, ts, event = event_from_row(tuple(row.values()))
    _sql(
        container,
        "UPDATE access_events SET leaf_hash = :h WHERE leaf_index = :i",
        h=event_leaf_hash(index, ts, event),
        i=leaf,
    )


def _assert_caught(container: Container, first_bad: int | None) -> str:
    report = verify(container)
    assert not report.ok
    assert report.first_bad_leaf == first_bad, report.problems
    return " ".join(p.message for p in report.problems)


CHANGES: dict[str, Any] = {
    "actor_id": "staff-innocent",
    "actor_kind": "job",
    "actor_role": "admin",
    "action": "search",
    "customer_id": "c0000999",
    "order_id": "o-1",
    "fields": "name",
    "channel": "export",
    "source_ip": "10.9.9.9",
    "purpose": "legal_request",
    "ticket_id": "tk-1",
    "outcome": "denied",
    "reason": "nothing to see",
    "leaf_hash": b"\x00" * 32,
}


@pytest.mark.parametrize("column", [*CHANGES, "ts"])
def test_changing_any_column_of_an_event_names_that_event(world: World, history: History, column: str) -> None:
    value = _shift(_row(world.container, TARGET)["ts"]) if column == "ts" else CHANGES[column]
    _sql(world.container, f"UPDATE access_events SET {column} = :v WHERE leaf_index = :i", v=value, i=TARGET)
    message = _assert_caught(world.container, TARGET)
    assert f"leaf {TARGET}" in message and "changed after it was logged" in message


def _shift(ts: Any) -> Any:
    if isinstance(ts, str):  # SQLite's text form
        return (datetime.fromisoformat(ts) + timedelta(seconds=1)).isoformat(" ", "microseconds")
    return ts + timedelta(seconds=1)


def test_a_changed_event_with_its_hash_recomputed_is_caught_by_the_stored_nodes(world: World, history: History) -> None:
    _sql(world.container, "UPDATE access_events SET actor_id = 'staff-innocent' WHERE leaf_index = :i", i=TARGET)
    _rehash(world.container, TARGET)
    message = _assert_caught(world.container, 16)
    assert "leaves 16..31" in message


def test_deleting_an_event_names_the_missing_leaf(world: World, history: History) -> None:
    _sql(world.container, "DELETE FROM access_events WHERE leaf_index = :i", i=TARGET)
    message = _assert_caught(world.container, TARGET)
    assert f"leaf {TARGET} is missing" in message


def test_deleting_the_newest_events_is_caught_by_the_checkpoints(world: World, history: History) -> None:
    _sql(world.container, "DELETE FROM access_events WHERE leaf_index >= 50")
    message = _assert_caught(world.container, 50)
    assert "has only 50" in message


def test_inserting_an_event_in_the_middle_is_caught(world: World, history: History) -> None:
    """The careful attacker: shifts later events up, forges one at TARGET, recomputes every hash."""
    container = world.container
    size = len(_sql(container, "SELECT leaf_index FROM access_events"))
    for leaf in range(size - 1, TARGET - 1, -1):
        _sql(container, "UPDATE access_events SET leaf_index = :j WHERE leaf_index = :i", i=leaf, j=leaf + 1)
    forged = _row(container, TARGET + 1) | {"leaf_index": TARGET, "actor_id": "staff-scapegoat"}
    columns = ", ".join(forged)
    values = ", ".join(f":{k}" for k in forged)
    _sql(container, f"INSERT INTO access_events ({columns}) VALUES ({values})", **forged)
    for leaf in range(TARGET, size + 1):
        _rehash(container, leaf)
    message = _assert_caught(container, 16)
    assert "leaves 16..31" in message


def test_inserting_an_event_at_the_end_with_a_made_up_hash_is_caught(world: World, history: History) -> None:
    forged = _row(world.container, 52) | {"leaf_index": 53, "leaf_hash": b"\x11" * 32}
    columns = ", ".join(forged)
    values = ", ".join(f":{k}" for k in forged)
    _sql(world.container, f"INSERT INTO access_events ({columns}) VALUES ({values})", **forged)
    assert "changed after it was logged" in _assert_caught(world.container, 53)


def test_swapping_two_events_positions_names_the_first(world: World, history: History) -> None:
    container = world.container
    _sql(container, "UPDATE access_events SET leaf_index = -1 WHERE leaf_index = :i", i=TARGET)
    _sql(container, "UPDATE access_events SET leaf_index = :i WHERE leaf_index = :j", i=TARGET, j=TARGET + 5)
    _sql(container, "UPDATE access_events SET leaf_index = :j WHERE leaf_index = -1", j=TARGET + 5)
    _assert_caught(container, TARGET)


def test_reordering_with_recomputed_hashes_is_caught(world: World, history: History) -> None:
    container = world.container
    a, b = _row(container, TARGET), _row(container, TARGET + 5)
    for leaf, row in ((TARGET, b), (TARGET + 5, a)):
        updates = {k: v for k, v in row.items() if k not in ("leaf_index", "leaf_hash")}
        assignments = ", ".join(f"{k} = :{k}" for k in updates)
        _sql(container, f"UPDATE access_events SET {assignments} WHERE leaf_index = :leaf", leaf=leaf, **updates)
        _rehash(container, leaf)
    _assert_caught(container, 16)


def test_rewriting_the_tree_nodes_too_is_caught_by_the_signed_checkpoints(world: World, history: History) -> None:
    """Everything in the database rewritten consistently; only the signatures stand in the way."""
    container = world.container
    _sql(container, "UPDATE access_events SET actor_id = 'staff-innocent' WHERE leaf_index = :i", i=TARGET)
    _rehash(container, TARGET)
    leaves = [bytes(r[0]) for r in _sql(container, "SELECT leaf_hash FROM access_events ORDER BY leaf_index")]
    for idx in range(len(leaves) // 16):
        node = merkle.root_from_leaf_hashes(leaves[idx * 16 : idx * 16 + 16])
        _sql(container, "UPDATE audit_nodes SET hash = :h WHERE level = 4 AND idx = :i", h=node, i=idx)
    message = _assert_caught(container, 0)
    assert "do not give the root signed" in message and "among leaves 0..32" in message


def test_a_forged_checkpoint_is_caught(world: World, history: History) -> None:
    note = history.checkpoints[1].note.replace("\n53\n", "\n52\n")
    _sql(world.container, "UPDATE audit_checkpoints SET note = :n WHERE tree_size = 53", n=note)
    assert "does not verify" in _assert_caught(world.container, None)


def test_restoring_an_older_copy_of_the_database_is_caught_by_the_witness(
    world: World, history: History, settings: Settings, backend: str
) -> None:
    container = world.container
    one = history.checkpoints[0]
    if backend == "sqlite":
        # An older copy of the file: what a backup taken when the first checkpoint was the newest
        # holds. The instance is then pointed at the restored file (same keys, same witness).
        database = Path(settings.effective_database_url().removeprefix("sqlite:///"))
        restored = database.with_name("restored.db")
        with sqlite3.connect(database) as source, sqlite3.connect(restored) as target:
            source.backup(target)
        with sqlite3.connect(restored) as old:
            old.execute("DELETE FROM access_events WHERE leaf_index >= :n", {"n": one.tree_size})
            old.execute("DELETE FROM audit_checkpoints WHERE tree_size > :n", {"n": one.tree_size})
            old.execute("DELETE FROM audit_nodes WHERE (idx + 1) * 16 > :n", {"n": one.tree_size})
        container = build(
            settings.model_copy(update={"database_url": SecretStr(f"sqlite:///{restored}")}), migrate=True
        )
    else:
        _sql(container, "DELETE FROM access_events WHERE leaf_index >= :n", n=one.tree_size)
        _sql(container, "DELETE FROM audit_checkpoints WHERE tree_size > :n", n=one.tree_size)
        _sql(container, "DELETE FROM audit_nodes WHERE (idx + 1) * 16 > :n", n=one.tree_size)
    try:
        message = _assert_caught(container, one.tree_size)
        assert "witness holds a checkpoint of 53 events" in message and "older copy" in message
        # The service keeps appending after the rollback; the witness refuses the smaller tree and
        # verify keeps failing until someone looks.
        again = World(TestClient(create_app(container)), container, world.tokens, world.ids)
        log_views(again, history.customer_ids, 2)
        with pytest.raises(WitnessRefused, match="refusing size 35"):
            container.checkpointer().tick()
        assert not verify(container).ok
    finally:
        if container is not world.container:
            container.close()


def test_rolling_back_the_database_and_deleting_the_witness_fails_verify(
    world: World, history: History, settings: Settings
) -> None:
    """The rollback above, by someone who also deletes the witness file so that nothing remembers
    the larger tree: verify must not call that intact."""
    container = world.container
    one = history.checkpoints[0]
    _sql(container, "DELETE FROM access_events WHERE leaf_index >= :n", n=one.tree_size)
    _sql(container, "DELETE FROM audit_checkpoints WHERE tree_size > :n", n=one.tree_size)
    _sql(container, "DELETE FROM audit_nodes WHERE (idx + 1) * 16 > :n", n=one.tree_size)
    witness = settings.effective_witness_file()
    assert witness == container.witness.path and witness.exists()
    witness.unlink()
    env = cli_env(settings)

    result = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 1, result.output
    assert "intact" not in result.output
    (line,) = [text for text in result.output.splitlines() if text.strip()]
    assert f"no witness file at {witness}" in line and "SHOPSHIELD_AUDIT_WITNESS_FILE" in line
    assert "--no-witness" in line

    result = CliRunner().invoke(app, ["audit", "verify", "--json"], env=env)
    assert result.exit_code == 1 and '"ok": true' not in result.output and str(witness) in result.output
    with pytest.raises(WitnessMissing):
        verify(container)

    # Asked for explicitly, the rest is checked and the output says what was not.
    result = CliRunner().invoke(app, ["audit", "verify", "--no-witness"], env=env)
    assert result.exit_code == 0, result.output
    assert f"intact: {one.tree_size} events" in result.output and "the witness was not checked" in result.output
    assert not witness.exists(), "verify must never create the witness it is checking"


def test_an_empty_witness_file_is_not_a_missing_one(world: World, history: History, settings: Settings) -> None:
    """A witness that exists but holds nothing yet is a note, as before (a log never checkpointed)."""
    settings.effective_witness_file().write_bytes(b"")
    result = CliRunner().invoke(app, ["audit", "verify"], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert "the witness holds no checkpoints yet" in result.output and "intact: 53 events" in result.output


def test_cli_verify_exits_non_zero_naming_the_first_bad_event(
    world: World, history: History, settings: Settings
) -> None:
    _sql(world.container, "UPDATE access_events SET purpose = 'legal_request' WHERE leaf_index = 7")
    env = {
        "SHOPSHIELD_DATA_DIR": str(settings.data_dir),
        "SHOPSHIELD_DATABASE_URL": settings.effective_database_url(),
        "SHOPSHIELD_KEYSTORE_URL": settings.effective_keystore_url(),
    }
    result = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert "first bad event: leaf 7" in result.output
    result = CliRunner().invoke(app, ["audit", "verify", "--json"], env=env)
    assert result.exit_code == 1
    report = json.loads(result.output[result.output.index("{") :])
    assert report["ok"] is False and report["first_bad_leaf"] == 7


def test_new_events_after_the_checkpoints_verify_until_tampered(world: World, history: History) -> None:
    log_views(world, history.customer_ids, 3)
    checkpoint(world.container)
    assert verify(world.container).ok
