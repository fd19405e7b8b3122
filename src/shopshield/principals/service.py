"""Creating principals and authenticating their API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from shopshield.core import ids
from shopshield.core.callers import Principal
from shopshield.core.db import Statement, transaction
from shopshield.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from shopshield.core.policy import PolicySet
from shopshield.principals import hashing
from shopshield.principals.models import PrincipalRow

TOKEN_PREFIX = "ss_"  # noqa: S105 (a prefix that marks tokens, not a secret)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
_NAME_RULE = "1-100 letters, digits, '_', '.', '@' or '-'"


@dataclass(frozen=True)
class NewPrincipal:
    principal: Principal
    token: str  # shown once, never stored


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def check_identifiers(*, name: str, link_id: str | None = None, principal_id: str | None = None) -> None:
    """The name and ids of a new principal: their shapes, and none of them a person's number or
    address (they are stored, logged and shown in access reports in plaintext)."""
    ids.check(name, "name", shape=_NAME, rule=_NAME_RULE)
    if link_id is not None:
        ids.check(link_id, "link_id")
    if principal_id is not None:
        ids.check(principal_id, "principal_id")


def create(
    *,
    session: Session,
    policies: PolicySet,
    name: str,
    role: str,
    link_id: str | None = None,
    principal_id: str | None = None,
) -> NewPrincipal:
    check_identifiers(name=name, link_id=link_id, principal_id=principal_id)
    if role not in policies.roles:
        raise InvalidInput(f"role: must be one of {', '.join(sorted(policies.roles))}", field="role")
    policy = policies.roles[role]
    if policy.scope != "all" and not link_id:
        raise InvalidInput(f"link_id: a {role} must be linked to the store's {role} id", field="link_id")
    if principal_id is None:
        principal_id = ids.new_id(f"{policy.actor_kind}-", 12)
    if session.scalar(select(PrincipalRow.principal_id).where(PrincipalRow.name == name)) is not None:
        raise Conflict(f"a principal named {name!r} already exists")
    if session.get(PrincipalRow, principal_id) is not None:
        raise Conflict(f"principal id {principal_id!r} is taken")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        PrincipalRow(
            principal_id=principal_id,
            name=name,
            role=role,
            link_id=link_id,
            token_hash=hash_token(token),
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    return NewPrincipal(Principal(principal_id, name, role, policy.actor_kind, link_id), token)


def disable(*, session: Session, principal_id: str) -> None:
    ids.check(principal_id, "principal_id")
    result = session.execute(
        update(PrincipalRow)
        .where(PrincipalRow.principal_id == principal_id, PrincipalRow.disabled_at.is_(None))
        .values(disabled_at=datetime.now(UTC))
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound(f"no active principal with id {principal_id!r}")


def list_all(*, session: Session) -> list[PrincipalRow]:
    return list(session.scalars(select(PrincipalRow).order_by(PrincipalRow.created_at)))


class TokenOwner(NamedTuple):
    """What authenticating needs of a principal's row."""

    principal_id: str
    name: str
    role: str
    link_id: str | None
    disabled_at: Any


_BY_TOKEN = Statement(
    "SELECT principal_id, name, role, link_id, disabled_at FROM principals WHERE token_hash = :digest",
    row=TokenOwner,
)


