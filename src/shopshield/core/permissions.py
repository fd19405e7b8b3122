"""Every permission a role can hold, and the one check of it.

A route declares the permission it needs from ``Permission`` with ``web.needs`` (``web.call``
runs ``require`` before the handler), a command with ``cliutil.acts_as``; services that both edges
call run ``require`` themselves. ``allowed`` is for the few answers that differ by permission (only
security staff learn that a contact was a canary) and for rules that combine a permission with
ownership (a ticket's assignee may close it without ``tickets.write``). Which role holds which
permission is data, in the policy file (``core/policies.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from shopshield.core.callers import Principal
from shopshield.core.errors import Forbidden

if TYPE_CHECKING:
    from shopshield.core.policy import PolicySet, RolePolicy


class Permission(StrEnum):
    """The permissions of the policy file, grouped by the domain whose routes need them."""

    # vault
    CUSTOMERS_WRITE = "customers.write"
    CUSTOMERS_ERASE = "customers.erase"
    ORDERS_WRITE = "orders.write"
    # tickets
    TICKETS_WRITE = "tickets.write"
    # principals
    PRINCIPALS_MANAGE = "principals.manage"
    # audit: the events behind inclusion proofs
    AUDIT_READ = "audit.read"
    # access: a customer's access report
    ACCESS_REPORTS_READ = "access_reports.read"
    # scams
    SCAM_REPORTS_WRITE = "scam_reports.write"
    SCAM_REPORTS_READ = "scam_reports.read"
    # canary
    CANARIES_PLANT = "canaries.plant"
    CANARIES_READ = "canaries.read"
    CANARIES_REPORT_CONTACT = "canaries.report_contact"
    # breach
    BREACHES_SCOPE = "breaches.scope"
    WARNINGS_SEND = "warnings.send"
    # guard
    LOGINS_ASSESS = "logins.assess"
    LOGINS_READ = "logins.read"
    # alerts
    ALERTS_READ = "alerts.read"
    # notify: the store's backend sets a customer's preferences and code and raises events
    NOTIFICATIONS_WRITE = "notifications.write"
    # notify: delivery operations
    NOTIFICATIONS_READ = "notifications.read"
    NOTIFICATIONS_OPERATE = "notifications.operate"
    # channels: the registry of official channels (security-relevant: customers are told these are genuine)
    CHANNELS_MANAGE = "channels.manage"
    CHANNELS_READ = "channels.read"
    # channels: the store's customer-service and telephony systems log outbound contacts
    CONTACTS_WRITE = "contacts.write"
    # channels: the store's app backend verifies a contact for the logged-in customer
    VERIFY_CONTACT = "verify.contact"
    # selfservice: the store's backend asks for a customer's short-lived link to their own pages
    CUSTOMER_LINKS_ISSUE = "customer_links.issue"


def allowed(policies: PolicySet, principal: Principal, permission: Permission) -> bool:
    """Whether ``principal``'s role holds ``permission``."""
    return permission in policies.role(principal.role).permissions


def require(policies: PolicySet, principal: Principal, permission: Permission) -> RolePolicy:
    """``principal``'s role policy if the role holds ``permission``; otherwise ``Forbidden`` (403)."""
    policy = policies.role(principal.role)
    if permission not in policy.permissions:
        raise Forbidden(f"role {principal.role!r} lacks the permission '{permission}'")
    return policy


@dataclass(frozen=True, slots=True)
class Access:
    """Who may use an entry point (an HTTP route), as the entry point declares where it is defined.

    - ``checked_at_entry``: the entry point checks ``permissions[0]`` with ``require`` before its
      handler runs (``web.call`` for a route).
    - Otherwise the entry point itself checks nothing beyond the caller's identity, and ``why``
      says who decides: the service, for each permission named in ``permissions``, because the
      answer depends on the record (a ticket's assignee may close it) or because a refusal must be
      recorded as an access event in the service's transaction; or, with no permission named, the
      role's field policy and scope (any authenticated principal may ask, and sees what its role
      may see).
    """

    permissions: tuple[Permission, ...]
    checked_at_entry: bool
    why: str = ""

    @classmethod
    def entry(cls, permission: Permission) -> Access:
        """The role must hold ``permission``; checked before the handler runs."""
        return cls((permission,), checked_at_entry=True)


def in_service(*permissions: Permission, why: str) -> Access:
    """The service checks ``permissions`` (every one named) itself, for the reason ``why``: the
    rule depends on the record, or a refusal is recorded in the service's transaction."""
    if not permissions:
        raise ValueError("in_service: name the permissions the service checks")
    return Access(tuple(permissions), checked_at_entry=False, why=why)


def any_principal(*, why: str) -> Access:
    """No permission: any authenticated principal may call; ``why`` says what decides the answer."""
    return Access((), checked_at_entry=False, why=why)
