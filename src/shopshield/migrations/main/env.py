"""Alembic environment for the main tree; ShopShield passes the connection in."""

from alembic import context

import shopshield.tables  # noqa: F401  (registers every table on the metadata)
from shopshield.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table="alembic_version",
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
