"""HTTP routes of canaries: plant them, list them, hand out their export rows, report a contact,
and read the hits. Everything but reporting a contact is for security staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.background import BackgroundTask

from shopshield.canary import service
from shopshield.canary.schemas import ContactIn, PlantIn
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.ids import ACTOR_PATTERN, NotPersonal
from shopshield.core.permissions import Permission, allowed
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1/canaries", tags=["canaries"])
RecipientQuery = Annotated[str, Query(pattern=ACTOR_PATTERN, description="The recipient's identifier"), NotPersonal]
OptionalRecipient = Annotated[
    str | None, Query(pattern=ACTOR_PATTERN, description="Only this recipient's (default: all)"), NotPersonal
]


@router.post("", status_code=201, summary="Plant decoy customers for one recipient of the store's data")
@needs(Permission.CANARIES_PLANT)
def plant(body: PlantIn, call: CallDep) -> JSON:
    settings = call.ctx.settings
    with unit_of_work(call.ctx.sessions) as session:
        planted = service.plant(
            vault=call.ctx.vault,
            session=session,
            caller=call.caller,
            request=body,
            mobile_prefix=settings.canary_mobile_prefix,
            email_domain=settings.canary_email_domain,
            backend=settings.canary_backend,
        )
    return JSON(planted.json(), status_code=201)


@router.get("", summary="Which customers are canaries, for which recipient (no personal values)")
@needs(Permission.CANARIES_READ)
def list_canaries(call: CallDep, recipient: OptionalRecipient = None) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        rows = service.canaries(session=session, recipient=recipient)
    return JSON({"canaries": [service.canary_json(row) for row in rows]})


@router.get(
    "/export",
    summary="The recipient's canaries as export rows, with their values (each one a recorded export)",
)
@needs(Permission.CANARIES_READ)
def export(call: CallDep, recipient: RecipientQuery) -> JSON:
    with transaction(call.ctx.engine) as tx:
        rows = service.export_rows(
            vault=call.ctx.vault,
            tx=tx,
            caller=call.caller,
            recipient=recipient,
            backend=call.ctx.settings.canary_backend,
        )
    return JSON({"recipient": recipient, "columns": list(service.EXPORT_COLUMNS), "rows": rows})


@router.post("/contacts", summary="Report a contact to a number or customer; a canary names its recipient")
@needs(Permission.CANARIES_REPORT_CONTACT)
def report_contact(body: ContactIn, call: CallDep) -> JSON:
    with transaction(call.ctx.engine) as tx:
        verdict = service.report_contact(vault=call.ctx.vault, tx=tx, caller=call.caller, contact=body)
    # Logged after the answer is sent, so that a hit's log line does not make its answer slower.
    announce = BackgroundTask(service.announce, verdict)
    if not allowed(call.ctx.policies, call.who, Permission.CANARIES_READ):
        # The same answer whether it was a canary or not: otherwise the endpoint would tell an
        # agent which customers are decoys. The hit is recorded either way, for security staff.
        return JSON({"received": True}, background=announce)
    return JSON(verdict.json(), background=announce)


@router.get("/hits", summary="Contacts that reached a canary, reported or found in scam reports")
@needs(Permission.CANARIES_READ)
def hits(call: CallDep, recipient: OptionalRecipient = None) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        found = service.hits(vault=call.ctx.vault, session=session, recipient=recipient)
    return JSON({"hits": found})
