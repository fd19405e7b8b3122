"""Contact verification on SQLite and PostgreSQL: the verdicts and their windows, what the answer
shows and never shows, the per-customer rate limit, the one-click report into the scam-report
intake, and the contact status for the in-app banner."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from shopshield.channels.models import ReportTokenRow
from shopshield.core.db import unit_of_work
from shopshield.scams.models import ScamReportRow
from tests.support.contacts import (
    AGENT_LINE,
    HOTLINE,
    PAYEE,
    SCAMMER,
    SENDER,
    Clock,
    iso,
    log_call,
    new_customer,
    register_store,
    ticket,
)
from tests.support.events import stored_events
from tests.support.world import World

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
VERIFY = "/v1/verify/contact"
REPORT = "/v1/verify/report"


@pytest.fixture
def store(world: World) -> tuple[World, str, str]:
    """The store's channels, a customer with an order and a ticket, and the clock at NOW."""
    world.container.vault = dataclasses.replace(world.container.vault, clock=Clock(NOW))
    register_store(world)
    cid = new_customer(world, 7, order=True)
    return world, cid, ticket(world, cid, order_id="o00000007")


def verify(world: World, cid: str, sender: str, *, channel: str = "call", **kw: Any) -> dict[str, Any]:
    response = world.post("service", VERIFY, {"customer_id": cid, "channel": channel, "from": sender, **kw})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [r["code"] for r in answer["reasons"]]


def test_a_logged_call_from_an_official_number_is_verified_with_role_and_reason(store: tuple[World, str, str]) -> None:
    world, cid, tk = store
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=10))
    answer = verify(world, cid, "４００ ８２０ １２３４", language="en")
    assert answer["verdict"] == "verified" and codes(answer) == ["contact_logged"]
    assert answer["contact"] == {
        "role": "customer service",
        "reason": "return",
        "reason_text": "your return",
        "channel": "call",
        "started_at": iso(NOW - timedelta(minutes=10)),
        "ended_at": iso(NOW - timedelta(minutes=5)),
        "order_ref": "****0007",
    }
    assert answer["reasons"][0]["message"] == (
        "This is one of ours: customer service contacted you by phone call about your return (order ending 0007)."
    )
    assert "report_token" not in answer
    zh = verify(world, cid, HOTLINE)
    assert zh["reasons"][0]["message"] == "这是我们的电话：客服就您的退货联系过您（订单尾号 0007）。"
    # Never the agent: neither the id nor the name is anywhere in the answer.
    text = str(answer) + str(zh)
    assert world.ids["agent"] not in text and "agent" not in str(answer["contact"])


CALL_START = NOW - timedelta(minutes=60)
CALL_END = NOW - timedelta(minutes=50)


@pytest.mark.parametrize(
    ("at", "verdict"),
    [
        (CALL_START - timedelta(minutes=15), "verified"),  # the window opens 15 minutes before
        (CALL_START - timedelta(minutes=16), "not_verified"),
        (CALL_END + timedelta(minutes=15), "verified"),  # and closes 15 minutes after the end
        (CALL_END + timedelta(minutes=16), "not_verified"),
    ],
)
def test_the_window_around_at(store: tuple[World, str, str], at: datetime, verdict: str) -> None:
    world, cid, tk = store
    log_call(world, cid, tk, started_at=CALL_START, minutes=10)
    answer = verify(world, cid, HOTLINE, at=iso(at))
    assert answer["verdict"] == verdict, answer


def test_an_official_number_without_a_record_is_not_verified_with_a_report_token(store: tuple[World, str, str]) -> None:
    world, cid, tk = store
    log_call(world, cid, tk, started_at=NOW - timedelta(hours=3))
    answer = verify(world, cid, AGENT_LINE, language="en")
    assert answer["verdict"] == "not_verified" and codes(answer) == ["official_no_record"]
    assert "spoofed" in answer["reasons"][0]["message"] and "contact" not in answer
    assert len(answer["report_token"]) == 43 and answer["report_expires_at"] == iso(NOW + timedelta(days=7))
    # A call from the hotline an hour ago does not verify the agents' line now.
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=1), minutes=None)
    assert verify(world, cid, AGENT_LINE)["verdict"] == "not_verified"
    assert verify(world, cid, HOTLINE)["verdict"] == "verified"  # in progress counts


def test_a_number_that_is_not_ours(store: tuple[World, str, str]) -> None:
    world, cid, _tk = store
    answer = verify(world, cid, SCAMMER)
    assert answer["verdict"] == "not_verified" and codes(answer) == ["not_official"]
    assert answer["reasons"][0]["message"].startswith("这不是我们的官方号码")


def test_another_customers_contact_verifies_nothing(store: tuple[World, str, str]) -> None:
    world, cid, tk = store
    other = new_customer(world, 8)
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=2))
    assert verify(world, other, HOTLINE)["verdict"] == "not_verified"


