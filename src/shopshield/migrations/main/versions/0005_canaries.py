"""canaries: which customers are decoys for which recipient, and the contacts that reached them

Revision ID: 0005_canaries
Revises: 0004_scam_reports
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_canaries"
down_revision: str | None = "0004_scam_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canaries",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("planted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planted_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name=op.f("fk_canaries_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_canaries")),
    )
    op.create_index("ix_canaries_recipient", "canaries", ["recipient", "planted_at"], unique=False)
    op.create_table(
        "canary_hits",
        sa.Column("hit_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=True),
        sa.Column("note_ct", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["canaries.customer_id"], name=op.f("fk_canary_hits_customer_id_canaries")
        ),
        sa.PrimaryKeyConstraint("hit_id", name=op.f("pk_canary_hits")),
        sa.UniqueConstraint("report_id", name=op.f("uq_canary_hits_report_id")),
    )
    op.create_index("ix_canary_hits_recipient", "canary_hits", ["recipient", "recorded_at"], unique=False)
    op.create_index("ix_canary_hits_customer_id", "canary_hits", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_canary_hits_customer_id", table_name="canary_hits")
    op.drop_index("ix_canary_hits_recipient", table_name="canary_hits")
    op.drop_table("canary_hits")
    op.drop_index("ix_canaries_recipient", table_name="canaries")
    op.drop_table("canaries")
