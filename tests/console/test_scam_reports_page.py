"""The Scam reports page on SQLite and PostgreSQL: who may open it (a recorded 403 otherwise), the
filters over reports stored through the API, clusters and their linking indicators, the charts'
numbers against their table and the reports, a report's detail, and refused filter input."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from shopshield.console.charts import HEIGHT, LABEL_SPACE
from tests.support import scam_reports
from tests.support.console import client, log_in, set_passwords
from tests.support.events import stored_events
from tests.support.world import World

PATH = "/console/scam-reports"


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    set_passwords(world)
    with client(world) as c:
        yield c


def _store(world: World) -> dict[str, dict[str, Any]]:
    """Six reports through the API, contacted on days relative to today in the store's zone: a,
    b and c linked (a and b by the calling number spelled two ways, b and c by a link's registered
    domain), d alone in the default window, e in USD, and ``old`` 40 days back sharing d's payee."""
    zone = ZoneInfo(world.container.settings.timezone)
    today = datetime.now(zone).date()

    def at(days_ago: int, hour: int) -> str:
        return (
            datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), zone).replace(hour=hour).isoformat()
        )

    reported = datetime.now(UTC).isoformat()
    rows = {
        "r-a": scam_reports.report(
            "r-a", customer_id="c-1", contacted_at=at(2, 10), channel="call", contact_from="020-3712 8846",
            payee_account="6222 0202 0000 1234 567", knew="name|items|return_request", url=None,
            loss_amount="47200.00", claimed_identity="聚美优品客服",
        ),
        "r-b": scam_reports.report(
            "r-b", customer_id="c-2", contacted_at=at(1, 9), channel="sms", contact_from="+86 20 3712 8846",
            payee_account=None, knew="name|items", url="http://refund.jumei-help.com.cn/x",
            loss_amount="1000.50", claimed_identity="refund desk",
        ),
        "r-c": scam_reports.report(
            "r-c", customer_id="c-3", contacted_at=at(1, 15), channel="im", contact_from="scam_helper",
            payee_account=None, knew="name|mobile", url="https://a.refund.jumei-help.com.cn/login",
            loss_amount=None, claimed_identity=None,
        ),
        "r-d": scam_reports.report(
            "r-d", customer_id="c-4", contacted_at=at(0, 0), channel="call", contact_from="13800001111",
            payee_account="6222 9999 8888", knew="name", url=None, loss_amount="300.00", claimed_identity=None,
        ),
        "r-e": scam_reports.report(
            "r-e", customer_id="c-1", contacted_at=at(0, 0), channel="email", contact_from="refunds@evil.example",
            payee_account=None, knew="name", url=None, loss_amount="20.00", currency="USD", claimed_identity=None,
        ),
        "r-old": scam_reports.report(
            "r-old", customer_id="c-5", contacted_at=at(40, 12), channel="call", contact_from="13900002222",
            payee_account="6222-9999-8888", knew="name", url=None, loss_amount="10.00", claimed_identity=None,
        ),
    }  # fmt: skip
    for row in rows.values():
        row["reported_at"] = reported
    response = world.post("service", "/v1/scam-reports", {"reports": list(rows.values())})
    assert response.status_code == 201, response.text
    return rows