def test_sms_and_email(store: tuple[World, str, str]) -> None:
    world, cid, tk = store
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=2), channel="sms", sender=SENDER, reason="refund")
    sms = verify(world, cid, "1069-0000-8888", channel="sms", language="en")
    assert sms["verdict"] == "verified" and sms["contact"]["reason_text"] == "your refund"
    # The SMS does not verify a call from the same moment.
    assert verify(world, cid, HOTLINE)["verdict"] == "not_verified"
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=1), channel="email", sender="kefu@mail.example-shop.cn")
    assert verify(world, cid, "客服 <notice@mail.example-shop.cn>", channel="email")["verdict"] == "verified"
    lookalike = verify(world, cid, "kefu@mail.example-shop.cn.refund.top", channel="email")
    assert codes(lookalike) == ["not_official"]


def test_a_foreign_payee_or_link_outweighs_a_genuine_call(store: tuple[World, str, str]) -> None:
    world, cid, tk = store
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=2))
    ok = verify(world, cid, HOTLINE, payee_account=PAYEE, url="https://item.www.example-shop.cn/refund?id=1")
    assert ok["verdict"] == "verified"
    answer = verify(world, cid, HOTLINE, payee_account="6222 0000 1111 2222", url="http://example-shop.cn.tuikuan.top/")
    assert answer["verdict"] == "not_verified"
    assert codes(answer) == ["payee_not_official", "url_not_official"]
    assert "contact" not in answer
    assert codes(verify(world, cid, HOTLINE, payee_account="张三"))[0] == "payee_not_official"
    assert codes(verify(world, cid, HOTLINE, url="http://www.example-shop.cn@evil.top/"))[0] == "url_not_official"
    assert codes(verify(world, cid, HOTLINE, url="http://[::1/"))[0] == "url_not_official"


@pytest.mark.parametrize("sender", ["unknown", "未知", "隐藏号码", "Private", "no number shown", "+"])
def test_an_unreadable_sender_is_unknown(store: tuple[World, str, str], sender: str) -> None:
    world, cid, _tk = store
    answer = verify(world, cid, sender)
    assert answer["verdict"] == "unknown" and codes(answer) == ["from_unreadable"]
    assert "report_token" not in answer
    # ... unless something else given is plainly not ours.
    assert verify(world, cid, sender, payee_account="6222000011112222")["verdict"] == "not_verified"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"channel": "fax", "from": HOTLINE}, 422),
        ({"channel": "call"}, 422),
        ({"channel": "call", "from": "1" * 400}, 422),
        ({"channel": "call", "from": HOTLINE, "at": "2026-12-05T10:00:00"}, 422),
        ({"channel": "call", "from": HOTLINE, "at": "2036-12-05T10:00:00Z"}, 422),
        ({"channel": "call", "from": HOTLINE, "url": "x" * 3000}, 422),
        ({"channel": "call", "from": HOTLINE, "language": "fr"}, 422),
        ({"channel": "call", "from": HOTLINE, "customer_id": "c-nobody"}, 404),
        ({"channel": "call", "from": HOTLINE, "customer_id": "liu@example.cn"}, 422),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason(store: tuple[World, str, str], body: dict[str, Any], status: int) -> None:
    world, cid, _tk = store
    response = world.post("service", VERIFY, {"customer_id": cid, **body})
    assert response.status_code == status, response.text
    assert response.json()["message"]
    with unit_of_work(world.container.sessions) as session:
        assert list(session.scalars(select(ReportTokenRow))) == []


def test_a_huge_body_is_a_4xx(store: tuple[World, str, str]) -> None:
    world, cid, _tk = store
    # Within the edge's body limit, the schema's caps refuse it; past it, the edge does.
    body = {"customer_id": cid, "channel": "call", "from": HOTLINE, "url": "x" * 2_000_000}
    assert world.post("service", VERIFY, body).status_code == 422
    huge = {**body, "url": "x" * (world.container.settings.max_body_bytes + 1)}
    assert world.post("service", VERIFY, huge).status_code == 413


@pytest.mark.parametrize("who", ["admin", "agent", "supervisor", "analyst", "courier", "merchant", "partner"])
def test_only_the_stores_app_backend_verifies(store: tuple[World, str, str], who: str) -> None:
    world, cid, _tk = store
    assert world.post(who, VERIFY, {"customer_id": cid, "channel": "call", "from": HOTLINE}).status_code == 403
    assert world.get(who, f"/v1/customers/{cid}/contact-status").status_code == 403


