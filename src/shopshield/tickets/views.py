"""HTTP routes for tickets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from shopshield.core.db import unit_of_work
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission, in_service
from shopshield.tickets import service
from shopshield.tickets.schemas import TicketIn
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
TicketId = Annotated[RecordId, Path()]


@router.post("", status_code=201, summary="Open a ticket about a customer and assign it")
@needs(Permission.TICKETS_WRITE)
def open_ticket(body: TicketIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        result = service.open_ticket(
            session=session,
            policies=call.ctx.policies,
            audit=call.ctx.audit,
            caller=call.caller,
            ticket=body,
            now=call.ctx.vault.clock(),
        )
    return JSON(result, status_code=201)


@router.post("/{ticket_id}/close", summary="Close a ticket; its assignee can no longer reveal with it")
@needs(in_service(Permission.TICKETS_WRITE, why="the ticket's assignee may close it without the permission"))
def close_ticket(ticket_id: TicketId, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        result = service.close_ticket(session=session, policies=call.ctx.policies, caller=call.who, ticket_id=ticket_id)
    return JSON(result)
