"""Alembic migrations: ``main`` for the main database, ``keystore`` for the data-key store."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, column, inspect, make_url, select
from sqlalchemy import table as sql_table

from shopshield.core.errors import BadConfiguration

Tree = Literal["main", "keystore"]
# Each tree's own version table (as its env.py names it), so both may share one database.
VERSION_TABLES: dict[Tree, str] = {"main": "alembic_version", "keystore": "keystore_alembic_version"}
WHAT: dict[Tree, str] = {"main": "the database", "keystore": "the key store"}


class SchemaNotAtHead(BadConfiguration):
    """A database is not at the schema this version of ShopShield needs; ``shopshield migrate`` brings it there."""

    code = "schema_not_at_head"


def config(tree: Tree) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("shopshield.migrations").joinpath(tree)))
    return cfg


def downgrade(engine: Engine, tree: Tree, revision: str) -> None:
    """Take ``engine``'s database back to ``revision`` (for an operator undoing an upgrade)."""
    cfg = config(tree)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
        connection.commit()


def upgrade(engine: Engine, tree: Tree, revision: str = "head") -> None:
    """Bring ``engine``'s database to ``revision`` of the given migration tree."""
    cfg = config(tree)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        connection.commit()


@cache
def heads(tree: Tree) -> frozenset[str]:
    """The head revisions of a tree (read once: the scripts ship with the package)."""
    return frozenset(ScriptDirectory.from_config(config(tree)).get_heads())


def current(engine: Engine, tree: Tree) -> frozenset[str]:
    """The revisions ``engine``'s database is at (none for a database never migrated).

    Read from the version table directly rather than through Alembic's migration context, which
    logs a line per call: every command checks this, and its stderr stays for what went wrong.
    """
    table = VERSION_TABLES[tree]
    with engine.connect() as connection:
        if not inspect(connection).has_table(table):
            return frozenset()
        versions = sql_table(table, column("version_num"))
        return frozenset(str(v) for v in connection.execute(select(versions.c.version_num)).scalars())


def missing_sqlite_file(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist: a database never migrated, known
    without opening it (opening it would create the file)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return False
    return not database.startswith("file:") and not Path(database).exists()


def not_at_head(tree: Tree) -> SchemaNotAtHead:
    return SchemaNotAtHead(
        f"{WHAT[tree]} is not at the schema this version of ShopShield needs: run `shopshield migrate` first"
    )


def require_head(engine: Engine, tree: Tree) -> None:
    """Raise ``SchemaNotAtHead`` unless ``engine``'s database is at the tree's head; reads only."""
    if current(engine, tree) != heads(tree):
        raise not_at_head(tree)
