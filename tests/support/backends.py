"""Where the suite's databases and Redis are, and how a test worker gets a schema of its own."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

from shopshield.core.db import Base, KeystoreBase

POSTGRES_URL = os.environ.get("SHOPSHIELD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SHOPSHIELD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BACKENDS = [b for b in os.environ.get("SHOPSHIELD_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]


def worker() -> str:
    """The pytest-xdist worker running this process (``main`` without xdist)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def schema_url(schema: str) -> str:
    """The test database's URL with ``schema`` first on the search path."""
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def truncate_postgres(schema: str) -> None:
    """Empty every table of ``schema``, so the next test starts from a migrated, empty database."""
    tables = [t.name for t in Base.metadata.sorted_tables] + [t.name for t in KeystoreBase.metadata.sorted_tables]
    engine = create_engine(schema_url(schema))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
