"""Alembic migrations: ``main`` for the main database, ``keystore`` for the data-key store."""

from __future__ import annotations

from importlib import resources
from typing import Literal

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

Tree = Literal["main", "keystore"]


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
