"""Alembic environment for the data-key store."""

from shopshield.core.db import KeystoreBase
from shopshield.migrations.environment import run

run(KeystoreBase.metadata, "keystore_alembic_version")
