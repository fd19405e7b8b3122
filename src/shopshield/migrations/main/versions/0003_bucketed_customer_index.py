"""access events: one customer index, bucketed by leaf index; no actor index

The two single-column indexes were most of an append's cost (docs/benchmarks.md): each entry went
to a random place in an index of every event. Decision 0007 explains the replacement.

Revision ID: 0003_buckets
Revises: 0002_audit
Create Date: 2026-11-28 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_buckets"
down_revision: str | None = "0002_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As shopshield.access.models.BUCKET_EXPRESSION when this revision was written.
BUCKET_EXPRESSION = "(leaf_index >> 14)"


def upgrade() -> None:
    op.drop_index("ix_access_events_customer", table_name="access_events")
    op.drop_index("ix_access_events_actor", table_name="access_events")
    op.create_index(
        "ix_access_events_bucket_customer", "access_events", [sa.text(BUCKET_EXPRESSION), "customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_access_events_bucket_customer", table_name="access_events")
    op.create_index("ix_access_events_actor", "access_events", ["actor_id"], unique=False)
    op.create_index("ix_access_events_customer", "access_events", ["customer_id"], unique=False)
