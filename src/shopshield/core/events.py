"""Access events as the services build them, the outcomes they record, and what recording one
needs: one event per read of personal data and per refusal, appended by the audit log at commit.

The table they become rows of is ``access.models.AccessEventRow``; the log that appends them is
``audit.service.AuditLog``. Here is only the value every domain builds, so none of them needs
either to say what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from shopshield.core.db import Tx

# Outcomes of an access attempt.
OK: Final = "ok"
DENIED: Final = "denied"
NOT_FOUND: Final = "not_found"
QUOTA_EXCEEDED: Final = "quota_exceeded"
NO_MATCH: Final = "no_match"


@dataclass(frozen=True)
class AccessEvent:
    """An access event as services build it, before it is stored."""

    actor_id: str
    actor_kind: str
    actor_role: str
    action: str
    channel: str
    outcome: str
    customer_id: str | None = None
    order_id: str | None = None
    fields: tuple[str, ...] = field(default_factory=tuple)
    source_ip: str | None = None
    purpose: str | None = None
    ticket_id: str | None = None
    reason: str | None = None


class EventLog(Protocol):
    """Where events are recorded: ``audit.service.AuditLog``. Named here for the domains the audit
    log itself builds on (``access``), which must not import it."""

    def append(self, tx: Tx, event: AccessEvent, *, now: datetime) -> None:
        """Append ``event`` to the log as part of ``tx``: it commits with ``tx`` or not at all."""
