"""Opening and closing tickets. A ticket is what lets its assignee reveal one customer's data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from shopshield.core import ids
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Tx
from shopshield.core.errors import AccessDenied, Conflict, Forbidden, InvalidInput, NotFound
from shopshield.core.events import DENIED
from shopshield.core.permissions import Permission, allowed, require
from shopshield.core.policy import PolicySet
from shopshield.principals.models import PrincipalRow
from shopshield.tickets.models import CLOSED, OPEN, TicketRow
from shopshield.tickets.schemas import TicketIn
from shopshield.vault.models import CustomerRow, OrderRow
from shopshield.vault.service import Vault

# The access event of a refused ticket: it names a customer, and someone trying to give
# themselves the power to reveal that customer's data is what the log is for (decision 0019).
ACTION = "ticket"
SELF_ASSIGNED = (
    "nobody may open a ticket assigned to themselves: a reveal needs a second person's decision "
    "(the store's ticket system or another supervisor)"
)


def _json(ticket: TicketRow) -> dict[str, object]:
    return {
        "ticket_id": ticket.ticket_id,
        "customer_id": ticket.customer_id,
        "order_id": ticket.order_id,
        "category": ticket.category,
        "assignee_id": ticket.assignee_id,
        "created_by": ticket.created_by,
        "status": ticket.status,
        "created_at": ticket.created_at.isoformat(),
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
    }


def open_ticket(*, session: Session, vault: Vault, caller: Caller, ticket: TicketIn) -> dict[str, object]:
    """Open a ticket about a customer and assign it.

    A ticket is a second person's decision: it comes from the store's ticket system (the service
    role) or a supervisor, and nobody, whatever their role, may open one assigned to themselves
    (decision 0019). That refusal is recorded as an access event and committed.
    """
    policies = vault.policies
    who = caller.principal
    require(policies, who, Permission.TICKETS_WRITE)
    if ticket.assignee_id == who.principal_id:
        # Before any lookup, so the attempt is recorded whatever else is wrong with the request.
        event = caller.event(ACTION, DENIED, customer_id=ticket.customer_id, reason=SELF_ASSIGNED)
        vault.audit.record(Tx.of_session(session), event, now=vault.clock())
        raise AccessDenied(SELF_ASSIGNED)
    if ticket.category not in policies.ticket_categories:
        raise InvalidInput(
            f"category: must be one of {', '.join(sorted(policies.ticket_categories))}", field="category"
        )
    customer = session.get(CustomerRow, ticket.customer_id)
    if customer is None or customer.erased_at is not None:
        raise NotFound("no such customer")
    if ticket.order_id is not None:
        order = session.get(OrderRow, ticket.order_id)
        if order is None or order.customer_id != ticket.customer_id:
            raise InvalidInput("order_id: must be an order of this customer", field="order_id")
    assignee = session.get(PrincipalRow, ticket.assignee_id)
    if assignee is None or assignee.disabled_at is not None:
        raise InvalidInput("assignee_id: must be an active principal", field="assignee_id")
    ticket_id = ticket.ticket_id or ids.new_id("tk-")
    if session.get(TicketRow, ticket_id) is not None:
        raise Conflict("the ticket already exists")
    row = TicketRow(
        ticket_id=ticket_id,
        customer_id=ticket.customer_id,
        order_id=ticket.order_id,
        category=ticket.category,
        assignee_id=ticket.assignee_id,
        created_by=who.principal_id,
        status=OPEN,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return _json(row)


def close_ticket(*, session: Session, policies: PolicySet, caller: Principal, ticket_id: str) -> dict[str, object]:
    row = session.get(TicketRow, ticket_id)
    if row is None:
        raise NotFound("no such ticket")
    if row.assignee_id != caller.principal_id and not allowed(policies, caller, Permission.TICKETS_WRITE):
        raise Forbidden("only the assignee or a role with tickets.write may close this ticket")
    if row.status == CLOSED:
        raise Conflict("the ticket is already closed")
    row.status = CLOSED
    row.closed_at = datetime.now(UTC)
    session.flush()
    return _json(row)
