"""Scam reports: the stored reports of a window, filtered and paged; the clusters that shared
scammer indicators make of them; reports and losses per day; and one report with the reports it is
linked to.

Everything comes from the scams domain's services (``service.load``, ``service.get``,
``summary``, ``indicators``), so the page, ``GET /v1/scam-reports/summary`` and the case file give
the same numbers. A report holds scammer indicators and the victim's customer id, no personal data
of the customer; the victim's masked details are one click away on the Customers page, through the
vault and recorded there.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from shopshield.console import charts
from shopshield.console.views import PREFIX, View, page
from shopshield.core.db import unit_of_work
from shopshield.core.errors import InvalidInput, NotFound
from shopshield.core.ids import check as check_id
from shopshield.core.permissions import Permission
from shopshield.core.times import Window, parse_window
from shopshield.scams import indicators
from shopshield.scams import service as scams
from shopshield.scams.formats import CHANNELS, DEFAULT_CURRENCY, KNEW_VOCABULARY, ScamReport
from shopshield.scams.indicators import Indicator
from shopshield.scams.summary import Cluster, clusters, losses, losses_text, money

DEFAULT_DAYS: Final = 30
# A chart of more days than this has bars too thin to read; a longer look is the case file's.
MAX_DAYS: Final = 92
PAGE_SIZE: Final = 50
MAX_PAGE: Final = 10_000
# Reports linked to one report are looked for this far either side of its contact.
LINK_DAYS: Final = 30
VICTIM_REPORTS: Final = 20
MAX_TEXT: Final = 128

_AMOUNT: Final = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")
_CURRENCY: Final = re.compile(r"[A-Za-z]{3}")
_ITEM: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")
_NUMBER: Final = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class Filters:
    """The page's filters as given (for the links that keep them) and as parsed."""

    given: dict[str, str]
    window: Window
    first_day: date
    last_day: date
    channel: str | None
    knew: str | None
    claimed: str | None
    indicator: frozenset[Indicator] | None
    customer_id: str | None
    min_loss: Decimal | None
    max_loss: Decimal | None
    currency: str | None
    cluster: int | None
    page: int

    def link(self, **changes: str | int | None) -> str:
        """This page's URL with these filters, some changed (None removes one)."""
        values: dict[str, str] = {**self.given, **{k: str(v) for k, v in changes.items() if v is not None}}
        for name, value in changes.items():
            if value is None:
                values.pop(name, None)
        return f"{PREFIX}/scam-reports" + (f"?{urlencode(values)}" if values else "")

    def matches(self, report: ScamReport, cluster_of: dict[str, int]) -> bool:
        if self.channel is not None and report.channel != self.channel:
            return False
        if self.knew is not None and self.knew not in report.knew:
            return False
        if self.claimed is not None and self.claimed not in (report.claimed_identity or "").casefold():
            return False
        if self.indicator is not None and not (self.indicator & indicators.of_report(report)):
            return False
        if self.customer_id is not None and report.customer_id != self.customer_id:
            return False
        if self.currency is not None and report.currency != self.currency:
            return False
        if self.min_loss is not None or self.max_loss is not None:
            # A report without an amount has an unknown loss: it matches no amount range.
            if report.loss_amount is None:
                return False
            if self.min_loss is not None and report.loss_amount < self.min_loss:
                return False
            if self.max_loss is not None and report.loss_amount > self.max_loss:
                return False
        return self.cluster is None or cluster_of.get(report.report_id) == self.cluster


def _text(view: View, name: str) -> str | None:
    value = view.query(name)
    if value is not None and len(value) > MAX_TEXT:
        raise InvalidInput(f"{name}: at most {MAX_TEXT} characters", field=name)
    return value.strip() if value is not None and value.strip() else None


def _amount(view: View, name: str) -> Decimal | None:
    value = _text(view, name)
    if value is None:
        return None
    if not _AMOUNT.fullmatch(value):
        raise InvalidInput(f"{name}: an amount such as 100 or 47200.50 (no separators or signs)", field=name)
    return Decimal(value)


