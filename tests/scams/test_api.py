"""POST and GET /v1/scam-reports and the summary, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from shopshield.core.db import unit_of_work
from shopshield.scams.models import ScamReportRow
from tests.support.scam_reports import report
from tests.support.world import World

PATH = "/v1/scam-reports"


def _stored(world: World) -> int:
    with unit_of_work(world.container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(ScamReportRow)) or 0)


def _contacted(n: int) -> dict[str, Any]:
    """Report ``r-n``, contacted n hours into 15 July 2016 (UTC), by victim c(n mod 2)."""
    return report(f"r-{n}", customer_id=f"c{n % 2}", contacted_at=f"2016-07-15T{n:02d}:00:00Z")


def test_one_report_is_stored_and_reads_back_in_the_shared_format(world: World) -> None:
    response = world.post("agent", PATH, report("r-1"))

    assert response.status_code == 201, response.text
    assert response.json() == {"stored": ["r-1"], "already_stored": []}
    page = world.get("analyst", PATH).json()
    assert page["next_cursor"] is None
    [item] = page["items"]
    assert item == {
        "report_id": "r-1",
        "reported_at": "2016-07-16T01:12:00Z",
        "customer_id": "c1001",
        "contacted_at": "2016-07-15T06:03:00Z",
        "channel": "call",
        "contact_from": "020-3712 8846",
        "claimed_identity": "聚美优品客服",
        "knew": "name|items|price|purchase_time|return_request",
        "url": "http://refund.jumei-help.com.cn/login",
        "payee_account": "6222 0202 0000 1234 567",
        "loss_amount": "47200.00",
        "currency": "CNY",
        "received_at": item["received_at"],
        "received_by": world.ids["agent"],
    }
    # What GET returns can be sent again as it is: the same report, so nothing changes.
    again = world.post("service", PATH, {k: v for k, v in item.items() if not k.startswith("received_")})
    assert again.status_code == 201 and again.json() == {"stored": [], "already_stored": ["r-1"]}


def test_a_batch_is_stored_whole(world: World) -> None:
    response = world.post("service", PATH, {"reports": [_contacted(n) for n in range(3)]})

    assert response.status_code == 201, response.text
    assert response.json()["stored"] == ["r-0", "r-1", "r-2"]
    assert _stored(world) == 3


def test_a_bad_item_fails_the_whole_batch_naming_its_index_and_field(world: World) -> None:
    items = [_contacted(0), _contacted(1) | {"channel": "fax"}, _contacted(2)]

    response = world.post("service", PATH, {"reports": items})

    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "reports.1.channel"
    assert body["message"].startswith("reports.1.channel: must be one of call, sms, im, email, other")
    assert _stored(world) == 0


def test_a_bad_single_report_names_its_field_without_echoing_it(world: World) -> None:
    response = world.post("service", PATH, report(contacted_at="2016-07-15 14:03"))

    assert response.status_code == 422
    assert response.json()["field"] == "contacted_at"
    assert "2016-07-15 14:03" not in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reports": []}, "reports"),
        ({"reports": "r-1"}, "reports"),
        ({"reports": [report("r-1"), "r-2"]}, "reports.1"),
        ({"reports": [report("r-1"), report("r-1", loss_amount="1")]}, "reports.1.report_id"),
    ],
)
def test_malformed_batches_are_refused(world: World, body: Any, field: str) -> None:
    response = world.post("service", PATH, body)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert _stored(world) == 0


def test_a_batch_over_the_limit_and_a_body_that_is_no_object_are_refused(world: World) -> None:
    assert world.post("service", PATH, {"reports": [report(f"r-{n}") for n in range(1001)]}).status_code == 422
    assert world.post("service", PATH, [report("r-1")]).status_code == 422
    assert _stored(world) == 0


def test_an_identical_resend_is_harmless_and_a_different_report_under_a_stored_id_conflicts(world: World) -> None:
    assert world.post("agent", PATH, report("r-1")).status_code == 201
    # The same report inside a batch, and twice in one batch: nothing new, nothing refused.
    response = world.post("agent", PATH, {"reports": [report("r-1"), _contacted(2), _contacted(2)]})
    assert response.status_code == 201
    assert response.json() == {"stored": ["r-2"], "already_stored": ["r-1"]}

    changed = world.post("agent", PATH, {"reports": [_contacted(3), report("r-1", loss_amount="47000")]})

    assert changed.status_code == 409
    assert changed.json()["field"] == "reports.1.report_id"
    assert _stored(world) == 2, "nothing of the conflicting batch is stored"
    single = world.post("agent", PATH, report("r-1", loss_amount="47000"))
    assert single.status_code == 409 and single.json()["field"] == "report_id"


def test_authentication_and_permissions(world: World) -> None:
    assert world.client.post(PATH, json=report()).status_code == 401
    assert world.client.get(PATH).status_code == 401
    assert world.client.get(f"{PATH}/summary", headers={"Authorization": "Bearer ss_nope"}).status_code == 401
    for who in ("courier", "merchant", "partner"):
        assert world.post(who, PATH, report()).status_code == 403
    for who in ("agent", "courier", "merchant", "partner"):
        assert world.get(who, PATH).status_code == 403
        assert world.get(who, f"{PATH}/summary").status_code == 403
    for n, who in enumerate(("agent", "supervisor", "analyst", "admin", "service")):
        assert world.post(who, PATH, _contacted(n)).status_code == 201
    for who in ("supervisor", "analyst", "admin", "service"):
        assert world.get(who, PATH).status_code == 200
        assert world.get(who, f"{PATH}/summary").status_code == 200
    assert _stored(world) == 5


def test_pages_follow_contact_order_and_filters(world: World) -> None:
    # Stored out of order, two with the same contact time: the id breaks the tie.
    batch = [_contacted(n) for n in (4, 1, 3, 0, 2)] + [_contacted(3) | {"report_id": "r-3b"}]
    assert world.post("service", PATH, {"reports": batch}).status_code == 201

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = world.get("analyst", PATH, params=params).json()
        seen += [item["report_id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["r-0", "r-1", "r-2", "r-3", "r-3b", "r-4"]
    assert pages == 3

    def ids(**params: Any) -> list[str]:
        response = world.get("analyst", PATH, params=params)
        assert response.status_code == 200, response.text
        return [item["report_id"] for item in response.json()["items"]]

    assert ids(customer_id="c1") == ["r-1", "r-3", "r-3b"]
    assert ids(since="2016-07-15T02:00:00Z", until="2016-07-15T04:00:00Z") == ["r-2", "r-3", "r-3b"]
    # Without an offset, in tz: 10:00 in Shanghai is 02:00 UTC.
    assert ids(since="2016-07-15T10:00", tz="Asia/Shanghai") == ["r-2", "r-3", "r-3b", "r-4"]
    assert ids(until="2016-07-15T01:00", tz="UTC") == ["r-0"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2016-07-16", "until": "2016-07-15"}, "since"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"customer_id": "138 1234 5678"}, "customer_id"),
    ],
)
def test_bad_query_parameters_are_named(world: World, params: dict[str, str], field: str) -> None:
    response = world.get("analyst", PATH, params=params)

    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    for value in params.values():
        assert value not in response.json()["message"]


def test_the_summary_counts_days_in_the_given_zone(world: World) -> None:
    batch = [
        report("r-1", customer_id="c1", contacted_at="2016-07-15T14:00:00+08:00", loss_amount="47200"),
        report("r-2", customer_id="c2", contacted_at="2016-07-16T00:30:00+08:00", loss_amount="5000"),
        report("r-3", customer_id="c2", contacted_at="2016-07-16T10:00:00+08:00", loss_amount=None, url=None),
    ]
    batch = [r | {"reported_at": "2016-07-17T09:00:00+08:00"} for r in batch]
    assert world.post("service", PATH, {"reports": batch}).status_code == 201

    shanghai = world.get("analyst", f"{PATH}/summary", params={"tz": "Asia/Shanghai"}).json()
    utc = world.get("analyst", f"{PATH}/summary", params={"tz": "UTC"}).json()
    since = world.get("analyst", f"{PATH}/summary", params={"since": "2016-07-16", "tz": "Asia/Shanghai"}).json()

    assert [(d["day"], d["reports"], d["victims"]) for d in shanghai["days"]] == [
        ("2016-07-15", 1, 1),
        ("2016-07-16", 2, 1),
    ]
    assert [(d["day"], d["reports"]) for d in utc["days"]] == [("2016-07-15", 2), ("2016-07-16", 1)]
    assert shanghai["totals"]["losses"] == [
        {"currency": "CNY", "reports": 2, "total": "52200.00", "median": "26100.00", "largest": "47200.00"}
    ]
    assert shanghai["totals"]["loss_unknown"] == 1
    # All three share the caller; r-1 and r-2 the link's domain too.
    [cluster] = shanghai["clusters"]
    assert cluster["report_ids"] == ["r-1", "r-2", "r-3"]
    assert [(i["kind"], i["reports"]) for i in cluster["indicators"]] == [("payee", 3), ("phone", 3), ("domain", 2)]
    assert since["window"]["since"] == "2016-07-15T16:00:00Z"
    assert since["totals"]["reports"] == 2
    default = world.get("analyst", f"{PATH}/summary").json()
    assert default["window"]["tz"] == world.container.settings.timezone
