"""The staff console's routes: login, logout, static files, and every page (docs/console.md).

People authenticate here by the session cookie, not by a bearer token (``edge.EdgeGuard`` lets
``/console`` through without one). Every answer carries the console's security headers (a strict
CSP, no caching, no referrer). Every POST form carries the session's CSRF token, checked before
anything is done; a page whose permission the role lacks answers 403 and records the refusal as an
access event, as the API's services do (``access.report.authorize``).

Adding a page is one function and one template: decorate a function of ``View`` that returns its
template's values with ``@page(path, title=..., template=..., permission=...)``. The navigation,
the route, the login redirect, the CSRF check of a POST, the permission and its recorded refusal
come from the decorator.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs

import anyio.from_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopshield.access import report
from shopshield.alerts import service as alerts
from shopshield.audit import merkle
from shopshield.audit.models import SELECT_EVENTS, EventRecord
from shopshield.bootstrap import Container
from shopshield.console import charts
from shopshield.console import service as console
from shopshield.console.limits import LoginLimit
from shopshield.console.render import render, static_files
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Statement, transaction, unit_of_work
from shopshield.core.errors import (
    AccessDenied,
    BadConfiguration,
    Forbidden,
    InstanceFault,
    InvalidInput,
    NotFound,
    RateLimited,
    ShopShieldError,
    Unauthenticated,
)
from shopshield.core.events import DENIED
from shopshield.core.ids import check as check_id
from shopshield.core.permissions import Access, Permission, allowed, any_principal, in_service, require
from shopshield.core.policy import ADDRESS_FIELDS, CUSTOMER_FIELDS
from shopshield.core.times import iso, parse_window
from shopshield.scams import service as scams
from shopshield.scams.summary import money, summarize
from shopshield.vault import service as vault_service
from shopshield.vault.schemas import RevealIn
from shopshield.web import CONSOLE_PUBLIC, STATUS, needs

PREFIX: Final = "/console"
router = APIRouter(prefix=PREFIX, include_in_schema=False)

# ``__Host-``: the browser keeps the cookie only if it is Secure, for this host alone (no Domain)
# and for Path=/. Chromium treats http://localhost and http://127.0.0.1 as secure, so this works
# on the embedded defaults too; behind a proxy the console must be served over HTTPS.
SESSION_COOKIE: Final = "__Host-shopshield-console"
# The login form's own CSRF token before there is a session: a double-submit cookie, short-lived.
LOGIN_COOKIE: Final = "__Host-shopshield-login"
LOGIN_COOKIE_SECONDS: Final = 600
CSRF_FIELD: Final = "csrf"
CHANNEL: Final = "cs-console"
# Access events of refused pages (the column holds 16 characters).
ACTION: Final = "console"
MAX_FORM_BYTES: Final = 16 * 1024

CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

# Routes of the console that take no session: the one list ``web.public_routes`` adds.
LOGIN_PATH: Final = f"{PREFIX}/login"
LINK_PATH: Final = f"{PREFIX}/login/link"
STATIC_PREFIX: Final = f"{PREFIX}/static/"


def public_paths() -> frozenset[str]:
    """The console's routes that take no session: ``web.CONSOLE_PUBLIC``, the one list."""
    return CONSOLE_PUBLIC


def html(
    body: str, *, status: int = 200, headers: dict[str, str] | None = None, media_type: str = "text/html; charset=utf-8"
) -> Response:
    return Response(body, status_code=status, media_type=media_type, headers={**SECURITY_HEADERS, **(headers or {})})


def redirect(to: str) -> Response:
    return Response(status_code=303, headers={**SECURITY_HEADERS, "Location": to})


