"""HTTP routes of official channels: the registry (admins and security staff), the contact log
(the store's customer-service and telephony systems), and the verification, its one-click report
and the contact status (the store's app backend, for the logged-in customer)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query

from shopshield.channels import service
from shopshield.channels.catalogue import Language
from shopshield.channels.limits import PerCustomerLimit
from shopshield.channels.numbers import Kind
from shopshield.channels.schemas import ChannelIn, ContactEndIn, ContactIn, ReportIn, VerifyIn
from shopshield.core.db import Tx, unit_of_work
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission
from shopshield.settings import Settings
from shopshield.web import JSON, Call, CallDep, needs

router = APIRouter(prefix="/v1/channels", tags=["channels"])
contacts_router = APIRouter(prefix="/v1/contacts", tags=["channels"])
verify_router = APIRouter(prefix="/v1/verify", tags=["channels"])
status_router = APIRouter(prefix="/v1/customers", tags=["channels"])

ChannelId = Annotated[RecordId, Path()]
ContactId = Annotated[RecordId, Path()]
CustomerId = Annotated[RecordId, Path()]


def config(settings: Settings) -> service.VerifyConfig:
    return service.VerifyConfig.of(
        window_minutes=settings.contact_window_minutes,
        open_max_minutes=settings.contact_open_max_minutes,
        status_minutes=settings.contact_status_minutes,
        token_days=settings.report_token_days,
    )


def _limit(call: Call, customer_id: str) -> None:
    limit = PerCustomerLimit(call.ctx.guard.counters, call.ctx.settings.verify_contact_per_hour)
    limit.take(customer_id, now=time.time())


# -- the registry ----------------------------------------------------------------------------------


@router.post("", status_code=201, summary="Add an official channel (normalised; 409 when it is there already)")
@needs(Permission.CHANNELS_MANAGE)
def add_channel(body: ChannelIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        added = service.add_channel(
            Tx.of_session(session),
            caller=call.caller,
            channel=body,
            now=call.ctx.vault.clock(),
            metrics=call.ctx.vault.alert_metrics,
        )
    return JSON(added, status_code=201)


@router.get("", summary="The official channels, by kind and value")
@needs(Permission.CHANNELS_READ)
def list_channels(call: CallDep, kind: Annotated[Kind | None, Query(description="Only this kind")] = None) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        found = service.list_channels(Tx.of_session(session), kind=kind)
    return JSON({"channels": found})


@router.get("/changes", summary="Who added or removed which official channel, and when; newest first")
@needs(Permission.CHANNELS_READ)
def list_changes(call: CallDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        found = service.list_changes(Tx.of_session(session), limit=limit)
    return JSON({"changes": found})


@router.delete("/{channel_id}", summary="Remove an official channel (the change is kept and alerted)")
@needs(Permission.CHANNELS_MANAGE)
def remove_channel(channel_id: ChannelId, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        removed = service.remove_channel(
            Tx.of_session(session),
            caller=call.caller,
            channel_id=channel_id,
            now=call.ctx.vault.clock(),
            metrics=call.ctx.vault.alert_metrics,
        )
    return JSON(removed)


# -- the contact log --------------------------------------------------------------------------------


@contacts_router.post("", status_code=201, summary="Log an outbound contact: an access event of the agent")
@needs(Permission.CONTACTS_WRITE)
def log_contact(body: ContactIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        logged = service.log_contact(
            Tx.of_session(session),
            audit=call.ctx.audit,
            policies=call.ctx.policies,
            caller=call.caller,
            contact=body,
            now=call.ctx.vault.clock(),
        )
    return JSON(logged, status_code=201)


@contacts_router.post("/{contact_id}/end", summary="Set when a logged contact ended (now by default)")
@needs(Permission.CONTACTS_WRITE)
def end_contact(contact_id: ContactId, call: CallDep, body: ContactEndIn | None = None) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        ended = service.end_contact(
            Tx.of_session(session),
            contact_id=contact_id,
            ended_at=None if body is None else body.ended_at,
            now=call.ctx.vault.clock(),
        )
    return JSON(ended)


# -- verification -----------------------------------------------------------------------------------


@verify_router.post("/contact", summary="Did the store really contact this customer? verified, not_verified or unknown")
@needs(Permission.VERIFY_CONTACT)
def verify_contact(body: VerifyIn, call: CallDep) -> JSON:
    _limit(call, body.customer_id)
    with unit_of_work(call.ctx.sessions) as session:
        answer = service.verify_contact(
            session,
            vault=call.ctx.vault,
            caller=call.caller,
            request=body,
            config=config(call.ctx.settings),
            now=call.ctx.vault.clock(),
        )
    return JSON(answer)


@verify_router.post("/report", status_code=201, summary="Turn a not_verified answer's token into a scam report")
@needs(Permission.VERIFY_CONTACT)
def report(body: ReportIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        stored = service.report(
            session,
            vault=call.ctx.vault,
            audit=call.ctx.audit,
            caller=call.caller,
            body=body,
            now=call.ctx.vault.clock(),
        )
    return JSON(stored, status_code=201)


@status_router.get(
    "/{customer_id}/contact-status", summary="The store's contacts with the customer in progress or just ended"
)
@needs(Permission.VERIFY_CONTACT)
def contact_status(customer_id: CustomerId, call: CallDep, language: Language = Language.ZH) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        status = service.contact_status(
            Tx.of_session(session),
            customer_id=customer_id,
            config=config(call.ctx.settings),
            language=language,
            now=call.ctx.vault.clock(),
        )
    return JSON(status)
