"""``shopshield principals set-password`` and ``shopshield console login-link``, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from typer.testing import CliRunner, Result

from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.console import service as console
from shopshield.core.db import unit_of_work
from shopshield.principals import service as principals
from shopshield.principals.models import PrincipalRow
from shopshield.settings import Settings
from tests.support.environment import cli_env

PASSWORD = "a long enough password"


def _run(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=cli_env(settings), input=stdin)


def _person(container: Container) -> str:
    with unit_of_work(container.sessions) as session:
        created = principals.create(session=session, policies=container.policies, name="sup-1", role="cs_supervisor")
    return created.principal.principal_id


def test_set_password_reads_stdin_and_stores_only_a_hash(container: Container, settings: Settings) -> None:
    principal_id = _person(container)
    done = _run(settings, "principals", "set-password", principal_id, stdin=PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert PASSWORD not in done.output
    with unit_of_work(container.sessions) as session:
        row = session.get(PrincipalRow, principal_id)
        assert row is not None and row.password_hash is not None and PASSWORD not in row.password_hash
        assert principals.check_password(session, policies=container.policies, name="sup-1", password=PASSWORD)


def test_set_password_refuses_a_short_one_and_writes_nothing(container: Container, settings: Settings) -> None:
    principal_id = _person(container)
    done = _run(settings, "principals", "set-password", principal_id, stdin="short\n")
    assert done.exit_code == 2  # bad input, as for every command (decision 0022)
    assert "at least 12 characters" in done.output
    assert "short" not in done.output.split("error:", 1)[1]
    with unit_of_work(container.sessions) as session:
        row = session.get(PrincipalRow, principal_id)
        assert row is not None and row.password_hash is None


def test_login_link_prints_a_url_whose_token_logs_in_once(container: Container, settings: Settings) -> None:
    principal_id = _person(container)
    done = _run(settings, "console", "login-link", principal_id, "--base-url", "https://shield.example.cn/")
    assert done.exit_code == 0, done.output
    url = urlsplit(done.stdout.strip())
    assert (url.scheme, url.netloc, url.path) == ("https", "shield.example.cn", "/console/login/link")
    (token,) = parse_qs(url.query)["token"]
    with unit_of_work(container.sessions) as session:
        who = console.redeem_link(session, policies=container.policies, token=token, now=_now())
    assert who.principal_id == principal_id
    missing = _run(settings, "console", "login-link", "p-nobody")
    assert missing.exit_code == 2, missing.output  # an argument that names nothing (core.errors.exit_code)
    assert "no active principal" in missing.output


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_new_password_ends_the_principals_console_sessions(container: Container, settings: Settings) -> None:
    principal_id = _person(container)
    with unit_of_work(container.sessions) as session:
        who = principals.active(session, policies=container.policies, principal_id=principal_id)
        assert who is not None
        timeouts = console.Timeouts.of(idle_minutes=30, session_hours=12)
        started = console.start(session, principal=who, now=_now(), timeouts=timeouts)
    done = _run(settings, "principals", "set-password", principal_id, stdin=PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert "1 console session(s) ended" in done.stdout
    with unit_of_work(container.sessions) as session:
        resumed = console.resume(
            session, policies=container.policies, cookie=started.cookie, now=_now(), timeouts=timeouts
        )
    assert resumed is None