def _cookie(name: str, value: str, *, max_age: int | None) -> str:
    parts = [f"{name}={value}", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def _clear(name: str) -> str:
    return _cookie(name, "", max_age=0)


def _set_cookies(response: Response, *cookies: str) -> Response:
    for value in cookies:
        response.headers.append("Set-Cookie", value)
    return response


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first value of each); 400 for anything else or too large."""
    body = await request.body()
    if not body:
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidInput("the form must be sent as application/x-www-form-urlencoded")
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput("the form is too large")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form is not valid") from None
    return {key: values[0] for key, values in parsed.items() if values}


def _now() -> datetime:
    return datetime.now(UTC)


def _timeouts(ctx: Container) -> console.Timeouts:
    s = ctx.settings
    return console.Timeouts.of(idle_minutes=s.console_idle_minutes, session_hours=s.console_session_hours)


def _address(request: Request) -> str | None:
    # The edge guard left a validated, normalised address here.
    return request.client.host if request.client else None


# -- pages ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class View:
    """What a page function gets: the wired container, who is asking (channel ``cs-console``), the
    request's path and query values, the POSTed form (its CSRF token already checked)."""

    ctx: Container
    caller: Caller
    request: Request
    form: dict[str, str] = field(default_factory=dict)

    @property
    def who(self) -> Principal:
        return self.caller.principal

    def path_value(self, name: str) -> str:
        value = str(self.request.path_params[name])
        check_id(value, name)
        return value

    def query(self, name: str) -> str | None:
        value = self.request.query_params.get(name)
        return value if value not in (None, "") else None

    def may(self, permission: Permission) -> bool:
        return allowed(self.ctx.policies, self.who, permission)


PageFunction = Callable[[View], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    title: str
    template: str
    permission: Permission | None
    method: str
    nav: bool
    function: PageFunction


PAGES: list[Page] = []


def page(
    path: str,
    *,
    title: str,
    template: str,
    permission: Permission | None,
    method: str = "GET",
    nav: bool = False,
    why: str = "",
) -> Callable[[PageFunction], PageFunction]:
    """Register a console page: its route, its permission (None: any logged-in principal, and
    ``why`` says what decides), its place in the navigation."""

    def register(function: PageFunction) -> PageFunction:
        entry = Page(PREFIX + path, title, template, permission, method, nav, function)
        PAGES.append(entry)
        _route(entry, why)
        return function

    return register


def _route(entry: Page, why: str) -> None:
    async def endpoint(request: Request) -> Response:
        return await _serve(entry, request)

    endpoint.__name__ = endpoint.__qualname__ = f"console_{entry.function.__name__}"
    # The session and the page's permission are checked by ``_serve``, not by ``web.call``: the
    # declaration says so, and what decides.
    access: Access = (
        in_service(
            entry.permission,
            why="console page: checked against the session's principal in console.views, the refusal recorded",
        )
        if entry.permission is not None
        else any_principal(why=why or "console page: any logged-in principal; the services decide what is shown")
    )
    needs(access)(endpoint)
    router.add_api_route(entry.path[len(PREFIX) :], endpoint, methods=[entry.method], response_class=Response)


@dataclass(frozen=True, slots=True)
class Session:
    resumed: console.Resumed
    ctx: Container
    caller: Caller


async def _session(request: Request, *, touch: bool = True) -> Session | None:
    ctx: Container = request.app.state.container
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return None
    timeouts, now = _timeouts(ctx), _now()

    def work() -> console.Resumed | None:
        with unit_of_work(ctx.sessions) as session:
            return console.resume(
                session, policies=ctx.policies, cookie=cookie, now=now, timeouts=timeouts, touch=touch
            )

    resumed = await run_in_threadpool(work)
    if resumed is None:
        return None
    return Session(resumed, ctx, Caller(principal=resumed.principal, channel=CHANNEL, source_ip=_address(request)))


def _to_login() -> Response:
    return _set_cookies(redirect(LOGIN_PATH), _clear(SESSION_COOKIE))


def _nav(ctx: Container, who: Principal) -> list[Page]:
    return [p for p in PAGES if p.nav and (p.permission is None or allowed(ctx.policies, who, p.permission))]


def _layout(s: Session, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "who": s.caller.principal,
        "nav": _nav(s.ctx, s.caller.principal),
        "csrf": s.resumed.csrf,
        "csrf_field": CSRF_FIELD,
        "expires_at": iso(s.resumed.expires_at),
    }


def _status_of(exc: ShopShieldError) -> int:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), None)
    return 400 if status is None else status


def _error_page(s: Session | None, exc: ShopShieldError) -> Response:
    status = _status_of(exc)
    title = "Refused" if status in (401, 403, 429) else "Not done"
    context = (
        _layout(s, title)
        if s is not None
        else {"title": title, "who": None, "nav": [], "csrf": "", "csrf_field": CSRF_FIELD, "expires_at": ""}
    )
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return html(
        render("error.html", {**context, "status": status, "message": exc.message}), status=status, headers=headers
    )


