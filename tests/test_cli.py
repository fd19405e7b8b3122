"""The ``shopshield`` command: principals, keys, migrate and configuration errors."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text
from typer.testing import CliRunner, Result

from shopshield.app import create_app
from shopshield.bootstrap import Container, build
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.keys.models import DataKey
from shopshield.principals.models import PrincipalRow
from shopshield.settings import Settings
from testkit import factories
from tests.support.backends import POSTGRES_URL, schema_url
from tests.support.environment import cli_env as _env
from tests.support.world import make_world


def _run(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _created(result: Result) -> dict[str, str]:
    assert result.exit_code == 0, result.output
    fields = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    assert set(fields) == {"principal_id", "role", "token"}, result.stdout
    return fields


def test_create_prints_a_token_once_that_authenticates(container: Container, settings: Settings) -> None:
    result = _run(_env(settings), "principals", "create", "store-backend", "--role", "service")

    created = _created(result)
    token = created["token"]
    assert created["role"] == "service"
    assert token.startswith("ss_") and len(token) > 40
    assert result.output.count(token) == 1
    with unit_of_work(container.sessions) as session:
        row = session.get(PrincipalRow, created["principal_id"])
        assert row is not None
        assert (row.name, row.role) == ("store-backend", "service")
        # Only the hash is kept: the token cannot be shown again.
        assert row.token_hash == hashlib.sha256(token.encode()).digest()
        assert token not in repr([getattr(row, c.key) for c in PrincipalRow.__table__.columns])

    client = TestClient(create_app(container), raise_server_exceptions=False)
    good = {"Authorization": f"Bearer {token}"}
    assert client.post("/v1/customers", json=factories.customer(1), headers=good).status_code == 201
    bad = {"Authorization": f"Bearer {token[:-2]}xx"}
    assert client.post("/v1/customers", json=factories.customer(2), headers=bad).status_code == 401

    courier = _created(_run(_env(settings), "principals", "create", "k-rider", "--role", "courier", "--link", "k-001"))
    assert courier["role"] == "courier"
    with unit_of_work(container.sessions) as session:
        assert session.get(PrincipalRow, courier["principal_id"]).link_id == "k-001"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "wizard"], "role: must be one of"),
        (["--role", "courier"], "link_id: a courier must be linked"),
        (["--role", "merchant"], "link_id: a merchant must be linked"),
        (["--role", "courier", "--link", "k 001"], "link_id: 1-64 letters"),
    ],
)
def test_create_rejects_bad_input(settings: Settings, args: list[str], message: str) -> None:
    result = _run(_env(settings), "principals", "create", "someone", *args)

    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert "token" not in result.stdout
    assert "Traceback" not in result.output


def test_create_rejects_a_duplicate_name(settings: Settings) -> None:
    first = _created(_run(_env(settings), "principals", "create", "agent-007", "--role", "cs_agent"))

    result = _run(_env(settings), "principals", "create", "agent-007", "--role", "admin")

    assert result.exit_code == 2, result.output
    assert "a principal named 'agent-007' already exists" in _flat(result.output)
    assert "token" not in result.stdout
    listed = _run(_env(settings), "principals", "list")
    assert listed.exit_code == 0, listed.output
    rows = [line for line in listed.stdout.splitlines() if "agent-007" in line]
    assert len(rows) == 1 and "cs_agent" in rows[0] and "admin" not in rows[0], listed.stdout
    assert first["token"] not in listed.output


def test_list_never_prints_tokens(settings: Settings) -> None:
    created = [
        _created(_run(_env(settings), "principals", "create", name, "--role", role, *extra))
        for name, role, extra in [
            ("agent-1", "cs_agent", []),
            ("admin-1", "admin", []),
            ("m-shop", "merchant", ["--link", "m-001"]),
        ]
    ]

    result = _run(_env(settings), "principals", "list")

    assert result.exit_code == 0, result.output
    for principal in created:
        assert principal["token"] not in result.output
        assert principal["token"][3:15] not in result.output
    assert "ss_" not in result.output
    for expected in ("agent-1", "admin-1", "m-shop", "cs_agent", "merchant", "m-001"):
        assert expected in result.stdout


def test_list_shows_whole_principal_ids(settings: Settings) -> None:
    """The list is where an operator finds the id that ``principals disable`` needs, also when the
    output is piped (no terminal, so 80 columns)."""
    created = _created(
        _run(_env(settings), "principals", "create", "courier-0815", "--role", "courier", "--link", "k-9")
    )

    result = _run(_env(settings), "principals", "list")

    assert result.exit_code == 0, result.output
    assert created["principal_id"] in result.stdout, result.stdout


def test_disable_makes_the_token_fail(settings: Settings) -> None:
    uncached = settings.model_copy(update={"token_cache_seconds": 0.0})
    container = build(uncached, migrate=False)
    try:
        created = _created(_run(_env(settings), "principals", "create", "agent-9", "--role", "cs_agent"))
        client = TestClient(create_app(container), raise_server_exceptions=False)
        headers = {"Authorization": f"Bearer {created['token']}"}
        assert client.get("/v1/customers/c-none", headers=headers).status_code == 404

        result = _run(_env(settings), "principals", "disable", created["principal_id"])

        assert result.exit_code == 0, result.output
        assert f"disabled {created['principal_id']}" in result.stdout
        response = client.get("/v1/customers/c-none", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthenticated"
        listed = _run(_env(settings), "principals", "list")
        row = next(line for line in listed.stdout.splitlines() if "agent-9" in line)
        # Both "created" and "disabled" hold a timestamp now.
        assert len(re.findall(r"\d{4}-\d\d-\d\dT", row)) == 2, row

        again = _run(_env(settings), "principals", "disable", created["principal_id"])
        assert again.exit_code == 2, again.output
        assert "no active principal" in _flat(again.output)
    finally:
        container.close()


def _status_rows(result: Result) -> dict[int, tuple[str, int]]:
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.stdout.splitlines():
        found = re.search(r"(\d+)\W+(active|retired)\W+(\d+)", line)
        if found:
            rows[int(found[1])] = (found[2], int(found[3]))
    return rows


def test_keys_status_and_rotate(container: Container, settings: Settings) -> None:
    world = make_world(container)
    customers = [factories.customer(n) for n in range(6)]
    for customer in customers:
        assert world.post("service", "/v1/customers", customer).status_code == 201
    assert _status_rows(_run(_env(settings), "keys", "status")) == {1: ("active", 6)}

    result = _run(_env(settings), "keys", "rotate", "--grace", "0")

    assert result.exit_code == 0, result.output
    assert "master key version 2 is active; rewrapped 6 data keys" in _flat(result.stdout)
    assert "dropped versions: 1" in _flat(result.stdout)
    with unit_of_work(container.keystore_sessions) as session:
        versions = session.scalars(select(DataKey.master_version)).all()
    assert sorted(versions) == [2] * 6
    key_file = json.loads(settings.effective_master_key_file().read_text())
    assert key_file["active"] == 2
    assert set(key_file["versions"]) == {"2"}
    assert _status_rows(_run(_env(settings), "keys", "status")) == {2: ("active", 6)}

    fresh = build(settings, migrate=False)  # nothing cached: every key is unwrapped with version 2
    try:
        client = TestClient(create_app(fresh), raise_server_exceptions=False)
        for customer in customers:
            response = client.get(f"/v1/customers/{customer['customer_id']}", headers=world.headers("service"))
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["name"], body["mobile"], body["id_number"]) == (
                customer["name"],
                customer["mobile"],
                customer["id_number"],
            )
        # New customers are wrapped with the new version.
        assert (
            client.post("/v1/customers", json=factories.customer(99), headers=world.headers("service")).status_code
            == 201
        )
    finally:
        fresh.close()
    assert _status_rows(_run(_env(settings), "keys", "status")) == {2: ("active", 7)}


@pytest.fixture
def empty_target(backend: str, tmp_path: Path) -> Iterator[dict[str, str | None]]:
    """Environment for a ShopShield that has never run: a new data dir, and a new schema on PostgreSQL."""
    data_dir = tmp_path / "fresh" / "data"
    if backend == "sqlite":
        yield _env(data_dir=str(data_dir))
        return
    schema = f"cli_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = schema_url(schema)
        yield _env(data_dir=str(data_dir), database_url=url, keystore_url=url)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrate_on_an_empty_data_dir(backend: str, empty_target: dict[str, str | None]) -> None:
    data_dir = Path(str(empty_target["SHOPSHIELD_DATA_DIR"]))
    assert not data_dir.exists()

    result = _run(empty_target, "migrate")

    assert result.exit_code == 0, result.output
    assert "database and key store are up to date" in _flat(result.output)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "keys").stat().st_mode) == 0o700
    key_file = data_dir / "keys" / "master-keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert json.loads(key_file.read_text())["active"] == 1
    if backend == "sqlite":
        main_url = f"sqlite:///{data_dir / 'shopshield.db'}"
        keystore_url = f"sqlite:///{data_dir / 'keys' / 'keystore.db'}"
    else:
        main_url = keystore_url = str(empty_target["SHOPSHIELD_DATABASE_URL"])
    for url, expected in (
        (main_url, {"customers", "access_events", "principals", "alembic_version"}),
        (keystore_url, {"vault_data_keys", "keystore_alembic_version"}),
    ):
        engine = create_engine(url)
        try:
            assert expected <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    again = _run(empty_target, "migrate")
    assert again.exit_code == 0, again.output
    assert json.loads(key_file.read_text())["active"] == 1
    created = _created(_run(empty_target, "principals", "create", "first-admin", "--role", "admin"))
    assert created["role"] == "admin"


def test_a_command_before_migrate_fails_and_writes_nothing(backend: str, empty_target: dict[str, str | None]) -> None:
    data_dir = Path(str(empty_target["SHOPSHIELD_DATA_DIR"]))

    refused = _run(empty_target, "principals", "create", "first-admin", "--role", "admin")

    assert refused.exit_code == 2, refused.output
    lines = refused.stderr.strip().splitlines()
    assert lines == [
        "error: the database is not at the schema this version of ShopShield needs: run `shopshield migrate` first"
    ]
    assert "token" not in refused.stdout
    if backend == "sqlite":
        assert not data_dir.exists()  # refused before the directory, the database or a key was created
    else:
        assert not (data_dir / "keys" / "master-keys.json").exists()
        engine = create_engine(str(empty_target["SHOPSHIELD_DATABASE_URL"]))
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()

    assert _run(empty_target, "migrate").exit_code == 0
    created = _created(_run(empty_target, "principals", "create", "first-admin", "--role", "admin"))
    assert created["role"] == "admin"


def test_a_key_store_behind_the_code_is_refused_too(settings: Settings, tmp_path: Path) -> None:
    # The main database is current; the key store is a fresh one that was never migrated.
    fresh = f"sqlite:///{tmp_path / 'other-keystore.db'}"
    result = _run({**_env(settings), "SHOPSHIELD_KEYSTORE_URL": fresh}, "keys", "status")
    assert result.exit_code == 2, result.output
    assert "the key store is not at the schema" in _flat(result.stderr)
    assert "run `shopshield migrate` first" in _flat(result.stderr)


@pytest.mark.parametrize("port", ["eighty", "0", "70000", ""])
@pytest.mark.parametrize("command", [["migrate"], ["keys", "status"], ["principals", "list"]])
def test_an_invalid_port_is_a_configuration_error(tmp_path: Path, port: str, command: list[str]) -> None:
    data_dir = tmp_path / "data"

    result = _run(_env(data_dir=str(data_dir), port=port), *command)

    assert result.exit_code == 2, result.output
    assert "invalid configuration: SHOPSHIELD_PORT" in _flat(result.output)
    assert "Traceback" not in result.output
    assert not data_dir.exists()
