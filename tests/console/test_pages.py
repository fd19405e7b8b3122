"""The console's pages over HTTP, on SQLite and PostgreSQL: who may open what (a recorded 403
otherwise), the login redirect, CSRF, the security headers, and the pages calling the domains'
services with every read recorded."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from shopshield.console import service as console
from shopshield.console.pages import NAVIGATION
from shopshield.console.views import CSP, PAGES, PREFIX, SESSION_COOKIE
from shopshield.core import tokens
from shopshield.core.callers import Principal
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.permissions import allowed
from shopshield.principals import service as principals
from shopshield.web import public_routes
from testkit import factories
from tests.support.console import PASSWORD, PEOPLE, client, csrf_of, log_in, recent_scam_reports, set_passwords
from tests.support.events import stored_events
from tests.support.world import ROLES, World

NAV = [p for p in PAGES if p.nav]


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    set_passwords(world)
    with client(world) as c:
        yield c


def _security_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


def test_each_role_opens_the_pages_it_may_and_each_other_is_a_recorded_403(world: World, browser: TestClient) -> None:
    policies = world.container.policies
    refusals = 0
    for who in PEOPLE:
        role = ROLES[who][0]
        browser.cookies.clear()
        log_in(browser, who)
        principal_id = world.ids[who]
        for entry in NAV:
            before = len(stored_events(world.container, actor_id=principal_id, outcome="denied", action="console"))
            response = browser.get(entry.path)
            _security_headers(response)
            may = entry.permission is None or allowed(policies, _principal(world, who), entry.permission)
            after = stored_events(world.container, actor_id=principal_id, outcome="denied", action="console")
            if may:
                assert response.status_code == 200, (who, entry.path, response.text)
                assert len(after) == before
            else:
                assert response.status_code == 403, (who, entry.path)
                assert html.unescape(response.text).count(f"role {role!r} lacks the permission") == 1
                # Recorded as the API's services record a refusal: actor, role, channel, reason.
                (event,) = after[before:]
                assert (event.actor_role, event.channel) == (role, "cs-console")
                assert event.reason is not None and entry.path in event.reason
                refusals += 1
            # The navigation shows only the pages this role may open.
            shown = {p.path for p in NAV if f'href="{p.path}"' in response.text}
            assert shown == {
                p.path for p in NAV if p.permission is None or allowed(policies, _principal(world, who), p.permission)
            }
    assert refusals >= 10


def _principal(world: World, who: str) -> Principal:
    with unit_of_work(world.container.sessions) as session:
        found = principals.active(session, policies=world.container.policies, principal_id=world.ids[who])
    assert found is not None
    return found


def test_the_navigation_names_every_page_in_it_and_a_login_lands_on_the_first_the_role_may_open(
    world: World, browser: TestClient
) -> None:
    # A page left out of NAVIGATION would drift to the end, wherever the linter sorted its import.
    assert [p.path for p in PAGES if p.nav] == [PREFIX + path for path in NAVIGATION]
    policies = world.container.policies
    for who in PEOPLE:
        browser.cookies.clear()
        log_in(browser, who)
        first = next(
            p.path
            for p in PAGES
            if p.nav and (p.permission is None or allowed(policies, _principal(world, who), p.permission))
        )
        landed = browser.get(f"{PREFIX}/", follow_redirects=False)
        assert (landed.status_code, landed.headers["location"]) == (303, first), who


def test_without_a_session_every_console_route_sends_to_the_login_page(world: World) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)
    public = public_routes(world.container.settings)
    with client(world) as anonymous:
        checked = 0
        for route in app.routes:
            if not isinstance(route, APIRoute) or not route.path.startswith("/console") or route.path in public:
                continue
            path = route.path.replace("{customer_id}", "c-none")
            for method in (route.methods or set()) - {"HEAD"}:
                response = anonymous.request(method, path, data={"csrf": "x"} if method == "POST" else None)
                assert response.status_code == 303, (method, path)
                assert response.headers["location"] == "/console/login"
                _security_headers(response)
                checked += 1
        assert checked >= 8
        for path in sorted(p for p in public if p.startswith("/console")):
            response = anonymous.get(path)
            assert response.status_code == 200, path
            _security_headers(response)


def test_the_session_cookie_is_host_only_secure_httponly_and_strict(browser: TestClient) -> None:
    page = browser.get("/console/login")
    done = browser.post("/console/login", data={"csrf": csrf_of(page.text), "name": "analyst", "password": PASSWORD})
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert SESSION_COOKIE.startswith("__Host-")
    assert {"Path", "Secure", "HttpOnly", "SameSite"} <= attributes
    assert "SameSite=Strict" in cookie and "Domain" not in cookie


def test_a_wrong_password_gets_no_session(browser: TestClient) -> None:
    page = browser.get("/console/login")
    done = browser.post(
        "/console/login", data={"csrf": csrf_of(page.text), "name": "analyst", "password": "wrong password"}
    )
    assert done.status_code == 401
    assert "the name or password is wrong" in done.text
    assert SESSION_COOKIE not in browser.cookies
    # The login form itself needs its token: without it nothing is checked.
    assert browser.post("/console/login", data={"name": "analyst", "password": PASSWORD}).status_code == 403


def test_a_form_without_its_csrf_token_is_refused_and_writes_nothing(world: World, browser: TestClient) -> None:
    customer = factories.customer(1)
    assert world.post("service", "/v1/customers", customer).status_code == 201
    token = log_in(browser, "supervisor")
    before = len(stored_events(world.container))
    search = {"by": "mobile", "value": customer["mobile"]}
    for form in (search, {**search, "csrf": "forged"}, {**search, "csrf": token[:-1]}):
        refused = browser.post("/console/customers/search", data=form)
        assert refused.status_code == 403
        assert "CSRF token is missing or wrong" in refused.text
        _security_headers(refused)
    ticket = world.ticket("supervisor", customer["customer_id"])
    reveal = {"field_mobile": "1", "purpose": "refund_dispute", "ticket_id": ticket}
    assert browser.post(f"/console/customers/{customer['customer_id']}/reveal", data=reveal).status_code == 403
    assert browser.post("/console/logout", data={}).status_code == 403
    assert len(stored_events(world.container)) == before
    # The same forms with the token work, and the session outlived the forged logout.
    found = browser.post("/console/customers/search", data={**search, "csrf": token})
    assert found.status_code == 200, found.text
    assert customer["customer_id"] in found.text
    assert len(stored_events(world.container)) == before + 1


def test_search_view_reveal_and_access_report_through_the_vault(world: World, browser: TestClient) -> None:
    customer = factories.customer(2)
    assert world.post("service", "/v1/customers", customer).status_code == 201
    customer_id, mobile = customer["customer_id"], customer["mobile"]
    digits = "".join(ch for ch in mobile if ch.isdigit())[-11:]
    token = log_in(browser, "agent")
    # An agent must say why: the vault's rule, not the console's.
    no_purpose = browser.post("/console/customers/search", data={"csrf": token, "by": "mobile", "value": mobile})
    assert no_purpose.status_code == 422
    found = browser.post(
        "/console/customers/search", data={"csrf": token, "by": "mobile", "value": mobile, "purpose": "inbound_call"}
    )
    assert found.status_code == 200, found.text
    assert f"{digits[:3]}****{digits[-4:]}" in found.text and digits not in found.text
    opened = browser.get("/console/customers/open", params={"customer_id": customer_id})
    assert (opened.status_code, opened.headers["location"]) == (303, f"/console/customers/{customer_id}")
    assert browser.get("/console/customers/open", params={"customer_id": mobile}).status_code == 422
    view = browser.get(f"/console/customers/{customer_id}")
    assert view.status_code == 200 and digits not in view.text
    assert "access-report" not in view.text  # agents may not read access reports
    # A reveal needs a ticket assigned to the agent; without one it is refused and recorded.
    refused = browser.post(
        f"/console/customers/{customer_id}/reveal",
        data={"csrf": token, "field_mobile": "1", "purpose": "refund_dispute", "ticket_id": "tk-none"},
    )
    assert refused.status_code == 403
    ticket = world.ticket("agent", customer_id)
    revealed = browser.post(
        f"/console/customers/{customer_id}/reveal",
        data={"csrf": token, "field_mobile": "1", "purpose": "refund_dispute", "ticket_id": ticket},
    )
    assert revealed.status_code == 200, revealed.text
    assert digits in revealed.text
    events = stored_events(world.container, actor_id=world.ids["agent"])
    assert [(e.action, e.outcome, e.channel) for e in events] == [
        ("search", "ok", "cs-console"),
        ("view", "ok", "cs-console"),
        ("reveal", "denied", "cs-console"),
        ("reveal", "ok", "cs-console"),
    ]
    # The agent may not read the access report: refused and recorded by the report's own rule.
    assert browser.get(f"/console/customers/{customer_id}/access-report").status_code == 403
    assert stored_events(world.container, actor_id=world.ids["agent"], action="report")[-1].outcome == "denied"
    browser.cookies.clear()
    log_in(browser, "supervisor")
    report = browser.get(f"/console/customers/{customer_id}/access-report")
    assert report.status_code == 200, report.text
    assert "cs_agent" in report.text and "refund_dispute" in report.text


def test_the_audit_page_proves_inclusion_and_consistency_against_the_signed_checkpoint(
    world: World, browser: TestClient
) -> None:
    for n in range(3):
        assert world.post("service", "/v1/customers", factories.customer(10 + n)).status_code == 201
    with transaction(world.container.engine) as tx:
        signed = world.container.audit.checkpoint(tx)
    assert signed is not None
    log_in(browser, "analyst")
    page = browser.get("/console/audit")
    assert page.status_code == 200
    assert f">{signed.tree_size}<" in page.text and signed.note.splitlines()[0] in page.text
    proved = browser.get("/console/audit", params={"leaf_index": "1"})
    assert proved.status_code == 200, proved.text
    assert "the proof was checked against the signed root" in proved.text
    consistent = browser.get("/console/audit", params={"first": "1", "second": str(signed.tree_size)})
    assert "is a prefix of the tree of size" in consistent.text
    too_far = browser.get("/console/audit", params={"leaf_index": str(signed.tree_size + 5)})
    assert too_far.status_code == 422
    assert browser.get("/console/audit", params={"leaf_index": "x"}).status_code == 422


def test_the_overview_shows_alerts_scam_days_and_the_audit_health(world: World, browser: TestClient) -> None:
    yesterday, today = recent_scam_reports(world)
    log_in(browser, "analyst")
    page = browser.get("/console/overview")
    assert page.status_code == 200
    # The table beside the charts: reports, victims and losses per day.
    flat = " ".join(page.text.split())
    assert f'<td>{yesterday}</td><td class="num">1</td><td class="num">1</td><td class="num">100.00 CNY</td>' in flat
    assert f'<td>{today}</td><td class="num">2</td><td class="num">2</td><td class="num">2500.50 CNY</td>' in flat
    assert f"<title>{today.isoformat()[5:]}: 2.0</title>" in page.text  # the tallest bar of the reports chart
    for text in (
        "Open security alerts",
        "Scam reports and losses",
        "Audit log health",
        "The numbers behind the charts",
    ):
        assert text in page.text
    assert "<svg" in page.text and "<script" not in page.text
    # Logins per hour from the guard's record (checked against real decisions in test_logins_page).
    assert '<table id="login-hours">' in page.text


def test_a_login_link_logs_in_once(world: World, browser: TestClient) -> None:
    with unit_of_work(world.container.sessions) as session:
        token = console.issue_link(
            session, policies=world.container.policies, principal_id=world.ids["admin"], now=datetime.now(UTC)
        )
    landing = browser.get("/console/login/link", params={"token": token})
    assert landing.status_code == 200 and SESSION_COOKIE not in browser.cookies  # a GET spends nothing
    done = browser.post("/console/login/link", data={"csrf": csrf_of(landing.text), "token": token})
    assert done.status_code == 303
    assert browser.get("/console/overview").status_code == 200
    browser.cookies.clear()
    again = browser.get("/console/login/link", params={"token": token})
    reused = browser.post("/console/login/link", data={"csrf": csrf_of(again.text), "token": token})
    assert reused.status_code == 401


def test_logout_and_disabling_end_the_session(world: World, browser: TestClient) -> None:
    token = log_in(browser, "analyst")
    cookie = browser.cookies[SESSION_COOKIE]
    assert browser.post("/console/logout", data={"csrf": token}).status_code == 303
    browser.cookies.set(SESSION_COOKIE, cookie, domain="testserver", path="/")
    assert browser.get("/console/overview").headers["location"] == "/console/login"
    browser.cookies.clear()
    log_in(browser, "admin")
    assert world.post("admin", f"/v1/principals/{world.ids['admin']}/disable").status_code in (200, 204)
    assert browser.get("/console/overview").headers["location"] == "/console/login"


def test_an_idle_session_ends(world: World, browser: TestClient) -> None:
    log_in(browser, "analyst")
    digest = tokens.digest(browser.cookies[SESSION_COOKIE])
    from shopshield.console.models import ConsoleSessionRow

    with unit_of_work(world.container.sessions) as session:
        row = session.get(ConsoleSessionRow, digest)
        assert row is not None
        row.last_seen_at = datetime.now(UTC) - timedelta(minutes=world.container.settings.console_idle_minutes + 1)
    assert browser.get("/console/overview").headers["location"] == "/console/login"


def test_an_unknown_console_path_still_carries_the_security_headers(world: World) -> None:
    with client(world) as anonymous:
        missing = anonymous.get("/console/no-such-page/at-all")
        assert missing.status_code == 404
        _security_headers(missing)
        wrong_method = anonymous.put("/console/login")
        assert wrong_method.status_code == 405
        _security_headers(wrong_method)
        too_large = anonymous.post(
            "/console/login",
            content=b"x" * (world.container.settings.max_body_bytes + 1),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert too_large.status_code == 413
        _security_headers(too_large)
