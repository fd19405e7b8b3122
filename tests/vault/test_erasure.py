"""Erasure reaches the key store's storage: the red team's recovery of erased customers (issue 11).

The attack: an erased customer's wrapped data key survived in ``keys/keystore.db-wal`` (SQLite) or as
a dead row version (PostgreSQL); with it, the master key file and a database backup taken before
the erasure, every field came back. These tests read the key store the way that attacker does:
every byte of every file under the SQLite key store's directory, and on PostgreSQL every row
version on every page of the key table (pageinspect, as a superuser or anyone with the data files).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, create_engine, select, text
from typer.testing import CliRunner, Result

from shopshield.bootstrap import Container, build
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.keys.envelope import DecryptionError, data_key_aad, field_aad, open_sealed
from shopshield.keys.keyring import LocalKeyFile
from shopshield.keys.models import DataKey
from shopshield.keys.rotation import rotate
from shopshield.settings import Settings
from shopshield.vault.models import CustomerRow
from testkit.factories import customer
from tests.support.environment import cli_env
from tests.support.world import World, make_world

WRAPPED_BYTES = 1 + 12 + 32 + 16  # format byte, nonce, sealed 256-bit key, GCM tag


def _store(world: World, count: int) -> list[dict[str, Any]]:
    bodies = [customer(n) for n in range(1, count + 1)]
    for body in bodies:
        response = world.post("service", "/v1/customers", body)
        assert response.status_code == 201, response.text
    return bodies


def _key_id(container: Container, customer_id: str) -> str:
    with unit_of_work(container.sessions) as session:
        key_id = session.scalar(select(CustomerRow.key_id).where(CustomerRow.customer_id == customer_id))
    assert key_id is not None
    return key_id


def _wrapped(container: Container, key_id: str) -> bytes:
    with unit_of_work(container.keystore_sessions) as ks:
        row = ks.get(DataKey, key_id)
        assert row is not None
        return row.wrapped


def _keystore_dir(settings: Settings) -> Path:
    return Path(settings.effective_keystore_url().removeprefix("sqlite:///")).parent


@contextmanager
def _pages(container: Container) -> Iterator[Connection]:
    """A connection to the key store's database that can read its pages (pageinspect)."""
    with container.keystore_engine.connect() as conn:
        # Workers share the database: one at a time creates the extension.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('shopshield-tests-pageinspect'))"))
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect SCHEMA public"))
        conn.commit()
        yield conn
        conn.rollback()


_BLOCKS = "generate_series(0, pg_relation_size('vault_data_keys') / current_setting('block_size')::int - 1)"


def _key_store_blobs(container: Container, settings: Settings, *, raw_pages: bool = False) -> list[tuple[str, bytes]]:
    """What an attacker holding the key store's storage reads: (where, bytes) pairs.

    SQLite: every file under the key store's directory. PostgreSQL: every row version, live or
    dead, on every page of the key table; with ``raw_pages`` the whole pages, free space included.
    """
    if container.keystore_engine.dialect.name == "sqlite":
        return [(p.name, p.read_bytes()) for p in sorted(_keystore_dir(settings).rglob("*")) if p.is_file()]
    with _pages(container) as conn:
        if raw_pages:
            rows = conn.execute(
                text(f"SELECT 'page ' || b, public.get_raw_page('vault_data_keys', b::int) FROM {_BLOCKS} b")
            ).all()
        else:
            rows = conn.execute(
                text(
                    "SELECT 'page ' || b || ' item ' || i.lp || CASE WHEN i.t_xmax = '0' THEN ' (live)' "
                    "ELSE ' (deleted by ' || i.t_xmax || ')' END, i.t_data "
                    f"FROM {_BLOCKS} b, public.heap_page_items(public.get_raw_page('vault_data_keys', b::int)) i "
                    "WHERE i.t_data IS NOT NULL"
                )
            ).all()
    return [(str(where), bytes(data)) for where, data in rows]


def _copies(container: Container, settings: Settings, wrapped: bytes, *, raw_pages: bool = False) -> list[str]:
    return [where for where, blob in _key_store_blobs(container, settings, raw_pages=raw_pages) if wrapped in blob]


def _backup(container: Container, settings: Settings, tmp_path: Path) -> dict[str, tuple[str, bytes]]:
    """A backup of the main database, as an operator takes it: key id and sealed name per customer."""
    if container.engine.dialect.name == "sqlite":
        copy = tmp_path / "backup.db"
        source = sqlite3.connect(settings.effective_database_url().removeprefix("sqlite:///"))
        target = sqlite3.connect(copy)
        source.backup(target)
        source.close()
        rows = target.execute("SELECT customer_id, key_id, name_ct FROM customers").fetchall()
        target.close()
    else:
        with container.engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text("SELECT customer_id, key_id, name_ct FROM customers"))]
    return {str(cid): (str(key_id), bytes(name_ct)) for cid, key_id, name_ct in rows}


