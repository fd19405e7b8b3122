"""Console logins and sessions: passwords and one-time links in, a server-side session out, its
CSRF secret, and its end (decision 0033).

- A session id is 256 random bits, sent to the browser once in the cookie and stored only as its
  SHA-256 digest, with the principal, when it began, when it was last used, its absolute end and
  the per-session CSRF secret. It ends at the absolute end (``SHOPSHIELD_CONSOLE_SESSION_HOURS``),
  after ``SHOPSHIELD_CONSOLE_IDLE_MINUTES`` without a request, at logout (the row is deleted), or
  as soon as its principal is disabled (checked on every request).
- A login link's token is 256 random bits, stored as its digest, good once and for
  ``LINK_MINUTES``.
- Failed logins are limited per principal and per address (``limits.LoginLimit``).

Functions take the ORM session of the caller's unit of work and the times they need; they never
read another domain's tables (principals are asked through ``principals.service``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shopshield.console.limits import LoginLimit
from shopshield.console.models import ConsoleSessionRow, LoginLinkRow
from shopshield.core import ids, tokens
from shopshield.core.callers import Principal
from shopshield.core.errors import NotFound, Unauthenticated
from shopshield.core.policy import PolicySet
from shopshield.core.times import utc
from shopshield.principals import service as principals

LINK_MINUTES: Final = 10
# ``last_seen_at`` is written at most this often, so reading pages is not a write per request; the
# idle timeout is therefore exact to within this much.
TOUCH_SECONDS: Final = 60
BAD_LOGIN: Final = "the name or password is wrong"


@dataclass(frozen=True, slots=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, *, idle_minutes: int, session_hours: int) -> Timeouts:
        return cls(timedelta(minutes=idle_minutes), timedelta(hours=session_hours))


@dataclass(frozen=True, slots=True)
class NewSession:
    cookie: str  # the session id: given to the browser, never stored
    csrf: str


@dataclass(frozen=True, slots=True)
class Resumed:
    principal: Principal
    csrf: str
    expires_at: datetime


def start(session: Session, *, principal: Principal, now: datetime, timeouts: Timeouts) -> NewSession:
    """A new session for ``principal``; the returned cookie value is the only copy of its id."""
    session_id = tokens.new_token()
    csrf = tokens.new_secret()
    session.add(
        ConsoleSessionRow(
            session_digest=tokens.digest(session_id),
            principal_id=principal.principal_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timeouts.absolute,
            csrf_secret=csrf,
        )
    )
    session.flush()
    return NewSession(session_id, tokens.csrf_text(csrf))


def resume(
    session: Session, *, policies: PolicySet, cookie: str | None, now: datetime, timeouts: Timeouts, touch: bool = True
) -> Resumed | None:
    """The session the cookie names, if it is still good; an ended one is deleted and gives None.
    With ``touch``, its last use becomes ``now`` (at most once a ``TOUCH_SECONDS``); a POST touches
    only after its CSRF token has passed (``touch``), so a forged form writes nothing."""
    if not tokens.well_formed(cookie):
        return None
    assert cookie is not None
    row = session.get(ConsoleSessionRow, tokens.digest(cookie))
    if row is None:
        return None
    last_seen, expires = utc(row.last_seen_at), utc(row.expires_at)
    who = principals.active(session, policies=policies, principal_id=row.principal_id)
    if who is None or now >= expires or now >= last_seen + timeouts.idle:
        session.delete(row)
        session.flush()
        return None
    if touch and (now - last_seen).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
        session.flush()
    return Resumed(who, tokens.csrf_text(row.csrf_secret), min(expires, now + timeouts.idle))


def touch(session: Session, *, cookie: str | None, now: datetime) -> None:
    """Mark the session the cookie names as used ``now``."""
    if tokens.well_formed(cookie):
        assert cookie is not None
        session.execute(
            update(ConsoleSessionRow)
            .where(ConsoleSessionRow.session_digest == tokens.digest(cookie))
            .values(last_seen_at=now)
        )


def end(session: Session, *, cookie: str | None) -> bool:
    """Log out: delete the session the cookie names. Whether there was one."""
    if not tokens.well_formed(cookie):
        return False
    assert cookie is not None
    result = session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.session_digest == tokens.digest(cookie)))
    return bool(getattr(result, "rowcount", 0))


def end_all(session: Session, *, principal_id: str) -> int:
    """End every session of ``principal_id`` (after a password change, or to shut a person out)."""
    result = session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.principal_id == principal_id))
    return int(getattr(result, "rowcount", 0))


def sweep(session: Session, *, now: datetime, timeouts: Timeouts) -> int:
    """Delete sessions past their absolute end or idle too long, and spent or stale login links."""
    gone = session.execute(
        delete(ConsoleSessionRow).where(
            (ConsoleSessionRow.expires_at <= now) | (ConsoleSessionRow.last_seen_at <= now - timeouts.idle)
        )
    )
    session.execute(delete(LoginLinkRow).where(LoginLinkRow.expires_at <= now))
    return int(getattr(gone, "rowcount", 0))


def log_in(
    session: Session,
    *,
    policies: PolicySet,
    limit: LoginLimit,
    name: str,
    password: str,
    address: str | None,
    now: datetime,
    clock: float,
) -> Principal:
    """The principal whose name and password these are. ``RateLimited`` (before any check) after
    too many failures for the name or the address; ``Unauthenticated`` with one message for every
    wrong answer (unknown name, wrong password, no password, disabled), counted as a failure."""
    who_key = principals.principal_id_for(session, name=name) or f"name:{name[:100]}"
    limit.check(who_key, address, now=clock)
    found = principals.check_password(session, policies=policies, name=name, password=password)
    if found is None:
        limit.failed(who_key, address, now=clock)
        raise Unauthenticated(BAD_LOGIN)
    return found


def issue_link(session: Session, *, policies: PolicySet, principal_id: str, now: datetime) -> str:
    """A one-time login token for an active principal, good for ``LINK_MINUTES``; stored as its digest."""
    ids.check(principal_id, "principal_id")
    if principals.active(session, policies=policies, principal_id=principal_id) is None:
        raise NotFound(f"no active principal with id {principal_id!r}")
    token = tokens.new_token()
    session.add(
        LoginLinkRow(
            token_digest=tokens.digest(token),
            principal_id=principal_id,
            created_at=now,
            expires_at=now + timedelta(minutes=LINK_MINUTES),
        )
    )
    session.flush()
    return token


def redeem_link(session: Session, *, policies: PolicySet, token: str | None, now: datetime) -> Principal:
    """The principal a login token was issued for, once: the token is spent by a conditional
    update, so two uses racing each other cannot both succeed. ``Unauthenticated`` otherwise."""
    refused = Unauthenticated("the login link is unknown, used or expired")
    if not tokens.well_formed(token):
        raise refused
    assert token is not None
    key = tokens.digest(token)
    spent = session.execute(
        update(LoginLinkRow)
        .where(LoginLinkRow.token_digest == key, LoginLinkRow.used_at.is_(None), LoginLinkRow.expires_at > now)
        .values(used_at=now)
    )
    if not getattr(spent, "rowcount", 0):
        raise refused
    principal_id = session.scalar(select(LoginLinkRow.principal_id).where(LoginLinkRow.token_digest == key))
    who = None if principal_id is None else principals.active(session, policies=policies, principal_id=principal_id)
    if who is None:
        raise refused
    return who
