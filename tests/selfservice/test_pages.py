"""The customer pages over HTTP, on SQLite and PostgreSQL (issue 15, "Pages for customers";
decision 0035): who may ask for a link, a link that works once and expires, tampered and foreign
links, one customer never reaching another's data, CSRF on every form, the access report in
Chinese and English without staff names, and changes landing through the notify services."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from shopshield.core.callers import Caller
from shopshield.core.db import Tx, transaction, unit_of_work
from shopshield.notify import service as notify_service
from shopshield.notify.catalogue import Event
from shopshield.principals import service as principals
from shopshield.selfservice import service
from shopshield.selfservice.models import CustomerLinkRow, CustomerSessionRow
from shopshield.selfservice.views import COOKIE, CSP, PAGE_ROWS
from shopshield.vault import service as vault_service
from shopshield.web import SELF_SERVICE_PUBLIC
from tests.support import contacts
from tests.support.contacts import HOTLINE, log_call, register_store
from tests.support.customer_pages import client, csrf_of, enter, link, new_customer, token_of
from tests.support.events import stored_events
from tests.support.world import ROLES, World

_TICKED = re.compile(r'name="(ev:[^"]+)" value="on"[^>]*checked')
FORMS = (
    "/me/contact",
    "/me/contact/report",
    "/me/links",
    "/me/notifications",
    "/me/code",
    "/me/code/clear",
    "/me/done",
)


@pytest.fixture
def browser(world: World) -> Iterator[TestClient]:
    with client(world) as c:
        yield c


def _headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


def ticked(page: str) -> dict[str, str]:
    """The notification checkboxes ticked on the page, as the browser would send them."""
    return {name: "on" for name in _TICKED.findall(page)}


def test_only_the_service_role_may_ask_for_a_link(world: World) -> None:
    cid = new_customer(world, 1)["customer_id"]
    for who, (role, _link) in ROLES.items():
        response = world.post(who, f"/v1/customers/{cid}/page-link", {})
        if role == "service":
            assert response.status_code == 201, response.text
            body = response.json()
            assert body["customer_id"] == cid and body["url"].endswith(body["path"])
            assert cid not in body["path"]  # the binding is on the server, not in the URL
        else:
            assert response.status_code == 403, (who, response.text)
            assert response.json()["message"] == f"role {role!r} lacks the permission 'customer_links.issue'"
    assert world.post("service", "/v1/customers/c-nobody/page-link", {}).status_code == 404
    assert world.post("service", f"/v1/customers/{cid}/page-link", {"page": "elsewhere"}).status_code == 422
    assert world.client.post(f"/v1/customers/{cid}/page-link", json={}).status_code == 401
    # Giving a link out is on the customer's record, by the store's backend.
    (event,) = stored_events(world.container, action=service.ACTION_LINK)
    assert (event.customer_id, event.actor_role) == (cid, "service")


def test_a_link_opens_once_and_its_token_is_kept_only_as_a_digest(world: World, browser: TestClient) -> None:
    cid = new_customer(world, 2)["customer_id"]
    path = link(world, cid, page="access")
    opened = browser.get(path)
    assert opened.status_code == 303 and opened.headers["location"] == "/me/access"
    _headers(opened)
    cookie = next(c for c in opened.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
    assert COOKIE.startswith("__Host-") and {"Path", "Secure", "HttpOnly", "SameSite"} <= attributes
    assert "SameSite=Lax" in cookie and "Domain" not in cookie
    assert browser.get("/me/access").status_code == 200
    # A second use, in this browser or any other, opens nothing.
    with client(world) as other:
        again = other.get(path)
        assert again.status_code == 401
        assert "used or expired" in html.unescape(again.text)
        assert other.get("/me/access").status_code == 401
    token = token_of(path)
    with unit_of_work(world.container.sessions) as session:
        rows = list(session.scalars(select(CustomerLinkRow)))
    assert [bytes(r.token_digest) for r in rows] == [hashlib.sha256(token.encode()).digest()]
    assert rows[0].used_at is not None


def test_an_expired_link_is_refused(world: World, browser: TestClient) -> None:
    cid = new_customer(world, 3)["customer_id"]
    container = world.container
    issued_at = container.vault.clock() - timedelta(minutes=service.LINK_MINUTES, seconds=1)
    caller = Caller(principal=service.customer_caller(cid, source_ip=None).principal)
    with unit_of_work(container.sessions) as session:
        issued = service.issue_link(
            session, log=container.audit, caller=caller, customer_id=cid, landing="home", now=issued_at
        )
    response = browser.get(f"/me/enter?token={issued.token}")
    assert response.status_code == 401
    assert response.headers.get_list("set-cookie") == []
    assert browser.get("/me/").status_code == 401


def test_a_tampered_or_foreign_link_is_refused(world: World, browser: TestClient) -> None:
    cid = new_customer(world, 4)["customer_id"]
    other = new_customer(world, 5)["customer_id"]
    path = link(world, cid)
    token = token_of(path)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    never_issued = "x" * 43
    for bad in (tampered, never_issued, token[:20], "", token + "A"):
        response = browser.get(f"/me/enter?token={bad}")
        assert response.status_code == 401, bad
        assert browser.get("/me/").status_code == 401
    # The customer is the link's, whatever else the URL says: a customer id added to it is ignored.
    assert browser.get(f"{path}&customer_id={other}").status_code == 303
    page = browser.get("/me/access?customer_id=" + other)
    assert page.status_code == 200
    report_events = stored_events(world.container, action="report")
    assert [e.customer_id for e in report_events] == [cid]


def test_without_a_session_every_page_is_refused_and_carries_the_headers(world: World, browser: TestClient) -> None:
    app = world.client.app
    assert isinstance(app, FastAPI)
    checked = 0
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/me/") or route.path in SELF_SERVICE_PUBLIC:
            continue
        for method in (route.methods or set()) - {"HEAD"}:
            response = browser.request(method, route.path, data={"csrf": "x"} if method == "POST" else None)
            assert response.status_code in (401, 403), (method, route.path)
            _headers(response)
            checked += 1
    assert checked >= 11
    css = browser.get("/me/static/me.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_every_form_refuses_a_missing_or_wrong_csrf_token_and_writes_nothing(world: World, browser: TestClient) -> None:
    cid = new_customer(world, 6)["customer_id"]
    csrf = enter(browser, link(world, cid))
    before = len(stored_events(world.container))
    for path in FORMS:
        for token in (None, "wrong-" + csrf[6:], csrf + "x"):
            data = {"code": "Heron-qzv", "from": "171 0000 1234", "channel": "call", "url": "https://a.example/"}
            if token is not None:
                data["csrf"] = token
            response = browser.post(path, data=data)
            assert response.status_code == 403, (path, token, response.text)
            _headers(response)
    assert len(stored_events(world.container)) == before
    with transaction(world.container.engine, read_only=True) as tx:
        assert not notify_service.has_anti_phishing_code(tx, customer_id=cid)
    # The session is still there: the refusals ended nothing.
    assert browser.get("/me/").status_code == 200


def _staff_reveal(world: World, cid: str, name: str) -> str:
    """A reveal of the customer's mobile by a new agent called ``name``, on a ticket; their id."""
    with unit_of_work(world.container.sessions) as session:
        created = principals.create(session=session, policies=world.container.policies, name=name, role="cs_agent")
    staff_id = created.principal.principal_id
    ticket = world.post(
        "service", "/v1/tickets", {"customer_id": cid, "category": "refund", "assignee_id": staff_id}
    ).json()["ticket_id"]
    headers = {"Authorization": f"Bearer {created.token}"}
    assert world.client.get(f"/v1/customers/{cid}", headers=headers).status_code == 200
    revealed = world.client.post(
        f"/v1/customers/{cid}/reveal",
        headers=headers,
        json={"fields": ["mobile"], "purpose": "refund_dispute", "ticket_id": ticket},
    )
    assert revealed.status_code == 200, revealed.text
    return staff_id


