"""HTTP routes of notifications for the store's backend (``notifications.write``): a customer's
preferences and anti-phishing code, and events from the store's own systems; and, for security
staff, delivery operations (``notifications.read``, ``notifications.operate``): the queue's
status, dead letters, and sending a dead letter again.

No route returns the anti-phishing code: it is set and cleared here, and only the delivery worker
unseals it, to put it in a message to the customer. Each route commits before it answers, and a
refused input writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from starlette.concurrency import run_in_threadpool

from shopshield.core import ids, times
from shopshield.core.db import Tx, run_transaction, transaction, unit_of_work
from shopshield.core.errors import InvalidInput, NotFound
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission
from shopshield.notify import antiphishing, ops, service
from shopshield.notify.catalogue import parse_event
from shopshield.notify.schemas import CodeIn, EventIn
from shopshield.vault import service as vault_service
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1", tags=["notifications"])
CustomerId = Annotated[RecordId, Path(description="The store's customer id")]
# Where ``source`` says a row came from this API; ``source_ref`` is the caller's event id.
API_SOURCE = "api"
# A store system's clock may run a little ahead of ours; an event further in the future is a bug.
_CLOCK_SKEW = timedelta(minutes=5)


def _live_customer(tx: Tx, customer_id: str) -> None:
    if not vault_service.is_live(tx=tx, customer_id=customer_id):
        raise NotFound("no such customer")


@router.get(
    "/customers/{customer_id}/notification-preferences",
    summary="The customer's notification preferences: every event with its channels, defaults filled in",
)
@needs(Permission.NOTIFICATIONS_WRITE)
def get_preferences(customer_id: CustomerId, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        tx = Tx.of_session(session)
        _live_customer(tx, customer_id)
        found = service.read_preferences(
            tx, log=call.ctx.audit, caller=call.caller, customer_id=customer_id, now=call.ctx.vault.clock()
        )
    return JSON({"customer_id": customer_id, **service.settings_json(found)})


@router.put(
    "/customers/{customer_id}/notification-preferences",
    summary="Replace the customer's choices, language and time zone; what is left out goes back to its default",
)
@needs(Permission.NOTIFICATIONS_WRITE)
def put_preferences(customer_id: CustomerId, call: CallDep, body: Annotated[Any, Body()]) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        tx = Tx.of_session(session)
        _live_customer(tx, customer_id)
        found = service.set_preferences(
            tx, log=call.ctx.audit, caller=call.caller, customer_id=customer_id, body=body, now=call.ctx.vault.clock()
        )
    return JSON({"customer_id": customer_id, **service.settings_json(found)})


@router.put(
    "/customers/{customer_id}/anti-phishing-code",
    summary="Set the customer's anti-phishing code, sealed with their key; no route returns it",
)
@needs(Permission.NOTIFICATIONS_WRITE)
def put_code(customer_id: CustomerId, body: CodeIn, call: CallDep) -> JSON:
    """Answers `{"customer_id": ..., "code_set": true}`, never the code."""
    # Length and characters first: a code refused for its shape needs no look at the customer.
    antiphishing.normalize_code(body.code)
    vault = call.ctx.vault
    with unit_of_work(call.ctx.sessions) as session:
        tx = Tx.of_session(session)
        # The customer's own values, opened (and recorded as a read) to refuse a code built from
        # them. A refusal there is InvalidInput, which rolls the whole transaction back: the caller
        # was shown nothing but a rule.
        data_key, personal = vault_service.values_for_check(
            vault=vault, tx=tx, caller=call.caller, customer_id=customer_id, action=service.ACTION_CODE_CHECK
        )
        service.set_anti_phishing_code(
            tx,
            log=call.ctx.audit,
            caller=call.caller,
            data_key=data_key,
            customer_id=customer_id,
            raw=body.code,
            personal=personal,
            now=vault.clock(),
        )
    return JSON({"customer_id": customer_id, "code_set": True})


@router.delete(
    "/customers/{customer_id}/anti-phishing-code",
    summary="Remove the customer's anti-phishing code; messages then go without one",
)
@needs(Permission.NOTIFICATIONS_WRITE)
def delete_code(customer_id: CustomerId, call: CallDep) -> JSON:
    """Answers `{"customer_id": ..., "code_set": false, "cleared": <whether there was one>}`."""
    with unit_of_work(call.ctx.sessions) as session:
        tx = Tx.of_session(session)
        _live_customer(tx, customer_id)
        cleared = service.clear_anti_phishing_code(
            tx, log=call.ctx.audit, caller=call.caller, customer_id=customer_id, now=call.ctx.vault.clock()
        )
    return JSON({"customer_id": customer_id, "code_set": False, "cleared": cleared})


@router.post(
    "/notifications/events",
    status_code=202,
    summary="Raise an event from the store's own systems; it is queued on the customer's channels",
)
@needs(Permission.NOTIFICATIONS_WRITE)
def post_event(body: EventIn, call: CallDep) -> JSON:
    event = parse_event(body.event)
    now = call.ctx.vault.clock()
    occurred_at = now if body.occurred_at is None else times.utc(body.occurred_at)
    if occurred_at > now + _CLOCK_SKEW:
        raise InvalidInput("occurred_at: must not be in the future", field="occurred_at")
    event_id = body.event_id or ids.new_uuid()
    with unit_of_work(call.ctx.sessions) as session:
        tx = Tx.of_session(session)
        _live_customer(tx, body.customer_id)
        queued = service.enqueue(
            tx,
            customer_id=body.customer_id,
            event=event,
            details=body.details or {},
            source=API_SOURCE,
            source_ref=event_id,
            occurred_at=occurred_at,
            now=now,
        )
    return JSON({"event_id": event_id, "queued": len(queued), "notification_ids": queued}, status_code=202)


# -- delivery operations, for security staff ---------------------------------------------------------

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


@ops_router.post("/{notification_id}/retry", summary="A dead letter back in the queue, due now (same idempotency key)")
@needs(Permission.NOTIFICATIONS_OPERATE)
async def retry(call: CallDep, notification_id: Annotated[RecordId, Path()]) -> JSON:
    now = datetime.now(UTC)
    found = await run_transaction(call.ctx.engine, lambda tx: ops.retry(tx, notification_id=notification_id, now=now))
    return JSON(found)
