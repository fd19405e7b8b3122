"""Console logins and sessions at the service level, on SQLite and PostgreSQL: scrypt passwords,
sessions that end (idle, absolute, logout, a disabled principal), one-time login links, and the
limit on failed logins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shopshield.bootstrap import Container
from shopshield.console import service as console
from shopshield.console.limits import PER_ADDRESS, PER_PRINCIPAL, LoginLimit
from shopshield.console.models import ConsoleSessionRow, LoginLinkRow
from shopshield.core import tokens
from shopshield.core.callers import Principal
from shopshield.core.db import unit_of_work
from shopshield.core.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from shopshield.guard.counters import MemoryCounters
from shopshield.principals import hashing
from shopshield.principals import service as principals
from shopshield.principals.models import PrincipalRow

PASSWORD = "correct horse battery"
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
TIMEOUTS = console.Timeouts.of(idle_minutes=30, session_hours=12)


def _person(container: Container, name: str = "agent-7", role: str = "cs_agent") -> Principal:
    with unit_of_work(container.sessions) as session:
        created = principals.create(session=session, policies=container.policies, name=name, role=role)
        principals.set_password(session, principal_id=created.principal.principal_id, password=PASSWORD)
    return created.principal


def test_a_password_is_stored_as_scrypt_with_its_parameters_and_a_random_salt(container: Container) -> None:
    one, two = _person(container, "agent-1"), _person(container, "agent-2")
    with unit_of_work(container.sessions) as session:
        stored = [session.get(PrincipalRow, p.principal_id).password_hash for p in (one, two)]  # type: ignore[union-attr]
    for text in stored:
        assert text is not None and PASSWORD not in text
        scheme, log2_n, r, p, _salt, _hash = text.split("$")
        assert (scheme, int(log2_n), int(r), int(p)) == ("scrypt", hashing.LOG2_N, hashing.R, hashing.P)
    # The same password under two salts: two different hashes.
    assert stored[0] != stored[1]
    assert hashing.verify_password(str(stored[0]), PASSWORD)
    assert not hashing.verify_password(str(stored[0]), PASSWORD + "!")


def test_a_password_is_checked_by_name_and_the_answer_is_the_principal(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        found = principals.check_password(session, policies=container.policies, name="agent-7", password=PASSWORD)
        assert found == person
        assert (
            principals.check_password(session, policies=container.policies, name="agent-7", password="wrong" * 3)
            is None
        )
        assert principals.check_password(session, policies=container.policies, name="nobody", password=PASSWORD) is None


def test_a_short_password_or_an_unknown_principal_is_refused_and_nothing_is_written(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        before = session.get(PrincipalRow, person.principal_id).password_hash  # type: ignore[union-attr]
    with (
        pytest.raises(InvalidInput, match="at least 12 characters") as refused,
        unit_of_work(container.sessions) as session,
    ):
        principals.set_password(session, principal_id=person.principal_id, password="short")
    assert "short" not in str(refused.value)
    with pytest.raises(NotFound), unit_of_work(container.sessions) as session:
        principals.set_password(session, principal_id="p-nobody", password=PASSWORD)
    with unit_of_work(container.sessions) as session:
        assert session.get(PrincipalRow, person.principal_id).password_hash == before  # type: ignore[union-attr]


def test_the_service_role_gets_no_password_and_cannot_log_in_to_the_console(container: Container) -> None:
    with unit_of_work(container.sessions) as session:
        backend = principals.create(session=session, policies=container.policies, name="backend", role="service")
    with (
        pytest.raises(InvalidInput, match="is for machines") as refused,
        unit_of_work(container.sessions) as session,
    ):
        principals.set_password(session, principal_id=backend.principal.principal_id, password=PASSWORD)
    assert PASSWORD not in str(refused.value)
    with unit_of_work(container.sessions) as session:
        assert session.get(PrincipalRow, backend.principal.principal_id).password_hash is None  # type: ignore[union-attr]
        assert (
            principals.check_password(session, policies=container.policies, name="backend", password=PASSWORD) is None
        )


def test_a_session_id_is_stored_only_as_its_digest_and_resumes_until_it_ends(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        started = console.start(session, principal=person, now=NOW, timeouts=TIMEOUTS)
    with unit_of_work(container.sessions) as session:
        rows = list(session.scalars(select(ConsoleSessionRow)))
        assert [bytes(r.session_digest) for r in rows] == [tokens.digest(started.cookie)]
        assert started.cookie.encode() not in bytes(rows[0].session_digest)
        resumed = console.resume(
            session,
            policies=container.policies,
            cookie=started.cookie,
            now=NOW + timedelta(minutes=29),
            timeouts=TIMEOUTS,
        )
        assert resumed is not None and resumed.principal == person and resumed.csrf == started.csrf
        assert console.resume(session, policies=container.policies, cookie="x" * 43, now=NOW, timeouts=TIMEOUTS) is None


def test_a_session_ends_after_the_idle_timeout(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        started = console.start(session, principal=person, now=NOW, timeouts=TIMEOUTS)
    with unit_of_work(container.sessions) as session:
        late = NOW + timedelta(minutes=30)
        assert (
            console.resume(session, policies=container.policies, cookie=started.cookie, now=late, timeouts=TIMEOUTS)
            is None
        )
    with unit_of_work(container.sessions) as session:
        assert session.scalar(select(ConsoleSessionRow)) is None  # the ended session was deleted


def test_a_used_session_still_ends_at_its_absolute_end(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        started = console.start(session, principal=person, now=NOW, timeouts=TIMEOUTS)
    moment = NOW
    # Used every 20 minutes: never idle for 30, yet the session ends 12 hours after login.
    while moment < NOW + timedelta(hours=12) - timedelta(minutes=20):
        moment += timedelta(minutes=20)
        with unit_of_work(container.sessions) as session:
            kept = console.resume(
                session, policies=container.policies, cookie=started.cookie, now=moment, timeouts=TIMEOUTS
            )
        assert kept is not None, moment
    with unit_of_work(container.sessions) as session:
        end = NOW + timedelta(hours=12)
        assert (
            console.resume(session, policies=container.policies, cookie=started.cookie, now=end, timeouts=TIMEOUTS)
            is None
        )


def test_a_disabled_principals_session_stops_working(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        started = console.start(session, principal=person, now=NOW, timeouts=TIMEOUTS)
    with unit_of_work(container.sessions) as session:
        principals.disable(session=session, principal_id=person.principal_id)
    with unit_of_work(container.sessions) as session:
        assert (
            console.resume(session, policies=container.policies, cookie=started.cookie, now=NOW, timeouts=TIMEOUTS)
            is None
        )
        # ... and it cannot log in again either.
        assert (
            principals.check_password(session, policies=container.policies, name="agent-7", password=PASSWORD) is None
        )


def test_logout_deletes_the_session(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        started = console.start(session, principal=person, now=NOW, timeouts=TIMEOUTS)
    with unit_of_work(container.sessions) as session:
        assert console.end(session, cookie=started.cookie)
    with unit_of_work(container.sessions) as session:
        assert session.scalar(select(ConsoleSessionRow)) is None
        assert (
            console.resume(session, policies=container.policies, cookie=started.cookie, now=NOW, timeouts=TIMEOUTS)
            is None
        )


def test_a_login_link_works_once_and_only_before_it_expires(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        token = console.issue_link(session, policies=container.policies, principal_id=person.principal_id, now=NOW)
        stale = console.issue_link(session, policies=container.policies, principal_id=person.principal_id, now=NOW)
    with unit_of_work(container.sessions) as session:
        assert [bytes(d) for d in session.scalars(select(LoginLinkRow.token_digest))].count(tokens.digest(token)) == 1
    with unit_of_work(container.sessions) as session:
        assert (
            console.redeem_link(session, policies=container.policies, token=token, now=NOW + timedelta(minutes=1))
            == person
        )
    with pytest.raises(Unauthenticated, match="unknown, used or expired"), unit_of_work(container.sessions) as session:
        console.redeem_link(session, policies=container.policies, token=token, now=NOW + timedelta(minutes=2))
    late = NOW + timedelta(minutes=console.LINK_MINUTES)
    with pytest.raises(Unauthenticated), unit_of_work(container.sessions) as session:
        console.redeem_link(session, policies=container.policies, token=stale, now=late)


def test_failed_logins_are_limited_per_principal_and_per_address(container: Container) -> None:
    _person(container)
    limit = LoginLimit(MemoryCounters())
    clock = NOW.timestamp()

    def attempt(name: str, password: str, address: str) -> None:
        with unit_of_work(container.sessions) as session:
            console.log_in(
                session,
                policies=container.policies,
                limit=limit,
                name=name,
                password=password,
                address=address,
                now=NOW,
                clock=clock,
            )

    for n in range(PER_PRINCIPAL):
        with pytest.raises(Unauthenticated, match="name or password is wrong"):
            attempt("agent-7", "wrong password!", f"198.51.100.{n}")
    # The next try is refused before the password is looked at, even the right one, from anywhere.
    with pytest.raises(RateLimited):
        attempt("agent-7", PASSWORD, "198.51.100.200")
    # One address guessing many names: stopped at its own limit.
    for n in range(PER_ADDRESS):
        with pytest.raises(Unauthenticated):
            attempt(f"guess-{n}", "wrong password!", "203.0.113.99")
    with pytest.raises(RateLimited):
        attempt("guess-x", "wrong password!", "203.0.113.99")


def test_sweep_deletes_ended_sessions_and_stale_links_only(container: Container) -> None:
    person = _person(container)
    with unit_of_work(container.sessions) as session:
        old = console.start(session, principal=person, now=NOW - timedelta(hours=13), timeouts=TIMEOUTS)
        idle = console.start(session, principal=person, now=NOW - timedelta(minutes=31), timeouts=TIMEOUTS)
        fresh = console.start(session, principal=person, now=NOW, timeouts=TIMEOUTS)
        console.issue_link(
            session, policies=container.policies, principal_id=person.principal_id, now=NOW - timedelta(hours=1)
        )
        console.issue_link(session, policies=container.policies, principal_id=person.principal_id, now=NOW)
    with unit_of_work(container.sessions) as session:
        assert console.sweep(session, now=NOW, timeouts=TIMEOUTS) == 2
    with unit_of_work(container.sessions) as session:
        kept = {bytes(d) for d in session.scalars(select(ConsoleSessionRow.session_digest))}
        assert kept == {tokens.digest(fresh.cookie)}
        assert tokens.digest(old.cookie) not in kept and tokens.digest(idle.cookie) not in kept
        assert len(list(session.scalars(select(LoginLinkRow)))) == 1
