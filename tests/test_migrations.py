"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and rerun as no-ops."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

import shopshield.tables  # noqa: F401  (registers every table on the metadata)
from shopshield import migrations
from shopshield.audit import merkle
from shopshield.core.db import Base, KeystoreBase, make_engine
from tests.support.backends import POSTGRES_URL, schema_url

# SQLAlchemy cannot reflect SQLite's expression indexes, so reflection and autogenerate leave the
# bucketed customer index out there (with these warnings); _index_definition checks it on both.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
]

TREES: dict[migrations.Tree, tuple[MetaData, str]] = {
    "main": (Base.metadata, "alembic_version"),
    "keystore": (KeystoreBase.metadata, "keystore_alembic_version"),
}


@pytest.fixture
def fresh_engines(backend: str, tmp_path: Path) -> Iterator[dict[migrations.Tree, Engine]]:
    """One empty database per migration tree: SQLite files, or PostgreSQL schemas made for this test."""
    if backend == "sqlite":
        engines: dict[migrations.Tree, Engine] = {
            "main": make_engine(f"sqlite:///{tmp_path / 'main.db'}"),
            "keystore": make_engine(f"sqlite:///{tmp_path / 'keystore.db'}"),
        }
        yield engines
        for engine in engines.values():
            engine.dispose()
        return
    admin = create_engine(POSTGRES_URL)
    schemas = {tree: f"m_{tree}_{uuid.uuid4().hex[:10]}" for tree in TREES}
    with admin.begin() as conn:
        for schema in schemas.values():
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engines = {tree: make_engine(schema_url(schema)) for tree, schema in schemas.items()}
    try:
        yield engines
    finally:
        for engine in engines.values():
            engine.dispose()
        with admin.begin() as conn:
            for schema in schemas.values():
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _diff(engine: Engine, tree: migrations.Tree) -> list[Any]:
    metadata, version_table = TREES[tree]
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": version_table})
        return list(compare_metadata(context, metadata))


def _index_definition(engine: Engine, name: str) -> str | None:
    """The CREATE INDEX statement as the database keeps it, in lower case without quotes."""
    query = (
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n"
        if engine.dialect.name == "sqlite"
        else "SELECT indexdef FROM pg_indexes WHERE indexname = :n AND schemaname = current_schema()"
    )
    with engine.connect() as conn:
        found = conn.execute(text(query), {"n": name}).scalar_one_or_none()
    return None if found is None else str(found).lower().replace('"', "")


def _current(engine: Engine, tree: migrations.Tree) -> str | None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": TREES[tree][1]})
        return context.get_current_revision()


def _head(tree: migrations.Tree) -> str:
    head = ScriptDirectory.from_config(migrations.config(tree)).get_current_head()
    assert head is not None
    return head


