"""HTTP route of the access report ("right to know"). It commits its own access event before it answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from shopshield.access import report
from shopshield.core.db import transaction
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission, in_service
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1", tags=["access"])
CustomerId = Annotated[RecordId, Path(description="The store's customer id")]
# Plain strings, parsed by ``report.parse_query``: its messages never echo the value, and the
# command line parses the same way.
Moment = Annotated[str | None, Query(max_length=64, description="ISO 8601 date or time; without a zone, UTC")]


@router.get(
    "/customers/{customer_id}/access-report",
    summary="Who accessed the customer's data, when, which fields and for what purpose (newest first)",
)
@needs(
    in_service(
        Permission.ACCESS_REPORTS_READ,
        why="a refusal is recorded as an access event in the report's own transaction (report.authorize)",
    )
)
def access_report(
    customer_id: CustomerId,
    call: CallDep,
    since: Moment = None,
    until: Moment = None,
    limit: Annotated[int, Query(ge=1, le=report.MAX_LIMIT, description="Events per page")] = report.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=32, description="next_cursor of the previous page")] = None,
) -> JSON:
    query = report.parse_query(customer_id, since=since, until=until, limit=limit, cursor=cursor)
    with transaction(call.ctx.engine) as tx:
        ctx, now = call.ctx, call.ctx.vault.clock()
        report.authorize(
            policies=ctx.policies, audit=ctx.audit, tx=tx, caller=call.caller, customer_id=customer_id, now=now
        )
        result = report.access_report(audit=ctx.audit, tx=tx, caller=call.caller, query=query, now=now)
    return JSON(result)