def _whole(view: View, name: str, low: int, high: int) -> int | None:
    value = _text(view, name)
    if value is None:
        return None
    if not _NUMBER.fullmatch(value) or not low <= int(value) <= high:
        raise InvalidInput(f"{name}: a whole number from {low} to {high}", field=name)
    return int(value)


def searched_indicators(raw: str) -> frozenset[Indicator]:
    """What a typed indicator may be, each in the one spelling ``indicators`` gives reports: a
    calling or texting number, an SMS sender or IM handle, a link's registered domain, a payee."""
    found = {
        indicators.contact_indicator("call", raw),
        indicators.contact_indicator("sms", raw),
        indicators.contact_indicator("im", raw),
        indicators.payee_indicator(raw),
        indicators.link_indicator(raw) if "." in raw and " " not in raw.strip() else None,
    }
    return frozenset(i for i in found if i is not None)


def parse_filters(view: View, today: date) -> Filters:
    """The query's filters, checked; each message names the filter and its rule, never the value."""
    tz = view.ctx.settings.timezone
    since, until = _text(view, "since"), _text(view, "until")
    window = parse_window(since=since, until=until, tz=tz)
    zone = window.tz
    if window.until is None:
        end = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    else:
        end = window.until
    start = (
        window.since
        if window.since is not None
        else datetime.combine(
            end.astimezone(zone).date() - timedelta(days=DEFAULT_DAYS), datetime.min.time(), zone
        ).astimezone(UTC)
    )
    if start >= end:
        raise InvalidInput("since must be before until", field="since")
    first_day, last_day = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise InvalidInput(f"since, until: the window may span at most {MAX_DAYS} days", field="since")
    channel = _text(view, "channel")
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(f"channel: must be one of {', '.join(CHANNELS)}", field="channel")
    knew = _text(view, "knew")
    if knew is not None and not _ITEM.fullmatch(knew):
        raise InvalidInput("knew: one item such as name, items or return_request", field="knew")
    raw_indicator = _text(view, "indicator")
    found = None if raw_indicator is None else searched_indicators(raw_indicator)
    if found is not None and not found:
        raise InvalidInput(
            "indicator: a phone number, sender, handle, link or domain, or payee account", field="indicator"
        )
    customer_id = _text(view, "customer_id")
    if customer_id is not None:
        check_id(customer_id, "customer_id")
    min_loss, max_loss = _amount(view, "min_loss"), _amount(view, "max_loss")
    if min_loss is not None and max_loss is not None and min_loss > max_loss:
        raise InvalidInput("min_loss must not be more than max_loss", field="min_loss")
    currency = _text(view, "currency")
    if currency is not None and not _CURRENCY.fullmatch(currency):
        raise InvalidInput("currency: three letters, such as CNY", field="currency")
    claimed = _text(view, "claimed")
    given = {
        name: value
        for name in (
            "since",
            "until",
            "channel",
            "knew",
            "claimed",
            "indicator",
            "customer_id",
            "min_loss",
            "max_loss",
            "currency",
            "cluster",
        )
        if (value := _text(view, name)) is not None
    }
    return Filters(
        given=given,
        window=Window(start, end, zone),
        first_day=first_day,
        last_day=last_day,
        channel=channel,
        knew=knew,
        claimed=None if claimed is None else claimed.casefold(),
        indicator=found,
        customer_id=customer_id,
        min_loss=min_loss,
        max_loss=max_loss,
        currency=None if currency is None else currency.upper(),
        cluster=_whole(view, "cluster", 1, 1_000_000),
        page=_whole(view, "page", 1, MAX_PAGE) or 1,
    )


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _row(report: ScamReport, zone: ZoneInfo, cluster_of: dict[str, int]) -> dict[str, Any]:
    return {
        "report_id": report.report_id,
        "contacted": _when(report.contacted_at, zone),
        "channel": report.channel,
        "contact_from": report.contact_from or "",
        "claimed_identity": report.claimed_identity or "",
        "knew": ", ".join(report.knew),
        "payee_account": report.payee_account or "",
        "url": report.url or "",
        "loss": "" if report.loss_amount is None else f"{money(report.loss_amount)} {report.currency}",
        "cluster": cluster_of.get(report.report_id),
        "customer_id": report.customer_id,
    }


