"""Logging in to the staff console from tests: passwords for the world's principals, a client
that keeps the console's Secure cookies, and the CSRF token of a page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from shopshield.core.db import unit_of_work
from shopshield.principals import service as principals
from shopshield.principals.service import MACHINE_ROLES
from tests.support import scam_reports
from tests.support.world import CLIENT_ADDRESS, ROLES, World

PASSWORD = "console test password"
# The world's principals that are people: every role but the store's backend.
PEOPLE: Final = tuple(name for name, (role, _link) in ROLES.items() if role not in MACHINE_ROLES)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def set_passwords(world: World, *names: str) -> None:
    """Give each named principal of ``world`` (every person by default: not the service role,
    which gets no console password) the test password."""
    with unit_of_work(world.container.sessions) as session:
        for name in names or PEOPLE:
            principals.set_password(session, principal_id=world.ids[name], password=PASSWORD)


def client(world: World) -> TestClient:
    """A client of ``world``'s app over https://, so the __Host- cookies (Secure) are kept."""
    return TestClient(
        world.client.app,
        base_url="https://testserver",
        raise_server_exceptions=False,
        client=(CLIENT_ADDRESS, 50001),
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def log_in(browser: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log ``name`` in through the login form; the session's CSRF token."""
    page = browser.get("/console/login")
    assert page.status_code == 200, page.text
    done = browser.post("/console/login", data={"csrf": csrf_of(page.text), "name": name, "password": password})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/console/"
    home = browser.get("/console/", follow_redirects=True)
    assert home.status_code in (200, 403), home.text
    return csrf_of(home.text)


def recent_scam_reports(world: World) -> tuple[date, date]:
    """Three scam reports through the API: one yesterday (100.00 CNY lost), two today (2000.00 and
    500.50), in the store's time zone. Yesterday and today."""
    zone = ZoneInfo(world.container.settings.timezone)
    today = datetime.now(zone).date()
    yesterday = today - timedelta(days=1)
    reported = datetime.now(UTC).isoformat()
    reports = [
        scam_reports.report(
            f"r-{n}",
            customer_id=f"c-{n}",
            contacted_at=datetime.fromisoformat(f"{day}T00:0{n}:00").replace(tzinfo=zone).isoformat(),
            reported_at=reported,
            loss_amount=amount,
        )
        for n, (day, amount) in enumerate([(yesterday, "100.00"), (today, "2000.00"), (today, "500.50")])
    ]
    response = world.post("service", "/v1/scam-reports", {"reports": reports})
    assert response.status_code == 201, response.text
    return yesterday, today
