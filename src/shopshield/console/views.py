"""The staff console's frame: login, logout, static files, sessions, and the ``page`` decorator the
pages in ``console/pages/`` are registered with (docs/console.md).

People authenticate here by the session cookie, not by a bearer token (``edge.EdgeGuard`` lets
``/console`` through without one). Every answer carries the console's security headers (a strict
CSP, no caching, no referrer). Every POST form carries the session's CSRF token, checked before
anything is done; a page whose permission the role lacks answers 403 and records the refusal as an
access event, as the API's services do (``access.report.authorize``).

Adding a page is one function and one template in ``console/pages/``: decorate a function of
``View`` that returns its template's values with ``@page(path, title=..., template=...,
permission=...)``. The navigation,
the route, the login redirect, the CSRF check of a POST, the permission and its recorded refusal
come from the decorator.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shopshield.bootstrap import Container
from shopshield.console import service as console
from shopshield.console.limits import LoginLimit
from shopshield.console.render import render, static_files
from shopshield.core import tokens
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.errors import (
    AccessDenied,
    BadConfiguration,
    Forbidden,
    InstanceFault,
    InvalidInput,
    RateLimited,
    ShopShieldError,
    Unauthenticated,
)
from shopshield.core.events import DENIED
from shopshield.core.ids import check as check_id
from shopshield.core.permissions import Access, Permission, allowed, any_principal, in_service, require
from shopshield.core.times import iso
from shopshield.web import CONSOLE_PUBLIC, PAGE_CSP, PAGE_HEADERS, STATUS, needs

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

CSP: Final = PAGE_CSP
SECURITY_HEADERS: Final = PAGE_HEADERS

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


# A page returns its template's values, or a finished answer (a download such as a case file),
# which goes out as it is with the console's security headers.
PageFunction = Callable[[View], dict[str, Any] | Response]


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


async def session_of(request: Request, *, touch: bool = True) -> Session | None:
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


def to_login() -> Response:
    return _set_cookies(redirect(LOGIN_PATH), _clear(SESSION_COOKIE))


def order_navigation(paths: tuple[str, ...]) -> None:
    """Put the navigation in this order of paths (under ``PREFIX``); a page not named keeps its
    place after them. Called once by ``console.pages``: import order is the linter's to choose."""
    rank = {PREFIX + path: n for n, path in enumerate(paths)}
    PAGES.sort(key=lambda p: rank.get(p.path, len(rank)))


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


def error_page(s: Session | None, exc: ShopShieldError) -> Response:
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
    s = await session_of(request, touch=not post)
    if s is None:
        return to_login()
    try:
        form: dict[str, str] = {}
        if post:
            form = await _form(request)
            if not tokens.csrf_matches(s.resumed.csrf, form.get(CSRF_FIELD)):
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
        return error_page(s, exc)
    if isinstance(values, Response):
        for name, value in SECURITY_HEADERS.items():
            values.headers.setdefault(name, value)
        return values
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
    return expected is not None and tokens.csrf_matches(expected, form.get(CSRF_FIELD))


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
    if await session_of(request) is not None:
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
    s = await session_of(request, touch=False)
    if s is None:
        return to_login()
    try:
        form = await _form(request)
    except InvalidInput as exc:
        return error_page(s, exc)
    if not tokens.csrf_matches(s.resumed.csrf, form.get(CSRF_FIELD)):
        return error_page(s, Forbidden("the form's CSRF token is missing or wrong; reload the page and try again"))
    cookie = request.cookies.get(SESSION_COOKIE)

    def work() -> None:
        with unit_of_work(s.ctx.sessions) as session:
            console.end(session, cookie=cookie)

    await run_in_threadpool(work)
    return to_login()


@router.get("/")
@needs(any_principal(why="console: sends a logged-in principal to the first page its role may open"))
async def home(request: Request) -> Response:
    s = await session_of(request)
    if s is None:
        return to_login()
    pages = _nav(s.ctx, s.caller.principal)
    return redirect(pages[0].path if pages else f"{PREFIX}/customers")


def _static_route(name: str, body: bytes, media_type: str) -> None:
    async def serve() -> Response:
        return html(body.decode(), media_type=media_type, headers={"Cache-Control": "no-store"})

    serve.__name__ = serve.__qualname__ = f"console_static_{name.replace('.', '_').replace('-', '_')}"
    router.add_api_route(f"/static/{name}", serve, methods=["GET"], response_class=Response)


for _name, (_body, _type) in static_files().items():
    _static_route(_name, _body, _type)