def _refuse_page(s: Session, entry: Page, refused: Forbidden) -> None:
    """Record the refusal as an access event, as the API's services do, and raise ``AccessDenied``
    (its transaction commits the event)."""
    ctx = s.ctx
    with transaction(ctx.engine) as tx:
        event = s.caller.event(ACTION, DENIED, reason=f"{refused.message} (page {entry.path})"[:200])
        ctx.audit.append(tx, event, now=ctx.vault.clock())
        raise AccessDenied(refused.message)


async def _serve(entry: Page, request: Request) -> Response:
    post = entry.method == "POST"
    s = await _session(request, touch=not post)
    if s is None:
        return _to_login()
    try:
        form: dict[str, str] = {}
        if post:
            form = await _form(request)
            if not console.csrf_matches(s.resumed.csrf, form.get(CSRF_FIELD)):
                # Before anything is done or recorded: a forged form writes nothing.
                raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again")
            await run_in_threadpool(_touch, s, request)
        if entry.permission is not None:
            try:
                require(s.ctx.policies, s.caller.principal, entry.permission)
            except Forbidden as refused:
                await run_in_threadpool(_refuse_page, s, entry, refused)
        view = View(s.ctx, s.caller, request, form)
        values = await run_in_threadpool(entry.function, view)
    except ShopShieldError as exc:
        if isinstance(exc, InstanceFault | BadConfiguration):
            raise
        return _error_page(s, exc)
    return html(render(entry.template, {**_layout(s, entry.title), **values}))


def _touch(s: Session, request: Request) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    with unit_of_work(s.ctx.sessions) as session:
        console.touch(session, cookie=cookie, now=_now())


# -- login, links, logout, static -----------------------------------------------------------------


def _login_form(template: str, *, status: int = 200, message: str | None = None, **values: Any) -> Response:
    token = secrets.token_urlsafe(32)
    body = render(
        template,
        {
            "title": "Log in",
            "who": None,
            "nav": [],
            "csrf": token,
            "csrf_field": CSRF_FIELD,
            "expires_at": "",
            "message": message,
            **values,
        },
    )
    return _set_cookies(html(body, status=status), _cookie(LOGIN_COOKIE, token, max_age=LOGIN_COOKIE_SECONDS))


def _login_csrf_ok(request: Request, form: dict[str, str]) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE)
    return expected is not None and console.csrf_matches(expected, form.get(CSRF_FIELD))


def _logged_in(request: Request, ctx: Container, principal: Principal) -> Response:
    timeouts, now = _timeouts(ctx), _now()
    with unit_of_work(ctx.sessions) as session:
        # A session this browser already had ends here, and so do everyone's ended but unused ones.
        console.end(session, cookie=request.cookies.get(SESSION_COOKIE))
        console.sweep(session, now=now, timeouts=timeouts)
        started = console.start(session, principal=principal, now=now, timeouts=timeouts)
    return _set_cookies(
        redirect(f"{PREFIX}/"),
        _cookie(SESSION_COOKIE, started.cookie, max_age=int(timeouts.absolute.total_seconds())),
        _clear(LOGIN_COOKIE),
    )


@router.get("/login")
async def login_page(request: Request) -> Response:
    if await _session(request) is not None:
        return redirect(f"{PREFIX}/")
    return _login_form("login.html")


@router.post("/login")
async def login(request: Request) -> Response:
    ctx: Container = request.app.state.container
    try:
        form = await _form(request)
    except InvalidInput as exc:
        return _login_form("login.html", status=400, message=exc.message)
    if not _login_csrf_ok(request, form):
        return _login_form("login.html", status=403, message="the form had expired; please try again")
    name, password = form.get("name", ""), form.get("password", "")
    limit = LoginLimit(ctx.guard.counters)
    address = _address(request)

    def work() -> Response:
        with unit_of_work(ctx.sessions) as session:
            who = console.log_in(
                session,
                policies=ctx.policies,
                limit=limit,
                name=name,
                password=password,
                address=address,
                now=_now(),
                clock=time.time(),
            )
        return _logged_in(request, ctx, who)

    try:
        return await run_in_threadpool(work)
    except (Unauthenticated, RateLimited) as exc:
        status = 429 if isinstance(exc, RateLimited) else 401
        return _login_form("login.html", status=status, message=exc.message)


@router.get("/login/link")
async def link_page(request: Request) -> Response:
    # Nothing is spent on a GET (a mail scanner's prefetch must not use the link up): the page
    # asks for one click, which POSTs the token.
    token = request.query_params.get("token", "")
    return _login_form("link.html", token=token[:100])