def _recover_name(customer_id: str, key_id: str, name_ct: bytes, key_file: Path, blobs: Iterable[bytes]) -> str | None:
    """The red team's recovery: try every offset of the key store's bytes as a wrapped key under
    every master key version in the stolen key file; with a key that opens, decrypt the name."""
    master = LocalKeyFile.open_or_create(key_file)
    versions = [(v.version, master.aead(v.version)) for v in master.versions()]
    for blob in blobs:
        at = blob.find(b"\x01")
        while at >= 0:
            candidate = blob[at : at + WRAPPED_BYTES]
            for version, aead in versions:
                try:
                    raw = open_sealed(aead, candidate, data_key_aad(key_id, version))
                except DecryptionError:
                    continue
                return open_sealed(AESGCM(raw), name_ct, field_aad(f"customer:{customer_id}", "name")).decode()
            at = blob.find(b"\x01", at + 1)
    return None


def _cli(settings: Settings, *args: str, **env: str) -> Result:
    return CliRunner().invoke(app, list(args), env=cli_env(settings, **env))


def test_erase_over_http_leaves_no_copy_of_the_key(world: World, settings: Settings) -> None:
    bodies = _store(world, 6)
    erased = [bodies[0]["customer_id"], bodies[3]["customer_id"], bodies[5]["customer_id"]]
    wrapped = {cid: _wrapped(world.container, _key_id(world.container, cid)) for cid in erased}
    for cid in erased:
        assert _copies(world.container, settings, wrapped[cid]), "the scan must see a key that is still there"

    answers = [world.delete("service", f"/v1/customers/{cid}") for cid in erased]

    assert {cid: _copies(world.container, settings, wrapped[cid]) for cid in erased} == {cid: [] for cid in erased}
    for response in answers:
        assert response.status_code == 200, response.text
        assert (response.json()["key_destroyed"], response.json()["key_purge_pending"]) == (True, None)
    kept = bodies[1]
    assert world.get("agent", f"/v1/customers/{kept['customer_id']}").json()["mobile"].startswith(kept["mobile"][:3])


