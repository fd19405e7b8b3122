"""Building a logged history for audit tests: customers, views by several roles, checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from shopshield.audit.service import StoredCheckpoint
from shopshield.audit.verify import Report, verify_log
from shopshield.bootstrap import Container
from shopshield.core.db import transaction
from testkit.factories import customer
from tests.support.world import World


@dataclass
class History:
    customer_ids: list[str]
    checkpoints: list[StoredCheckpoint]


def log_views(world: World, customer_ids: list[str], count: int) -> None:
    for n in range(count):
        who = ("agent", "supervisor", "analyst")[n % 3]
        response = world.get(who, f"/v1/customers/{customer_ids[n % len(customer_ids)]}")
        assert response.status_code == 200, response.text


def checkpoint(container: Container) -> StoredCheckpoint:
    made = container.checkpointer().tick()
    assert made is not None
    return made


def build_history(world: World, *, customers: int = 3, first: int = 30, second: int = 20) -> History:
    """Stores customers, logs ``first`` views, checkpoints, logs ``second`` more, checkpoints."""
    ids = []
    for n in range(1, customers + 1):
        body = customer(n)
        assert world.post("service", "/v1/customers", body).status_code == 201
        ids.append(body["customer_id"])
    log_views(world, ids, first)
    one = checkpoint(world.container)
    log_views(world, ids, second)
    two = checkpoint(world.container)
    return History(ids, [one, two])


def verify(container: Container) -> Report:
    with transaction(container.engine, read_only=True) as tx:
        return verify_log(tx, verifier=container.audit.signer.verifier, witness=container.witness)
