"""HTTP route of breach response: the scope of a confirmed source, optionally with warnings queued
and the report draft. For security staff (``breaches.scope``)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path
from pydantic import Field, StringConstraints

from shopshield.breach import atrisk, report, service
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission
from shopshield.core.schemas import Strict
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1/breaches", tags=["breach response"])
warnings_router = APIRouter(prefix="/v1/warnings", tags=["breach response"])
Text64 = Annotated[str, StringConstraints(max_length=64)]


class ScopeIn(Strict):
    """The source and window; checked by ``service.parse_query``, whose messages never echo values."""

    actor_id: Text64
    actor_kind: Text64 | None = None
    since: Text64
    until: Text64 | None = None
    tz: Text64 | None = Field(default=None, description="IANA zone for times without an offset")
    case_id: Text64 | None = None
    queue_warnings: bool = False
    include_report: bool = Field(default=False, description="Add the regulator report draft as Markdown")


@router.post("/scope", summary="The customers a source accessed in a window, with their fields (no values)")
@needs(Permission.BREACHES_SCOPE)
def scope(body: ScopeIn, call: CallDep) -> JSON:
    query = service.parse_query(
        actor_id=body.actor_id,
        actor_kind=body.actor_kind,
        since=body.since,
        until=body.until,
        tz=body.tz or call.ctx.settings.timezone,
        case_id=body.case_id,
    )
    vault = call.ctx.vault
    with transaction(call.ctx.engine, read_only=True) as tx:
        found = service.scope(tx=tx, query=query, now=vault.clock())
    with unit_of_work(call.ctx.sessions) as session:
        found = service.record(vault=vault, session=session, caller=call.caller, scope=found, warn=body.queue_warnings)
    answer = found.json()
    if body.include_report:
        answer["report_markdown"] = report.markdown(found)
    return JSON(answer)


class WarnIn(Strict):
    """Exactly one of a breach case and a scam cluster (its number in the scam report summary)."""

    breach_case: Text64 | None = None
    cluster_id: int | None = Field(default=None, ge=1, le=1_000_000)
    dry_run: bool = False


@warnings_router.post("", summary="Warn the customers a breach case or a scam cluster puts at risk")
@needs(Permission.WARNINGS_SEND)
def warn(body: WarnIn, call: CallDep) -> JSON:
    """A second run warns nobody twice; `dry_run` lists who would be warned and writes no warning."""
    target = atrisk.Target.parse(breach_case=body.breach_case, cluster=body.cluster_id)
    tz = ZoneInfo(call.ctx.settings.timezone)
    with unit_of_work(call.ctx.sessions) as session:
        answer = atrisk.run(
            vault=call.ctx.vault, session=session, caller=call.caller, target=target, dry_run=body.dry_run, tz=tz
        )
    return JSON(answer)


@warnings_router.get("/{run_id}", summary="Who a warning run warned and what became of each message")
@needs(Permission.WARNINGS_SEND)
def warning_run(run_id: Annotated[RecordId, Path()], call: CallDep) -> JSON:
    with transaction(call.ctx.engine, read_only=True) as tx:
        return JSON(atrisk.known_run(tx=tx, run_id=run_id))
