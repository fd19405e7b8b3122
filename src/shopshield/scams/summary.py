"""What scam reports add up to: losses per day, clusters of reports joined by shared scammer
indicators, and what the scammers knew; and the summary as JSON.

Plain computation over ``ScamReport`` values (``summarize``), so the API, the command line and the
case file give the same numbers, and tests can check them without a database.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shopshield.core.times import Window, iso
from shopshield.scams import indicators
from shopshield.scams.formats import ScamReport, item_rank
from shopshield.scams.indicators import Indicator

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Losses:
    """Losses in one currency over reports that state an amount (0 included: a scam stopped in
    time); reports without an amount are counted apart, never as 0."""

    currency: str
    reports: int
    total: Decimal
    median: Decimal
    largest: Decimal

    def json(self) -> Json:
        return {
            "currency": self.currency,
            "reports": self.reports,
            "total": money(self.total),
            "median": money(self.median),
            "largest": money(self.largest),
        }


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    reports: int
    victims: int
    losses: list[Losses]


@dataclass(frozen=True, slots=True)
class SharedIndicator:
    """An indicator that two or more reports of a cluster share: it is what joins them."""

    kind: str
    value: str
    reports: int


@dataclass(frozen=True, slots=True)
class Cluster:
    number: int
    reports: list[ScamReport]
    victims: int
    losses: list[Losses]
    first_contact: datetime
    last_contact: datetime
    indicators: list[SharedIndicator]


@dataclass(frozen=True, slots=True)
class KnewCount:
    item: str
    reports: int
    share: float


@dataclass(frozen=True, slots=True)
class Summary:
    window: Window
    reports: int
    victims: int
    losses: list[Losses]
    loss_unknown: int
    first_contact: datetime | None
    last_contact: datetime | None
    days: list[Day]
    clusters: list[Cluster]
    knew: list[KnewCount]


def money(value: Decimal) -> str:
    """Two decimal places; three for the half-cent a median of an even count can end in."""
    text = f"{value:.2f}"
    return text if Decimal(text) == value else f"{value:.3f}"


def losses_text(
    losses: Iterable[Losses], part: Literal["total", "median", "largest"] = "total", sep: str = "; "
) -> str:
    """``CNY 47200.00; USD 30.00``: one part of each currency's losses, for people."""
    return sep.join(f"{loss.currency} {money(getattr(loss, part))}" for loss in losses)


def summarize(reports: Sequence[ScamReport], window: Window) -> Summary:
    """Per day (of ``window.tz``, by contact time), overall, per cluster, and per ``knew`` item."""
    contacts = [r.contacted_at for r in reports]
    return Summary(
        window=window,
        reports=len(reports),
        victims=len({r.customer_id for r in reports}),
        losses=losses(reports),
        loss_unknown=sum(1 for r in reports if r.loss_amount is None),
        first_contact=min(contacts, default=None),
        last_contact=max(contacts, default=None),
        days=days(reports, window.tz),
        clusters=clusters(reports),
        knew=knew_counts(reports),
    )


def losses(reports: Iterable[ScamReport]) -> list[Losses]:
    """Total, median and largest loss per currency: amounts in different currencies never add up."""
    amounts: dict[str, list[Decimal]] = defaultdict(list)
    for report in reports:
        if report.loss_amount is not None:
            amounts[report.currency].append(report.loss_amount)
    return [
        Losses(currency, len(found), sum(found, Decimal(0)), statistics.median(found), max(found))
        for currency, found in sorted(amounts.items())
    ]


def days(reports: Sequence[ScamReport], tz: ZoneInfo) -> list[Day]:
    """One row per local day from the first contact to the last, days without reports included
    (a chart of losses per day must show the quiet days too)."""
    by_day: dict[date, list[ScamReport]] = defaultdict(list)
    for report in reports:
        by_day[report.contacted_at.astimezone(tz).date()].append(report)
    if not by_day:
        return []
    first, last = min(by_day), max(by_day)
    found = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        on_day = by_day.get(day, [])
        found.append(Day(day, len(on_day), len({r.customer_id for r in on_day}), losses(on_day)))
    return found


