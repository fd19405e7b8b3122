"""A refusal whose access event the database will not take (issue 11, item 4).

The red team's PostgreSQL attack: a courier's denied read with a 60-character X-Forwarded-For made
the event's insert fail (source_ip is 45 characters); the transaction was neither committed nor
rolled back, its connection went back to the pool in an aborted transaction, and the next innocent
requests on it failed with InFailedSqlTransaction. The forwarded address can no longer be that
long (tests/test_edge.py), so the fault is made here by the database itself, as a rejected value
would make it: a trigger that refuses the events of one principal. Nothing in ShopShield is
replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from shopshield.bootstrap import Container
from shopshield.core.db import RefusalNotRecorded, Tx, transaction, unit_of_work
from shopshield.core.errors import AccessDenied
from shopshield.core.events import AccessEvent
from testkit.factories import customer, order
from tests.support.audit_history import checkpoint, verify
from tests.support.events import stored_events
from tests.support.world import World

ROUNDS = 8


@contextmanager
def events_refused_for(container: Container, actor_id: str) -> Iterator[None]:
    """While open, the database refuses to insert any access event of ``actor_id``."""
    engine = container.engine
    if engine.dialect.name == "sqlite":
        create = [
            "CREATE TRIGGER refuse_events BEFORE INSERT ON access_events "
            f"WHEN NEW.actor_id = '{actor_id}' BEGIN SELECT RAISE(ABORT, 'event refused'); END"
        ]
        drop = ["DROP TRIGGER refuse_events"]
    else:
        create = [
            "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'event refused'; END $$",
            "CREATE TRIGGER refuse_events BEFORE INSERT ON access_events FOR EACH ROW "
            f"WHEN (NEW.actor_id = '{actor_id}') EXECUTE FUNCTION refuse_event()",
        ]
        # The PostgreSQL schema outlives the test (tables are truncated between tests).
        drop = ["DROP TRIGGER refuse_events ON access_events", "DROP FUNCTION refuse_event()"]
    with engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def _event(actor: str, outcome: str = "denied") -> AccessEvent:
    return AccessEvent(
        actor_id=actor, actor_kind="courier", actor_role="courier", action="view", channel="api", outcome=outcome
    )


def _refuse_in_transaction(container: Container) -> None:
    with transaction(container.engine) as tx:
        container.audit.append(tx, _event("poisoned"), now=datetime.now(UTC))
        raise AccessDenied("refused")


def _refuse_in_unit_of_work(container: Container) -> None:
    with unit_of_work(container.sessions) as session:
        container.audit.append(Tx.of_session(session), _event("poisoned"), now=datetime.now(UTC))
        raise AccessDenied("refused")


def test_a_refusal_that_cannot_be_recorded_fails_and_leaves_the_pool_clean(world: World) -> None:
    """The attack over HTTP: denied courier reads whose events the database refuses, each followed
    by an innocent agent's read on the same pool. Every innocent read succeeds; every refusal is
    answered 500 (it is not on record, so it must not look like a 403), and none is stored."""
    body = customer(1)
    assert world.post("service", "/v1/customers", body).status_code == 201
    other = customer(2)
    assert world.post("service", "/v1/customers", other).status_code == 201
    placed = order(2, other["customer_id"], other["addresses"][0]["address_id"], courier="k-999")
    assert world.post("service", "/v1/orders", placed).status_code == 201
    cid = body["customer_id"]
    courier = world.ids["courier"]

    with events_refused_for(world.container, courier):
        for n in range(ROUNDS):
            refused = world.get("courier", f"/v1/customers/{cid}")
            assert refused.status_code == 500, refused.text
            assert refused.json()["error"] == "internal_error"
            innocent = world.get("agent", f"/v1/customers/{cid}")
            assert innocent.status_code == 200, innocent.text
            # A read through the order route and a write (the ORM's unit of work) on the same pool.
            assert world.get("agent", f"/v1/orders/{placed['order_id']}").status_code == 200
            assert world.post("service", "/v1/customers", customer(10 + n)).status_code == 201
        # An access report refused to a role without the permission: a sync route's transaction.
        refused_report = world.get("courier", f"/v1/customers/{cid}/access-report")
        assert refused_report.status_code == 500, refused_report.text
        for _ in range(ROUNDS):
            assert world.get("agent", f"/v1/customers/{cid}").status_code == 200

    assert stored_events(world.container, actor_id=courier) == []
    assert len(stored_events(world.container, actor_id=world.ids["agent"], outcome="ok")) == 3 * ROUNDS
    # Once the database takes the courier's events again, the refusal is a recorded 403 as before.
    assert world.get("courier", f"/v1/customers/{cid}").status_code == 403
    assert [e.outcome for e in stored_events(world.container, actor_id=courier)] == ["denied"]
    # The tree has no gap where the unrecorded refusals would have been.
    checkpoint(world.container)
    assert verify(world.container).ok


def test_transaction_rolls_back_a_refusal_it_cannot_record(container: Container) -> None:
    """``db.transaction`` directly: the refusal becomes RefusalNotRecorded, and every connection the
    pool hands out afterwards is usable."""
    with events_refused_for(container, "poisoned"):
        for _ in range(ROUNDS):
            with pytest.raises(RefusalNotRecorded):
                _refuse_in_transaction(container)
            with transaction(container.engine) as tx:
                container.audit.append(tx, _event("innocent", "ok"), now=datetime.now(UTC))
    assert [e.actor_id for e in stored_events(container)] == ["innocent"] * ROUNDS


def test_unit_of_work_rolls_back_a_refusal_it_cannot_record(container: Container) -> None:
    with events_refused_for(container, "poisoned"):
        for _ in range(ROUNDS):
            with pytest.raises(RefusalNotRecorded):
                _refuse_in_unit_of_work(container)
            with unit_of_work(container.sessions) as session:
                container.audit.append(Tx.of_session(session), _event("innocent", "ok"), now=datetime.now(UTC))
    assert [e.actor_id for e in stored_events(container)] == ["innocent"] * ROUNDS