class Authenticator:
    """Turns a bearer token into a principal; verified tokens are cached for a few seconds so the
    hot read path skips a database round trip.

    The cache bounds how long a disabled token still works: a principal disabled through this
    instance is forgotten at once (``forget``); one disabled elsewhere (the CLI, another instance
    on the same database) still passes here until its entry expires, at most ``cache_seconds``
    after it was verified.
    """

    def __init__(self, *, engine: Engine, policies: PolicySet, cache_seconds: float) -> None:
        self._engine = engine
        self._policies = policies
        self._cache_seconds = cache_seconds
        self._cache: dict[bytes, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        # Bumped by every ``forget``: a lookup that read the row before a disable committed must
        # not put the principal back into the cache after it was forgotten.
        self._generation = 0

    def forget(self, principal_id: str) -> None:
        """Drop every cached token of ``principal_id``; call after its disable has committed."""
        with self._lock:
            self._generation += 1
            self._cache = {k: v for k, v in self._cache.items() if v[0].principal_id != principal_id}

    def cached(self, token: str | None) -> Principal | None:
        """The principal for a recently verified token, without touching the database."""
        if not token or len(token) > 200:
            return None
        found = self._cache.get(hash_token(token))
        if found is not None and found[1] > time.monotonic():
            return found[0]
        return None

    def authenticate(self, token: str | None) -> Principal:
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise Unauthenticated("a valid API token is required: Authorization: Bearer ss_...")
        digest = hash_token(token)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        generation = self._generation
        row = self.lookup(digest)
        if row is None or row.disabled_at is not None:
            raise Unauthenticated("the API token is unknown or disabled")
        policy = self._policies.roles.get(row.role)
        if policy is None:
            raise Unauthenticated("the token's role is no longer in the policy")
        principal = Principal(row.principal_id, row.name, row.role, policy.actor_kind, row.link_id)
        if self._cache_seconds > 0:
            with self._lock:
                if generation == self._generation:
                    if len(self._cache) > 10_000:
                        self._cache.clear()
                    self._cache[digest] = (principal, now + self._cache_seconds)
        return principal

    def lookup(self, digest: bytes) -> TokenOwner | None:
        """The principal a token's hash belongs to, straight from the database (no cache).

        A request path, so the driver idiom (decision 0024): a read-only snapshot, which takes no
        write lock and so never queues behind the group commit.
        """
        with transaction(self._engine, read_only=True) as tx:
            return tx.one(_BY_TOKEN, {"digest": digest})


# Roles that only machines hold: the store's backend sees every field in full, so a password a
# person could be phished for is never added beside its token (decision 0033).
MACHINE_ROLES: Final = frozenset({"service"})


def set_password(session: Session, *, principal_id: str, password: str) -> None:
    """Give an active principal a console password (replacing any it had), stored as scrypt.

    ``InvalidInput`` for a password shorter than ``hashing.MIN_LENGTH`` or a machine's role
    (``MACHINE_ROLES``); ``NotFound`` for an
    unknown or disabled principal. API tokens are untouched: passwords are for people.
    """
    ids.check(principal_id, "principal_id")
    hashing.check_password(password)
    row = session.get(PrincipalRow, principal_id)
    if row is None or row.disabled_at is not None:
        raise NotFound(f"no active principal with id {principal_id!r}")
    if row.role in MACHINE_ROLES:
        raise InvalidInput(
            f"role {row.role!r} is for machines: it calls the API with its token and gets no console password",
            field="principal_id",
        )
    row.password_hash = hashing.hash_password(password)
    session.flush()


def _principal(policies: PolicySet, row: PrincipalRow) -> Principal | None:
    policy = policies.roles.get(row.role)
    if policy is None or row.disabled_at is not None:
        return None
    return Principal(row.principal_id, row.name, row.role, policy.actor_kind, row.link_id)


def check_password(session: Session, *, policies: PolicySet, name: str, password: str) -> Principal | None:
    """The active principal named ``name`` if ``password`` is its password; otherwise None.

    Takes the time of one scrypt verification whether or not the name exists, is disabled or has
    a password, so the answer's timing does not tell which names are real.
    """
    row = session.scalar(select(PrincipalRow).where(PrincipalRow.name == name)) if len(name) <= 100 else None
    if row is None or row.password_hash is None:
        hashing.waste_time(password)
        return None
    if not hashing.verify_password(row.password_hash, password):
        return None
    return _principal(policies, row)


def active(session: Session, *, policies: PolicySet, principal_id: str) -> Principal | None:
    """The principal with this id if it exists, is not disabled and its role is in the policy."""
    row = session.get(PrincipalRow, principal_id)
    return None if row is None else _principal(policies, row)


def principal_id_for(session: Session, *, name: str) -> str | None:
    """The id of the principal named ``name`` (active or not), for counting failed logins by principal."""
    if len(name) > 100:
        return None
    found = session.scalar(select(PrincipalRow.principal_id).where(PrincipalRow.name == name))
    return None if found is None else str(found)