def test_the_report_reads_in_chinese_and_english_and_never_names_staff(world: World, browser: TestClient) -> None:
    cid = new_customer(world, 7)["customer_id"]
    staff_id = _staff_reveal(world, cid, "wangxiaoming-cs")
    enter(browser, link(world, cid))
    zh = html.unescape(browser.get("/me/access?lang=zh-CN").text)
    assert "客服人员" in zh and "查看了完整的手机号" in zh and "处理退款争议" in zh
    assert "查看了（部分隐藏的）" in zh
    en = html.unescape(browser.get("/me/access?lang=en").text)
    assert "a customer-service agent" in en and "saw in full mobile number" in en and "to settle a refund dispute" in en
    assert "opened a link to these pages for you" in en
    for page in (zh, en):
        assert "wangxiaoming" not in page and staff_id not in page
    # The language follows the customer's notification language when none is chosen.
    with unit_of_work(world.container.sessions) as session:
        notify_service.set_preferences(
            Tx.of_session(session),
            log=world.container.audit,
            caller=service.customer_caller(cid, source_ip=None),
            customer_id=cid,
            body={"events": {}, "language": "en"},
            now=world.container.vault.clock(),
        )
    assert "Who accessed my data" in browser.get("/me/access").text
    # The customer's own looks are on their record, as the customer.
    looks = stored_events(world.container, action="report", customer_id=cid)
    assert len(looks) == 3 and {(e.actor_id, e.actor_kind, e.channel) for e in looks} == {(cid, "customer", "web")}


