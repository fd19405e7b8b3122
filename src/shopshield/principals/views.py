"""HTTP routes for principals (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from shopshield.db import unit_of_work
from shopshield.errors import Forbidden
from shopshield.principals import service
from shopshield.principals.schemas import PrincipalIn
from shopshield.web import JSON, CallDep

router = APIRouter(prefix="/v1/principals", tags=["principals"])


@router.post("", status_code=201, summary="Create a principal; its token is returned once")
def create_principal(body: PrincipalIn, call: CallDep) -> JSON:
    if "principals.manage" not in call.ctx.policies.role(call.who.role).permissions:
        raise Forbidden(f"role {call.who.role!r} may not manage principals")
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
