"""Canaries over HTTP, on SQLite and PostgreSQL: planted through the vault, unique per recipient,
named by a contact or a scam report, and only security staff told which customers they are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from shopshield.bootstrap import Container
from shopshield.canary.models import CanaryHitRow, CanaryRow
from shopshield.core.db import unit_of_work
from shopshield.core.normalize import normalize_mobile
from shopshield.settings import Settings
from shopshield.vault.models import CustomerRow
from testkit import factories
from tests.support.events import stored_events
from tests.support.plaintext_scan import Scanner, pg_dump, read_dir
from tests.support.scam_reports import report
from tests.support.world import World, make_world

PREFIX = "1700000"
PATH = "/v1/canaries"


@pytest.fixture
def world(container: Container, settings: Settings) -> Iterator[World]:
    container.settings = settings.model_copy(
        update={"canary_mobile_prefix": PREFIX, "canary_email_domain": "canary.example.cn"}
    )
    w = make_world(container)
    yield w
    w.client.close()


def plant(world: World, recipient: str, count: int = 3, **extra: Any) -> list[str]:
    response = world.post("analyst", PATH, {"recipient": recipient, "count": count, **extra})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["recipient"] == recipient
    return list(body["customer_ids"])


def export(world: World, recipient: str) -> list[dict[str, Any]]:
    response = world.get("analyst", f"{PATH}/export", params={"recipient": recipient})
    assert response.status_code == 200, response.text
    return list(response.json()["rows"])


def count(world: World, table: type[Any]) -> int:
    with unit_of_work(world.container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def contact(world: World, who: str, body: dict[str, Any]) -> Any:
    return world.post(who, f"{PATH}/contacts", body)


def test_canaries_are_vault_customers_with_an_order_and_a_return(world: World) -> None:
    ids = plant(world, "partner-sf", 3, merchant_id="m-001", courier_id="k-001")

    rows = export(world, "partner-sf")

    assert sorted(r["customer_id"] for r in rows) == sorted(ids)
    for row in rows:
        assert row["mobile"].startswith(PREFIX) and len(row["mobile"]) == 11
        assert normalize_mobile(row["mobile"]) == row["mobile"]
        assert row["email"].endswith("@canary.example.cn")
        assert row["name"] and all("\u4e00" <= ch <= "\u9fff" for ch in row["name"])
        assert row["province"] and row["city"] and row["district"] and "号" in row["street"]
        assert row["items"] and float(row["amount"]) > 0 and row["currency"] == "CNY"
        assert row["return_kind"] in {"return", "refund"} and row["return_reason"]
        assert row["placed_at"] < row["return_requested_at"]
        assert set(row) == {
            "customer_id", "name", "mobile", "email", "province", "city", "district", "street", "order_id",
            "placed_at", "items", "amount", "currency", "return_kind", "return_requested_at", "return_reason",
        }  # fmt: skip
    # Stored through the vault like any customer: the store's backend sees the same values, and the
    # courier of the decoy order reaches it through its order, as it would a real one.
    first = rows[0]
    seen = world.get("service", f"/v1/customers/{first['customer_id']}").json()
    assert (seen["name"], seen["mobile"]) == (first["name"], first["mobile"])
    assert seen["addresses"][0]["street"] == first["street"]
    order = world.get("service", f"/v1/orders/{first['order_id']}").json()
    assert order["merchant_id"] == "m-001" and order["returns"][0]["reason"] == first["return_reason"]
    assert world.get("courier", f"/v1/customers/{first['customer_id']}").status_code == 200
    # Planting wrote like the vault writes, as the store's backend writes its customers (who
    # planted is in the canaries table, and in an event of the planter's about no customer).
    writes = stored_events(world.container, action="write")
    assert {e.customer_id for e in writes} == set(ids)
    assert {(e.actor_id, e.channel) for e in writes} == {(world.ids["service"], "api")}
    assert len(writes) == 3 * 3  # customer, order, return


def test_reading_export_rows_is_recorded_as_reads_of_each_canary_and_an_export_by_the_reader(world: World) -> None:
    ids = plant(world, "partner-sf", 2)

    export(world, "partner-sf")

    # Each canary is read as the store's export job reads a customer: the customer, then its order.
    reads = stored_events(world.container, action="view")
    assert sorted(e.customer_id or "" for e in reads) == sorted(ids * 2)
    assert {(e.actor_id, e.channel, e.outcome) for e in reads} == {(world.ids["service"], "export", "ok")}
    assert sorted(e.fields for e in reads) == sorted(
        ["name|mobile|email|recipient|phone|region|street", "items|returns|recipient|phone|region|street"] * 2
    )
    [exported] = stored_events(world.container, actor_id=world.ids["analyst"], action="export")
    assert (exported.customer_id, exported.reason) == (None, "export rows of 2 canaries for partner-sf")


def test_each_recipient_has_its_own_canaries_and_planting_again_adds_more(world: World) -> None:
    first = plant(world, "partner-a", 2)
    other = plant(world, "partner-b", 3)
    more = plant(world, "partner-a", 1)

    listed = {
        recipient: world.get("analyst", PATH, params={"recipient": recipient}).json()["canaries"]
        for recipient in ("partner-a", "partner-b")
    }

    assert sorted(c["customer_id"] for c in listed["partner-a"]) == sorted(first + more)
    assert sorted(c["customer_id"] for c in listed["partner-b"]) == sorted(other)
    assert {c["recipient"] for c in listed["partner-a"]} == {"partner-a"}
    everyone = world.get("analyst", PATH).json()["canaries"]
    assert len(everyone) == len({c["customer_id"] for c in everyone}) == 6
    mobiles = [r["mobile"] for recipient in ("partner-a", "partner-b") for r in export(world, recipient)]
    assert len(set(mobiles)) == 6


def test_a_full_number_block_plants_nothing(world: World) -> None:
    world.container.settings = world.container.settings.model_copy(update={"canary_mobile_prefix": "1700000000"})

    response = world.post("analyst", PATH, {"recipient": "partner-a", "count": 11})

    assert response.status_code == 409
    assert response.json()["error"] == "not_configured"
    assert "larger block" in response.json()["message"]
    assert count(world, CanaryRow) == count(world, CustomerRow) == 0


def test_planting_needs_the_number_block(world: World) -> None:
    world.container.settings = world.container.settings.model_copy(update={"canary_mobile_prefix": None})

    response = world.post("analyst", PATH, {"recipient": "partner-a"})

    assert response.status_code == 409
    assert "SHOPSHIELD_CANARY_MOBILE_PREFIX" in response.json()["message"]
    assert count(world, CustomerRow) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipient": "partner a"}, "body.recipient"),
        ({"recipient": "partner-a", "count": 0}, "body.count"),
        ({"recipient": "partner-a", "count": 101}, "body.count"),
        ({"recipient": "partner-a", "kind": "carrier-pigeon"}, "body.kind"),
        ({"recipient": "partner-a", "id_prefix": "9"}, "body.id_prefix"),
    ],
)
def test_bad_plant_requests_are_refused_with_a_reason(world: World, body: dict[str, Any], field: str) -> None:
    response = world.post("analyst", PATH, body)

    assert response.status_code == 422
    assert [p["loc"] for p in response.json()["problems"]] == [field]
    assert count(world, CustomerRow) == 0


def test_a_contact_names_the_recipient_by_any_spelling_of_the_number_or_by_customer_id(world: World) -> None:
    plant(world, "partner-a", 2)
    plant(world, "partner-b", 2)
    a_row, b_row = export(world, "partner-a")[0], export(world, "partner-b")[1]
    m = a_row["mobile"]

    by_mobile = contact(
        world,
        "analyst",
        {
            "mobile": f"+86 {m[:3]}-{m[3:7]}-{m[7:]}",
            "contacted_at": "2016-07-15T14:03:00+08:00",
            "channel": "call",
            "note": "说是退款失败，要求提供验证码",
        },
    )
    by_id = contact(world, "analyst", {"customer_id": b_row["customer_id"]})

    assert by_mobile.status_code == 200, by_mobile.text
    found = by_mobile.json()
    assert found | {"planted_at": None, "hit_id": None} == {
        "canary": True,
        "recipient": "partner-a",
        "kind": "export",
        "planted_at": None,
        "customer_id": a_row["customer_id"],
        "hit_id": None,
    }
    assert by_id.json()["recipient"] == "partner-b"
    assert by_id.json()["customer_id"] == b_row["customer_id"]
    hits = world.get("analyst", f"{PATH}/hits").json()["hits"]
    assert [(h["recipient"], h["source"], h["channel"], h["note"]) for h in hits] == [
        ("partner-a", "contact", "call", "说是退款失败，要求提供验证码"),
        ("partner-b", "contact", None, None),
    ]
    assert hits[0]["contacted_at"] == "2016-07-15T06:03:00Z"
    assert hits[0]["hit_id"] == found["hit_id"]
    assert [
        h["recipient"] for h in world.get("analyst", f"{PATH}/hits", params={"recipient": "partner-b"}).json()["hits"]
    ] == ["partner-b"]
    with unit_of_work(world.container.sessions) as session:
        sealed = session.scalars(select(CanaryHitRow.note_ct).where(CanaryHitRow.note_ct.is_not(None))).one()
    assert sealed is not None and "退款".encode() not in sealed
    checks = stored_events(world.container, actor_id=world.ids["analyst"], action="search")
    assert [(e.customer_id, e.fields, e.outcome, e.reason) for e in checks] == [
        (a_row["customer_id"], "mobile", "ok", "canary check"),
        (b_row["customer_id"], "", "ok", "canary check"),
    ]


def test_a_real_customer_or_an_unknown_number_is_no_canary(world: World) -> None:
    plant(world, "partner-a", 1)
    real = factories.customer(1)
    assert world.post("service", "/v1/customers", real).status_code == 201

    answers = [
        contact(world, "analyst", {"mobile": real["mobile"]}),
        contact(world, "analyst", {"customer_id": real["customer_id"]}),
        contact(world, "analyst", {"mobile": "13900000000"}),
    ]

    assert [(a.status_code, a.json()) for a in answers] == [(200, {"canary": False})] * 3
    assert world.get("analyst", f"{PATH}/hits").json()["hits"] == []
    with unit_of_work(world.container.sessions) as session:
        kept = session.scalars(select(CanaryHitRow)).all()
    # Kept so that every check writes the same (decision 0016), but without a canary: no hits.
    assert [(k.customer_id, k.recipient) for k in kept] == [(None, None)] * 3
    misses = stored_events(world.container, actor_id=world.ids["analyst"], action="search")
    # Recorded, but about no customer: the lookup runs among canaries only.
    assert [(e.customer_id, e.outcome) for e in misses] == [(None, "no_match")] * 3


def test_an_agent_reports_a_contact_but_is_not_told_whether_it_was_a_canary(world: World) -> None:
    [canary] = plant(world, "partner-a", 1)

    hit = contact(world, "agent", {"customer_id": canary, "channel": "sms"})
    miss = contact(world, "agent", {"customer_id": "c-real-1"})

    assert (hit.status_code, hit.json()) == (miss.status_code, miss.json()) == (200, {"received": True})
    [recorded] = world.get("analyst", f"{PATH}/hits").json()["hits"]
    assert (recorded["customer_id"], recorded["recorded_by"]) == (canary, world.ids["agent"])


def test_a_scam_report_about_a_canary_raises_a_hit_once(world: World) -> None:
    [canary] = plant(world, "partner-a", 1)
    about_canary = report("r-1", customer_id=canary)

    first = world.post("analyst", "/v1/scam-reports", {"reports": [about_canary, report("r-2", customer_id="c1002")]})
    again = world.post("analyst", "/v1/scam-reports", about_canary)

    assert first.status_code == 201, first.text
    assert first.json() == {
        "stored": ["r-1", "r-2"],
        "already_stored": [],
        "canary_hits": [{"report_id": "r-1", "customer_id": canary, "recipient": "partner-a"}],
    }
    assert again.json() == {"stored": [], "already_stored": ["r-1"], "canary_hits": []}
    [hit] = world.get("analyst", f"{PATH}/hits").json()["hits"]
    assert (hit["source"], hit["report_id"], hit["channel"], hit["contacted_at"]) == (
        "scam_report",
        "r-1",
        "call",
        "2016-07-15T06:03:00Z",
    )


def test_an_agent_filing_a_scam_report_about_a_canary_is_not_told(world: World) -> None:
    [canary] = plant(world, "partner-a", 1)

    response = world.post("agent", "/v1/scam-reports", report("r-1", customer_id=canary))

    assert response.json() == {"stored": ["r-1"], "already_stored": []}
    assert count(world, CanaryHitRow) == 1


def test_a_refused_scam_batch_raises_no_hit(world: World) -> None:
    [canary] = plant(world, "partner-a", 1)
    assert world.post("service", "/v1/scam-reports", report("r-1", customer_id="c1")).status_code == 201

    response = world.post(
        "analyst", "/v1/scam-reports", {"reports": [report("r-2", customer_id=canary), report("r-1", customer_id="c9")]}
    )

    assert response.status_code == 409
    assert count(world, CanaryHitRow) == 0


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "give exactly one of mobile and customer_id"),
        ({"mobile": "13812345678", "customer_id": "c1"}, "give exactly one of mobile and customer_id"),
        ({"mobile": "23812345678"}, "must be a Chinese mobile number"),
        ({"customer_id": "c1", "contacted_at": "2016-07-15T14:03:00"}, "timezone"),
        ({"customer_id": "c1", "channel": "fax"}, "'call'"),
        ({"customer_id": "c1", "note": "a\x00b"}, "control characters"),
        ({"customer_id": "c1", "note": "x" * 501}, "at most 500"),
    ],
)
def test_bad_contacts_are_refused_without_echoing_the_value(world: World, body: dict[str, Any], problem: str) -> None:
    response = contact(world, "analyst", body)

    assert response.status_code == 422
    assert problem in response.json()["message"]
    assert "23812345678" not in response.text
    assert count(world, CanaryHitRow) == 0


ROUTES = [
    ("post", PATH, {"recipient": "partner-a"}),
    ("get", PATH, None),
    ("get", f"{PATH}/export?recipient=partner-a", None),
    ("post", f"{PATH}/contacts", {"customer_id": "c1"}),
    ("get", f"{PATH}/hits", None),
]


def test_every_route_needs_a_token(world: World) -> None:
    for method, path, body in ROUTES:
        response = world.client.request(method.upper(), path, json=body)
        assert response.status_code == 401, (method, path)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("agent", {f"{PATH}/contacts"}),
        ("supervisor", {f"{PATH}/contacts"}),
        ("service", {f"{PATH}/contacts"}),
        ("courier", set()),
        ("partner", set()),
        ("merchant", set()),
        ("admin", {r[1] for r in ROUTES}),
    ],
)
def test_only_security_staff_plant_and_read_canaries(world: World, who: str, allowed: set[str]) -> None:
    for method, path, body in ROUTES:
        response = world.client.request(method.upper(), path, json=body, headers=world.headers(who))
        expected = {201, 200} if path in allowed else {403}
        assert response.status_code in expected, (who, method, path, response.text)


def test_planted_values_are_nowhere_in_plaintext(world: World, settings: Settings, backend: str) -> None:
    plant(world, "partner-a", 5)
    rows = export(world, "partner-a")
    note = "对方自称客服，知道订单"
    contact(world, "analyst", {"mobile": rows[0]["mobile"], "note": note})
    values = {r[k] for r in rows for k in ("name", "mobile", "street", "items", "return_reason")} | {note}
    emails = {r["email"] for r in rows}
    scanner = Scanner(values, emails)

    if backend == "sqlite":
        scanned = read_dir(settings.resolved_data_dir(), "data")
        assert any(name.endswith("shopshield.db-wal") for name in scanned)
    else:
        scanned = {"pg_dump": pg_dump(settings).encode()}
    data = b"".join(scanned.values())

    # The scan reads the rows: the canaries' ids and recipient are there, in plaintext.
    assert rows[0]["customer_id"].encode() in data and b"partner-a" in data
    assert {name: found for name, data in scanned.items() if (found := scanner.find(data))} == {}
