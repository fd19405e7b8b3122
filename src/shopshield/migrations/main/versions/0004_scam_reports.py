"""scam reports: customers' reports of scams, in the shared format's terms

Revision ID: 0004_scam_reports
Revises: 0003_buckets
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_scam_reports"
down_revision: str | None = "0003_buckets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scam_reports",
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("contact_from", sa.String(length=128), nullable=True),
        sa.Column("claimed_identity", sa.String(length=200), nullable=True),
        sa.Column("knew", sa.String(length=800), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("payee_account", sa.String(length=128), nullable=True),
        sa.Column("loss_hundredths", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_scam_reports")),
    )
    op.create_index("ix_scam_reports_contacted_at", "scam_reports", ["contacted_at", "report_id"], unique=False)
    op.create_index("ix_scam_reports_customer_id", "scam_reports", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_scam_reports_customer_id", table_name="scam_reports")
    op.drop_index("ix_scam_reports_contacted_at", table_name="scam_reports")
    op.drop_table("scam_reports")
