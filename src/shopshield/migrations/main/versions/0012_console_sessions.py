"""console: people's passwords, console sessions and one-time login links

Revision ID: 0012_console_sessions
Revises: 0011_official_channels
Create Date: 2026-12-05 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_console_sessions"
down_revision: str | None = "0011_official_channels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("principals") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.create_table(
        "console_sessions",
        sa.Column("session_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csrf_secret", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("session_digest", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_principal_id"), "console_sessions", ["principal_id"])
    op.create_table(
        "console_login_links",
        sa.Column("token_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_console_login_links")),
    )


def downgrade() -> None:
    op.drop_table("console_login_links")
    op.drop_index(op.f("ix_console_sessions_principal_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    with op.batch_alter_table("principals") as batch:
        batch.drop_column("password_hash")