def _cluster_row(cluster: Cluster, zone: ZoneInfo, filters: Filters) -> dict[str, Any]:
    return {
        "number": cluster.number,
        "reports": len(cluster.reports),
        "victims": cluster.victims,
        "losses": losses_text(cluster.losses) or "none stated",
        "first": _when(cluster.first_contact, zone),
        "last": _when(cluster.last_contact, zone),
        "indicators": [{"kind": i.kind, "value": i.value, "reports": i.reports} for i in cluster.indicators],
        "link": filters.link(cluster=cluster.number, page=None),
    }


def _chart_currency(filters: Filters, reports: list[ScamReport]) -> str:
    if filters.currency is not None:
        return filters.currency
    counts = Counter(r.currency for r in reports if r.loss_amount is not None)
    return counts.most_common(1)[0][0] if counts else DEFAULT_CURRENCY


def _days(filters: Filters, reports: list[ScamReport], currency: str) -> list[dict[str, Any]]:
    """Every day of the window, quiet ones included: reports, victims and losses (the chart's
    currency apart from the others) of the reports shown."""
    zone = filters.window.tz
    by_day: dict[date, list[ScamReport]] = {}
    for report in reports:
        by_day.setdefault(report.contacted_at.astimezone(zone).date(), []).append(report)
    rows = []
    for n in range((filters.last_day - filters.first_day).days + 1):
        day = filters.first_day + timedelta(days=n)
        on_day = by_day.get(day, [])
        day_losses = losses(on_day)
        in_currency = next((x.total for x in day_losses if x.currency == currency), Decimal(0))
        rows.append(
            {
                "day": day.isoformat(),
                "reports": len(on_day),
                "victims": len({r.customer_id for r in on_day}),
                "loss": in_currency,
                "loss_text": money(in_currency),
                "other": losses_text(x for x in day_losses if x.currency != currency),
            }
        )
    return rows


@page(
    "/scam-reports",
    title="Scam reports",
    template="scam_reports.html",
    permission=Permission.SCAM_REPORTS_READ,
    nav=True,
)
def scam_reports(view: View) -> dict[str, Any]:
    zone = ZoneInfo(view.ctx.settings.timezone)
    filters = parse_filters(view, datetime.now(UTC).astimezone(zone).date())
    with unit_of_work(view.ctx.sessions) as session:
        window_reports = scams.load(session=session, window=filters.window)
    # Clusters are found over the whole window, whatever else is filtered: a channel or amount
    # filter must not hide the report that links two others.
    found_clusters = clusters(window_reports)
    cluster_of = {r.report_id: c.number for c in found_clusters for r in c.reports}
    if filters.cluster is not None and filters.cluster > len(found_clusters):
        raise InvalidInput(f"cluster: this window has {len(found_clusters)} clusters", field="cluster")
    shown = [r for r in window_reports if filters.matches(r, cluster_of)]
    shown_ids = {r.report_id for r in shown}
    currency = _chart_currency(filters, shown)
    days = _days(filters, shown, currency)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    if filters.page > pages:
        raise InvalidInput(f"page: these filters give {pages} pages", field="page")
    # Newest first: the latest contacts are what a person opening the page looks for.
    newest = sorted(shown, key=lambda r: (r.contacted_at, r.report_id), reverse=True)
    on_page = newest[(filters.page - 1) * PAGE_SIZE : filters.page * PAGE_SIZE]
    window_zone = filters.window.tz
    return {
        "filters": filters.given,
        "first_day": filters.first_day.isoformat(),
        "last_day": filters.last_day.isoformat(),
        "tz": window_zone.key,
        "channels": CHANNELS,
        "vocabulary": sorted({*KNEW_VOCABULARY, *(item for r in window_reports for item in r.knew)}),
        "totals": {
            "reports": len(shown),
            "victims": len({r.customer_id for r in shown}),
            "losses": losses_text(losses(shown)) or "none stated",
            "loss_unknown": sum(1 for r in shown if r.loss_amount is None),
            "in_window": len(window_reports),
        },
        "currency": currency,
        "days": days,
        "reports_chart": charts.bars("Reports per day", [(d["day"][5:], float(d["reports"])) for d in days]),
        "losses_chart": charts.bars(f"Losses per day ({currency})", [(d["day"][5:], float(d["loss"])) for d in days]),
        "clusters": [
            _cluster_row(c, window_zone, filters)
            for c in found_clusters
            if any(r.report_id in shown_ids for r in c.reports)
        ],
        "clusters_in_window": len(found_clusters),
        "reports": [_row(r, window_zone, cluster_of) for r in on_page],
        "page": filters.page,
        "pages": pages,
        "previous": filters.link(page=filters.page - 1) if filters.page > 1 else None,
        "next": filters.link(page=filters.page + 1) if filters.page < pages else None,
        "clear": filters.link(**dict.fromkeys(filters.given)) if filters.given else None,
        "cluster_filter": filters.cluster,
    }


