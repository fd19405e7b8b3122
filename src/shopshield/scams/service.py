"""Storing scam reports and reading them back, by window or by page. What they add up to is
``summary.py``'s."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopshield.canary.service import ReportHit, hits_from_scam_reports
from shopshield.core import ids, times
from shopshield.core.errors import Conflict, InvalidInput
from shopshield.core.ids import ID_BODY
from shopshield.core.times import Window, iso
from shopshield.scams.formats import ScamReport, ordered_items
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


def get(*, session: Session, report_id: str) -> tuple[ScamReport, Json] | None:
    """One stored report by id, as a value and as the list gives it (with when and from whom it was
    received); None when no report has that id."""
    row = session.get(ScamReportRow, report_id)
    return None if row is None else (to_report(row), report_json(row))


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