def test_one_customer_never_reaches_another_customers_data(world: World) -> None:
    first, second = new_customer(world, 8)["customer_id"], new_customer(world, 9)["customer_id"]
    _staff_reveal(world, second, "zhaoliu-cs")
    with client(world) as one, client(world) as two:
        csrf_one = enter(one, link(world, first))
        csrf_two = enter(two, link(world, second))
        # The second customer's contact check gives them a report token ...
        checked = two.post("/me/contact", data={"csrf": csrf_two, "channel": "call", "from": "171 0000 1234"})
        assert checked.status_code == 200, checked.text
        token = html.unescape(checked.text).split('name="report_token" value="')[1].split('"')[0]
        # ... which the first customer cannot use, or learn anything by.
        stolen = one.post("/me/contact/report", data={"csrf": csrf_one, "report_token": token})
        assert stolen.status_code == 404
        # Each sees their own report: the first has no reveal, the second one.
        assert "saw in full" not in one.get("/me/access?lang=en").text
        assert "saw in full" in two.get("/me/access?lang=en").text
        # A form changes the session's customer only, whatever customer id it carries.
        shown = ticked(one.get("/me/notifications").text)
        assert "ev:login.new_device:sms" in shown
        saved = one.post("/me/notifications", data={**shown, "csrf": csrf_one, "customer_id": second, "language": "en"})
        assert saved.status_code == 200, saved.text
        # The other session's token is no good in this one.
        assert one.post("/me/code/clear", data={"csrf": csrf_two}).status_code == 403
    with transaction(world.container.engine, read_only=True) as tx:
        assert str(notify_service.settings_for(tx, customer_id=first).language) == "en"
        assert str(notify_service.settings_for(tx, customer_id=second).language) == "zh-CN"
    reads = [e for e in stored_events(world.container, actor_kind="customer") if e.action != "login"]
    assert {(e.actor_id, e.customer_id) for e in reads} <= {(first, first), (second, second)}
    assert {e.actor_id for e in reads} == {first, second}


def test_preferences_and_the_code_change_through_the_notify_services(world: World, browser: TestClient) -> None:
    body = new_customer(world, 10)
    cid = body["customer_id"]
    csrf = enter(browser, link(world, cid, page="notifications"))
    page = browser.get("/me/notifications?lang=en")
    assert "You have no anti-phishing code yet." in page.text
    form = {
        k: v for k, v in ticked(page.text).items() if not k.startswith(("ev:data.revealed:", "ev:login.new_device:"))
    }
    form |= {"csrf": csrf, "ev:data.revealed:email": "on", "ev:login.new_device:push": "on", "language": "en"}
    form |= {"timezone": "Europe/Berlin"}
    saved = browser.post("/me/notifications", data=form)
    assert saved.status_code == 200, saved.text
    with transaction(world.container.engine, read_only=True) as tx:
        found = notify_service.settings_for(tx, customer_id=cid)
    assert [str(c) for c in found.preferences[Event("data.revealed")]] == ["email"]
    assert [str(c) for c in found.preferences[Event("login.new_device")]] == ["push"]
    assert (str(found.language), found.zone.key) == ("en", "Europe/Berlin")
    # A security event left with no channel is refused, and nothing changes.
    refused = browser.post("/me/notifications", data={"csrf": csrf, "language": "zh-CN"})
    assert refused.status_code == 422
    assert "security event keeps at least one channel" in html.unescape(refused.text)
    # The code: set, sealed, never shown back; one built from the customer's own name is refused.
    code = "Heron-qzv"
    done = browser.post("/me/code", data={"csrf": csrf, "code": code})
    assert done.status_code == 200, done.text
    assert code not in done.text and "Your code is set." in done.text
    assert code not in browser.get("/me/notifications").text
    with unit_of_work(world.container.sessions) as session:
        key = vault_service.data_key(vault=world.container.vault, session=session, customer_id=cid)
        assert notify_service.anti_phishing_code(Tx.of_session(session), data_key=key, customer_id=cid) == code
    own_name = "".join(body["name"].split())[:6] + "x1"
    before = len(stored_events(world.container))
    mine = browser.post("/me/code", data={"csrf": csrf, "code": own_name})
    assert mine.status_code == 422, mine.text
    assert len(stored_events(world.container)) == before
    cleared = browser.post("/me/code/clear", data={"csrf": csrf})
    assert cleared.status_code == 200 and "Your code is removed." in cleared.text
    with transaction(world.container.engine, read_only=True) as tx:
        assert not notify_service.has_anti_phishing_code(tx, customer_id=cid)
    actions = [e.action for e in stored_events(world.container, actor_id=cid)]
    for action in ("prefs_view", "prefs_write", "code_check", "code_set", "code_clear"):
        assert action in actions, action


