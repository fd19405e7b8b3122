"""Entry links and customers' sessions for the customer pages (decision 0035).

- A link's token is 256 random bits (``secrets``), given out once in the URL and stored only as its
  SHA-256 digest with the customer it is bound to, the principal that asked, the page it opens
  and its end, ``LINK_MINUTES`` after issue. Opening it spends it with one conditional update, so
  two uses racing each other cannot both succeed; an unknown, used or expired token gets the same
  refusal. The URL carries no customer id: the binding is on the server, where nobody can edit it.
- A session id is 256 random bits, sent to the browser once in the cookie and stored only as its
  digest, with the customer, when it began and was last used, its absolute end (``SESSION``) and
  the per-session CSRF secret. It ends at the absolute end, after ``IDLE`` without a request, or at
  "done" (the row is deleted); a customer comes back through the store's app for a new link.

Functions take the ORM session of the caller's unit of work and the time; they read no other
domain's tables (the vault is asked whether the customer is live).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from shopshield.core import ids, tokens
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Tx
from shopshield.core.errors import InvalidInput, NotFound, Unauthenticated
from shopshield.core.events import OK, EventLog
from shopshield.core.times import utc
from shopshield.selfservice.models import CustomerLinkRow, CustomerSessionRow
from shopshield.vault import service as vault_service

LINK_MINUTES: Final = 5
SESSION: Final = timedelta(minutes=30)
IDLE: Final = timedelta(minutes=15)
# ``last_seen_at`` is written at most this often, so reading pages is not a write per request.
TOUCH_SECONDS: Final = 60
# The access event of a link given out (``access_events.action`` holds 16 characters).
ACTION_LINK: Final = "page_link"
# The channel the customer's own actions on the pages are recorded with.
CHANNEL: Final = "web"
# Where a link may open: the page codes, in the order the pages are listed.
LANDINGS: Final = ("home", "access", "contact", "links", "notifications")
REFUSED_LINK: Final = "this link is unknown, used or expired: open the page again from the store's app"


def customer_caller(customer_id: str, *, source_ip: str | None) -> Caller:
    """The customer acting on their own pages, as access events name them: the same actor the
    login guard records a customer's login as (``actor_kind`` and role ``customer``, the id the
    customer's own), so their report shows "you" for it."""
    who = Principal(principal_id=customer_id, name="customer", role="customer", actor_kind="customer", link_id=None)
    return Caller(principal=who, channel=CHANNEL, source_ip=source_ip)


@dataclass(frozen=True, slots=True)
class Issued:
    token: str  # the only copy: it goes into the URL, never into the database
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Entered:
    customer_id: str
    landing: str
    cookie: str  # the session id: given to the browser, never stored
    csrf: str


@dataclass(frozen=True, slots=True)
class Resumed:
    customer_id: str
    csrf: str
    expires_at: datetime


def issue_link(
    session: Session, *, log: EventLog, caller: Caller, customer_id: str, landing: str, now: datetime
) -> Issued:
    """A one-time token for ``customer_id``'s pages, good for ``LINK_MINUTES``; stored as its
    digest. 404 for a customer who does not exist or is erased. Giving it out is an access event
    on the customer (``page_link``): it lets its holder see their report and change their settings."""
    ids.check(customer_id, "customer_id")
    if landing not in LANDINGS:
        raise InvalidInput(f"page: one of {', '.join(LANDINGS)}", field="page")
    tx = Tx.of_session(session)
    if not vault_service.is_live(tx=tx, customer_id=customer_id):
        raise NotFound("no such customer")
    token = tokens.new_token()
    expires = now + timedelta(minutes=LINK_MINUTES)
    session.add(
        CustomerLinkRow(
            token_digest=tokens.digest(token),
            customer_id=customer_id,
            issued_by=caller.principal.principal_id,
            landing=landing,
            created_at=now,
            expires_at=expires,
        )
    )
    session.flush()
    log.append(tx, caller.event(ACTION_LINK, OK, customer_id=customer_id), now=now)
    return Issued(token, expires)


def enter(session: Session, *, token: str | None, now: datetime) -> Entered:
    """Spend a link's token and start the customer's session. ``Unauthenticated`` with one message
    for a token that is malformed, unknown, used or expired, or whose customer is gone."""
    refused = Unauthenticated(REFUSED_LINK)
    if not tokens.well_formed(token):
        raise refused
    assert token is not None
    key = tokens.digest(token)
    spent = session.execute(
        update(CustomerLinkRow)
        .where(CustomerLinkRow.token_digest == key, CustomerLinkRow.used_at.is_(None), CustomerLinkRow.expires_at > now)
        .values(used_at=now)
    )
    if not getattr(spent, "rowcount", 0):
        raise refused
    row = session.get(CustomerLinkRow, key)
    assert row is not None
    # Erased between the link and its use: nothing of theirs is left to show.
    if not vault_service.is_live(tx=Tx.of_session(session), customer_id=row.customer_id):
        raise refused
    session_id, csrf = tokens.new_token(), tokens.new_secret()
    session.add(
        CustomerSessionRow(
            session_digest=tokens.digest(session_id),
            customer_id=row.customer_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION,
            csrf_secret=csrf,
        )
    )
    session.flush()
    return Entered(row.customer_id, row.landing, session_id, tokens.csrf_text(csrf))


def resume(session: Session, *, cookie: str | None, now: datetime, touch: bool = True) -> Resumed | None:
    """The session the cookie names, if it is still good; an ended one is deleted and gives None.
    With ``touch``, its last use becomes ``now`` (at most once a ``TOUCH_SECONDS``)."""
    if not tokens.well_formed(cookie):
        return None
    assert cookie is not None
    row = session.get(CustomerSessionRow, tokens.digest(cookie))
    if row is None:
        return None
    last_seen, expires = utc(row.last_seen_at), utc(row.expires_at)
    if now >= expires or now >= last_seen + IDLE:
        session.delete(row)
        session.flush()
        return None
    if touch and (now - last_seen).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
        session.flush()
    return Resumed(row.customer_id, tokens.csrf_text(row.csrf_secret), min(expires, now + IDLE))


def touch(session: Session, *, cookie: str | None, now: datetime) -> None:
    """Mark the session the cookie names as used ``now`` (after a form's CSRF token passed)."""
    if tokens.well_formed(cookie):
        assert cookie is not None
        session.execute(
            update(CustomerSessionRow)
            .where(CustomerSessionRow.session_digest == tokens.digest(cookie))
            .values(last_seen_at=now)
        )


def end(session: Session, *, cookie: str | None) -> bool:
    """ "Done": delete the session the cookie names. Whether there was one."""
    if not tokens.well_formed(cookie):
        return False
    assert cookie is not None
    result = session.execute(
        delete(CustomerSessionRow).where(CustomerSessionRow.session_digest == tokens.digest(cookie))
    )
    return bool(getattr(result, "rowcount", 0))


def sweep(session: Session, *, now: datetime) -> int:
    """Delete sessions past their end or idle too long, and links past theirs (used or not)."""
    gone = session.execute(
        delete(CustomerSessionRow).where(
            (CustomerSessionRow.expires_at <= now) | (CustomerSessionRow.last_seen_at <= now - IDLE)
        )
    )
    session.execute(delete(CustomerLinkRow).where(CustomerLinkRow.expires_at <= now))
    return int(getattr(gone, "rowcount", 0))
