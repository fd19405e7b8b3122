"""Breach response: a confirmed source's scope (the customers it reached, which kinds of data, the
regulator report draft), the warnings a case or a scam cluster sent and what became of each
message, and a warning run, through ``breach.service`` and ``breach.atrisk`` as ``/v1/breaches``
and ``/v1/warnings`` do.

Nothing is sent from here without being shown first: queueing a case's warnings is offered on its
scope, and sending a run's warnings on its dry run, each with a digest of the customers shown. The
send is refused (409, nothing written) when the customers it would warn are no longer the ones the
person looked at, say because a wider scope of the same case was recorded in between.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Final
from zoneinfo import ZoneInfo

from shopshield.breach import atrisk, report, service
from shopshield.console import charts
from shopshield.console.pages import _forms
from shopshield.console.views import View, page
from shopshield.core import ids
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.errors import Conflict, InvalidInput
from shopshield.core.permissions import Permission

REVIEWED: Final = "reviewed"
CHANGED: Final = (
    "the customers this would warn are not the ones you reviewed (the case or cluster changed since): "
    "review it again before sending"
)


def digest(run_id: str, customers: Iterable[str]) -> str:
    """What the person reviewed, as a short digest of the run and its customers (ids only)."""
    text = "\n".join([run_id, *sorted(set(customers))])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _reviewed(view: View) -> str:
    value = _forms.text(view.form, REVIEWED, max_length=64)
    if value is None:
        raise InvalidInput(f"{REVIEWED}: review the customers first (the dry run or the scope)", field=REVIEWED)
    return value


def _start(view: View) -> dict[str, Any]:
    return {
        "tz": view.ctx.settings.timezone,
        "kinds": service.ACTOR_KINDS,
        "may_warn": view.may(Permission.WARNINGS_SEND),
        "may_scope": view.may(Permission.BREACHES_SCOPE),
    }


@page("/breach", title="Breach response", template="breach.html", permission=Permission.BREACHES_SCOPE, nav=True)
def breach(view: View) -> dict[str, Any]:
    return {**_start(view), "scope": None}


# -- the scope ------------------------------------------------------------------------------------


def _query(view: View) -> service.ScopeQuery:
    form = view.form
    actor = _forms.text(form, "actor_id", max_length=64)
    if actor is None:
        raise InvalidInput("actor_id: name the confirmed source", field="actor_id")
    return service.parse_query(
        actor_id=actor,
        actor_kind=_forms.text(form, "actor_kind", max_length=64),
        since=_forms.text(form, "since", max_length=64),
        until=_forms.text(form, "until", max_length=64),
        tz=_forms.text(form, "tz", max_length=64) or view.ctx.settings.timezone,
        case_id=_forms.text(form, "case_id", max_length=64),
    )


@page(
    "/breach/scope",
    title="Breach response",
    template="breach.html",
    permission=Permission.BREACHES_SCOPE,
    method="POST",
)
def scope(view: View) -> dict[str, Any]:
    """``POST /v1/breaches/scope``: the scope, recorded; with ``queue_warnings`` (offered on a
    scope already shown, with its digest), the case's warnings queued as the API queues them."""
    query = _query(view)
    warn = _forms.checked(view.form, "queue_warnings")
    reviewed = _reviewed(view) if warn else None
    ctx = view.ctx
    vault = ctx.vault
    with transaction(ctx.engine, read_only=True) as tx:
        found = service.scope(tx=tx, query=query, now=vault.clock())
    if reviewed is not None and reviewed != digest(query.case_id, (c.customer_id for c in found.customers)):
        raise Conflict(CHANGED)
    with unit_of_work(ctx.sessions) as session:
        found = service.record(vault=vault, session=session, caller=view.caller, scope=found, warn=warn)
    answer = found.json()
    categories = answer["categories"]
    shown = {
        **answer,
        "report_markdown": report.markdown(found),
        "digest": digest(query.case_id, (c.customer_id for c in found.customers)),
        "categories_chart": charts.bars(
            "Customers reached, by category of data", [(c["category"], float(c["customers"])) for c in categories]
        ),
        "form": {
            "actor_id": query.actor_id,
            "actor_kind": query.actor_kind or "",
            "since": answer["window"]["since"],
            "until": answer["window"]["until"] or "",
            "tz": query.tz.key,
            "case_id": query.case_id,
        },
    }
    return {**_start(view), "scope": shown}


# -- warning runs ---------------------------------------------------------------------------------


def _target(view: View) -> atrisk.Target:
    form = view.form
    case = _forms.text(form, "breach_case", max_length=64)
    cluster = _forms.whole(form, "cluster_id", low=1, high=1_000_000)
    return atrisk.Target.parse(breach_case=case, cluster=cluster)


def _run_values(view: View, answer: dict[str, Any], target: atrisk.Target | None) -> dict[str, Any]:
    states = sorted(answer["messages"].items())
    warned = [c["customer_id"] for c in answer["customers"]]
    would = answer.get("would_warn", [])
    return {
        "run": answer,
        "states_chart": charts.bars("Messages by state", [(state, float(n)) for state, n in states]),
        "states": states,
        "target": None
        if target is None
        else {"breach_case": target.breach_case or "", "cluster_id": "" if target.cluster is None else target.cluster},
        "digest": digest(answer["run_id"], [*warned, *would]),
        "may_warn": view.may(Permission.WARNINGS_SEND),
    }


def _run(view: View, *, dry_run: bool) -> dict[str, Any]:
    target = _target(view)
    reviewed = None if dry_run else _reviewed(view)
    ctx = view.ctx
    with unit_of_work(ctx.sessions) as session:
        answer = atrisk.run(
            vault=ctx.vault,
            session=session,
            caller=view.caller,
            target=target,
            dry_run=dry_run,
            tz=ZoneInfo(ctx.settings.timezone),
        )
        if reviewed is not None and reviewed != digest(
            answer["run_id"], (c["customer_id"] for c in answer["customers"])
        ):
            # Raised inside the transaction: the warnings, their messages and the run's event roll back.
            raise Conflict(CHANGED)
    return _run_values(view, answer, target)


@page(
    "/breach/warnings/dry-run",
    title="Warning run",
    template="breach_run.html",
    permission=Permission.WARNINGS_SEND,
    method="POST",
)
def dry_run(view: View) -> dict[str, Any]:
    """``POST /v1/warnings`` with ``dry_run``: who was warned already, who would be now."""
    return _run(view, dry_run=True)


@page(
    "/breach/warnings/send",
    title="Warning run",
    template="breach_run.html",
    permission=Permission.WARNINGS_SEND,
    method="POST",
)
def send(view: View) -> dict[str, Any]:
    """``POST /v1/warnings``: each customer of the reviewed dry run warned once."""
    return _run(view, dry_run=False)


@page(
    "/breach/warnings",
    title="Warning run",
    template="breach_run.html",
    permission=Permission.WARNINGS_SEND,
)
def warning_run(view: View) -> dict[str, Any]:
    """``GET /v1/warnings/{run_id}``: who a run warned and what became of each message."""
    run_id = view.query("run_id")
    if run_id is None:
        raise InvalidInput("run_id: give the case id or the run id of a warning run", field="run_id")
    ids.check(run_id, "run_id", shape=ids.ACTOR, rule=ids.ACTOR_RULE)
    with transaction(view.ctx.engine, read_only=True) as tx:
        answer = atrisk.known_run(tx=tx, run_id=run_id)
    return _run_values(view, {**answer, "dry_run": False}, None)
