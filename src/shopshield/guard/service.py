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

LOGIN = "login"
CUSTOMER = "customer"


def record_login(*, audit: AuditLog, tx: Tx, customer_id: str, address: str, channel: str, at: datetime) -> None:
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
