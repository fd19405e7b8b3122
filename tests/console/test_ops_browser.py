"""The operations pages in Debian's Chromium (headless, Playwright), as a security analyst uses
them: a breach case's warnings from the dry run to the send, a canary planted, an official channel
added and retired. Nothing leaves the server's origin and the CSP blocks nothing. SQLite only; the
same forms run on PostgreSQL in test_ops_pages.py. Screenshots go under the test's ``tmp_path`` or
``SHOPSHIELD_SCREENSHOTS``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shopshield.app import create_app
from shopshield.bootstrap import Container
from shopshield.breach import service as breach_service
from shopshield.core.db import unit_of_work
from shopshield.settings import Settings
from tests.support.breach_log import at
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, screenshots_dir, serve_in_thread
from tests.support.console import PASSWORD, set_passwords
from tests.support.outbox import outbox
from tests.support.world import World, make_world

pytestmark = pytest.mark.browser


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def world(container: Container, settings: Settings) -> Iterator[World]:
    container.settings = settings.model_copy(update={"canary_mobile_prefix": "1700000"})
    w = make_world(container)
    yield w
    w.client.close()


@pytest.fixture
def analyst(world: World, tmp_path: Path) -> Iterator[tuple[Page, str, list[str], list[str]]]:
    """A Chromium page logged in as the analyst; the base URL, every URL requested, CSP errors."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
    set_passwords(world, "analyst")
    requests: list[str] = []
    csp: list[str] = []
    with serve_in_thread(create_app(world.container)) as base, sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            page = browser.new_context(base_url=base).new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else None)
            page.goto(base + "/console/login")
            page.fill("input[name=name]", "analyst")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            yield page, base, requests, csp
        finally:
            browser.close()


def _submit(page: Page, selector: str) -> int:
    with page.expect_navigation() as navigation:
        page.click(selector)
    response = navigation.value
    assert response is not None
    return response.status


def test_an_analyst_works_the_operations_pages_in_the_browser(
    world: World, analyst: tuple[Page, str, list[str], list[str]], tmp_path: Path
) -> None:
    page, base, requests, csp = analyst
    shots = screenshots_dir(tmp_path / "screenshots")
    with unit_of_work(world.container.sessions) as session:
        breach_service.queue_warnings(session=session, case_id="case-2016-07", customer_ids=["c7", "c8"], now=at(16, 1))

    page.goto(base + "/console/breach")
    page.fill("input[name=breach_case]", "case-2016-07")
    assert _submit(page, "form[action='/console/breach/warnings/dry-run'] button") == 200
    assert "dry run: nobody was warned" in page.inner_text("main")
    page.screenshot(path=str(shots / "security_analyst-breach-dry-run.png"), full_page=True)
    assert outbox(world.container) == []
    assert _submit(page, "form[action='/console/breach/warnings/send'] button") == 200
    assert "2 customers warned by this run" in page.inner_text("main")
    page.screenshot(path=str(shots / "security_analyst-breach-sent.png"), full_page=True)
    assert {r.customer_id for r in outbox(world.container, event="breach.warning")} == {"c7", "c8"}

    page.goto(base + "/console/canaries")
    page.fill("form[action='/console/canaries/plant'] input[name=recipient]", "partner-sf")
    assert _submit(page, "form[action='/console/canaries/plant'] button") == 200
    assert "Planted 3 canaries for partner-sf" in page.inner_text("main")
    page.screenshot(path=str(shots / "security_analyst-canaries-planted.png"), full_page=True)

    page.goto(base + "/console/channels")
    page.select_option("form[action='/console/channels/add'] select[name=kind]", "web_domain")
    page.fill("form[action='/console/channels/add'] input[name=value]", "Shop.Example.CN")
    assert _submit(page, "form[action='/console/channels/add'] button") == 200
    assert "shop.example.cn" in page.inner_text("table")
    page.screenshot(path=str(shots / "security_analyst-channels-added.png"), full_page=True)
    assert _submit(page, "form[action='/console/channels/retire'] button") == 200
    assert "No official channels" in page.inner_text("main")

    assert [url for url in requests if not url.startswith(base + "/")] == []
    assert csp == []
