"""Opening and closing tickets. A ticket is what lets its assignee reveal one customer's data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from shopshield import ids
from shopshield.errors import Conflict, Forbidden, InvalidInput, NotFound
from shopshield.principals.models import Principal, PrincipalRow
from shopshield.tickets.models import CLOSED, OPEN, TicketRow
from shopshield.tickets.schemas import TicketIn
from shopshield.vault.models import CustomerRow, OrderRow
from shopshield.vault.policy import PolicySet


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


def open_ticket(*, session: Session, policies: PolicySet, caller: Principal, ticket: TicketIn) -> dict[str, object]:
    """Open a ticket about a customer and assign it.

    Agents cannot open tickets for themselves: a ticket comes from the store's ticket system (the
    service role) or a supervisor, so the ticket binding is a second person's decision.
    """
    if "tickets.write" not in policies.role(caller.role).permissions:
        raise Forbidden(f"role {caller.role!r} may not open tickets")
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
        created_by=caller.principal_id,
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
    may_manage = "tickets.write" in policies.role(caller.role).permissions
    if row.assignee_id != caller.principal_id and not may_manage:
        raise Forbidden("only the assignee or a role with tickets.write may close this ticket")
    if row.status == CLOSED:
        raise Conflict("the ticket is already closed")
    row.status = CLOSED
    row.closed_at = datetime.now(UTC)
    session.flush()
    return _json(row)
