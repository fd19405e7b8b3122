"""The demo's investigation clicked through in a real browser: Debian's Chromium, headless, driven
by Playwright, against the demo store (``demo.service.fill`` at its smallest size) served by
uvicorn in a thread. The demo's security analyst logs in with the password the demo printed,
goes from the Overview to the Investigation page, investigates the scam wave's cluster, and
follows the top suspect, who is the planted insider, to its accesses. SQLite only: the same pages
run on PostgreSQL in test_investigation.py.

Screenshots of each step go under the test's ``tmp_path`` (or ``SHOPSHIELD_SCREENSHOTS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shopshield.app import create_app
from shopshield.console.views import SESSION_COOKIE
from shopshield.demo.service import DemoConfig, Filled, fill
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, screenshots_dir, serve_in_thread
from tests.support.world import World

pytestmark = pytest.mark.browser
DEMO = DemoConfig(seed=3, customers=200, today=date(2026, 11, 20))


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def chromium() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.fixture
def filled(world: World, tmp_path: Path) -> Filled:
    work = tmp_path / "demo"
    work.mkdir()
    return fill(world.container, DEMO, work)


def test_the_analyst_clicks_from_the_overview_to_the_planted_insider(
    world: World, filled: Filled, chromium: Browser, tmp_path: Path
) -> None:
    shots = screenshots_dir(tmp_path / "screenshots")
    analyst = next(login for login in filled.logins if login.role == "security_analyst")
    assert analyst.password is not None
    with serve_in_thread(create_app(world.container)) as base:
        context = chromium.new_context(base_url=base)
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        try:
            page.goto(base + "/console/login")
            page.fill("input[name=name]", analyst.principal_id)
            page.fill("input[name=password]", analyst.password)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert any(c["name"] == SESSION_COOKIE for c in context.cookies())

            page.goto(base + "/console/overview")
            _shot(page, shots, "1-overview")
            _click(page, "header nav a:text-is('Investigation')")
            assert page.url.endswith("/console/investigation")
            _shot(page, shots, "2-investigation")

            _click(page, "a[data-cluster='1']")
            verdict = page.inner_text("#verdict")
            assert verdict.startswith("Conclusive.") and "an insider" in verdict
            top = page.locator("a[data-suspect='1']")
            assert top.inner_text() == filled.insider
            assert "a strong lead, not proof" in page.inner_text("ol.suspects li:first-child")
            timeline = page.locator("#timeline")
            assert filled.insider in timeline.inner_text()
            assert timeline.locator("svg circle").count() > 0
            _shot(page, shots, "3-suspects-and-timeline")

            _click(page, "a[data-suspect='1']")
            assert page.url.endswith(f"/console/investigation/actors/{filled.insider}")
            main = page.inner_text("main")
            assert filled.insider in main and "view" in main
            _shot(page, shots, "4-insider-accesses")
        finally:
            context.close()
    assert [url for url in requested if not url.startswith(base + "/")] == []
    assert len(list(shots.glob("*.png"))) == 4


def _click(page: Page, selector: str) -> None:
    with page.expect_navigation() as navigation:
        page.click(selector)
    response = navigation.value
    assert response is not None and response.status == 200, selector


def _shot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"investigation-{name}.png"), full_page=True)
