"""Storing scam reports, reading them back by window or by page, and what they add up to: losses per
day, clusters of reports joined by shared scammer indicators, and what the scammers knew.

The summary is plain computation over ``ScamReport`` values (``summarize``), so the API, the command
line and the case file give the same numbers, and tests can check them without a database.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopshield.canary.service import ReportHit, hits_from_scam_reports
from shopshield.core import ids, times
from shopshield.core.errors import Conflict, InvalidInput
from shopshield.core.ids import ID_BODY
from shopshield.core.times import Window, iso
from shopshield.scams import indicators
from shopshield.scams.formats import ScamReport, item_rank, ordered_items
from shopshield.scams.indicators import Indicator
from shopshield.scams.models import ScamReportRow

Json = dict[str, Any]

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000

_CURSOR: Final = re.compile(rf"([0-9]{{1,18}})\.({ID_BODY})")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_HUNDRED: Final = Decimal(100)


class DifferentReportStored(Conflict, InvalidInput):
    """A report reuses the id of a different report already stored: 409, naming the item's field.

    Both bases on purpose: the HTTP edge maps a Conflict to 409 and adds the ``field`` of an
    InvalidInput to the answer, which here names the item of a batch.
    """

    code = "conflict"


# -- storing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """What ``store`` did with each report id: stored it, found it already stored exactly so, or
    found a different report under it (and left that one alone); and the stored reports that are
    about a canary customer, each of which names where the data leaked (``canary.service``)."""

    stored: list[str]
    unchanged: list[str]
    conflicting: list[str]
    canary_hits: list[ReportHit] = field(default_factory=list)


def store(*, session: Session, reports: Sequence[ScamReport], received_by: str, now: datetime) -> Stored:
    """Insert the reports that are new, in one statement; each id must appear once in ``reports``.

    Sending a stored report again is harmless (``unchanged``), so a sender can retry after a
    timeout. A different report under a stored id is not written (``conflicting``): the caller
    decides whether that fails the whole request (the API) or just that row (an import).
    """
    stored_before = {
        row.report_id: to_report(row)
        for row in session.scalars(
            select(ScamReportRow).where(ScamReportRow.report_id.in_([r.report_id for r in reports]))
        )
    }
    new = [r for r in reports if r.report_id not in stored_before]
    hits: list[ReportHit] = []
    if new:
        try:
            session.execute(insert(ScamReportRow), [_values(r, received_by, now) for r in new])
        except IntegrityError:
            # Another writer stored one of these ids between the read above and this insert.
            raise Conflict("another request stored one of these report_ids at the same moment; send again") from None
        # Only new reports: a resent report raised its hit when it was first stored.
        hits = hits_from_scam_reports(session=session, reports=new, recorded_by=received_by, now=now)
    return Stored(
        stored=[r.report_id for r in new],
        unchanged=[r.report_id for r in reports if stored_before.get(r.report_id) == r],
        conflicting=[r.report_id for r in reports if r.report_id in stored_before and stored_before[r.report_id] != r],
        canary_hits=hits,
    )


def _values(report: ScamReport, received_by: str, now: datetime) -> Json:
    loss = report.loss_amount
    return {
        "report_id": report.report_id,
        "reported_at": report.reported_at,
        "customer_id": report.customer_id,
        "contacted_at": report.contacted_at,
        "channel": report.channel,
        "contact_from": report.contact_from,
        "claimed_identity": report.claimed_identity,
        "knew": "|".join(report.knew),
        "url": report.url,
        "payee_account": report.payee_account,
        "loss_hundredths": None if loss is None else int(loss * _HUNDRED),
        "currency": report.currency,
        "received_at": now.astimezone(UTC),
        "received_by": received_by,
    }


def to_report(row: ScamReportRow) -> ScamReport:
    return ScamReport(
        report_id=row.report_id,
        reported_at=times.utc(row.reported_at),
        customer_id=row.customer_id,
        contacted_at=times.utc(row.contacted_at),
        channel=row.channel,
        contact_from=row.contact_from,
        claimed_identity=row.claimed_identity,
        knew=ordered_items(row.knew.split("|")) if row.knew else (),
        url=row.url,
        payee_account=row.payee_account,
        loss_amount=None if row.loss_hundredths is None else Decimal(row.loss_hundredths).scaleb(-2),
        currency=row.currency,
    )


# -- windows and pages ---------------------------------------------------------------------------


def _in_window(window: Window) -> list[ColumnElement[bool]]:
    # Bound as UTC: SQLite keeps these columns as UTC text and compares text.
    conditions: list[ColumnElement[bool]] = []
    if window.since is not None:
        conditions.append(ScamReportRow.contacted_at >= window.since)
    if window.until is not None:
        conditions.append(ScamReportRow.contacted_at < window.until)
    return conditions


def load(*, session: Session, window: Window) -> list[ScamReport]:
    """Every report contacted in the window, in contact order (then by id)."""
    query = (
        select(ScamReportRow).where(*_in_window(window)).order_by(ScamReportRow.contacted_at, ScamReportRow.report_id)
    )
    return [to_report(row) for row in session.scalars(query)]


@dataclass(frozen=True, slots=True)
class PageQuery:
    window: Window
    customer_id: str | None = None
    limit: int = DEFAULT_LIMIT
    after: tuple[datetime, str] | None = None


def parse_page(
    *, window: Window, customer_id: str | None, limit: int, cursor: str | None, prefix: str = ""
) -> PageQuery:
    if customer_id is not None:
        ids.check(customer_id, "customer_id")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"{prefix}limit: must be between 1 and {MAX_LIMIT}", field="limit")
    after = None
    if cursor is not None:
        found = _CURSOR.fullmatch(cursor)
        if found is None:
            raise InvalidInput(f"{prefix}cursor: must be the next_cursor of a previous page", field="cursor")
        after = (_EPOCH + int(found.group(1)) * _MICROSECOND, found.group(2))
    return PageQuery(window, customer_id, limit, after)


def page(*, session: Session, query: PageQuery) -> Json:
    """One page of reports in contact order, and the cursor of the next page (None at the end).

    The cursor is the last report's contact time (microseconds since the epoch) and id: the next
    page starts strictly after it, so reports stored meanwhile are neither skipped nor repeated
    unless they fall before the cursor.
    """
    conditions = _in_window(query.window)
    if query.customer_id is not None:
        conditions.append(ScamReportRow.customer_id == query.customer_id)
    if query.after is not None:
        at, report_id = query.after
        conditions.append(
            or_(
                ScamReportRow.contacted_at > at,
                and_(ScamReportRow.contacted_at == at, ScamReportRow.report_id > report_id),
            )
        )
    rows = list(
        session.scalars(
            select(ScamReportRow)
            .where(*conditions)
            .order_by(ScamReportRow.contacted_at, ScamReportRow.report_id)
            .limit(query.limit + 1)  # one more says whether another page follows
        )
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    last = to_report(rows[-1]) if rows and more else None
    return {
        "items": [report_json(row) for row in rows],
        "next_cursor": None if last is None else f"{(last.contacted_at - _EPOCH) // _MICROSECOND}.{last.report_id}",
    }


def report_json(row: ScamReportRow) -> Json:
    """A stored report in the shared format's names (so it can be sent again as it is), with when
    and from whom ShopShield received it."""
    return to_report(row).shared_row() | {"received_at": iso(row.received_at), "received_by": row.received_by}


# -- the summary ---------------------------------------------------------------------------------


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
