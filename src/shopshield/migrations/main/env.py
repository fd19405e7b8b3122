"""Alembic environment for the main database."""

from shopshield.core.db import Base
from shopshield.migrations.environment import run

run(Base.metadata, "alembic_version")