@router.post("/login/link")
async def link_login(request: Request) -> Response:
    ctx: Container = request.app.state.container
    try:
        form = await _form(request)
    except InvalidInput as exc:
        return _login_form("login.html", status=400, message=exc.message)
    if not _login_csrf_ok(request, form):
        return _login_form(
            "link.html", status=403, token=form.get("token", "")[:100], message="the form had expired; please try again"
        )

    def work() -> Response:
        with unit_of_work(ctx.sessions) as session:
            who = console.redeem_link(session, policies=ctx.policies, token=form.get("token"), now=_now())
        return _logged_in(request, ctx, who)

    try:
        return await run_in_threadpool(work)
    except Unauthenticated as exc:
        return _login_form("login.html", status=401, message=exc.message)


@router.post("/logout")
@needs(any_principal(why="console: ends the caller's own session (cookie and CSRF token checked here)"))
async def logout(request: Request) -> Response:
    s = await _session(request, touch=False)
    if s is None:
        return _to_login()
    try:
        form = await _form(request)
    except InvalidInput as exc:
        return _error_page(s, exc)
    if not console.csrf_matches(s.resumed.csrf, form.get(CSRF_FIELD)):
        return _error_page(s, Forbidden("the form's CSRF token is missing or wrong; reload the page and try again"))
    cookie = request.cookies.get(SESSION_COOKIE)

    def work() -> None:
        with unit_of_work(s.ctx.sessions) as session:
            console.end(session, cookie=cookie)

    await run_in_threadpool(work)
    return _to_login()


@router.get("/")
@needs(any_principal(why="console: sends a logged-in principal to the first page its role may open"))
async def home(request: Request) -> Response:
    s = await _session(request)
    if s is None:
        return _to_login()
    pages = _nav(s.ctx, s.caller.principal)
    return redirect(pages[0].path if pages else f"{PREFIX}/customers")


def _static_route(name: str, body: bytes, media_type: str) -> None:
    async def serve() -> Response:
        return html(body.decode(), media_type=media_type, headers={"Cache-Control": "no-store"})

    serve.__name__ = serve.__qualname__ = f"console_static_{name.replace('.', '_').replace('-', '_')}"
    router.add_api_route(f"/static/{name}", serve, methods=["GET"], response_class=Response)


for _name, (_body, _type) in static_files().items():
    _static_route(_name, _body, _type)


# -- Overview ------------------------------------------------------------------------------------

OVERVIEW_DAYS: Final = 14


@page("/overview", title="Overview", template="overview.html", permission=Permission.ALERTS_READ, nav=True)
def overview(view: View) -> dict[str, Any]:
    ctx = view.ctx
    with unit_of_work(ctx.sessions) as session:
        open_alerts = alerts.list_alerts(session=session, status="open", limit=50)
    values: dict[str, Any] = {"alerts": open_alerts}
    # Scam reports and losses per day, over the last two weeks in the store's time zone.
    if view.may(Permission.SCAM_REPORTS_READ):
        today = datetime.now(UTC).astimezone(parse_window(since=None, until=None, tz=ctx.settings.timezone).tz).date()
        first = today - timedelta(days=OVERVIEW_DAYS - 1)
        window = parse_window(since=first.isoformat(), until=None, tz=ctx.settings.timezone)
        with unit_of_work(ctx.sessions) as session:
            summary = summarize(scams.load(session=session, window=window), window)
        by_day = {d.day: d for d in summary.days}
        days: list[dict[str, Any]] = []
        for n in range(OVERVIEW_DAYS):
            day: date = first + timedelta(days=n)
            found = by_day.get(day)
            losses = {x.currency: x.total for x in found.losses} if found else {}
            days.append(
                {
                    "day": day.isoformat(),
                    "reports": found.reports if found else 0,
                    "victims": found.victims if found else 0,
                    "losses": ", ".join(f"{money(v)} {c}" for c, v in sorted(losses.items())) or "0",
                    "cny": float(losses.get("CNY", 0)),
                }
            )
        values["scams"] = {
            "days": days,
            "reports_chart": charts.bars("Scam reports per day", [(d["day"][5:], float(d["reports"])) for d in days]),
            "losses_chart": charts.bars("Losses per day (CNY)", [(d["day"][5:], d["cny"]) for d in days]),
            "total": summary.reports,
            "clusters": len(summary.clusters),
        }
    # The audit log's health: the latest checkpoint, and how far the log has run ahead of it.
    with transaction(ctx.engine, read_only=True) as tx:
        latest = ctx.audit.latest_checkpoint(tx)
        size = ctx.audit.size(tx)
    values["audit"] = {
        "size": size,
        "checkpoint_size": latest.tree_size if latest else None,
        "signed_at": iso(latest.signed_at) if latest else None,
        "age_seconds": int((datetime.now(UTC) - latest.signed_at).total_seconds()) if latest else None,
        "unsigned": size - (latest.tree_size if latest else 0),
    }
    values["guard"] = ctx.guard.status() if view.may(Permission.LOGINS_READ) else None
    return values


