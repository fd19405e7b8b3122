"""Fixtures shared by every test: a ShopShield wired to SQLite or to PostgreSQL, for real.

Every test that takes ``container`` (or anything built on it) runs once per backend. PostgreSQL
gets one schema per test worker, migrated once and truncated between tests; SQLite gets a copy of
a migrated template file per test.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text

from shopshield import migrations
from shopshield.bootstrap import Container, build
from shopshield.core.db import make_engine
from shopshield.settings import Settings
from tests.support.backends import BACKENDS, POSTGRES_URL, schema_url, truncate_postgres, worker
from tests.support.world import World, make_world


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sqlite-template")
    (directory / "keys").mkdir()
    migrations.upgrade(make_engine(f"sqlite:///{directory / 'shopshield.db'}"), "main")
    migrations.upgrade(make_engine(f"sqlite:///{directory / 'keys' / 'keystore.db'}"), "keystore")
    return directory


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    schema = f"t_{worker()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # a missing PostgreSQL must fail the run, not skip half the suite
        raise RuntimeError(f"PostgreSQL is required for the test suite at {POSTGRES_URL}: {exc}") from exc
    engine = make_engine(schema_url(schema))
    migrations.upgrade(engine, "main")
    migrations.upgrade(engine, "keystore")
    engine.dispose()
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    data_dir = tmp_path / "data"
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copytree(template, data_dir)
        return Settings(data_dir=data_dir, data_key_cache_seconds=30.0)
    schema: str = request.getfixturevalue("postgres_schema")
    truncate_postgres(schema)
    url = SecretStr(schema_url(schema))
    return Settings(data_dir=data_dir, database_url=url, keystore_url=url)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = build(settings, migrate=False)
    yield built
    built.close()


@pytest.fixture
def world(container: Container) -> Iterator[World]:
    """The container behind an HTTP test client, with one principal per role (tests.support.world)."""
    w = make_world(container)
    yield w
    w.client.close()
