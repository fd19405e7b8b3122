"""HTTP route of security alerts: the list, for security staff (``alerts.read``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from shopshield.alerts import service
from shopshield.alerts.schemas import CODE_PATTERN, parse_since
from shopshield.core.db import unit_of_work
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


@router.get("", summary="Security alerts, newest first: actors by id and reasons in words, no personal values")
@needs(Permission.ALERTS_READ)
def list_alerts(
    call: CallDep,
    kind: Annotated[str | None, Query(pattern=CODE_PATTERN, description="Only this kind, e.g. search_limit")] = None,
    status: Annotated[str | None, Query(pattern=CODE_PATTERN, description="Only this status, e.g. open")] = None,
    actor_id: Annotated[RecordId | None, Query(description="Only this actor's")] = None,
    since: Annotated[str | None, Query(max_length=64, description="ISO 8601 date or time; without a zone, UTC")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT)] = 100,
) -> JSON:
    start = parse_since(since)
    with unit_of_work(call.ctx.sessions) as session:
        found = service.list_alerts(
            session=session, kind=kind, status=status, actor_id=actor_id, since=start, limit=limit
        )
    return JSON({"alerts": found})
