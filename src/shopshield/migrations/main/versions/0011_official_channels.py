"""official channels: the store's registry of genuine channels, its history, the contact log and
one-click report tokens

Revision ID: 0011_official_channels
Revises: 0010_notification_intents
Create Date: 2026-12-05 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_official_channels"
down_revision: str | None = "0010_notification_intents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "official_channels",
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_official_channels")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_official_channels_kind")),
    )
    op.create_table(
        "official_channel_changes",
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.Column("channel_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_official_channel_changes")),
    )
    op.create_index("ix_official_channel_changes_changed_at", "official_channel_changes", ["changed_at"], unique=False)
    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("from_value", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.String(length=64), nullable=False),
        sa.Column("agent_role", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logged_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["principals.principal_id"], name=op.f("fk_contacts_agent_id_principals")
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_contacts")),
    )
    op.create_index("ix_contacts_customer_started", "contacts", ["customer_id", "started_at"], unique=False)
    op.create_table(
        "contact_report_tokens",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("checked_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_contact_report_tokens")),
    )
    op.create_index("ix_contact_report_tokens_expires_at", "contact_report_tokens", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_contact_report_tokens_expires_at", table_name="contact_report_tokens")
    op.drop_table("contact_report_tokens")
    op.drop_index("ix_contacts_customer_started", table_name="contacts")
    op.drop_table("contacts")
    op.drop_index("ix_official_channel_changes_changed_at", table_name="official_channel_changes")
    op.drop_table("official_channel_changes")
    op.drop_table("official_channels")