@page(
    "/scam-reports/{report_id}",
    title="Scam report",
    template="scam_report.html",
    permission=Permission.SCAM_REPORTS_READ,
)
def scam_report(view: View) -> dict[str, Any]:
    report_id = view.path_value("report_id")
    zone = ZoneInfo(view.ctx.settings.timezone)
    with unit_of_work(view.ctx.sessions) as session:
        found = scams.get(session=session, report_id=report_id)
        if found is None:
            raise NotFound("no scam report has this id")
        report, stored = found
        around = Window(
            report.contacted_at - timedelta(days=LINK_DAYS), report.contacted_at + timedelta(days=LINK_DAYS), zone
        )
        nearby = scams.load(session=session, window=around)
        victims = scams.page(
            session=session,
            query=scams.parse_page(
                window=Window(None, None, zone),
                customer_id=report.customer_id,
                limit=VICTIM_REPORTS,
                cursor=None,
            ),
        )
    own = indicators.of_report(report)
    linked = next((c for c in clusters(nearby) if any(r.report_id == report.report_id for r in c.reports)), None)
    by_number = {r.report_id: n for n, r in enumerate(nearby)}
    return {
        "report": {
            **stored,
            "contacted": _when(report.contacted_at, zone),
            "reported": _when(report.reported_at, zone),
        },
        "tz": zone.key,
        "loss": "unknown" if report.loss_amount is None else f"{money(report.loss_amount)} {report.currency}",
        "indicators": [
            {
                "kind": i.kind,
                "value": i.value,
                "link": _indicator_link(i.value, report, zone),
            }
            for i in sorted(own)
        ],
        "link_days": LINK_DAYS,
        "cluster": None
        if linked is None
        else {
            "reports": len(linked.reports),
            "victims": linked.victims,
            "losses": losses_text(linked.losses) or "none stated",
            "indicators": [
                {"kind": i.kind, "value": i.value, "reports": i.reports, "this": Indicator(i.kind, i.value) in own}
                for i in linked.indicators
            ],
            "others": [
                _row(r, zone, {})
                for r in sorted(linked.reports, key=lambda r: by_number.get(r.report_id, 0))
                if r.report_id != report.report_id
            ],
        },
        "victim_reports": [item["report_id"] for item in victims["items"] if item["report_id"] != report.report_id],
        "victim_more": victims["next_cursor"] is not None,
    }


def _indicator_link(value: str, report: ScamReport, zone: ZoneInfo) -> str:
    """The list filtered by an indicator, over the days a linked report is looked for in."""
    query = {"indicator": value, "since": _day(report, -LINK_DAYS, zone), "until": _day(report, LINK_DAYS + 1, zone)}
    return f"{PREFIX}/scam-reports?{urlencode(query)}"


def _day(report: ScamReport, days: int, zone: ZoneInfo) -> str:
    return (report.contacted_at.astimezone(zone).date() + timedelta(days=days)).isoformat()