def test_fresh_database_matches_the_models(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    for tree, engine in fresh_engines.items():
        assert inspect(engine).get_table_names() == []
        migrations.upgrade(engine, tree)
        assert _current(engine, tree) == _head(tree)
        tables = set(inspect(engine).get_table_names())
        metadata, version_table = TREES[tree]
        assert tables == set(metadata.tables) | {version_table}
        assert _diff(engine, tree) == [], f"{tree}: the migrations and the models differ"
    bucketed = _index_definition(fresh_engines["main"], "ix_access_events_bucket_customer")
    assert bucketed is not None
    assert re.search(r"on (\w+\.)?access_events .*\(\(?leaf_index >> 14\)?\)?, customer_id\)", bucketed), bucketed
    assert {"ix_access_events_customer", "ix_access_events_actor"}.isdisjoint(
        i["name"] for i in inspect(fresh_engines["main"]).get_indexes("access_events")
    )


def test_a_schema_differing_from_the_models_is_detected(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    engine = fresh_engines["main"]
    migrations.upgrade(engine, "main")
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_orders_merchant_id"))
        conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
    kinds = {entry[0] for entry in _diff(engine, "main") if isinstance(entry, tuple)}
    assert {"add_index", "remove_table"} <= kinds


def test_upgrading_twice_is_a_no_op(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    main, keystore = fresh_engines["main"], fresh_engines["keystore"]
    migrations.upgrade(main, "main")
    migrations.upgrade(keystore, "keystore")
    with main.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO principals (principal_id, name, role, token_hash, created_at) "
                "VALUES ('p-1', 'someone', 'admin', :h, :t)"
            ),
            {"h": b"\x01" * 32, "t": now},
        )
    with keystore.begin() as conn:
        conn.execute(
            text("INSERT INTO vault_data_keys (key_id, master_version, wrapped, created_at) VALUES ('k-1', 1, :w, :t)"),
            {"w": b"\x02" * 60, "t": now},
        )
    before = {tree: _snapshot(engine) for tree, engine in fresh_engines.items()}

    migrations.upgrade(main, "main")
    migrations.upgrade(keystore, "keystore")

    for tree, engine in fresh_engines.items():
        assert _snapshot(engine) == before[tree]
        assert _current(engine, tree) == _head(tree)
        assert _diff(engine, tree) == []
    with main.connect() as conn:
        assert conn.execute(text("SELECT name FROM principals")).scalars().all() == ["someone"]
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    with keystore.connect() as conn:
        assert conn.execute(text("SELECT key_id FROM vault_data_keys")).scalars().all() == ["k-1"]
        assert conn.execute(text("SELECT count(*) FROM keystore_alembic_version")).scalar_one() == 1


def _snapshot(engine: Engine) -> dict[str, Any]:
    """Tables with their columns, indexes and constraints, as the database reports them."""
    inspector = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        out[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "indexes": sorted((i["name"] or "", tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            "unique": sorted(u["name"] or "" for u in inspector.get_unique_constraints(table)),
            "pk": inspector.get_pk_constraint(table)["constrained_columns"],
        }
    return out


def test_audit_revision_sequences_old_events_and_goes_back(
    fresh_engines: dict[migrations.Tree, Engine],
) -> None:
    """0002 gives events written under 0001 their leaves in arrival order; going back keeps the events."""
    main = fresh_engines["main"]
    migrations.upgrade(main, "main", "0001_main")
    with main.begin() as conn:
        for n in range(20):
            conn.execute(
                text(
                    "INSERT INTO access_events (ts, actor_id, actor_kind, actor_role, action, customer_id, fields, "
                    "channel, outcome) VALUES (:t, :a, 'staff', 'cs_agent', 'view', :c, 'name|mobile', 'api', 'ok')"
                ),
                {"t": datetime(2026, 11, 1, 8, 0, n, tzinfo=UTC), "a": f"staff-{n}", "c": f"c{n:07d}"},
            )
    migrations.upgrade(main, "main")
    with main.connect() as conn:
        rows = conn.execute(text("SELECT leaf_index, actor_id, leaf_hash FROM access_events ORDER BY leaf_index")).all()
        nodes = conn.execute(text("SELECT level, idx, hash FROM audit_nodes")).all()
    assert [(r[0], r[1]) for r in rows] == [(n, f"staff-{n}") for n in range(20)]
    assert [(level, idx) for level, idx, _hash in nodes] == [(4, 0)]
    assert bytes(nodes[0][2]) == merkle.root_from_leaf_hashes([bytes(r[2]) for r in rows[:16]])
    assert _diff(main, "main") == []

    migrations.downgrade(main, "main", "0001_main")
    assert _current(main, "main") == "0001_main"
    with main.connect() as conn:
        back = conn.execute(text("SELECT seq, actor_id FROM access_events ORDER BY seq")).all()
    assert [(r[0], r[1]) for r in back] == [(n + 1, f"staff-{n}") for n in range(20)]
    assert "audit_nodes" not in inspect(main).get_table_names()

    migrations.upgrade(main, "main")
    assert _diff(main, "main") == []


def test_bucketed_index_revision_goes_both_ways(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    """0003 swaps the two single-column indexes for the bucketed one; going back restores them."""
    main = fresh_engines["main"]

    def indexes() -> set[str]:
        names = {str(i["name"]) for i in inspect(main).get_indexes("access_events")}
        if _index_definition(main, "ix_access_events_bucket_customer") is not None:
            names.add("ix_access_events_bucket_customer")  # not reflected on SQLite
        return names

    migrations.upgrade(main, "main", "0002_audit")
    assert indexes() == {"ix_access_events_customer", "ix_access_events_actor"}
    migrations.upgrade(main, "main")
    assert indexes() == {"ix_access_events_bucket_customer"}
    migrations.downgrade(main, "main", "0002_audit")
    assert indexes() == {"ix_access_events_customer", "ix_access_events_actor"}
    migrations.upgrade(main, "main")
    assert _diff(main, "main") == []


def test_scam_reports_revision_goes_both_ways(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    """0004 adds scam_reports with its two indexes; going back drops them and nothing else."""
    main = fresh_engines["main"]
    migrations.upgrade(main, "main", "0003_buckets")
    before = _snapshot(main)
    assert "scam_reports" not in before

    migrations.upgrade(main, "main")
    assert {name for name, _columns in _snapshot(main)["scam_reports"]["indexes"]} == {
        "ix_scam_reports_contacted_at",
        "ix_scam_reports_customer_id",
    }
    with main.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO scam_reports (report_id, reported_at, customer_id, contacted_at, channel, knew, "
                "loss_hundredths, currency, received_at, received_by) "
                "VALUES ('r-1', :t, 'c1', :t, 'call', 'name', 4720000, 'CNY', :t, 'cli')"
            ),
            {"t": datetime(2016, 7, 15, 6, 3, tzinfo=UTC)},
        )

    migrations.downgrade(main, "main", "0003_buckets")
    assert _current(main, "main") == "0003_buckets"
    assert _snapshot(main) == before

    migrations.upgrade(main, "main")
    assert _diff(main, "main") == []
    with main.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM scam_reports")).scalar_one() == 0


def test_canary_and_warning_revisions_go_both_ways(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    """0005 adds canaries and canary_hits, 0006 warnings; each downgrade drops its own and nothing else."""
    main = fresh_engines["main"]
    migrations.upgrade(main, "main", "0004_scam_reports")
    before_canaries = _snapshot(main)
    migrations.upgrade(main, "main", "0005_canaries")
    before_warnings = _snapshot(main)
    assert set(before_warnings) - set(before_canaries) == {"canaries", "canary_hits"}
    assert before_warnings["canary_hits"]["unique"] == ["uq_canary_hits_report_id"]

    migrations.upgrade(main, "main", "0006_warnings")
    assert set(_snapshot(main)) - set(before_warnings) == {"warnings"}
    assert _snapshot(main)["warnings"]["unique"] == ["uq_warnings_case_customer"]
    now = datetime(2016, 7, 20, tzinfo=UTC)
    with main.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO warnings (warning_id, customer_id, reason, template, case_id, status, created_at) "
                "VALUES ('w-1', 'c1', 'breach_exposure', 'anti_scam_v1', 'case-1', 'queued', :t)"
            ),
            {"t": now},
        )

    migrations.downgrade(main, "main", "0005_canaries")
    assert _current(main, "main") == "0005_canaries"
    assert _snapshot(main) == before_warnings
    migrations.downgrade(main, "main", "0004_scam_reports")
    assert _snapshot(main) == before_canaries

    migrations.upgrade(main, "main")
    assert _diff(main, "main") == []
    with main.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM warnings")).scalar_one() == 0


def test_security_alerts_revision_goes_both_ways(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    """0007 adds security_alerts, de-duplicated by a unique key; its downgrade drops it and nothing else."""
    main = fresh_engines["main"]
    migrations.upgrade(main, "main", "0006_warnings")
    before = _snapshot(main)
    migrations.upgrade(main, "main", "0007_security_alerts")
    after = _snapshot(main)
    assert set(after) - set(before) == {"security_alerts"}
    assert after["security_alerts"]["unique"] == ["uq_security_alerts_dedup_key"]
    row = (
        "INSERT INTO security_alerts (alert_id, kind, actor_id, raised_at, last_seen_at, occurrences, status, "
        "reason, details, dedup_key) VALUES (:id, 'search_limit', 'p-1', :t, :t, 1, 'open', 'r', '{}', 'k-1')"
    )
    now = datetime(2026, 12, 2, tzinfo=UTC)
    with main.begin() as conn:
        conn.execute(text(row), {"id": "a-1", "t": now})
    with pytest.raises(IntegrityError), main.begin() as conn:
        conn.execute(text(row), {"id": "a-2", "t": now})

    migrations.downgrade(main, "main", "0006_warnings")
    assert _snapshot(main) == before
    migrations.upgrade(main, "main")
    assert _diff(main, "main") == []


def test_notifications_revision_goes_both_ways(fresh_engines: dict[migrations.Tree, Engine]) -> None:
    """0009 adds the notification settings and the outbox; a producer cannot queue one message twice;
    its downgrade drops both and nothing else."""
    main = fresh_engines["main"]
    migrations.upgrade(main, "main", "0008_canary_misses")
    before = _snapshot(main)
    migrations.upgrade(main, "main", "0009_notifications")
    after = _snapshot(main)
    assert set(after) - set(before) == {"notification_settings", "notifications"}
    assert after["notifications"]["unique"] == ["uq_notifications_source"]
    row = (
        "INSERT INTO notifications (notification_id, customer_id, event, channel, details, source, source_ref, "
        "occurred_at, created_at, state, due_at, attempts) VALUES (:id, 'c-1', 'refund.issued', 'sms', '{}', "
        "'api', 'r-1', :t, :t, 'queued', :t, 0)"
    )
    now = datetime(2026, 12, 5, tzinfo=UTC)
    with main.begin() as conn:
        conn.execute(text(row), {"id": "n-1", "t": now})
    with pytest.raises(IntegrityError), main.begin() as conn:
        conn.execute(text(row), {"id": "n-2", "t": now})

    migrations.downgrade(main, "main", "0008_canary_misses")
    assert _snapshot(main) == before
    migrations.upgrade(main, "main")
    assert _diff(main, "main") == []


def test_notification_intents_revision_moves_placeholders_both_ways(
    fresh_engines: dict[migrations.Tree, Engine],
) -> None:
    """0010 moves the hot path's placeholder outbox rows (channel ``*``) still to be expanded into
    ``notification_intents`` and drops the expanded markers; its downgrade puts them back."""
    main = fresh_engines["main"]
    migrations.upgrade(main, "main", "0009_notifications")
    before = _snapshot(main)
    row = (
        "INSERT INTO notifications (notification_id, customer_id, event, channel, details, source, source_ref, "
        "occurred_at, created_at, state, due_at, attempts) VALUES (:id, :c, 'data.revealed', :ch, '{}', "
        "'reveal', :ref, :t, :t, :state, :t, 0)"
    )
    now = datetime(2026, 12, 5, tzinfo=UTC)
    with main.begin() as conn:
        for values in (
            {"id": "n-1", "c": "c-1", "ch": "*", "ref": "r-1", "state": "queued"},
            {"id": "n-2", "c": "c-2", "ch": "*", "ref": "r-2", "state": "expanded"},
            {"id": "n-3", "c": "c-2", "ch": "email", "ref": "r-2", "state": "sent"},
        ):
            conn.execute(text(row), {**values, "t": now})

    migrations.upgrade(main, "main", "0010_notification_intents")
    with main.connect() as conn:
        moved = conn.execute(text("SELECT customer_id, source_ref FROM notification_intents")).all()
        left = conn.execute(text("SELECT notification_id FROM notifications")).scalars().all()
    assert [tuple(r) for r in moved] == [("c-1", "r-1")]
    assert left == ["n-3"]

    migrations.downgrade(main, "main", "0009_notifications")
    assert _snapshot(main) == before
    with main.connect() as conn:
        back = conn.execute(text("SELECT customer_id, channel, state FROM notifications ORDER BY customer_id")).all()
    assert [tuple(r) for r in back] == [("c-1", "*", "queued"), ("c-2", "email", "sent")]
    migrations.upgrade(main, "main")
    assert _diff(main, "main") == []
