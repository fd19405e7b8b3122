"""The summary's numbers, computed by hand on seven reports (no database needed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from shopshield.core.times import Window
from shopshield.scams.formats import ScamReport, parse_report
from shopshield.scams.summary import Losses, SharedIndicator, money, summarize, summary_json
from tests.support.scam_reports import report

NOW = datetime(2026, 11, 29, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _report(report_id: str, customer_id: str, contacted_at: str, **values: Any) -> ScamReport:
    blank = dict.fromkeys(("contact_from", "claimed_identity", "knew", "url", "payee_account", "loss_amount"))
    return parse_report(
        report(report_id, customer_id=customer_id, contacted_at=contacted_at, reported_at="2016-07-20T00:00:00Z")
        | blank
        | values,
        now=NOW,
    )


# a-b share a caller (two spellings), b-c a payee account (two spellings): one cluster of three.
# d-e share a link's registered domain. f's caller is "unknown" and g is alone: no cluster.
# c is on 16 July in Shanghai but on 15 July in UTC.
REPORTS = [
    _report("a", "c1", "2016-07-15T14:03:00+08:00", contact_from="020-3712 8846", loss_amount="47200",
            knew="name|items|price"),
    _report("b", "c2", "2016-07-15T23:30:00+08:00", contact_from="+86 20 3712 8846", payee_account="6222 0000 1111",
            loss_amount="5000", knew="name|items"),
    _report("c", "c3", "2016-07-16T00:30:00+08:00", channel="sms", contact_from="10690000",
            payee_account="6222-0000-1111", loss_amount="3400", knew="name"),
    _report("d", "c3", "2016-07-16T10:00:00+08:00", url="http://a.b.refund-jumei.com.cn/login", loss_amount="2089",
            knew="name|price|return_request"),
    _report("e", "c4", "2016-07-18T09:00:00+08:00", url="https://www.refund-jumei.com.cn/", knew="bank_card"),
    _report("f", "c5", "2016-07-18T12:00:00+08:00", contact_from="unknown", loss_amount="0"),
    _report("g", "c6", "2016-07-18T13:00:00+08:00", channel="im", contact_from="qq:12345", loss_amount="30",
            currency="USD"),
]  # fmt: skip


def _cny(reports: int, total: str, median: str, largest: str) -> Losses:
    return Losses("CNY", reports, Decimal(total), Decimal(median), Decimal(largest))


def test_days_in_shanghai_with_medians_of_even_counts_and_quiet_days() -> None:
    summary = summarize(REPORTS, Window(None, None, SHANGHAI))

    assert [(d.day, d.reports, d.victims, d.losses) for d in summary.days] == [
        (date(2016, 7, 15), 2, 2, [_cny(2, "52200", "26100", "47200")]),  # (5000 + 47200) / 2
        (date(2016, 7, 16), 2, 1, [_cny(2, "5489", "2744.50", "3400")]),  # one victim twice; (2089 + 3400) / 2
        (date(2016, 7, 17), 0, 0, []),
        (
            date(2016, 7, 18),
            3,
            3,
            [_cny(1, "0", "0", "0"), Losses("USD", 1, Decimal(30), Decimal(30), Decimal(30))],
        ),
    ]


def test_days_follow_the_time_zone() -> None:
    summary = summarize(REPORTS, Window(None, None, ZoneInfo("UTC")))

    assert [(d.day.day, d.reports) for d in summary.days] == [(15, 3), (16, 1), (17, 0), (18, 3)]


def test_totals_keep_currencies_apart_and_unknown_losses_out() -> None:
    summary = summarize(REPORTS, Window(None, None, SHANGHAI))

    assert (summary.reports, summary.victims, summary.loss_unknown) == (7, 6, 1)
    # CNY amounts 0, 2089, 3400, 5000, 47200: e states none and is not counted as 0.
    assert summary.losses == [
        _cny(5, "57689", "3400", "47200"),
        Losses("USD", 1, Decimal(30), Decimal(30), Decimal(30)),
    ]
    assert summary.first_contact == datetime(2016, 7, 15, 6, 3, tzinfo=UTC)
    assert summary.last_contact == datetime(2016, 7, 18, 5, 0, tzinfo=UTC)


def test_clusters_join_reports_transitively_through_different_indicators() -> None:
    first, second = summarize(REPORTS, Window(None, None, SHANGHAI)).clusters

    assert [r.report_id for r in first.reports] == ["a", "b", "c"]
    assert (first.number, first.victims, first.losses) == (1, 3, [_cny(3, "55600", "5000", "47200")])
    assert (first.first_contact, first.last_contact) == (
        datetime(2016, 7, 15, 6, 3, tzinfo=UTC),
        datetime(2016, 7, 15, 16, 30, tzinfo=UTC),
    )
    assert first.indicators == [  # most shared first, then by kind and value
        SharedIndicator("payee", "622200001111", 2),
        SharedIndicator("phone", "02037128846", 2),
    ]
    assert [r.report_id for r in second.reports] == ["d", "e"]
    assert (second.number, second.victims, second.losses) == (2, 2, [_cny(1, "2089", "2089", "2089")])
    assert second.indicators == [SharedIndicator("domain", "refund-jumei.com.cn", 2)]


def test_what_the_scammers_knew_counts_each_item_against_all_reports() -> None:
    knew = summarize(REPORTS, Window(None, None, SHANGHAI)).knew

    assert [(k.item, k.reports, k.share) for k in knew] == [
        ("name", 4, 0.5714),
        ("items", 2, 0.2857),
        ("price", 2, 0.2857),
        ("return_request", 1, 0.1429),  # ties: the format's items first, in its order
        ("bank_card", 1, 0.1429),
    ]


def test_the_json_is_the_documented_shape() -> None:
    found = summary_json(summarize(REPORTS, Window(datetime(2016, 7, 14, 16, tzinfo=UTC), None, SHANGHAI)))

    assert list(found) == ["window", "totals", "days", "clusters", "knew"]
    assert found["window"] == {"since": "2016-07-14T16:00:00Z", "until": None, "tz": "Asia/Shanghai"}
    assert found["totals"] == {
        "reports": 7,
        "victims": 6,
        "losses": [
            {"currency": "CNY", "reports": 5, "total": "57689.00", "median": "3400.00", "largest": "47200.00"},
            {"currency": "USD", "reports": 1, "total": "30.00", "median": "30.00", "largest": "30.00"},
        ],
        "loss_unknown": 1,
        "first_contact": "2016-07-15T06:03:00Z",
        "last_contact": "2016-07-18T05:00:00Z",
        "clusters": 2,
    }
    assert found["days"][1]["losses"][0]["median"] == "2744.50"
    assert found["days"][2] == {"day": "2016-07-17", "reports": 0, "victims": 0, "losses": []}
    assert found["clusters"][1] == {
        "cluster": 2,
        "reports": 2,
        "victims": 2,
        "losses": [{"currency": "CNY", "reports": 1, "total": "2089.00", "median": "2089.00", "largest": "2089.00"}],
        "first_contact": "2016-07-16T02:00:00Z",
        "last_contact": "2016-07-18T01:00:00Z",
        "indicators": [{"kind": "domain", "value": "refund-jumei.com.cn", "reports": 2}],
        "report_ids": ["d", "e"],
    }
    assert found["knew"][0] == {"item": "name", "reports": 4, "share": 0.5714}


def test_an_empty_window_sums_to_nothing() -> None:
    found = summary_json(summarize([], Window(None, None, SHANGHAI)))

    assert found["totals"]["reports"] == 0
    assert (found["days"], found["clusters"], found["knew"]) == ([], [], [])


def test_a_median_between_two_cents_keeps_its_half_cent() -> None:
    assert money(Decimal("0.015")) == "0.015"
    assert money(Decimal("2744.5")) == "2744.50"
