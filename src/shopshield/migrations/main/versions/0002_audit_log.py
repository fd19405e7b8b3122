"""audit log: access events keyed by leaf index, stored tree nodes, signed checkpoints, archives

Events written before this revision had no place in the tree; they are given leaf indexes in
their arrival order (``seq``) and hashed into it here, so the log starts complete.

Revision ID: 0002_audit
Revises: 0001_main
Create Date: 2026-11-28 20:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from shopshield.access.models import split_fields
from shopshield.audit.canonical import event_leaf_hash
from shopshield.audit.merkle import CompactRange
from shopshield.core.events import AccessEvent
from shopshield.core.times import format_ts

revision: str = "0002_audit"
down_revision: str | None = "0001_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STRIDE = 4  # as shopshield.audit.models.STRIDE when this revision was written
_OLD_EVENTS = sa.text(
    "SELECT ts, actor_id, actor_kind, actor_role, action, customer_id, order_id, fields, channel, "
    "source_ip, purpose, ticket_id, outcome, reason FROM access_events ORDER BY seq"
)


def upgrade() -> None:
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_nodes")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_archives",
        sa.Column("first_leaf", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("end_leaf", sa.BigInteger(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("first_leaf", name=op.f("pk_audit_archives")),
    )
    events = op.create_table(
        "access_events_v2",
        sa.Column(
            "leaf_index", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.String(length=400), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("leaf_index", name="pk_access_events_v2"),
    )
    _sequence_old_events(events)
    op.drop_table("access_events")
    op.rename_table("access_events_v2", "access_events")
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE access_events RENAME CONSTRAINT pk_access_events_v2 TO pk_access_events")
    else:
        # SQLite keeps a table's constraint names in its CREATE statement; rebuild to rename it.
        with op.batch_alter_table("access_events", recreate="always") as batch_op:
            batch_op.drop_constraint("pk_access_events_v2", type_="primary")
            batch_op.create_primary_key("pk_access_events", ["leaf_index"])
    with op.batch_alter_table("access_events") as batch_op:
        batch_op.create_index("ix_access_events_actor", ["actor_id"], unique=False)
        batch_op.create_index("ix_access_events_customer", ["customer_id"], unique=False)


def _sequence_old_events(events: sa.Table) -> None:
    bind = op.get_bind()
    nodes = sa.table("audit_nodes", sa.column("level"), sa.column("idx"), sa.column("hash"))
    tree = CompactRange()
    rows = bind.execute(_OLD_EVENTS).all()
    batch: list[dict[str, object]] = []
    stored: list[dict[str, object]] = []
    for row in rows:
        values = dict(row._mapping)
        ts = values["ts"]
        if isinstance(ts, str):
            ts = datetime.fromisoformat(ts)
        assert isinstance(ts, datetime)
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        event = AccessEvent(
            actor_id=values["actor_id"],
            actor_kind=values["actor_kind"],
            actor_role=values["actor_role"],
            action=values["action"],
            channel=values["channel"],
            outcome=values["outcome"],
            customer_id=values["customer_id"],
            order_id=values["order_id"],
            fields=split_fields(str(values["fields"] or "")),
            source_ip=values["source_ip"],
            purpose=values["purpose"],
            ticket_id=values["ticket_id"],
            reason=values["reason"],
        )
        index = tree.size
        leaf = event_leaf_hash(index, format_ts(ts), event)
        for level, idx, node in tree.append(leaf):
            if level and not level % STRIDE:
                stored.append({"level": level, "idx": idx, "hash": node})
        batch.append({**values, "ts": ts, "leaf_index": index, "leaf_hash": leaf})
        if len(batch) >= 5000:
            bind.execute(events.insert(), batch)
            batch = []
    if batch:
        bind.execute(events.insert(), batch)
    if stored:
        bind.execute(nodes.insert(), stored)


def downgrade() -> None:
    """Back to 0001: events keep their order (``seq`` = leaf index + 1) and lose their place in the
    tree; nodes, checkpoints and the archive records are dropped, so no proof survives this."""
    op.create_table(
        "access_events_v1",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("fields", sa.String(length=400), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("ticket_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_access_events_v1"),
    )
    op.execute(
        "INSERT INTO access_events_v1 (seq, ts, actor_id, actor_kind, actor_role, action, customer_id, order_id, "
        "fields, channel, source_ip, purpose, ticket_id, outcome, reason) SELECT leaf_index + 1, ts, actor_id, "
        "actor_kind, actor_role, action, customer_id, order_id, fields, channel, source_ip, purpose, ticket_id, "
        "outcome, reason FROM access_events"
    )
    op.drop_table("access_events")
    op.rename_table("access_events_v1", "access_events")
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE access_events RENAME CONSTRAINT pk_access_events_v1 TO pk_access_events")
        # The sequence behind seq must continue after the copied rows.
        op.execute(
            "SELECT setval(pg_get_serial_sequence('access_events', 'seq'), "
            "COALESCE((SELECT MAX(seq) FROM access_events), 0) + 1, false)"
        )
    else:
        with op.batch_alter_table("access_events", recreate="always") as batch_op:
            batch_op.drop_constraint("pk_access_events_v1", type_="primary")
            batch_op.create_primary_key("pk_access_events", ["seq"])
    with op.batch_alter_table("access_events") as batch_op:
        batch_op.create_index("ix_access_events_actor_ts", ["actor_id", "ts"], unique=False)
        batch_op.create_index("ix_access_events_customer_ts", ["customer_id", "ts"], unique=False)
        batch_op.create_index(
            "uq_access_events_leaf_index",
            ["leaf_index"],
            unique=True,
            sqlite_where=sa.text("leaf_index IS NOT NULL"),
            postgresql_where=sa.text("leaf_index IS NOT NULL"),
        )
    op.drop_table("audit_archives")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_nodes")
