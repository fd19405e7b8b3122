"""HTTP routes of scam reports: take them in (one, or a batch that stands or falls as a whole), page
through them, and summarise them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from shopshield.core.db import unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.permissions import Permission, allowed
from shopshield.core.times import Window, parse_window
from shopshield.scams import service
from shopshield.scams.formats import FirstSeen, ScamReport, parse_report
from shopshield.scams.summary import summarize, summary_json
from shopshield.web import JSON, Call, CallDep, needs

router = APIRouter(prefix="/v1/scam-reports", tags=["scam reports"])
MAX_BATCH = 1000

# Plain strings, parsed by ``service.parse_window``: its messages never echo the value, and the
# command line parses the same way.
Moment = Annotated[
    str | None,
    Query(max_length=64, description="ISO 8601 date or time on contacted_at; without an offset, in tz"),
]
Zone = Annotated[str | None, Query(max_length=64, description="IANA time zone of days; default SHOPSHIELD_TIMEZONE")]

_REPORT_EXAMPLE = {
    "report_id": "r-20160715-001",
    "reported_at": "2016-07-16T09:12:00+08:00",
    "customer_id": "c1001",
    "contacted_at": "2016-07-15T14:03:00+08:00",
    "channel": "call",
    "contact_from": "020-3712 8846",
    "claimed_identity": "store customer service",
    "knew": "name|items|price|purchase_time|return_request",
    "url": "http://refund.example-shop.com.cn/login",
    "payee_account": "6222 0202 0000 1234 567",
    "loss_amount": "47200.00",
    "currency": "CNY",
}


@router.post(
    "",
    status_code=201,
    summary="Take in one scam report, or a batch as {'reports': [...]}; all or nothing",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "A report in the shared format, or {'reports': [...]}"},
                    "examples": {
                        "one": {"value": _REPORT_EXAMPLE},
                        "batch": {"value": {"reports": [_REPORT_EXAMPLE]}},
                    },
                }
            },
        }
    },
)
@needs(Permission.SCAM_REPORTS_WRITE)
def submit(call: CallDep, body: Annotated[Any, Body()]) -> JSON:
    reports, positions = _reports_in(body)
    with unit_of_work(call.ctx.sessions) as session:
        result = service.store(
            session=session, reports=reports, received_by=call.who.principal_id, now=datetime.now(UTC)
        )
        if result.conflicting:
            where = positions[result.conflicting[0]]
            # Raised inside the unit of work, so nothing of the batch is written.
            raise service.DifferentReportStored(
                f"{where}report_id: a different report with this report_id is already stored",
                field=f"{where}report_id",
            )
    answer: dict[str, Any] = {"stored": result.stored, "already_stored": result.unchanged}
    if allowed(call.ctx.policies, call.who, Permission.CANARIES_READ):
        # Only security staff learn that a report was about a canary, and whose (docs/canaries.md).
        answer["canary_hits"] = [hit.json() for hit in result.canary_hits]
    return JSON(answer, status_code=201)


def _reports_in(body: Any) -> tuple[list[ScamReport], dict[str, str]]:
    """The reports of a body, each id once, and where each id is in the body ("" or "reports.N.").

    The first bad item fails the request, named by its index and field: a batch is all or nothing,
    so the sender fixes it and sends it again whole.
    """
    if isinstance(body, dict) and "reports" in body:
        items = body["reports"]
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise InvalidInput(f"reports: a list of 1 to {MAX_BATCH} reports", field="reports")
        prefixes = [f"reports.{n}." for n in range(len(items))]
    elif isinstance(body, dict):
        items, prefixes = [body], [""]
    else:
        raise InvalidInput("the body must be one report object or {'reports': [...]}")
    now = datetime.now(UTC)
    reports: list[ScamReport] = []
    positions: dict[str, str] = {}
    seen = FirstSeen()
    for n, (item, prefix) in enumerate(zip(items, prefixes, strict=True)):
        if not isinstance(item, dict):
            raise InvalidInput(f"{prefix.rstrip('.')}: must be a report object", field=prefix.rstrip("."))
        try:
            report = parse_report(item, now=now)
        except InvalidInput as exc:
            raise InvalidInput(f"{prefix}{exc.message}", field=f"{prefix}{exc.field or ''}".rstrip(".")) from None
        repeat = seen.repeat_of(n, report)
        if repeat is None:
            reports.append(report)
            positions[report.report_id] = prefix
        elif not repeat[1]:
            raise InvalidInput(
                f"{prefix}report_id: item {repeat[0]} has the same report_id with different values",
                field=f"{prefix}report_id",
            )
    return reports, positions


@router.get("", summary="Scam reports in contact order, a page at a time")
@needs(Permission.SCAM_REPORTS_READ)
def list_reports(
    call: CallDep,
    since: Moment = None,
    until: Moment = None,
    tz: Zone = None,
    customer_id: Annotated[str | None, Query(max_length=64, description="Only this victim's reports")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = service.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=100, description="next_cursor of the previous page")] = None,
) -> JSON:
    query = service.parse_page(
        window=_window(call, since, until, tz), customer_id=customer_id, limit=limit, cursor=cursor
    )
    with unit_of_work(call.ctx.sessions) as session:
        return JSON(service.page(session=session, query=query))


@router.get(
    "/summary",
    summary="Per day, overall, clusters of reports sharing scammer indicators, and what the scammers knew",
)
@needs(Permission.SCAM_REPORTS_READ)
def summary(call: CallDep, since: Moment = None, until: Moment = None, tz: Zone = None) -> JSON:
    window = _window(call, since, until, tz)
    with unit_of_work(call.ctx.sessions) as session:
        reports = service.load(session=session, window=window)
    return JSON(summary_json(summarize(reports, window)))


def _window(call: Call, since: str | None, until: str | None, tz: str | None) -> Window:
    return parse_window(since=since, until=until, tz=tz or call.ctx.settings.timezone)
