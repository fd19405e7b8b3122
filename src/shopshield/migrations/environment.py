"""What both Alembic trees' env.py run: migrate the connection ShopShield passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

import shopshield.tables  # noqa: F401  (registers every table on the metadata)


def run(metadata: MetaData, version_table: str) -> None:
    context.configure(
        connection=context.config.attributes["connection"],
        target_metadata=metadata,
        version_table=version_table,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
