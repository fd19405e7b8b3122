"""Customers: search (masked results), a customer's masked view, a reveal on a ticket with its
purpose, and the customer's access report. The vault's services decide what each role sees."""

from __future__ import annotations

from typing import Any, Final

import anyio.from_thread
from fastapi import Request
from fastapi.responses import Response

from shopshield.access import report
from shopshield.console.views import PREFIX, View, error_page, page, redirect, router, session_of, to_login
from shopshield.core.db import transaction
from shopshield.core.errors import InvalidInput
from shopshield.core.ids import check as check_id
from shopshield.core.permissions import Permission, any_principal
from shopshield.core.policy import ADDRESS_FIELDS, CUSTOMER_FIELDS
from shopshield.vault import service as vault_service
from shopshield.vault.schemas import RevealIn
from shopshield.web import needs

CUSTOMERS_WHY: Final = (
    "any logged-in principal: the vault's field levels, scope, search limits and quotas decide (vault.service)"
)


def _purposes(view: View) -> dict[str, Any]:
    policies = view.ctx.policies
    policy = policies.role(view.who.role)
    return {
        "search_purposes": sorted(policies.search_purposes),
        "purposes": sorted(policies.purposes),
        "revealable": [f for f in (*CUSTOMER_FIELDS, *ADDRESS_FIELDS) if f != "region" and policy.may_reveal(f)],
        "searchable": [f for f in vault_service.SEARCHABLE if policy.may_search(f)],
    }


@page("/customers", title="Customers", template="customers.html", permission=None, nav=True, why=CUSTOMERS_WHY)
def customers(view: View) -> dict[str, Any]:
    return {**_purposes(view), "results": None, "searched_by": None}


@page(
    "/customers/search", title="Customers", template="customers.html", permission=None, method="POST", why=CUSTOMERS_WHY
)
def search_customers(view: View) -> dict[str, Any]:
    by, value = view.form.get("by", ""), view.form.get("value", "")
    purpose = view.form.get("purpose") or None
    ctx, caller = view.ctx, view.caller
    with transaction(ctx.engine) as tx:
        found = vault_service.search(vault=ctx.vault, tx=tx, caller=caller, by=by, value=value, purpose=purpose)
    # A canary found is written down as a hit after the search committed (canary/watch.py).
    anyio.from_thread.run(ctx.vault.canary_watch.flush_after, ctx.engine)
    return {**_purposes(view), "results": found, "searched_by": by}


@router.get("/customers/open")
@needs(any_principal(why="console: sends the caller to a customer's page, which decides"))
async def open_customer(request: Request) -> Response:
    s = await session_of(request)
    if s is None:
        return to_login()
    customer_id = request.query_params.get("customer_id", "").strip()
    try:
        check_id(customer_id, "customer_id")
    except InvalidInput as exc:
        return error_page(s, exc)
    return redirect(f"{PREFIX}/customers/{customer_id}")


@page("/customers/{customer_id}", title="Customer", template="customer.html", permission=None, why=CUSTOMERS_WHY)
def customer(view: View) -> dict[str, Any]:
    customer_id = view.path_value("customer_id")
    ctx = view.ctx
    with transaction(ctx.engine) as tx:
        shown = vault_service.view_customer(vault=ctx.vault, tx=tx, caller=view.caller, customer_id=customer_id)
    return {
        **_purposes(view),
        "customer": _flat(shown),
        "customer_id": customer_id,
        "may_report": view.may(Permission.ACCESS_REPORTS_READ),
    }


@page(
    "/customers/{customer_id}/reveal",
    title="Revealed",
    template="revealed.html",
    permission=None,
    method="POST",
    why=CUSTOMERS_WHY,
)
def reveal(view: View) -> dict[str, Any]:
    customer_id = view.path_value("customer_id")
    fields = [name for name in view.form.get("fields", "").split(",") if name]
    fields += [name.removeprefix("field_") for name, on in view.form.items() if name.startswith("field_") and on]
    try:
        request = RevealIn(
            fields=fields, purpose=view.form.get("purpose", ""), ticket_id=view.form.get("ticket_id", "")
        )
    except ValueError as exc:
        raise InvalidInput(
            f"reveal: choose at least one field, a purpose and your ticket ({type(exc).__name__})"
        ) from None
    ctx = view.ctx
    with transaction(ctx.engine) as tx:
        revealed = vault_service.reveal(
            vault=ctx.vault, tx=tx, caller=view.caller, customer_id=customer_id, request=request
        )
    return {"customer_id": customer_id, "revealed": _flat(revealed)}


@page(
    "/customers/{customer_id}/access-report",
    title="Access report",
    template="access_report.html",
    permission=None,
    why="the access report's service checks access_reports.read and records a refusal (access.report.authorize)",
)
def access_report(view: View) -> dict[str, Any]:
    customer_id = view.path_value("customer_id")
    query = report.parse_query(customer_id, since=None, until=None, limit=report.MAX_LIMIT, cursor=view.query("cursor"))
    ctx = view.ctx
    with transaction(ctx.engine) as tx:
        now = ctx.vault.clock()
        report.authorize(
            policies=ctx.policies, audit=ctx.audit, tx=tx, caller=view.caller, customer_id=customer_id, now=now
        )
        result = report.access_report(audit=ctx.audit, tx=tx, caller=view.caller, query=query, now=now)
    return {"customer_id": customer_id, "report": result}


def _flat(shown: dict[str, Any]) -> dict[str, Any]:
    """A customer as the vault rendered it, split into its own fields and its addresses."""
    own = {k: v for k, v in shown.items() if not isinstance(v, list | dict)}
    return {"fields": own, "addresses": shown.get("addresses", []), "orders": shown.get("orders", [])}
