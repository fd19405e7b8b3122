"""HTTP routes of the vault: customers and orders. Each commits before it answers.

Reads of personal data (views, reveals, searches) are ``async`` and hand their transaction to
``db.run_transaction``, which runs it on a worker thread, batched with the others that arrive
meanwhile (decision 0014); writes are plain ``def`` routes on the ORM (decision 0004)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.background import BackgroundTask

from shopshield.core.db import run_transaction, unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.ids import RecordId
from shopshield.core.permissions import Permission, any_principal
from shopshield.vault import service
from shopshield.vault.schemas import ContactIn, CustomerIn, OrderIn, ReturnIn, RevealIn
from shopshield.web import JSON, Call, CallDep, needs

router = APIRouter(prefix="/v1", tags=["vault"])
# Reads need no permission: the role's field policy, scope and quotas decide what each principal
# sees (vault.service), and a refused read is recorded there.
READ = any_principal(why="the role's field levels, scope and quotas decide what is shown (vault.service)")
CustomerId = Annotated[RecordId, Path(description="The store's customer id")]
OrderId = Annotated[RecordId, Path(description="The store's order id")]
ReturnId = Annotated[RecordId, Path(description="The return or refund request's id")]
SearchValue = Annotated[str | None, Query(max_length=254)]
SearchPurpose = Annotated[
    str | None,
    Query(pattern=r"^[a-z_]{1,64}$", description="Why: a search purpose code, where the role's policy needs one"),
]


@router.post("/customers", status_code=201, summary="Store a customer, encrypted field by field")
@needs(Permission.CUSTOMERS_WRITE)
def create_customer(body: CustomerIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        result = service.store_customer(vault=call.ctx.vault, session=session, caller=call.caller, customer=body)
    return JSON(result, status_code=201)


@router.get("/customers", summary="Find customers by mobile, email or ID number (exactly one)")
@needs(READ)
async def search_customers(
    call: CallDep,
    mobile: SearchValue = None,
    email: SearchValue = None,
    id_number: SearchValue = None,
    purpose: SearchPurpose = None,
) -> JSON:
    return await _search(call, {"mobile": mobile, "email": email, "id_number": id_number}, purpose)


@router.post(
    "/customers/search",
    summary="The same search with the value in the body, so it stays out of URLs and proxy logs",
)
@needs(READ)
async def search_customers_body(body: dict[str, str], call: CallDep) -> JSON:
    unknown = set(body) - {*service.SEARCHABLE, "purpose"}
    if unknown:
        raise InvalidInput(f"search takes only {', '.join(service.SEARCHABLE)} and purpose")
    terms: dict[str, str | None] = {k: v for k, v in body.items() if k != "purpose"}
    return await _search(call, terms, body.get("purpose"))


async def _search(call: Call, terms: dict[str, str | None], purpose: str | None) -> JSON:
    given = [(k, v) for k, v in terms.items() if v is not None]
    if len(given) != 1:
        raise InvalidInput("give exactly one of mobile, email, id_number")
    by, value = given[0]
    vault, caller = call.ctx.vault, call.caller
    results = await run_transaction(
        call.ctx.engine,
        lambda tx: service.search(vault=vault, tx=tx, caller=caller, by=by, value=value, purpose=purpose),
    )
    # A canary found is written down as a hit after the answer has gone out (canary/watch.py).
    return JSON({"customers": results}, background=BackgroundTask(vault.canary_watch.flush_after, call.ctx.engine))


@router.get("/customers/{customer_id}", summary="The customer as the caller's role may see them")
@needs(READ)
async def get_customer(customer_id: CustomerId, call: CallDep) -> JSON:
    vault, caller = call.ctx.vault, call.caller
    result = await run_transaction(
        call.ctx.engine,
        lambda tx: service.view_customer(vault=vault, tx=tx, caller=caller, customer_id=customer_id),
    )
    return JSON(result)


@router.post("/customers/{customer_id}/reveal", summary="Full values for a purpose on an assigned ticket")
@needs(READ)
async def reveal_customer(customer_id: CustomerId, body: RevealIn, call: CallDep) -> JSON:
    vault, caller = call.ctx.vault, call.caller
    result = await run_transaction(
        call.ctx.engine,
        lambda tx: service.reveal(vault=vault, tx=tx, caller=caller, customer_id=customer_id, request=body),
    )
    return JSON(result)


@router.put("/customers/{customer_id}/contact", summary="Change the mobile, e-mail or an address; the customer is told")
@needs(Permission.CUSTOMERS_WRITE)
def change_contact(customer_id: CustomerId, body: ContactIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        result = service.change_contact(
            vault=call.ctx.vault, session=session, caller=call.caller, customer_id=customer_id, change=body
        )
    return JSON(result)


@router.delete("/customers/{customer_id}", summary="Erase a customer by destroying their data key")
@needs(Permission.CUSTOMERS_ERASE)
def erase_customer(customer_id: CustomerId, call: CallDep) -> JSON:
    """`key_destroyed` is true once no copy of the customer's data key is left in the key store's
    storage; otherwise `key_purge_pending` says why, and repeating the DELETE finishes the job."""
    with unit_of_work(call.ctx.sessions) as session:
        erased = service.erase(vault=call.ctx.vault, session=session, caller=call.caller, customer_id=customer_id)
    return JSON(service.purge_erased_key(vault=call.ctx.vault, erased=erased))


@router.post("/orders", status_code=201, summary="Store an order; items are sealed with the customer's key")
@needs(Permission.ORDERS_WRITE)
def create_order(body: OrderIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        result = service.store_order(vault=call.ctx.vault, session=session, caller=call.caller, order=body)
    return JSON(result, status_code=201)


@router.get("/orders/{order_id}", summary="The order as the caller's role may see it")
@needs(READ)
async def get_order(order_id: OrderId, call: CallDep) -> JSON:
    vault, caller = call.ctx.vault, call.caller
    result = await run_transaction(
        call.ctx.engine, lambda tx: service.view_order(vault=vault, tx=tx, caller=caller, order_id=order_id)
    )
    return JSON(result)


@router.post("/orders/{order_id}/returns", status_code=201, summary="Record a return or refund request")
@needs(Permission.ORDERS_WRITE)
def create_return(order_id: OrderId, body: ReturnIn, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        result = service.add_return(
            vault=call.ctx.vault, session=session, caller=call.caller, order_id=order_id, request=body
        )
    return JSON(result, status_code=201)


@router.post("/returns/{return_id}/refund", summary="Mark a return or refund request refunded; the customer is told")
@needs(Permission.ORDERS_WRITE)
def refund_return(return_id: ReturnId, call: CallDep) -> JSON:
    with unit_of_work(call.ctx.sessions) as session:
        result = service.issue_refund(vault=call.ctx.vault, session=session, caller=call.caller, return_id=return_id)
    return JSON(result)
