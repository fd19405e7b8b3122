"""notification intents: the events a hot path raised, before the worker expands them per channel;
the count a digest row stands for, and the sealed contact a message to a replaced one goes to

Revision ID: 0010_notification_intents
Revises: 0009_notifications
Create Date: 2026-12-05 09:40:00

Until now a reveal wrote an outbox row with channel ``*`` that the worker expanded and marked
``expanded``. Those rows move here (still to be expanded) and the markers go: a marker holds no
message, and the outbox's states no longer include it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_notification_intents"
down_revision: str | None = "0009_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "customer_id, event, details, source, source_ref, occurred_at, created_at"


def upgrade() -> None:
    op.create_table(
        "notification_intents",
        sa.Column("intent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("intent_id", name=op.f("pk_notification_intents")),
    )
    op.execute(
        f"INSERT INTO notification_intents ({_COLUMNS}) SELECT {_COLUMNS} FROM notifications "  # noqa: S608 (constant)
        "WHERE channel = '*' AND state = 'queued' ORDER BY created_at"
    )
    op.execute("DELETE FROM notifications WHERE channel = '*'")
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("address_ct", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("digest_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("digest_count")
        batch.drop_column("address_ct")
    # Back to placeholder outbox rows, with an id made from the intent's (ids only need be unique).
    op.execute(
        "INSERT INTO notifications (notification_id, channel, state, due_at, attempts, "  # noqa: S608 (constant)
        f"{_COLUMNS}) SELECT 'intent-' || CAST(intent_id AS VARCHAR(20)), '*', 'queued', created_at, 0, "
        f"{_COLUMNS} FROM notification_intents"
    )
    op.drop_table("notification_intents")
