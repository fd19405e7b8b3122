"""Which customers a scam cluster puts at risk: the rule, as pure logic over what the store holds.

``atrisk`` loads the cluster's reports and the orders and returns near its window and calls
``choose``; the ``warn-sweep`` benchmark and its tests call it on simulated waves whose leaked
customers are known, and measure its precision and recall (docs/notifications.md).

The rule (decision 0028, revised after the ``warn-sweep`` measured it; docs/notifications.md):

1. **The pattern.** What the scammers told: ``return`` when a report says they knew of a return
   request, ``refund`` when they knew of an order, else ``account``. Victims remember part of a
   call, so the store's own data decides too: when more than half of the reporters had a return
   requested in the ``lead`` before their own call, the pattern is ``return`` whatever they
   remembered. Without this, reports that forget the return turn a return scam into "every order
   placed in the window": the sweep measured a precision of 0.03 there, against 0.17 with it.
2. **The window.** From ``lead`` before the first call to the run's moment (``now``), not to the
   last call: scammers keep calling after the last report, and the customers whose data they took
   since are at risk too (a wave of four victims, of whom one or two report, lost a quarter of its
   customers at risk with the old end).
3. **The customers.** Those with a matching return (``return``) or order (``refund``,
   ``account``) in the window, minus the reporters, who already know.

It errs towards warning too many (decision 0028): the store cannot tell from its orders which of
the customers with a fresh return the source read; the access log can, which is the breach
path (``breach scope``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

__all__ = ["LEAD", "Choice", "Holding", "Reported", "choose", "pattern_from_knowledge"]

# How long before a cluster's first call a customer's return or order still counts: scammers work
# from data taken days or weeks before they call.
LEAD: Final = timedelta(days=30)
ORDER_ITEMS: Final = frozenset({"order_id", "items", "price", "purchase_time"})


@dataclass(frozen=True, slots=True)
class Reported:
    """One report of the cluster: who, when the scammers reached them, what they knew."""

    customer_id: str
    contacted_at: datetime
    knew: frozenset[str]


@dataclass(frozen=True, slots=True)
class Holding:
    """One order the store holds: its customer, when it was placed, when a return was requested."""

    customer_id: str
    placed_at: datetime
    returned_at: datetime | None


@dataclass(frozen=True, slots=True)
class Choice:
    pattern: str
    since: datetime
    until: datetime
    customers: list[str]
    # Why the pattern is what it is: "reports" (what the victims said) or "reporters' returns".
    pattern_from: str


def pattern_from_knowledge(knew: Iterable[frozenset[str]]) -> str:
    """The story the scammers told, from what the reports say they knew (``notify.catalogue``'s
    ``ScamPattern`` codes)."""
    told: set[str] = set()
    for items in knew:
        told |= items
    if "return_request" in told:
        return "return"
    if told & ORDER_ITEMS:
        return "refund"
    return "account"


def choose(
    reports: Sequence[Reported], holdings: Iterable[Holding], *, now: datetime, lead: timedelta = LEAD
) -> Choice:
    """The customers at risk from a cluster of ``reports`` (at least one), given the store's orders
    (those placed or returned from ``lead`` before the first call to ``now`` suffice, with the
    reporters' own)."""
    if not reports:
        raise ValueError("a cluster has at least one report")
    since = min(r.contacted_at for r in reports) - lead
    held = list(holdings)
    contact = {r.customer_id: r.contacted_at for r in reports}
    # The reporters who had a return requested in the lead before their own call.
    returned = {
        h.customer_id
        for h in held
        if h.customer_id in contact
        and h.returned_at is not None
        and contact[h.customer_id] - lead <= h.returned_at <= contact[h.customer_id]
    }
    pattern, source = pattern_from_knowledge(r.knew for r in reports), "reports"
    if pattern != "return" and 2 * len(returned) > len(contact):
        pattern, source = "return", "reporters' returns"
    if pattern == "return":
        chosen = {h.customer_id for h in held if h.returned_at is not None and since <= h.returned_at <= now}
    else:
        chosen = {h.customer_id for h in held if since <= h.placed_at <= now}
    return Choice(pattern, since, now, sorted(chosen - contact.keys()), source)
