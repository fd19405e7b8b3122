"""canary_misses: a contact check that reached no canary is a row of canary_hits too, without a canary

Every contact check writes one row, canary or not, so that its database work does not tell a
canary's number from any other (decision 0016). Such a row has no customer and no recipient.

Revision ID: 0008_canary_misses
Revises: 0007_security_alerts
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_canary_misses"
down_revision: str | None = "0007_security_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("canary_hits", schema=None) as batch_op:
        batch_op.alter_column("customer_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("recipient", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # The rows of checks that reached no canary have nothing to keep in the older schema.
    op.execute("DELETE FROM canary_hits WHERE customer_id IS NULL")
    with op.batch_alter_table("canary_hits", schema=None) as batch_op:
        batch_op.alter_column("recipient", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("customer_id", existing_type=sa.String(length=64), nullable=False)
