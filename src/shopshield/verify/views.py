"""HTTP routes of the link and message checks: ``POST /v1/verify/links`` and ``/v1/verify/message``."""

from __future__ import annotations

from fastapi import APIRouter

from shopshield.core.permissions import any_principal
from shopshield.verify import service
from shopshield.verify.schemas import LinksCheck, MessageCheck
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1/verify", tags=["verify"])

# What the checks read is the link or text the caller sends and the store's official domains,
# numbers and accounts, which the store publishes anyway: no customer's data, no record.
PUBLIC_FACTS = (
    "checks only what the caller sends against the store's official channels, which are public; "
    "no customer's data is read or recorded"
)


@router.post("/links", summary="Each link: official, lookalike (of which domain), unknown or malformed, with reasons")
@needs(any_principal(why=PUBLIC_FACTS))
def check_links(call: CallDep, body: LinksCheck) -> JSON:
    official = service.official_for(
        source=call.ctx.official_source(), domains=body.official, brand_names=body.brand_names
    )
    return JSON(service.check_links(urls=body.urls, official=official))


@router.post("/message", summary="An SMS or chat message: scam_likely, suspicious or no_signs, with reasons")
@needs(any_principal(why=PUBLIC_FACTS))
def check_message(call: CallDep, body: MessageCheck) -> JSON:
    source = call.ctx.official_source()
    official = service.official_for(source=source, domains=body.official, brand_names=body.brand_names)
    return JSON(service.check_message(text=body.text, official=official, source=source))
