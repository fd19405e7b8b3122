"""security_alerts: alerts for the security team, such as a principal passing a search limit

Revision ID: 0007_security_alerts
Revises: 0006_warnings
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_security_alerts"
down_revision: str | None = "0006_warnings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "security_alerts",
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("actor_role", sa.String(length=32), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_security_alerts")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_security_alerts_dedup_key")),
    )
    op.create_index("ix_security_alerts_raised_at", "security_alerts", ["raised_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_security_alerts_raised_at", table_name="security_alerts")
    op.drop_table("security_alerts")