# -- Customers -----------------------------------------------------------------------------------

CUSTOMERS_WHY: Final = (
    "any logged-in principal: the vault's field levels, scope, search limits and quotas decide (vault.service)"
)


def _purposes(view: View) -> dict[str, Any]:
    policies = view.ctx.policies
    policy = policies.role(view.who.role)
    return {
        "search_purposes": sorted(policies.search_purposes),
        "purposes": sorted(policies.purposes),
        "revealable": [f for f in (*CUSTOMER_FIELDS, *ADDRESS_FIELDS) if f != "region" and policy.may_reveal(f)],
        "searchable": [f for f in vault_service.SEARCHABLE if policy.may_search(f)],
    }


@page("/customers", title="Customers", template="customers.html", permission=None, nav=True, why=CUSTOMERS_WHY)
def customers(view: View) -> dict[str, Any]:
    return {**_purposes(view), "results": None, "searched_by": None}


@page(
    "/customers/search", title="Customers", template="customers.html", permission=None, method="POST", why=CUSTOMERS_WHY
)
def search_customers(view: View) -> dict[str, Any]:
    by, value = view.form.get("by", ""), view.form.get("value", "")
    purpose = view.form.get("purpose") or None
    ctx, caller = view.ctx, view.caller
    with transaction(ctx.engine) as tx:
        found = vault_service.search(vault=ctx.vault, tx=tx, caller=caller, by=by, value=value, purpose=purpose)
    # A canary found is written down as a hit after the search committed (canary/watch.py).
    anyio.from_thread.run(ctx.vault.canary_watch.flush_after, ctx.engine)
    return {**_purposes(view), "results": found, "searched_by": by}


@router.get("/customers/open")
@needs(any_principal(why="console: sends the caller to a customer's page, which decides"))
async def open_customer(request: Request) -> Response:
    s = await _session(request)
    if s is None:
        return _to_login()
    customer_id = request.query_params.get("customer_id", "").strip()
    try:
        check_id(customer_id, "customer_id")
    except InvalidInput as exc:
        return _error_page(s, exc)
    return redirect(f"{PREFIX}/customers/{customer_id}")


@page("/customers/{customer_id}", title="Customer", template="customer.html", permission=None, why=CUSTOMERS_WHY)
def customer(view: View) -> dict[str, Any]:
    customer_id = view.path_value("customer_id")
    ctx = view.ctx
    with transaction(ctx.engine) as tx:
        shown = vault_service.view_customer(vault=ctx.vault, tx=tx, caller=view.caller, customer_id=customer_id)
    return {
        **_purposes(view),
        "customer": _flat(shown),
        "customer_id": customer_id,
        "may_report": view.may(Permission.ACCESS_REPORTS_READ),
    }


@page(
    "/customers/{customer_id}/reveal",
    title="Revealed",
    template="revealed.html",
    permission=None,
    method="POST",
    why=CUSTOMERS_WHY,
)
def reveal(view: View) -> dict[str, Any]:
    customer_id = view.path_value("customer_id")
    fields = [name for name in view.form.get("fields", "").split(",") if name]
    fields += [name.removeprefix("field_") for name, on in view.form.items() if name.startswith("field_") and on]
    try:
        request = RevealIn(
            fields=fields, purpose=view.form.get("purpose", ""), ticket_id=view.form.get("ticket_id", "")
        )
    except ValueError as exc:
        raise InvalidInput(
            f"reveal: choose at least one field, a purpose and your ticket ({type(exc).__name__})"
        ) from None
    ctx = view.ctx
    with transaction(ctx.engine) as tx:
        revealed = vault_service.reveal(
            vault=ctx.vault, tx=tx, caller=view.caller, customer_id=customer_id, request=request
        )
    return {"customer_id": customer_id, "revealed": _flat(revealed)}


