"""The customer pages in a real browser: Debian's Chromium, headless, driven by Playwright, against
the app served by uvicorn in a thread (SQLite only: the same pages run on PostgreSQL in
test_pages.py).

A customer opens the link the store's backend asked for, lands on the pages with their session
cookie, opens each page, checks a link and a call, reports the call, changes their notifications
and switches the language. Every request the pages make is recorded: none may leave the server's
origin, and the CSP may refuse nothing. Screenshots of each page are written under the test's
``tmp_path`` (or ``SHOPSHIELD_SCREENSHOTS``) for review.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shopshield.app import create_app
from shopshield.core.db import transaction
from shopshield.notify import service as notify_service
from shopshield.selfservice.views import COOKIE, PAGES
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, screenshots_dir, serve_in_thread
from tests.support.customer_pages import link, new_customer
from tests.support.world import World

pytestmark = pytest.mark.browser


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
def shots(tmp_path: Path) -> Path:
    return screenshots_dir(tmp_path / "screenshots")


def _shot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"me-{name}.png"), full_page=True)


def _submit(page: Page, form: str) -> int:
    with page.expect_navigation() as navigation:
        page.click(f"{form} button[type=submit]")
    response = navigation.value
    assert response is not None
    return response.status


def test_a_customer_opens_the_link_and_every_page(world: World, chromium: Browser, shots: Path) -> None:
    cid = new_customer(world, 21)["customer_id"]
    assert world.post("admin", "/v1/channels", {"kind": "web_domain", "value": "jumei.com"}).status_code == 201
    path = link(world, cid)
    with serve_in_thread(create_app(world.container)) as base:
        context = chromium.new_context()
        page = context.new_page()
        requests: list[str] = []
        csp_errors: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda m: csp_errors.append(m.text) if "Content Security" in m.text else None)
        try:
            response = page.goto(base + path)
            assert response is not None and response.status == 200
            assert page.url == base + PAGES["home"]
            cookie = next(c for c in context.cookies() if c["name"] == COOKIE)
            assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Lax")
            _shot(page, shots, "home-zh")
            for code, where in PAGES.items():
                for lang in ("zh-CN", "en"):
                    opened = page.goto(f"{base}{where}?lang={lang}")
                    assert opened is not None and opened.status == 200, (code, lang)
                    # The stylesheet applied: the CSP let the pages' own CSS through.
                    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
                    assert background == "rgb(246, 247, 249)", (code, lang)
                    _shot(page, shots, f"{code}-{lang}")
            # The language switch keeps the page.
            page.goto(f"{base}{PAGES['access']}?lang=zh-CN")
            with page.expect_navigation():
                page.click("#switch-language")
            assert page.url.endswith("/me/access?lang=en") and "Who accessed my data" in page.inner_text("h1")
            # Is this link the store's?
            page.goto(f"{base}{PAGES['links']}?lang=en")
            page.fill("form[action='/me/links'] input[name=url]", "http://refund.jumei-help.com.cn/login")
            assert _submit(page, "form[action='/me/links']") == 200
            assert "This link imitates the store" in page.inner_text("#verdict")
            _shot(page, shots, "links-verdict")
            # Reporting it: who sent it, then the one-click report.
            page.fill("#verdict input[name=from]", "10690000")
            page.select_option("#verdict select[name=channel]", "sms")
            assert _submit(page, "#verdict form[action='/me/contact']") == 200
            assert "This was not the store" in page.inner_text("#verdict")
            _shot(page, shots, "contact-verdict")
            page.check("input[name=knew_items]")
            assert _submit(page, "form[action='/me/contact/report']") == 200
            assert "Your report vr-" in page.inner_text("#reported")
            _shot(page, shots, "contact-reported")
            # Notifications: turn e-mail on for data reveals, set a code.
            page.goto(f"{base}{PAGES['notifications']}?lang=en")
            page.check("input[name='ev:data.revealed:email']")
            assert _submit(page, "form[action='/me/notifications']") == 200
            page.fill("input[name=code]", "Heron-qzv")
            assert _submit(page, "form[action='/me/code']") == 200
            assert "Your code is set." in page.inner_text("#saved")
            assert "Heron-qzv" not in page.content()
            _shot(page, shots, "notifications-saved")
            with transaction(world.container.engine, read_only=True) as tx:
                found = notify_service.settings_for(tx, customer_id=cid)
                assert notify_service.has_anti_phishing_code(tx, customer_id=cid)
            assert "email" in [
                str(c) for c in found.preferences[next(e for e in found.preferences if e == "data.revealed")]
            ]
            # Done: the session ends, and the link it began with opens nothing again.
            assert _submit(page, "form[action='/me/done']") == 200
            again = page.goto(base + path)
            assert again is not None and again.status == 401
            _shot(page, shots, "link-used")
        finally:
            context.close()
    assert [url for url in requests if not url.startswith(base + "/")] == []
    assert csp_errors == []
    assert len(list(shots.glob("me-*.png"))) >= 2 * len(PAGES) + 5
