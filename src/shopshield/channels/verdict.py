"""The verification's decision, over plain data: what was found out about a contact a customer
asks about, in; the verdict and its reason codes, out. The service gathers the facts (the registry,
the contact log); the rules are here, tested without a database.

The rules (docs/contact-verification.md):

- ``verified``: ``from`` is an official channel of that kind AND the store logged a contact with
  this customer on that channel, from that value, within the window around ``at``; and nothing
  else the customer gave (a payee account, a link) is foreign. Only then is the contact described.
- ``not_verified``: ``from`` is readable and not official (``not_official``); or official with no
  logged contact near ``at`` (``official_no_record``: caller ID is easily spoofed); or a payee
  account or link that is not the store's (``payee_not_official``, ``url_not_official``), which
  outweighs a genuine contact: the store never asks to pay into another account.
- ``unknown``: ``from`` cannot be read (hidden, a placeholder such as "unknown", letters where a
  number belongs) and nothing else given is foreign: there is not enough to say either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shopshield.channels.catalogue import Reason, Verdict


@dataclass(frozen=True, slots=True)
class Facts:
    """What the service found out. ``from_official`` is None when ``from`` could not be read;
    ``payee_official`` / ``url_official`` are None when the customer gave none."""

    from_official: bool | None
    contact_found: bool
    payee_official: bool | None = None
    url_official: bool | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reasons: tuple[Reason, ...]

    @property
    def describes_contact(self) -> bool:
        return self.verdict is Verdict.VERIFIED


def decide(facts: Facts) -> Decision:
    foreign: list[Reason] = []
    if facts.payee_official is False:
        foreign.append(Reason.PAYEE_NOT_OFFICIAL)
    if facts.url_official is False:
        foreign.append(Reason.URL_NOT_OFFICIAL)
    if facts.from_official is None:
        if foreign:
            return Decision(Verdict.NOT_VERIFIED, (Reason.FROM_UNREADABLE, *foreign))
        return Decision(Verdict.UNKNOWN, (Reason.FROM_UNREADABLE,))
    if not facts.from_official:
        return Decision(Verdict.NOT_VERIFIED, (Reason.NOT_OFFICIAL, *foreign))
    if not facts.contact_found:
        return Decision(Verdict.NOT_VERIFIED, (Reason.OFFICIAL_NO_RECORD, *foreign))
    if foreign:
        return Decision(Verdict.NOT_VERIFIED, tuple(foreign))
    return Decision(Verdict.VERIFIED, (Reason.CONTACT_LOGGED,))


@dataclass(frozen=True, slots=True)
class Window:
    """How near ``at`` a logged contact must be. A contact counts from ``slack`` before it started
    until ``slack`` after it ended; one still in progress (no end yet) counts until ``slack`` after
    now, but for at most ``open_max`` after its start: a telephony system that never sent the end
    must not leave a number "verified" for good."""

    slack: timedelta
    open_max: timedelta

    def earliest_start(self, at: datetime) -> datetime:
        """No contact that started before this can count for ``at``: the look-up's lower bound."""
        return at - self.open_max - self.slack

    def covers(self, *, started_at: datetime, ended_at: datetime | None, at: datetime, now: datetime) -> bool:
        if at < started_at - self.slack:
            return False
        end = ended_at if ended_at is not None else min(now, started_at + self.open_max)
        return at <= end + self.slack

    def in_progress(self, *, started_at: datetime, ended_at: datetime | None, now: datetime) -> bool:
        return ended_at is None and started_at <= now <= started_at + self.open_max