def _table(page: str, table_id: str) -> list[list[str]]:
    """The cells of a table's body rows, as text."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found is not None, f"no table {table_id}"
    body = found.group(1).split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]


def _listed(page: str) -> set[str]:
    if "No report matches." in page:
        return set()
    return {row[1] for row in _table(page, "reports")}


def test_who_may_open_the_pages_and_each_refusal_is_recorded(world: World, browser: TestClient) -> None:
    _store(world)
    for who in ("analyst", "supervisor", "admin"):
        browser.cookies.clear()
        log_in(browser, who)
        assert browser.get(PATH).status_code == 200, who
        assert browser.get(f"{PATH}/r-a").status_code == 200, who
    for who in ("agent", "courier", "merchant", "partner"):
        browser.cookies.clear()
        log_in(browser, who)
        for path, route in ((PATH, PATH), (f"{PATH}/r-a", f"{PATH}/{{report_id}}")):
            refused = browser.get(path)
            assert refused.status_code == 403, (who, path)
            assert "lacks the permission 'scam_reports.read'" in html.unescape(refused.text)
            assert "r-a" not in refused.text.replace(path, "")
            event = stored_events(world.container, actor_id=world.ids[who], action="console")[-1]
            assert (event.outcome, event.channel) == ("denied", "cs-console")
            assert event.reason is not None and f"(page {route})" in event.reason


def test_filters_select_the_stored_reports(world: World, browser: TestClient) -> None:
    _store(world)
    log_in(browser, "analyst")
    zone = ZoneInfo(world.container.settings.timezone)
    today = datetime.now(zone).date()
    cases: list[tuple[dict[str, str], set[str]]] = [
        ({}, {"r-a", "r-b", "r-c", "r-d", "r-e"}),
        ({"channel": "call"}, {"r-a", "r-d"}),
        ({"knew": "return_request"}, {"r-a"}),
        ({"knew": "mobile"}, {"r-c"}),
        ({"claimed": "客服"}, {"r-a"}),
        ({"claimed": "REFUND"}, {"r-b"}),
        # One number in two spellings, a domain through its subdomains, an account with separators.
        ({"indicator": "020 37128846"}, {"r-a", "r-b"}),
        ({"indicator": "jumei-help.com.cn"}, {"r-b", "r-c"}),
        ({"indicator": "6222020200001234567"}, {"r-a"}),
        ({"indicator": "Scam_Helper"}, {"r-c"}),
        ({"customer_id": "c-1"}, {"r-a", "r-e"}),
        ({"min_loss": "500"}, {"r-a", "r-b"}),
        ({"max_loss": "300"}, {"r-d", "r-e"}),
        ({"min_loss": "20", "currency": "cny"}, {"r-a", "r-b", "r-d"}),
        ({"currency": "USD"}, {"r-e"}),
        ({"cluster": "1"}, {"r-a", "r-b", "r-c"}),
        ({"cluster": "1", "channel": "sms"}, {"r-b"}),
        ({"since": (today - timedelta(days=1)).isoformat()}, {"r-b", "r-c", "r-d", "r-e"}),
        ({"until": (today - timedelta(days=1)).isoformat()}, {"r-a"}),
        ({"since": (today - timedelta(days=45)).isoformat(), "indicator": "6222 9999 8888"}, {"r-d", "r-old"}),
        ({"channel": "other"}, set()),
    ]
    for params, expected in cases:
        page = browser.get(PATH, params=params)
        assert page.status_code == 200, (params, page.text)
        assert _listed(page.text) == expected, params
        assert f"<strong>{len(expected)}</strong> reports shown" in page.text, params


def test_clusters_show_their_linking_indicators(world: World, browser: TestClient) -> None:
    _store(world)
    log_in(browser, "analyst")
    page = browser.get(PATH).text
    (cluster,) = _table(page, "clusters")
    number, reports, victims, lost = cluster[:4]
    assert (number, reports, victims, lost) == ("1", "3", "3", "CNY 48200.50")
    assert "phone: 02037128846 (2)" in cluster[6] and "domain: jumei-help.com.cn (2)" in cluster[6]
    # r-d is linked to r-old by their payee account only over a window that holds both.
    wide = browser.get(PATH, params={"since": (date.today() - timedelta(days=45)).isoformat()}).text
    assert [row[:3] for row in _table(wide, "clusters")] == [["1", "3", "3"], ["2", "2", "2"]]
    assert "payee: 622299998888 (2)" in _table(wide, "clusters")[1][6]
    # Only clusters with a report shown are listed.
    assert "No cluster among the reports shown." in browser.get(PATH, params={"channel": "email"}).text


def test_the_charts_carry_the_numbers_of_their_table_and_of_the_reports(world: World, browser: TestClient) -> None:
    rows = _store(world)
    zone = ZoneInfo(world.container.settings.timezone)
    log_in(browser, "analyst")
    page = browser.get(PATH).text
    days = _table(page, "days")
    assert len(days) == 30  # the default window: today and the 29 days before, quiet days included
    # The data: reports, victims and CNY lost per local day of contact, in the default window.
    expected: dict[str, list[Any]] = defaultdict(lambda: [0, set(), Decimal(0)])
    first = datetime.now(zone).date() - timedelta(days=29)
    for row in rows.values():
        contacted = datetime.fromisoformat(row["contacted_at"]).astimezone(zone).date()
        if contacted < first:
            continue
        entry = expected[contacted.isoformat()]
        entry[0] += 1
        entry[1].add(row["customer_id"])
        if row.get("loss_amount") and row.get("currency", "CNY") == "CNY":
            entry[2] += Decimal(row["loss_amount"])
    for day, reports, victims, lost, _other in days:
        want = expected.get(day, [0, set(), Decimal(0)])
        assert (int(reports), int(victims), Decimal(lost)) == (want[0], len(want[1]), want[2]), day
    usd = [row for row in days if row[4]]
    assert [row[4] for row in usd] == ["USD 20.00"]
    # The two charts' bars, in order: reports per day, then CNY lost per day, labelled by day.
    bars = re.findall(
        r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)" fill="#3566a8"><title>([^<]+)</title>', page
    )
    assert len(bars) == 2 * len(days)
    for n, (day, reports, _v, lost, _o) in enumerate(days):
        assert bars[n][1] == f"{day[5:]}: {float(reports)}"
        assert bars[len(days) + n][1] == f"{day[5:]}: {float(Decimal(lost))}"
    # Heights are to scale: the largest value fills the plot.
    losses = [float(Decimal(row[3])) for row in days]
    heights = [float(h) for h, _t in bars[len(days) :]]
    assert heights[losses.index(max(losses))] == HEIGHT - LABEL_SPACE
    assert all(abs(h - (HEIGHT - LABEL_SPACE) * v / max(losses)) <= 0.1 for h, v in zip(heights, losses, strict=True))


def test_a_report_shows_its_indicators_linked_reports_and_victim_without_reading_the_vault(
    world: World, browser: TestClient
) -> None:
    _store(world)
    log_in(browser, "analyst")
    page = browser.get(f"{PATH}/r-b")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "+86 20 3712 8846" in text and "refund desk" in text and "1000.50 CNY" in text
    assert {row[1] for row in _table(page.text, "linked")} == {"r-a", "r-c"}
    linking = {(row[0], row[1]): (row[2], row[3]) for row in _table(page.text, "linking")}
    assert linking == {("phone", "02037128846"): ("2", "yes"), ("domain", "jumei-help.com.cn"): ("2", "yes")}
    assert 'href="/console/customers/c-2"' in page.text
    # The victim's other reports: c-1 reported r-a and r-e.
    other = browser.get(f"{PATH}/r-a").text
    assert 'href="/console/scam-reports/r-e"' in other
    # A report alone links nothing; the indicator link lists the reports that carry it.
    alone = browser.get(f"{PATH}/r-d").text
    assert "No other report within 30 days" in alone
    link = re.search(r'href="(/console/scam-reports\?indicator=[^"]+)"', alone)
    assert link is not None
    # Over the days linked reports are looked for in: r-old, 40 days back, shares the payee but is out.
    assert _listed(browser.get(html.unescape(link.group(1))).text) == {"r-d"}
    # No customer's data was read: the page holds ids and scammer indicators only.
    assert stored_events(world.container, actor_id=world.ids["analyst"]) == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"since": "last tuesday"}, "since:"),
        ({"since": "2026-01-10", "until": "2026-01-01"}, "since must be before until"),
        ({"since": "2020-01-01", "until": "2021-01-01"}, "at most 92 days"),
        ({"channel": "fax"}, "channel: must be one of call, sms, im, email, other"),
        ({"knew": "6222 0202"}, "knew: one item"),
        ({"min_loss": "-5"}, "min_loss: an amount"),
        ({"max_loss": "1,000"}, "max_loss: an amount"),
        ({"min_loss": "500", "max_loss": "100"}, "min_loss must not be more than max_loss"),
        ({"currency": "yuan"}, "currency: three letters"),
        ({"customer_id": "a b"}, "customer_id:"),
        ({"indicator": "unknown"}, "indicator: a phone number"),
        ({"cluster": "0"}, "cluster: a whole number"),
        ({"cluster": "7"}, "cluster: this window has 1 clusters"),
        ({"page": "9"}, "page: these filters give 1 pages"),
        ({"claimed": "x" * 200}, "claimed: at most 128 characters"),
    ],
)
def test_bad_filter_input_is_a_4xx_page_with_the_reason(
    world: World, browser: TestClient, params: dict[str, str], reason: str
) -> None:
    _store(world)
    log_in(browser, "analyst")
    page = browser.get(PATH, params=params)
    assert page.status_code == 422, (params, page.status_code)
    assert reason in html.unescape(page.text)
    assert '<table id="reports">' not in page.text


def test_an_unknown_or_malformed_report_id_is_refused_with_a_reason(world: World, browser: TestClient) -> None:
    log_in(browser, "analyst")
    missing = browser.get(f"{PATH}/r-none")
    assert missing.status_code == 404
    assert "no scam report has this id" in missing.text
    malformed = browser.get(f"{PATH}/-bad")
    assert malformed.status_code == 422
    assert "report_id:" in malformed.text
