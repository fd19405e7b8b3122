"""Canaries look like customers to every role without ``canaries.read`` (issue 11, item 3).

Each test does what the red team did with roles that may not know the canaries: compare a canary's
access report with a real customer's, read its masked e-mail, search the number block, and watch
what a contact check costs. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from shopshield.bootstrap import Container
from shopshield.canary.models import CanaryHitRow, CanaryRow
from shopshield.canary.watch import CanaryWatch
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Base, Statement, Tx, transaction, unit_of_work
from shopshield.principals import service as principals
from shopshield.settings import Settings
from shopshield.vault import service as vault_service
from tests.support.events import stored_events
from tests.support.world import World, make_world

# A block of 100 numbers, small enough for a test to search all of it as the red team did.
PREFIX = "170000000"
BLOCK = [f"{PREFIX}{n:02d}" for n in range(100)]
DOMAIN = "canary.example.cn"
EXPORT = {"x-shopshield-channel": "export"}


@pytest.fixture
def world(container: Container, settings: Settings) -> Iterator[World]:
    container.settings = settings.model_copy(update={"canary_mobile_prefix": PREFIX, "canary_email_domain": DOMAIN})
    w = make_world(container)
    yield w
    w.client.close()


def plant(world: World, recipient: str = "partner-sf", count: int = 1) -> list[str]:
    response = world.post("analyst", "/v1/canaries", {"recipient": recipient, "count": count})
    assert response.status_code == 201, response.text
    return list(response.json()["customer_ids"])


def export(world: World, recipient: str = "partner-sf") -> list[dict[str, Any]]:
    response = world.get("analyst", "/v1/canaries/export", params={"recipient": recipient})
    assert response.status_code == 200, response.text
    return list(response.json()["rows"])


def store_real(world: World, n: int, *, email: str) -> tuple[str, str, str]:
    """A real customer as the store's backend writes one: customer, an order, a return. Returns the
    customer id, the order id and the mobile."""
    customer_id, address_id, order_id, mobile = f"c9{n:09d}", f"a9{n:09d}", f"o9{n:011d}", f"1391234{n:04d}"
    body = {
        "customer_id": customer_id,
        "name": "刘杰",
        "mobile": mobile,
        "email": email,
        "addresses": [
            {
                "address_id": address_id,
                "recipient": "刘杰",
                "phone": mobile,
                "province": "广东省",
                "city": "广州市",
                "district": "天河区",
                "street": "天河路 385 号 3 栋 1201 室",
            }
        ],
    }
    assert world.post("service", "/v1/customers", body).status_code == 201
    placed = {
        "order_id": order_id,
        "customer_id": customer_id,
        "merchant_id": "store",
        "address_id": address_id,
        "placed_at": "2016-07-02T20:15:00+08:00",
        "status": "delivered",
        "items": [{"title": "丝绒哑光口红", "model": "#999 正红", "price": "229.00", "quantity": 1}],
    }
    assert world.post("service", "/v1/orders", placed).status_code == 201
    returned = {"kind": "refund", "requested_at": "2016-07-09T10:00:00+08:00", "reason": "颜色与图片不符"}
    assert world.post("service", f"/v1/orders/{order_id}/returns", returned).status_code == 201
    return customer_id, order_id, mobile


def report_shape(world: World, who: str, customer_id: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    """What a report reader sees of who touched the customer, without the times and leaf indexes."""
    response = world.get(who, f"/v1/customers/{customer_id}/access-report")
    assert response.status_code == 200, response.text
    body = response.json()
    items = [
        (
            i["actor"]["id"],
            i["actor"]["role"],
            i["actor"]["kind"],
            i["action"],
            tuple(i["fields"]),
            i["purpose"],
            i["ticket_id"],
            i["channel"],
            i["outcome"],
        )
        for i in body["items"]
    ]
    return items, body["summary"]["actor_roles"]


# -- who wrote and who read a canary ---------------------------------------------------------------


def test_a_canarys_access_report_has_the_shape_of_a_real_customers(world: World) -> None:
    [canary] = plant(world)
    real, real_order, _mobile = store_real(world, 1, email="liujie@corp-example.cn")
    # The recipient's feed: the analyst hands out the canary's rows, and the store's export job
    # reads the real customer in it as the backend, over the export channel.
    [row] = export(world)
    for path in (f"/v1/customers/{real}", f"/v1/orders/{real_order}"):
        assert world.client.get(path, headers=world.headers("service") | EXPORT).status_code == 200

    for reader in ("supervisor", "service"):
        seen_canary = report_shape(world, reader, canary)
        seen_real = report_shape(world, reader, real)

        assert seen_canary == seen_real, reader
        actors = {item[0] for item in seen_canary[0]}
        assert world.ids["analyst"] not in actors
        writes = [item for item in seen_canary[0] if item[3] == "write"]
        assert [(w[0], w[2], w[7]) for w in writes] == [(world.ids["service"], "service", "api")] * 3
        assert "export" not in {item[3] for item in seen_canary[0]}
    assert row["customer_id"] == canary


def test_planting_and_exporting_stay_on_record_under_the_analyst_without_naming_a_canary(world: World) -> None:
    planted = plant(world, count=2)

    rows = export(world)

    analyst = stored_events(world.container, actor_id=world.ids["analyst"])
    assert [(e.action, e.customer_id, e.outcome) for e in analyst] == [("plant", None, "ok"), ("export", None, "ok")]
    assert all("partner-sf" in (e.reason or "") for e in analyst)
    assert analyst[1].fields == "name|mobile|email|region|street|items|returns"
    # Each canary read is still an event of its own, about that canary.
    reads = stored_events(world.container, action="view", channel="export")
    assert sorted({e.customer_id or "" for e in reads}) == sorted(planted) == sorted(r["customer_id"] for r in rows)
    listed = world.get("analyst", "/v1/canaries").json()["canaries"]
    assert {c["planted_by"] for c in listed} == {world.ids["analyst"]}
    assert world.get("supervisor", "/v1/canaries").status_code == 403


def test_planting_names_the_backend_when_the_store_has_several(world: World, container: Container) -> None:
    with unit_of_work(container.sessions) as session:
        principals.create(session=session, policies=container.policies, name="telephony", role="service")

    refused = world.post("analyst", "/v1/canaries", {"recipient": "partner-sf"})
    container.settings = container.settings.model_copy(update={"canary_backend": "service"})
    planted = plant(world)

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "not_configured"
    assert "SHOPSHIELD_CANARY_BACKEND" in refused.json()["message"]
    writes = stored_events(world.container, action="write", customer_id=planted[0])
    assert {e.actor_id for e in writes} == {world.ids["service"]}


# -- masks -----------------------------------------------------------------------------------------


def test_a_canarys_masked_email_does_not_show_the_canary_domain(world: World) -> None:
    [canary] = plant(world)
    company, _, _ = store_real(world, 1, email="liujie@corp-example.cn")
    public, _, _ = store_real(world, 2, email="liujie@qq.com")

    seen = {who: world.get(who, f"/v1/customers/{canary}") for who in ("agent", "supervisor", "partner")}

    for who, response in seen.items():
        assert response.status_code == 200, (who, response.text)
        assert "canary" not in response.text.lower(), who
    masked = seen["agent"].json()["email"]
    assert re.fullmatch(r"[^@]\*\*\*@\*\*\*\.cn", masked), masked
    # A customer with a company address looks the same; a public provider's domain stays readable.
    assert re.fullmatch(r"l\*\*\*@\*\*\*\.cn", world.get("agent", f"/v1/customers/{company}").json()["email"])
    assert world.get("agent", f"/v1/customers/{public}").json()["email"] == "l***@qq.com"


# -- search ----------------------------------------------------------------------------------------


def hits(world: World) -> list[dict[str, Any]]:
    response = world.get("analyst", "/v1/canaries/hits")
    assert response.status_code == 200, response.text
    return list(response.json()["hits"])


def test_searching_the_number_block_raises_a_hit_per_canary_naming_the_searcher(world: World) -> None:
    # The store backend's token is the one that may still search a whole block within its limits
    # (decision 0015 stops people's roles after a few misses): as if it had leaked.
    planted = plant(world, "partner-a", 3)
    _real, _order, real_mobile = store_real(world, 1, email="liujie@corp-example.cn")
    [looks_like] = world.post("service", "/v1/customers/search", {"mobile": real_mobile}).json()["customers"]

    found: dict[str, dict[str, Any]] = {}
    for number in BLOCK:
        response = world.post("service", "/v1/customers/search", {"mobile": number})
        assert response.status_code == 200, response.text
        for customer in response.json()["customers"]:
            found[customer["customer_id"]] = customer

    assert sorted(found) == sorted(planted)
    for customer in found.values():
        assert set(customer) == set(looks_like)
        assert (customer["masked"], customer["revealable"]) == (looks_like["masked"], looks_like["revealable"])
    recorded = hits(world)
    assert sorted((h["customer_id"], h["recipient"], h["source"], h["recorded_by"]) for h in recorded) == sorted(
        (c, "partner-a", "search", world.ids["service"]) for c in planted
    )
    assert {(h["channel"], h["note"], h["report_id"]) for h in recorded} == {(None, None, None)}


def test_an_agent_answering_a_call_from_a_canarys_number_raises_a_hit_and_sees_a_customer(world: World) -> None:
    [canary] = plant(world)
    [row] = export(world)
    _real, _order, real_mobile = store_real(world, 1, email="liujie@corp-example.cn")

    seen = world.post("agent", "/v1/customers/search", {"mobile": row["mobile"], "purpose": "inbound_call"})
    real = world.post("agent", "/v1/customers/search", {"mobile": real_mobile, "purpose": "inbound_call"})

    assert seen.status_code == real.status_code == 200
    [customer], [other] = seen.json()["customers"], real.json()["customers"]
    assert customer["customer_id"] == canary
    assert {k: v for k, v in customer.items() if k in ("masked", "revealable")} == {
        k: v for k, v in other.items() if k in ("masked", "revealable")
    }
    assert set(customer) == set(other)
    assert [(h["customer_id"], h["source"], h["recorded_by"]) for h in hits(world)] == [
        (canary, "search", world.ids["agent"])
    ]


def test_a_search_by_email_that_finds_a_canary_is_a_hit_for_any_role(world: World) -> None:
    [canary] = plant(world)
    [row] = export(world)
    _real, _order, real_mobile = store_real(world, 1, email="liujie@corp-example.cn")

    by_supervisor = world.post("supervisor", "/v1/customers/search", {"email": row["email"]})
    by_backend = world.get("service", "/v1/customers", params={"mobile": row["mobile"]})
    of_a_customer = world.post("supervisor", "/v1/customers/search", {"mobile": real_mobile})

    assert [c["customer_id"] for c in by_supervisor.json()["customers"]] == [canary]
    assert [c["customer_id"] for c in by_backend.json()["customers"]] == [canary]
    assert len(of_a_customer.json()["customers"]) == 1
    assert [(h["customer_id"], h["source"], h["recorded_by"]) for h in hits(world)] == [
        (canary, "search", world.ids["supervisor"]),
        (canary, "search", world.ids["service"]),
    ]


# -- what a contact check costs --------------------------------------------------------------------


def _row_counts(container: Container) -> dict[str, int]:
    with unit_of_work(container.sessions) as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


@contextmanager
def executed(container: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement run on the main and key-store databases meanwhile: through SQLAlchemy
    (the ORM, Core) and through ``db.Tx`` on the driver connections (which SQLAlchemy never sees)."""
    seen: list[str] = []

    def on_cursor(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    def spy(original: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(tx: Tx, statement: Statement[Any], params: Any) -> Any:
            seen.append(statement.sql)
            return original(tx, statement, params)

        return recorded

    with monkeypatch.context() as patched:
        patched.setattr(Tx, "execute", spy(Tx.execute))
        patched.setattr(Tx, "many", spy(Tx.many))
        engines = (container.engine, container.keystore_engine)
        for engine in engines:
            event.listen(engine, "before_cursor_execute", on_cursor)
        try:
            yield seen
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", on_cursor)


def _comparable(statements: list[str]) -> list[str]:
    # Left out: the stored Merkle nodes an append adds depend on the new leaf's position in the log,
    # not on the check; and the token lookup depends on whether the token is still cached.
    return [s for s in statements if "audit_nodes" not in s and "FROM principals" not in s]


@pytest.mark.parametrize("by", ["mobile", "customer_id"])
def test_a_contact_check_does_the_same_database_work_for_a_canary_as_for_any_other_number(
    world: World, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    [canary] = plant(world)
    [row] = export(world)
    real, _order, real_mobile = store_real(world, 1, email="liujie@qq.com")
    targets = {
        "canary": row[by],
        "customer": real_mobile if by == "mobile" else real,
        "unknown": "13900000000" if by == "mobile" else "c0000000001",
    }
    note = {"contacted_at": "2016-07-15T14:03:00+08:00", "channel": "call", "note": "自称客服，说退款失败"}
    # The first check pays for the agent's token lookup and warms caches; it is not compared.
    warm_up = "13700000000" if by == "mobile" else "c-warm-up"
    assert world.post("agent", "/v1/canaries/contacts", {by: warm_up} | note).status_code == 200

    work = {}
    for label, target in targets.items():
        before = _row_counts(world.container)
        with executed(world.container, monkeypatch) as statements:
            response = world.post("agent", "/v1/canaries/contacts", {by: target} | note)
        after = _row_counts(world.container)
        written = {table: after[table] - before[table] for table in after if after[table] != before[table]}
        work[label] = (response.status_code, response.json(), _comparable(statements), written)

    assert work["canary"] == work["customer"] == work["unknown"]
    status, body, statements, written = work["canary"]
    assert (status, body) == (200, {"received": True})
    assert written == {"canary_hits": 1, "access_events": 1}
    assert any(s.lstrip().upper().startswith("INSERT INTO CANARY_HITS") for s in statements)
    # Only the canary's check is a hit; the others are kept without a canary and never listed.
    assert [(h["customer_id"], h["recorded_by"], h["note"]) for h in hits(world)] == [
        (canary, world.ids["agent"], note["note"])
    ]
    with unit_of_work(world.container.sessions) as session:
        assert session.scalar(select(func.count()).select_from(CanaryRow)) == 1
        kept = session.scalars(select(CanaryHitRow).where(CanaryHitRow.customer_id.is_(None))).all()
    assert len(kept) == 3 and all(k.note_ct is None for k in kept)
    checks = stored_events(world.container, actor_id=world.ids["agent"], reason="canary check")
    assert [(e.customer_id, e.outcome) for e in checks[1:]] == [(canary, "ok"), (None, "no_match"), (None, "no_match")]


def test_a_search_that_finds_a_canary_does_the_same_work_before_its_answer_as_one_that_finds_a_customer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    [canary] = plant(world)
    [row] = export(world)
    _real, _order, real_mobile = store_real(world, 1, email="liujie@qq.com")
    container = world.container
    backend = Caller(Principal(world.ids["service"], "service", "service", "service", None))

    def search(mobile: str) -> tuple[list[str], list[str], dict[str, int]]:
        # What the route does before it answers: the search's own transaction, committed.
        before = _row_counts(container)
        with executed(container, monkeypatch) as statements, transaction(container.engine) as tx:
            found = vault_service.search(vault=container.vault, tx=tx, caller=backend, by="mobile", value=mobile)
        after = _row_counts(container)
        written = {table: after[table] - before[table] for table in after if after[table] != before[table]}
        return [c["customer_id"] for c in found], _comparable(statements), written

    search(real_mobile)  # warms the data key cache
    found_canary, canary_work, canary_written = search(row["mobile"])
    found_real, real_work, real_written = search(real_mobile)

    assert (found_canary, found_real) == ([canary], [_real])
    assert canary_work == real_work
    assert canary_written == real_written == {"access_events": 1}
    assert hits(world) == []
    # The hit is written once the answer is out: over HTTP, by the route's background task.
    watch = container.vault.canary_watch
    assert isinstance(watch, CanaryWatch)  # the vault sees only its SearchWatch protocol
    watch.flush(container.engine)
    assert [(h["customer_id"], h["source"], h["recorded_by"]) for h in hits(world)] == [
        (canary, "search", world.ids["service"])
    ]
    watch.flush(container.engine)
    assert len(hits(world)) == 1


def test_a_hit_is_logged_for_security_staff_after_it_is_committed(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    [canary] = plant(world, "partner-a")
    [row] = export(world, "partner-a")

    with caplog.at_level("WARNING", logger="shopshield"):
        response = world.post("agent", "/v1/canaries/contacts", {"mobile": row["mobile"], "note": "退款"})
        world.post("agent", "/v1/customers/search", {"mobile": row["mobile"], "purpose": "inbound_call"})

    assert response.json() == {"received": True}
    lines = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "canary hit" in r.getMessage()]
    assert len(lines) == 2
    assert all(canary in line and "partner-a" in line for line in lines)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("shopshield")]
    assert not any(row["mobile"] in line or "退款" in line for line in ours)
