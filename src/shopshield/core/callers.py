"""Who is calling: the authenticated principal, the caller as the services see it (principal,
channel, address), and the command line's own caller.

Every access event names its caller, so ``Caller.event`` is how a service says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from shopshield.core.events import AccessEvent


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, as the services see it (its row is ``principals.models.PrincipalRow``)."""

    principal_id: str
    name: str
    role: str
    actor_kind: str
    link_id: str | None


@dataclass(frozen=True)
class Caller:
    """Who is asking and through what: becomes the actor columns of the access event."""

    principal: Principal
    channel: str = "api"
    source_ip: str | None = None

    def event(self, action: str, outcome: str, **details: Any) -> AccessEvent:
        """The access event for something this caller did, or was refused."""
        p = self.principal
        return AccessEvent(
            actor_id=p.principal_id,
            actor_kind=p.actor_kind,
            actor_role=p.role,
            action=action,
            channel=self.channel,
            outcome=outcome,
            source_ip=self.source_ip,
            **details,
        )


# The command line has no token to authenticate: whoever runs it holds the database and the key
# file, which is more than any permission guards. What it reads is recorded under this actor and
# channel, so it still shows in the customer's next report (by role and id, like every actor).
OPERATOR: Final = Caller(
    principal=Principal(principal_id="cli", name="cli", role="operator", actor_kind="other", link_id=None),
    channel="cli",
)