def test_backup_and_master_key_no_longer_recover_an_erased_customer(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    bodies = _store(world, 4)
    victim = bodies[1]
    cid = victim["customer_id"]
    backup = _backup(world.container, settings, tmp_path)  # taken before the erasure, as 0002 advises
    key_id, name_ct = backup[cid]
    key_file = settings.effective_master_key_file()

    def attack() -> str | None:
        blobs = (blob for _where, blob in _key_store_blobs(world.container, settings))
        return _recover_name(cid, key_id, name_ct, key_file, blobs)

    assert attack() == victim["name"]  # the attack works while the key exists

    assert world.delete("service", f"/v1/customers/{cid}").json()["key_destroyed"] is True

    assert attack() is None


def test_an_older_wrapping_and_an_older_key_file_recover_nothing_either(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    bodies = _store(world, 4)
    victim = bodies[2]
    cid = victim["customer_id"]
    key_id, name_ct = _backup(world.container, settings, tmp_path)[cid]
    before = _wrapped(world.container, key_id)
    old_key_file = tmp_path / "master-keys-before-rotation.json"
    old_key_file.write_bytes(settings.effective_master_key_file().read_bytes())
    rotate(world.container.master, world.container.data_keys, grace_seconds=0)
    after = _wrapped(world.container, key_id)
    assert before != after

    assert world.delete("service", f"/v1/customers/{cid}").json()["key_destroyed"] is True

    assert _copies(world.container, settings, before) == []
    assert _copies(world.container, settings, after) == []
    blobs = [blob for _where, blob in _key_store_blobs(world.container, settings)]
    for key_file in (old_key_file, settings.effective_master_key_file()):
        assert _recover_name(cid, key_id, name_ct, key_file, blobs) is None


@contextmanager
def _reader(container: Container, settings: Settings) -> Iterator[None]:
    """Another session in the middle of reading the key store, from before the erase to the end."""
    if container.keystore_engine.dialect.name == "sqlite":
        conn = sqlite3.connect(_keystore_dir(settings) / "keystore.db", isolation_level=None)
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM vault_data_keys").fetchone()
        try:
            yield
        finally:
            conn.execute("COMMIT")
            conn.close()
        return
    engine = create_engine(settings.effective_keystore_url())
    try:
        with engine.connect() as pg:
            pg.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            pg.execute(text("SELECT count(*) FROM vault_data_keys")).scalar_one()
            yield
            pg.rollback()
    finally:
        engine.dispose()


def test_an_open_reader_delays_the_purge_and_the_answer_says_so(
    settings: Settings,
) -> None:
    short = settings.model_copy(update={"keystore_purge_timeout_seconds": 0.5})
    container = build(short, migrate=False)
    world = make_world(container)
    try:
        cid = _store(world, 3)[2]["customer_id"]
        wrapped = _wrapped(container, _key_id(container, cid))

        with _reader(container, settings):
            answer = world.delete("service", f"/v1/customers/{cid}").json()
            assert answer["key_destroyed"] is False
            assert "repeat the erase or run `shopshield keys purge`" in answer["key_purge_pending"]
            # The customer is erased all the same, and the answer did not lie: the bytes are still there.
            assert world.get("agent", f"/v1/customers/{cid}").status_code == 404
            assert _copies(container, settings, wrapped)
            still = _cli(settings, "keys", "purge", keystore_purge_timeout_seconds="0.3")
            assert still.exit_code == 1
            assert "key store purge incomplete" in " ".join(still.output.split())

        done = _cli(settings, "keys", "purge")
        assert done.exit_code == 0, done.output
        assert _copies(container, settings, wrapped) == []
        again = world.delete("service", f"/v1/customers/{cid}").json()
        assert (again["key_destroyed"], again["key_purge_pending"]) == (True, None)
    finally:
        world.client.close()
        container.close()


def _delete_without_secure_delete(settings: Settings, key_id: str) -> None:
    """An erasure made by a version before secure_delete: the row's bytes stay in free space."""
    conn = sqlite3.connect(_keystore_dir(settings) / "keystore.db", isolation_level=None)
    conn.execute("PRAGMA secure_delete=OFF")
    conn.execute("DELETE FROM vault_data_keys WHERE key_id = ?", (key_id,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def test_compaction_clears_what_free_space_still_holds(world: World, settings: Settings) -> None:
    bodies = _store(world, 5)
    cid = bodies[-1]["customer_id"]  # the newest row: on PostgreSQL the lowest on its page
    key_id = _key_id(world.container, cid)
    wrapped = _wrapped(world.container, key_id)
    if world.container.keystore_engine.dialect.name == "sqlite":
        _delete_without_secure_delete(settings, key_id)
        assert _copies(world.container, settings, wrapped) == ["keystore.db"]
    else:
        assert world.delete("service", f"/v1/customers/{cid}").json()["key_destroyed"] is True
        assert _copies(world.container, settings, wrapped) == []
        # What VACUUM leaves: no row version, but the bytes in the page's freed space (docs/decisions/0017).
        assert _copies(world.container, settings, wrapped, raw_pages=True)

    result = _cli(settings, "keys", "purge", "--compact")

    assert result.exit_code == 0, result.output
    assert "compacted the key store" in result.output
    assert _copies(world.container, settings, wrapped, raw_pages=True) == []
    for body in bodies[:-1]:  # every other key survived the rewrite
        view = world.get("agent", f"/v1/customers/{body['customer_id']}")
        assert view.status_code == 200, view.text


@contextmanager
def _lock(container: Container, settings: Settings) -> Iterator[None]:
    """Another session holding a lock on the key store that a compaction needs."""
    if container.keystore_engine.dialect.name == "sqlite":
        conn = sqlite3.connect(_keystore_dir(settings) / "keystore.db", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the write lock, as a stuck writer would hold it
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(settings.effective_keystore_url())
    try:
        with engine.connect() as pg:
            pg.execute(text("LOCK TABLE vault_data_keys IN SHARE UPDATE EXCLUSIVE MODE"))
            yield
            pg.rollback()
    finally:
        engine.dispose()


def test_a_locked_key_store_fails_the_compaction_with_a_reason(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The erase runs with the default wait, so a loaded machine cannot make it the one that times
    # out; only the compaction under test runs on an instance that gives up after 0.3 s.
    container = build(settings, migrate=False)
    impatient = build(settings.model_copy(update={"keystore_purge_timeout_seconds": 0.3}), migrate=False)
    world = make_world(container)
    try:
        bodies = _store(world, 3)
        cid = bodies[0]["customer_id"]
        wrapped = _wrapped(container, _key_id(container, cid))
        assert world.delete("service", f"/v1/customers/{cid}").json()["key_destroyed"] is True

        with _lock(container, settings), caplog.at_level(logging.WARNING, logger="shopshield.keys.purge"):
            refused = impatient.data_keys.purge(compact=True)

        assert refused.complete is False
        assert refused.reason is not None and refused.reason.endswith("run `shopshield keys purge`")
        held = "database is locked" if world.container.keystore_engine.dialect.name == "sqlite" else "held the"
        assert held in refused.reason
        assert [r.getMessage() for r in caplog.records] == [
            f"deleted data keys may still be in the key store: {refused.reason}"
        ]
        done = _cli(settings, "keys", "purge", "--compact")
        assert done.exit_code == 0, done.output
        assert _copies(container, settings, wrapped, raw_pages=True) == []
        assert world.get("agent", f"/v1/customers/{bodies[1]['customer_id']}").status_code == 200
    finally:
        world.client.close()
        container.close()
        impatient.close()
