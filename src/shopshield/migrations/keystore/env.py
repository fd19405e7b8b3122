"""Alembic environment for the keystore tree; ShopShield passes the connection in."""

from alembic import context

import shopshield.tables  # noqa: F401  (registers every table on the metadata)
from shopshield.db import KeystoreBase

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=KeystoreBase.metadata,
    version_table="keystore_alembic_version",
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
