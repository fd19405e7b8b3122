"""HTTP routes of the login guard: assess before the password check, report the outcome after.

With in-process counters the engine is some 60 µs of CPU and no I/O, less than a hop to the thread
pool and back, so it runs on the event loop; with Redis it waits on the network, so it runs in the
thread pool (``_run``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from shopshield.core.db import transaction
from shopshield.core.errors import NotFound
from shopshield.core.permissions import Permission
from shopshield.guard import service
from shopshield.guard.actions import ActionKind
from shopshield.guard.engine import Settled, UnknownAttempt
from shopshield.guard.models import Attempt, Outcome
from shopshield.guard.schemas import AssessIn, HistoryIn, OutcomeIn
from shopshield.web import JSON, Call, CallDep, needs

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/logins", tags=["login protection"])
T = TypeVar("T")
AttemptId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="From the assessment")]


async def _run(call: Call, work: Callable[[], T]) -> T:
    if call.ctx.guard.waits_on_network:
        return await run_in_threadpool(work)
    return work()


@router.post("/assess", summary="Allow, challenge or deny a login before the password is checked")
@needs(Permission.LOGINS_ASSESS)
async def assess(body: AssessIn, call: CallDep) -> JSON:
    attempt = Attempt(
        id=secrets.token_urlsafe(16),
        ts=datetime.now(UTC),
        username=body.username,
        ip=body.ip,
        user_agent=body.user_agent,
        device_id=body.device_id,
        password_sha1=body.password_sha1.lower(),
    )
    result = await _run(call, lambda: call.ctx.guard.assess(attempt))
    return JSON(
        {
            "attempt_id": attempt.id,
            "decision": result.verdict.value,
            "risk": result.score.risk,
            "reasons": [{"code": r.code, "points": r.points, "message": r.message} for r in result.score.reasons],
            "attack_mode": result.attack_mode,
        }
    )


@router.post("/{attempt_id}/outcome", summary="What the store's check found; answers with actions to take")
@needs(Permission.LOGINS_ASSESS)
async def outcome(attempt_id: AttemptId, body: OutcomeIn, call: CallDep) -> JSON:
    try:
        settled = await _run(call, lambda: call.ctx.guard.report(attempt_id, body.outcome))
    except UnknownAttempt:
        raise NotFound("no assessment awaits an outcome under this id (unknown, answered or expired)") from None
    recorded = False
    if body.customer_id is not None and body.outcome is Outcome.SUCCESS:
        recorded = await run_in_threadpool(_record_login, call, attempt_id, body.customer_id, settled)
    body_out = {"attempt_id": attempt_id, "actions": [a.as_json() for a in settled.actions]}
    return JSON({**body_out, "login_recorded": recorded} if body.customer_id is not None else body_out)


def _record_login(call: Call, attempt_id: str, customer_id: str, settled: Settled) -> bool:
    """The login as an access event. Logins degrade gracefully: if the database cannot take it,
    the store still gets its answer (``login_recorded: false``), and the failure is logged by
    attempt only and counted."""
    ctx = call.ctx
    try:
        with transaction(ctx.engine) as tx:
            service.record_login(
                audit=ctx.audit,
                tx=tx,
                customer_id=customer_id,
                address=settled.address,
                channel=call.caller.channel,
                at=settled.at,
                notices=ctx.vault.notices,
                attempt_id=attempt_id,
                new_device=settled.new_device,
                risk_reason=settled.risk_reason,
                reset=any(a.kind is ActionKind.REQUIRE_PASSWORD_RESET for a in settled.actions),
                now=ctx.vault.clock(),
            )
    except Exception as exc:
        log.error("login event not recorded: %s", type(exc).__name__)
        ctx.guard.metrics.events_failed.inc()
        return False
    return True


@router.post("/history", summary="Learn successful logins from the store's own records as familiar")
@needs(Permission.LOGINS_ASSESS)
def history(body: HistoryIn, call: CallDep) -> JSON:
    for login in body.logins:
        call.ctx.guard.learn(
            Attempt(
                id="history",
                ts=login.ts,
                username=login.username,
                ip=login.ip,
                user_agent="",
                device_id=login.device_id,
                password_sha1="",
            )
        )
    return JSON({"learnt": len(body.logins)})


@router.get("/status", summary="Attack mode, the counters in use, and which checks are loaded")
@needs(Permission.LOGINS_READ)
def status(call: CallDep) -> JSON:
    ctx = call.ctx
    return JSON(
        {**ctx.guard.status(), "breached_passwords": ctx.passwords.status(), "leaked_pairs": ctx.pairs.status()}
    )
