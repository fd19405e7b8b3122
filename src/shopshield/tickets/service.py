"""Opening and closing tickets, and what makes one good for a reveal. A ticket is what lets its
assignee reveal one customer's data; both halves of decision 0019 (nobody opens a ticket assigned
to themselves, and a reveal refuses one its assignee opened) are here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from shopshield.audit.service import AuditLog
from shopshield.core import ids
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import AccessDenied, Conflict, Forbidden, InvalidInput, NotFound
from shopshield.core.events import DENIED
from shopshield.core.permissions import Permission, allowed, require
from shopshield.core.policy import PolicySet
from shopshield.principals.models import PrincipalRow
from shopshield.tickets.models import CLOSED, OPEN, TicketRow
from shopshield.tickets.schemas import TicketIn
from shopshield.vault.models import CustomerRow, OrderRow

# Read on the reveal's own transaction, as the rest of the hot read path (decision 0004).
_TICKET = Statement("SELECT status, assignee_id, customer_id, created_by FROM tickets WHERE ticket_id = :ticket_id")
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


def open_ticket(
    *, session: Session, policies: PolicySet, audit: AuditLog, caller: Caller, ticket: TicketIn, now: datetime
) -> dict[str, object]:
    """Open a ticket about a customer and assign it.

    A ticket is a second person's decision: it comes from the store's ticket system (the service
    role) or a supervisor, and nobody, whatever their role, may open one assigned to themselves
    (decision 0019). That refusal is recorded as an access event and committed.
    """
    who = caller.principal
    require(policies, who, Permission.TICKETS_WRITE)
    if ticket.assignee_id == who.principal_id:
        # Before any lookup, so the attempt is recorded whatever else is wrong with the request.
        event = caller.event(ACTION, DENIED, customer_id=ticket.customer_id, reason=SELF_ASSIGNED)
        audit.append(Tx.of_session(session), event, now=now)
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
        raise Forbidden(f"only the assignee or a role with {Permission.TICKETS_WRITE} may close this ticket")
    if row.status == CLOSED:
        raise Conflict("the ticket is already closed")
    row.status = CLOSED
    row.closed_at = datetime.now(UTC)
    session.flush()
    return _json(row)


def reveal_problem(tx: Tx, *, ticket_id: str, principal: Principal, customer_id: str) -> str | None:
    """Why the ticket does not let ``principal`` reveal this customer's data, or None when it does:
    it must exist, be open, be assigned to them, be about this customer and have been opened by
    someone else. The vault's reveal asks this (``vault.service.TicketCheck``)."""
    found = tx.one(_TICKET, {"ticket_id": ticket_id})
    if found is None:
        return "ticket does not exist"
    status, assignee_id, ticket_customer, created_by = found
    if status != OPEN:
        return "ticket is not open"
    if assignee_id != principal.principal_id:
        return "ticket is not assigned to the caller"
    if created_by == principal.principal_id:
        # Tickets opened before self-assignment was refused at opening (decision 0019) stay useless.
        return "ticket was opened by its own assignee: a reveal needs a ticket from a second person"
    if ticket_customer != customer_id:
        return "ticket is about another customer"
    return None
