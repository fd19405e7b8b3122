"""The console in a real browser: Debian's Chromium, headless, driven by Playwright, against the
app served by uvicorn in a thread (SQLite only: the same pages run on PostgreSQL in test_pages.py).

Each test logs in through the form as a person would, and records every request the page makes:
none may leave the server's origin. Screenshots of each page are written under the test's
``tmp_path`` (or ``SHOPSHIELD_SCREENSHOTS``) for review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright

from shopshield.app import create_app
from shopshield.console.views import PAGES, SESSION_COOKIE
from shopshield.core.callers import Principal
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.permissions import allowed
from shopshield.principals import service as principals
from testkit import factories
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, screenshots_dir, serve_in_thread
from tests.support.console import PASSWORD, PEOPLE, recent_scam_reports, set_passwords
from tests.support.events import stored_events
from tests.support.world import ROLES, World

pytestmark = pytest.mark.browser
NAV = [p for p in PAGES if p.nav]
# One principal per role that people hold (the world's second agent and courier add nothing).


@pytest.fixture
def backend() -> str:
    # Browser tests run on SQLite; every page also runs on PostgreSQL in test_pages.py.
    return "sqlite"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.fixture
def base_url(world: World) -> Iterator[str]:
    set_passwords(world)
    with serve_in_thread(create_app(world.container)) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return screenshots_dir(tmp_path / "screenshots")


@dataclass
class Session:
    context: BrowserContext
    page: Page
    base: str
    requests: list[str] = field(default_factory=list)
    csp_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> int:
        response = self.page.goto(self.base + path)
        assert response is not None
        return response.status

    def leaves_origin(self) -> list[str]:
        return [url for url in self.requests if not (url == self.base or url.startswith(self.base + "/"))]


@pytest.fixture
def open_session(chromium: Browser, base_url: str) -> Iterator[Callable[[], Session]]:
    opened: list[BrowserContext] = []

    def make() -> Session:
        context = chromium.new_context(base_url=base_url)
        opened.append(context)
        page = context.new_page()
        session = Session(context, page, base_url)

        def seen(request: Request) -> None:
            session.requests.append(request.url)

        page.on("request", seen)
        page.on(
            "console",
            lambda message: session.csp_errors.append(message.text) if "Content Security" in message.text else None,
        )
        return session

    yield make
    for context in opened:
        context.close()


def log_in(session: Session, name: str) -> None:
    assert session.goto("/console/login") == 200
    session.page.fill("input[name=name]", name)
    session.page.fill("input[name=password]", PASSWORD)
    with session.page.expect_navigation():
        session.page.click("button[type=submit]")
    assert any(c["name"] == SESSION_COOKIE for c in session.context.cookies()), f"{name} got no session cookie"


def test_each_role_opens_its_pages_and_gets_403_for_the_others(
    world: World, open_session: Callable[[], Session], shots: Path
) -> None:
    policies = world.container.policies
    recent_scam_reports(world)  # something for the overview's charts
    for who in PEOPLE:
        role = ROLES[who][0]
        session = open_session()
        log_in(session, who)
        cookie = next(c for c in session.context.cookies() if c["name"] == SESSION_COOKIE)
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")
        for entry in NAV:
            status = session.goto(entry.path)
            may = entry.permission is None or allowed(policies, _principal(world, who), entry.permission)
            assert status == (200 if may else 403), (who, entry.path)
            if not may:
                assert "lacks the permission" in session.page.inner_text("main")
            # The stylesheet applied: the CSP let the console's own CSS through.
            background = session.page.evaluate("getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(246, 247, 249)", (who, entry.path)
            _shot(session, shots, f"{role}-{entry.path.strip('/').replace('/', '-')}")
        assert session.leaves_origin() == [], (who, session.leaves_origin())
        assert session.csp_errors == [], session.csp_errors
    # One screenshot per role and page (two principals of one role share theirs).
    assert len(list(shots.glob("*-console-*.png"))) == len({ROLES[who][0] for who in PEOPLE}) * len(NAV)


def _principal(world: World, who: str) -> Principal:
    with unit_of_work(world.container.sessions) as session:
        found = principals.active(session, policies=world.container.policies, principal_id=world.ids[who])
    assert found is not None
    return found


def _shot(session: Session, shots: Path, name: str) -> None:
    session.page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_an_agent_finds_a_caller_and_reveals_on_a_ticket(
    world: World, open_session: Callable[[], Session], shots: Path
) -> None:
    customer = factories.customer(3)
    assert world.post("service", "/v1/customers", customer).status_code == 201
    customer_id = customer["customer_id"]
    digits = "".join(ch for ch in customer["mobile"] if ch.isdigit())[-11:]
    ticket = world.ticket("agent", customer_id)
    session = open_session()
    log_in(session, "agent")
    page = session.page
    session.goto("/console/customers")
    page.select_option("select[name=by]", "mobile")
    page.fill("input[name=value]", customer["mobile"])
    page.select_option("select[name=purpose]", "inbound_call")
    with page.expect_navigation():
        page.click("form[action='/console/customers/search'] button")
    results = page.inner_text("main")
    assert f"{digits[:3]}****{digits[-4:]}" in results and digits not in results
    _shot(session, shots, "agent-customers-search")
    with page.expect_navigation():
        page.click(f"a[href='/console/customers/{customer_id}']")
    assert digits not in page.inner_text("main")
    _shot(session, shots, "agent-customer")
    page.check("input[name=field_mobile]")
    page.select_option("select[name=purpose]", "refund_dispute")
    page.fill("input[name=ticket_id]", ticket)
    with page.expect_navigation() as navigation:
        page.click("form[action$='/reveal'] button")
    response = navigation.value
    assert response is not None and response.status == 200
    assert digits in page.inner_text("main")
    _shot(session, shots, "agent-revealed")
    actions = [(e.action, e.outcome, e.channel) for e in stored_events(world.container, actor_id=world.ids["agent"])]
    assert actions == [("search", "ok", "cs-console"), ("view", "ok", "cs-console"), ("reveal", "ok", "cs-console")]
    assert session.leaves_origin() == []


def test_a_form_without_its_csrf_token_is_refused_in_the_browser(
    world: World, open_session: Callable[[], Session], shots: Path
) -> None:
    customer = factories.customer(4)
    assert world.post("service", "/v1/customers", customer).status_code == 201
    session = open_session()
    log_in(session, "supervisor")
    page = session.page
    session.goto("/console/customers")
    before = len(stored_events(world.container))
    # What a forged cross-site form would lack: the session's token.
    page.evaluate("document.querySelector(\"form[action='/console/customers/search'] input[name=csrf]\").remove()")
    page.fill("input[name=value]", customer["mobile"])
    with page.expect_navigation() as navigation:
        page.click("form[action='/console/customers/search'] button")
    response = navigation.value
    assert response is not None and response.status == 403
    assert "CSRF token is missing or wrong" in page.inner_text("main")
    _shot(session, shots, "supervisor-csrf-refused")
    assert len(stored_events(world.container)) == before


def test_the_audit_page_and_the_access_report_in_the_browser(
    world: World, open_session: Callable[[], Session], shots: Path
) -> None:
    customer = factories.customer(5)
    assert world.post("service", "/v1/customers", customer).status_code == 201
    assert world.get("agent", f"/v1/customers/{customer['customer_id']}").status_code == 200
    with transaction(world.container.engine) as tx:
        signed = world.container.audit.checkpoint(tx)
    assert signed is not None
    session = open_session()
    log_in(session, "analyst")
    page = session.page
    session.goto("/console/audit")
    page.fill("input[name=leaf_index]", "1")
    with page.expect_navigation():
        page.click("form:has(input[name=leaf_index]) button")
    assert "the proof was checked against the signed root" in page.inner_text("main")
    _shot(session, shots, "security_analyst-audit-inclusion")
    page.fill("input[name=first]", "1")
    page.fill("input[name=second]", str(signed.tree_size))
    with page.expect_navigation():
        page.click("form:has(input[name=first]) button")
    assert "is a prefix of the tree" in page.inner_text("main")
    _shot(session, shots, "security_analyst-audit-consistency")
    assert session.goto(f"/console/customers/{customer['customer_id']}/access-report") == 200
    assert "cs_agent" in page.inner_text("main")
    _shot(session, shots, "security_analyst-access-report")
    assert session.leaves_origin() == []


def test_logout_ends_the_session(world: World, open_session: Callable[[], Session], shots: Path) -> None:
    session = open_session()
    log_in(session, "admin")
    page = session.page
    session.goto("/console/overview")
    with page.expect_navigation():
        page.click("form[action='/console/logout'] button")
    assert page.url.endswith("/console/login")
    assert not any(c["name"] == SESSION_COOKIE for c in session.context.cookies())
    _shot(session, shots, "logged-out")
    # Back to a page: the login form again.
    session.goto("/console/overview")
    assert page.url.endswith("/console/login")
    assert session.leaves_origin() == []