def clusters(reports: Sequence[ScamReport]) -> list[Cluster]:
    """Groups of two or more reports linked by shared indicators, directly or through each other
    (the connected components of reports joined by an indicator): a call from one number, and a
    payee account that number's victims shared with a third report, make one cluster of three.

    Largest first, then earliest contact; numbered from 1 in that order.
    """
    sharing: dict[Indicator, list[int]] = defaultdict(list)
    for position, report in enumerate(reports):
        for indicator in indicators.of_report(report):
            sharing[indicator].append(position)
    parent = list(range(len(reports)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    shared = {indicator: members for indicator, members in sharing.items() if len(members) > 1}
    for members in shared.values():
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    groups: dict[int, list[ScamReport]] = defaultdict(list)
    for position, report in enumerate(reports):
        groups[root(position)].append(report)
    joining: dict[int, list[SharedIndicator]] = defaultdict(list)
    for indicator, members in sorted(shared.items(), key=lambda item: (-len(item[1]), item[0])):
        joining[root(members[0])].append(SharedIndicator(indicator.kind, indicator.value, len(members)))
    linked = [
        (group_root, sorted(members, key=lambda r: (r.contacted_at, r.report_id)))
        for group_root, members in groups.items()
        if len(members) > 1
    ]
    linked.sort(key=lambda group: (-len(group[1]), group[1][0].contacted_at, group[1][0].report_id))
    return [
        Cluster(
            number=number,
            reports=members,
            victims=len({r.customer_id for r in members}),
            losses=losses(members),
            first_contact=members[0].contacted_at,
            last_contact=members[-1].contacted_at,
            indicators=joining[group_root],
        )
        for number, (group_root, members) in enumerate(linked, start=1)
    ]


def knew_counts(reports: Sequence[ScamReport]) -> list[KnewCount]:
    """How many reports say the scammer knew each item, and what share of all reports that is;
    most often first, ties in the format's order."""
    counts = Counter(item for report in reports for item in report.knew)
    total = len(reports)
    return [
        KnewCount(item, count, round(count / total, 4))
        for item, count in sorted(counts.items(), key=lambda entry: (-entry[1], item_rank(entry[0])))
    ]


def summary_json(summary: Summary) -> Json:
    """The summary as the API and ``reports summary --format json`` give it (docs/scam-reports.md)."""

    def when(moment: datetime | None) -> str | None:
        return None if moment is None else iso(moment)

    return {
        "window": summary.window.json(),
        "totals": {
            "reports": summary.reports,
            "victims": summary.victims,
            "losses": [loss.json() for loss in summary.losses],
            "loss_unknown": summary.loss_unknown,
            "first_contact": when(summary.first_contact),
            "last_contact": when(summary.last_contact),
            "clusters": len(summary.clusters),
        },
        "days": [
            {
                "day": day.day.isoformat(),
                "reports": day.reports,
                "victims": day.victims,
                "losses": [loss.json() for loss in day.losses],
            }
            for day in summary.days
        ],
        "clusters": [
            {
                "cluster": cluster.number,
                "reports": len(cluster.reports),
                "victims": cluster.victims,
                "losses": [loss.json() for loss in cluster.losses],
                "first_contact": iso(cluster.first_contact),
                "last_contact": iso(cluster.last_contact),
                "indicators": [
                    {"kind": shared.kind, "value": shared.value, "reports": shared.reports}
                    for shared in cluster.indicators
                ],
                "report_ids": [r.report_id for r in cluster.reports],
            }
            for cluster in summary.clusters
        ],
        "knew": [{"item": k.item, "reports": k.reports, "share": k.share} for k in summary.knew],
    }