def test_rate_limited_per_customer_with_retry_after(store: tuple[World, str, str]) -> None:
    world, cid, _tk = store
    world.container.settings = world.container.settings.model_copy(update={"verify_contact_per_hour": 3})
    other = new_customer(world, 9)
    body = {"customer_id": cid, "channel": "call", "from": SCAMMER}
    statuses = [world.post("service", VERIFY, body).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = world.post("service", VERIFY, body)
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    # Another customer is not held up by this one.
    assert world.post("service", VERIFY, {**body, "customer_id": other}).status_code == 200


def tokens_stored(world: World) -> list[ReportTokenRow]:
    with unit_of_work(world.container.sessions) as session:
        return list(session.scalars(select(ReportTokenRow)))


def test_the_report_token_becomes_one_scam_report_pre_filled(store: tuple[World, str, str]) -> None:
    world, cid, _tk = store
    at = NOW - timedelta(minutes=20)
    answer = verify(
        world, cid, SCAMMER, at=iso(at), url="http://example-shop.cn.tuikuan.top/x", payee_account="6222 0000 1111 2222"
    )
    token = answer["report_token"]
    # Stored as a digest; what was checked is sealed, not readable in the table.
    (row,) = tokens_stored(world)
    assert row.token_digest != token and token not in row.token_digest
    for typed in (b"171", b"tuikuan", b"6222"):
        assert typed not in bytes(row.checked_ct)

    body = {"report_token": token, "loss_amount": "1999.00", "knew": ["name", "order_id"]}
    response = world.post("service", REPORT, body)
    assert response.status_code == 201, response.text
    report_id = response.json()["report_id"]
    assert response.json()["reasons"] == ["not_official", "payee_not_official", "url_not_official"]
    with unit_of_work(world.container.sessions) as session:
        stored = session.get(ScamReportRow, report_id)
        assert stored is not None
        assert (stored.customer_id, stored.channel, stored.contact_from) == (cid, "call", SCAMMER)
        assert stored.url == "http://example-shop.cn.tuikuan.top/x" and stored.payee_account == "6222 0000 1111 2222"
        assert stored.loss_hundredths == 199900 and stored.knew == "name|order_id"
        assert stored.contacted_at.replace(tzinfo=UTC) == at and stored.received_by == world.ids["service"]
    # The scam-report list (clusters, summaries) sees it like any other.
    listed = world.get("analyst", f"/v1/scam-reports?customer_id={cid}").json()
    assert [r["report_id"] for r in listed["items"]] == [report_id]
    assert stored_events(world.container, customer_id=cid, action="contact_report")

    again = world.post("service", REPORT, body)
    assert again.status_code == 409 and again.json()["error"] == "token_used"
    assert world.post("service", REPORT, {"report_token": "A" * 43}).status_code == 404
    assert world.post("service", REPORT, {"report_token": "short"}).status_code == 422


def test_an_expired_token_is_refused_and_writes_nothing(store: tuple[World, str, str]) -> None:
    world, cid, _tk = store
    token = verify(world, cid, SCAMMER)["report_token"]
    world.container.vault = dataclasses.replace(world.container.vault, clock=Clock(NOW + timedelta(days=7, seconds=1)))
    response = world.post("service", REPORT, {"report_token": token})
    assert response.status_code == 409 and response.json()["error"] == "token_expired"
    with unit_of_work(world.container.sessions) as session:
        assert list(session.scalars(select(ScamReportRow))) == []
    assert tokens_stored(world)[0].used_at is None


def test_a_bad_report_field_is_422_and_leaves_the_token_usable(store: tuple[World, str, str]) -> None:
    world, cid, _tk = store
    token = verify(world, cid, SCAMMER)["report_token"]
    assert world.post("service", REPORT, {"report_token": token, "knew": ["1" * 40]}).status_code == 422
    assert world.post("service", REPORT, {"report_token": token, "loss_amount": "-1"}).status_code == 422
    assert world.post("service", REPORT, {"report_token": token}).status_code == 201


def test_the_contact_status_lists_what_is_in_progress_or_just_ended(store: tuple[World, str, str]) -> None:
    world, cid, tk = store
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=3), minutes=None)  # in progress
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=40), minutes=15, reason="survey")  # ended 25 ago
    log_call(world, cid, tk, started_at=NOW - timedelta(minutes=90), minutes=10)  # ended long ago
    log_call(world, cid, tk, started_at=NOW - timedelta(hours=5), minutes=None)  # never ended: stale
    response = world.get("service", f"/v1/customers/{cid}/contact-status?language=en")
    assert response.status_code == 200, response.text
    found = response.json()["contacts"]
    assert [(c["reason"], c["in_progress"]) for c in found] == [("return", True), ("survey", False)]
    assert found[1]["reason_text"] == "a service survey" and found[0]["role"] == "customer service"
    assert world.ids["agent"] not in response.text
    assert world.get("service", "/v1/customers/c-nobody/contact-status").status_code == 404
