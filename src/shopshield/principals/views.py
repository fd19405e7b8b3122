"""HTTP routes for principals (admins only)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path

from shopshield.core.db import unit_of_work
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission
from shopshield.principals import service
from shopshield.principals.schemas import PrincipalIn
from shopshield.web import JSON, CallDep, needs

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/principals", tags=["principals"])
PrincipalId = Annotated[RecordId, Path()]


@router.post("", status_code=201, summary="Create a principal; its token is returned once")
@needs(Permission.PRINCIPALS_MANAGE)
def create_principal(body: PrincipalIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        created = service.create(
            session=session,
            policies=call.ctx.policies,
            name=body.name,
            role=body.role,
            link_id=body.link_id,
            principal_id=body.principal_id,
        )
    p = created.principal
    return JSON(
        {
            "principal_id": p.principal_id,
            "name": p.name,
            "role": p.role,
            "link_id": p.link_id,
            "token": created.token,
        },
        status_code=201,
    )


@router.post(
    "/{principal_id}/disable",
    summary="Disable a principal: its token fails from the next request on this instance, and on other "
    "instances within SHOPSHIELD_TOKEN_CACHE_SECONDS",
)
@needs(Permission.PRINCIPALS_MANAGE)
def disable_principal(principal_id: PrincipalId, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        service.disable(session=session, principal_id=principal_id)
    # Only after the commit: forgetting earlier would let a concurrent request cache the row
    # as it was before the disable.
    call.ctx.authenticator.forget(principal_id)
    log.info("principal %s disabled by %s", principal_id, call.who.principal_id)
    return JSON({"principal_id": principal_id, "disabled": True})
