"""What the login guard writes to the database: a successful login as an access event.

The guard itself keeps no database state (its counters live in memory or Redis). When the store
names the customer in a successful outcome, the login goes into the tamper-evident access log as
``actor_kind=customer, action=login`` with the client's address, the events the leak attribution's
credential-stuffing test reads (docs/investigation.md), and the customer's own access report then
shows their logins.
"""

from __future__ import annotations

from datetime import datetime

from shopshield.audit.service import AuditLog
from shopshield.core.db import Tx
from shopshield.core.events import OK, AccessEvent
from shopshield.core.notices import NO_NOTICES, Notices

LOGIN = "login"
CUSTOMER = "customer"
# The notify catalogue's codes (``notify.catalogue``; the guard cannot import notify, decision 0028).
LOGIN_NEW_DEVICE = "login.new_device"
LOGIN_RISKY = "login.risky"
PASSWORD_RESET_REQUIRED = "password.reset_required"  # noqa: S105 - an event's name, not a password
# Why the guard asks for a new password, as the catalogue's reset reasons say it.
RESET_REASONS = {
    "leaked_pair": "breached_password",
    "breached_password": "breached_password",
    "new_login_during_attack": "suspicious_login",
}


def record_login(
    *,
    audit: AuditLog,
    tx: Tx,
    customer_id: str,
    address: str,
    channel: str,
    at: datetime,
    notices: Notices = NO_NOTICES,
    attempt_id: str = "",
    new_device: bool = False,
    risk_reason: str | None = None,
    reset: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """Record the login and, in the same transaction, tell the customer what about it they should
    know: a new device or network, a login the guard let through although it found a reason to
    act, and that a new password is required. One message per kind, keyed by the attempt, so a
    repeated outcome tells nobody twice. Returns the outbox ids queued."""
    audit.append(
        tx,
        AccessEvent(
            actor_id=customer_id,
            actor_kind=CUSTOMER,
            actor_role=CUSTOMER,
            action=LOGIN,
            channel=channel,
            outcome=OK,
            customer_id=customer_id,
            source_ip=address,
        ),
        now=at,
    )
    if not attempt_id:
        return []
    told: list[str] = []
    events: list[tuple[str, dict[str, object]]] = []
    if risk_reason is not None:
        events.append((LOGIN_RISKY, {}))
    elif new_device:
        events.append((LOGIN_NEW_DEVICE, {}))
    if reset:
        events.append((PASSWORD_RESET_REQUIRED, {"reason": RESET_REASONS.get(risk_reason or "", "suspicious_login")}))
    for event, details in events:
        told += notices(
            tx,
            customer_id=customer_id,
            event=event,
            details=details,
            source="guard",
            source_ref=attempt_id,
            occurred_at=at,
            now=now or at,
        )
    return told