def test_contact_check_link_check_and_the_one_click_report(world: World, browser: TestClient) -> None:
    cid = new_customer(world, 11)["customer_id"]
    assert world.post("admin", "/v1/channels", {"kind": "web_domain", "value": "jumei.com"}).status_code == 201
    csrf = enter(browser, link(world, cid))
    official = browser.post("/me/links", data={"csrf": csrf, "lang": "en", "url": "https://www.jumei.com/"})
    assert official.status_code == 200 and "This is the store&#39;s official link" in official.text
    fake = browser.post("/me/links", data={"csrf": csrf, "lang": "en", "url": "http://refund.jumei-help.com.cn/login"})
    assert "This link imitates the store" in fake.text and "It imitates: jumei.com" in fake.text
    zh = browser.post("/me/links", data={"csrf": csrf, "lang": "zh-CN", "url": "http://refund.jumei-help.com.cn/login"})
    assert "这是仿冒商城的链接" in zh.text
    # Who sent it: the contact check with the link, then the one-click report.
    checked = browser.post(
        "/me/contact",
        data={
            "csrf": csrf,
            "lang": "en",
            "channel": "sms",
            "from": "10690000",
            "url": "http://refund.jumei-help.com.cn/login",
        },
    )
    assert checked.status_code == 200 and "This was not the store" in checked.text
    token = html.unescape(checked.text).split('name="report_token" value="')[1].split('"')[0]
    reported = browser.post(
        "/me/contact/report",
        data={
            "csrf": csrf,
            "lang": "en",
            "report_token": token,
            "knew_name": "on",
            "knew_items": "on",
            "loss_amount": "47200",
        },
    )
    assert reported.status_code == 200, reported.text
    assert "Your report vr-" in reported.text
    listed = world.get("service", "/v1/scam-reports").json()
    (stored,) = [r for r in listed["items"] if r["customer_id"] == cid]
    assert stored["url"] == "http://refund.jumei-help.com.cn/login" and stored["channel"] == "sms"
    again = browser.post("/me/contact/report", data={"csrf": csrf, "report_token": token})
    assert again.status_code == 409
    assert csrf_of(again.text) == csrf


def test_a_new_link_replaces_the_browsers_session_and_a_bad_one_ends_nothing(world: World, browser: TestClient) -> None:
    first, second = new_customer(world, 12)["customer_id"], new_customer(world, 13)["customer_id"]
    enter(browser, link(world, first))
    assert browser.get("/me/enter?token=" + "y" * 43).status_code == 401
    assert browser.get("/me/").status_code == 200
    enter(browser, link(world, second))
    with unit_of_work(world.container.sessions) as session:
        owners = list(session.scalars(select(CustomerSessionRow.customer_id)))
    # The first customer's session ended when the second link opened in the same browser.
    assert owners == [second]
    assert "saw in full" not in browser.get("/me/access?lang=en").text
    looks = stored_events(world.container, action="report")
    assert [e.customer_id for e in looks] == [second]


def test_a_call_the_store_made_is_verified_and_shown_in_the_customers_time(world: World, browser: TestClient) -> None:
    register_store(world)
    cid = contacts.new_customer(world, 14)
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    log_call(world, cid, contacts.ticket(world, cid), started_at=started, minutes=None)
    csrf = enter(browser, link(world, cid, page="contact"))
    local = started.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    status = html.unescape(browser.get("/me/contact?lang=en").text)
    assert "The store is contacting you now or just did:" in status
    assert f"customer service · your return · {local}" in status
    checked = browser.post("/me/contact", data={"csrf": csrf, "lang": "en", "channel": "call", "from": HOTLINE})
    answer = html.unescape(checked.text)
    assert checked.status_code == 200 and "Yes, this was the store" in answer
    assert f"The contact: customer service, about your return · {local}" in answer
    assert 'name="report_token"' not in answer
    assert world.ids["agent"] not in answer and world.ids["agent"] not in status


def test_a_long_report_pages_back_with_older_records(world: World, browser: TestClient) -> None:
    cid = new_customer(world, 15)["customer_id"]
    for _ in range(PAGE_ROWS + 5):
        assert world.get("service", f"/v1/customers/{cid}").status_code == 200
    enter(browser, link(world, cid, page="access"))
    first = html.unescape(browser.get("/me/access?lang=en").text)
    assert first.count("<tr>") == PAGE_ROWS + 1  # the heading's row and a page of accesses
    older = re.search(r'href="(/me/access\?lang=en&cursor=[0-9]+)"', first)
    assert older is not None
    second = html.unescape(browser.get(older.group(1)).text)
    # Newest first: the customer's first look at this report (recorded after that page was made)
    # and the link given out opened this page; the oldest reads and the customer's creation follow.
    assert second.count("<tr>") == 1 + (PAGE_ROWS + 5 + 3) - PAGE_ROWS
    assert "saved or updated" in second and "looked at who accessed your data" not in second
    assert "opened a link to these pages for you" in first
    assert "Older records" not in second
