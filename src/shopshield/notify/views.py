"""HTTP routes of delivery operations, for security staff: the queue's status and dead letters
(``notifications.read``), and sending a dead letter again (``notifications.operate``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from shopshield.core.db import run_transaction, transaction
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission
from shopshield.notify import ops
from shopshield.web import JSON, CallDep, needs

ops_router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


@ops_router.get("/status", summary="The delivery queue by state and channel, and the age of the oldest due message")
@needs(Permission.NOTIFICATIONS_READ)
async def delivery_status(call: CallDep) -> JSON:
    found = await run_in_threadpool(ops.status, call.ctx.engine, datetime.now(UTC))
    return JSON(found)


@ops_router.get("/dead-letters", summary="Messages given up on, newest first: ids, codes and reasons, no address")
@needs(Permission.NOTIFICATIONS_READ)
def dead_letters(
    call: CallDep,
    channel: Annotated[str | None, Query(max_length=8, description="Only this channel: sms, email or push")] = None,
    limit: Annotated[int, Query(ge=1, le=ops.MAX_LIMIT)] = 100,
) -> JSON:
    chosen = ops.parse_channel(channel)
    with transaction(call.ctx.engine, read_only=True) as tx:
        found = ops.dead_letters(tx, channel=chosen, limit=limit)
    return JSON({"dead_letters": found})


@ops_router.post(
    "/{notification_id}/retry", summary="A dead letter back in the queue, due now (same idempotency key)"
)
@needs(Permission.NOTIFICATIONS_OPERATE)
async def retry(call: CallDep, notification_id: Annotated[RecordId, Path()]) -> JSON:
    now = datetime.now(UTC)
    found = await run_transaction(call.ctx.engine, lambda tx: ops.retry(tx, notification_id=notification_id, now=now))
    return JSON(found)