@page(
    "/customers/{customer_id}/access-report",
    title="Access report",
    template="access_report.html",
    permission=None,
    why="the access report's service checks access_reports.read and records a refusal (access.report.authorize)",
)
def access_report(view: View) -> dict[str, Any]:
    customer_id = view.path_value("customer_id")
    query = report.parse_query(customer_id, since=None, until=None, limit=report.MAX_LIMIT, cursor=view.query("cursor"))
    ctx = view.ctx
    with transaction(ctx.engine) as tx:
        now = ctx.vault.clock()
        report.authorize(
            policies=ctx.policies, audit=ctx.audit, tx=tx, caller=view.caller, customer_id=customer_id, now=now
        )
        result = report.access_report(audit=ctx.audit, tx=tx, caller=view.caller, query=query, now=now)
    return {"customer_id": customer_id, "report": result}


def _flat(shown: dict[str, Any]) -> dict[str, Any]:
    """A customer as the vault rendered it, split into its own fields and its addresses."""
    own = {k: v for k, v in shown.items() if not isinstance(v, list | dict)}
    return {"fields": own, "addresses": shown.get("addresses", []), "orders": shown.get("orders", [])}


# -- Audit log -----------------------------------------------------------------------------------


_EVENT = Statement(SELECT_EVENTS + " WHERE leaf_index = :i", row=EventRecord)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _size(view: View, name: str) -> int | None:
    text = view.query(name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 19:
        raise InvalidInput(f"{name}: must be a whole number", field=name)
    return int(text)


@page("/audit", title="Audit log", template="audit.html", permission=Permission.AUDIT_READ, nav=True)
def audit_page(view: View) -> dict[str, Any]:
    ctx = view.ctx
    audit = ctx.audit
    leaf, first, second = _size(view, "leaf_index"), _size(view, "first"), _size(view, "second")
    values: dict[str, Any] = {
        "inclusion": None,
        "consistency": None,
        "leaf_index": leaf,
        "first": first,
        "second": second,
    }
    with transaction(ctx.engine, read_only=True) as tx:
        latest = audit.latest_checkpoint(tx)
        values["size"] = audit.size(tx)
        values["checkpoint"] = (
            None
            if latest is None
            else {
                "tree_size": latest.tree_size,
                "root_hash": _b64(latest.root_hash),
                "signed_at": iso(latest.signed_at),
                "note": latest.note,
                "origin": audit.signer.origin,
                "verifier_key": audit.signer.verifier_key,
            }
        )
        if leaf is not None:
            if latest is None:
                raise NotFound("no checkpoint has been signed yet")
            proof = audit.inclusion_proof(tx, leaf, latest.tree_size)
            row = tx.one(_EVENT, {"i": leaf})
            if row is None:
                raise NotFound("that event has been archived out of the database")
            leaf_hash = bytes(row.leaf_hash)
            merkle.verify_inclusion(leaf, latest.tree_size, leaf_hash, proof, latest.root_hash)
            values["inclusion"] = {
                "tree_size": latest.tree_size,
                "leaf_hash": _b64(leaf_hash),
                "proof": [_b64(h) for h in proof],
                "verified": True,
            }
        if first is not None or second is not None:
            if latest is None:
                raise NotFound("no checkpoint has been signed yet")
            size1 = first if first is not None else 1
            size2 = second if second is not None else latest.tree_size
            proof = audit.consistency_proof(tx, size1, size2)
            root1, root2 = audit.root(tx, size1), audit.root(tx, size2)
            merkle.verify_consistency(size1, size2, proof, root1, root2)
            values["consistency"] = {
                "first": size1,
                "second": size2,
                "root1": _b64(root1),
                "root2": _b64(root2),
                "proof": [_b64(h) for h in proof],
                "verified": True,
                "signed": [audit.checkpoint_at(tx, size1) is not None, audit.checkpoint_at(tx, size2) is not None],
            }
    return values


class ConsoleHeaders:
    """ASGI middleware: every answer under ``/console`` carries the console's security headers,
    including those the console's own code does not write (a 404 for an unknown console path, a
    405, the edge guard's 413). Headers an answer already has are left as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                missing = [(k, v) for k, v in self._headers if k not in present]
                if missing:
                    message = {**message, "headers": [*message.get("headers", []), *missing]}
            await send(message)

        await self.app(scope, receive, with_headers)
