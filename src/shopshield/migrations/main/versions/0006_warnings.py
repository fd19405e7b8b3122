"""warnings: anti-scam warnings queued per customer of a breach case

Revision ID: 0006_warnings
Revises: 0005_canaries
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_warnings"
down_revision: str | None = "0005_canaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warnings",
        sa.Column("warning_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("warning_id", name=op.f("pk_warnings")),
        sa.UniqueConstraint("case_id", "customer_id", name="uq_warnings_case_customer"),
    )
    op.create_index("ix_warnings_status_created_at", "warnings", ["status", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_warnings_status_created_at", table_name="warnings")
    op.drop_table("warnings")
