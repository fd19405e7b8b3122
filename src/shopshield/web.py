"""What every HTTP router shares: the wired container, the authenticated caller, who may call each
route (``needs``) and which routes take no token (``public_routes``), JSON responses, and the
mapping from domain errors to HTTP status codes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopshield.bootstrap import Container
from shopshield.core.callers import Caller, Principal
from shopshield.core.errors import (
    BadConfiguration,
    Conflict,
    Forbidden,
    InstanceFault,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    RateLimited,
    ShopShieldError,
    StoredDataTampered,
    Unauthenticated,
)
from shopshield.core.permissions import Access, Permission, require
from shopshield.settings import Settings

log = logging.getLogger(__name__)

CHANNEL_HEADER = "x-shopshield-channel"
# Where ``edge.EdgeGuard`` leaves the principal it authenticated, in the request's ASGI scope.
PRINCIPAL = "shopshield.principal"
CHANNELS = frozenset({"api", "cs-console", "courier-app", "merchant-portal", "partner-api", "export", "web", "app"})
STATUS = (
    (Unauthenticated, 401),
    (QuotaExceeded, 429),
    (RateLimited, 429),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (StoredDataTampered, 500),
)


# The API documentation's own routes, named here so that ``public_routes`` and the app agree.
OPENAPI_URL = "/openapi.json"
DOCS_URL = "/docs"
DOCS_OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"


def public_routes(settings: Settings) -> frozenset[str]:
    """Every route that takes no bearer token, by its path template: the one list.

    ``edge.EdgeGuard`` lets exactly these through without a token, and every other route must
    declare who may call it with ``needs`` (``app.mount`` refuses one that does not, and
    tests/test_routes.py walks the app). None of them reads personal data; only the console's
    login forms read a body.
    """
    public = {"/healthz", "/metrics", OPENAPI_URL, DOCS_URL, DOCS_OAUTH2_REDIRECT_URL, REDOC_URL}
    # The console's login page, its login-link landing and its static files: people have no
    # session yet there. The login forms are the only public routes that read a body (a name and
    # password, or a one-time token); the edge still limits its size (edge.EdgeGuard).
    public |= CONSOLE_PUBLIC
    # The customer pages' stylesheet (the pages themselves take the customer's session cookie).
    public |= SELF_SERVICE_PUBLIC
    if settings.passwords_range_public:
        # HIBP clients send no token, and a 5-hex-digit prefix tells nobody which password was
        # meant (decision 0011).
        public.add("/range/{prefix}")
    return frozenset(public)


# The rest of /console authenticates people by the console's session cookie instead of a bearer
# token (console.views); the edge guard lets it through without one.
CONSOLE_PREFIX = "/console"


def console_public() -> frozenset[str]:
    """The console's public paths: its login page, the login-link landing, and its static files."""
    static = Path(__file__).parent / "console" / "static"
    files = sorted(p.name for p in static.iterdir() if p.is_file()) if static.is_dir() else []
    return frozenset(
        {f"{CONSOLE_PREFIX}/login", f"{CONSOLE_PREFIX}/login/link", *(f"{CONSOLE_PREFIX}/static/{f}" for f in files)}
    )


CONSOLE_PUBLIC = console_public()

# The customers' own pages (selfservice.views) authenticate a customer by their session cookie,
# begun by a one-time link the store's backend asks for; the edge guard lets them through without a
# bearer token too (decision 0035).
SELF_SERVICE_PREFIX = "/me"
SELF_SERVICE_PUBLIC = frozenset({f"{SELF_SERVICE_PREFIX}/static/me.css"})
# The path prefixes whose routes authenticate by a cookie of their own instead of a bearer token.
COOKIE_PREFIXES = (CONSOLE_PREFIX, SELF_SERVICE_PREFIX)
_COOKIE_STARTS = tuple(prefix + "/" for prefix in COOKIE_PREFIXES)


def cookie_authenticated(path: str) -> bool:
    """Whether ``path`` is under one of ``COOKIE_PREFIXES`` (the prefix itself included). Two
    C-level string checks: the edge guard asks this of every request."""
    return path.startswith(_COOKIE_STARTS) or path in COOKIE_PREFIXES


# The pages people open in a browser (the console, the customers' own pages) answer with these:
# no script, style or image but the server's own, no framing, nothing cached, no referrer.
PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS: Final = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class PageHeaders:
    """ASGI middleware: every answer under ``COOKIE_PREFIXES`` carries ``PAGE_HEADERS``, including
    those the pages' own code does not write (a 404 for an unknown path, a 405, the edge guard's
    413). Headers an answer already has are left as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not cookie_authenticated(scope.get("path", "")):
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


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

# What each route declared with ``needs``, by its endpoint function (the function the route calls).
DECLARED: dict[Callable[..., Any], Access] = {}
# The permission ``call`` checks before the handler runs, by endpoint, for the routes that declared
# one: only those are here, so the masked view, which needs none, costs one missed dict lookup.
_CHECKED: dict[object, Permission] = {}


def needs(access: Permission | Access) -> Callable[[Endpoint], Endpoint]:
    """Declare, on a route's function, who may call the route (decision 0021).

    A ``Permission`` is checked by ``call`` with ``require`` before the handler runs, so a refusal
    is the same 403 as before and nothing of the request is done. An ``Access`` from
    ``core.permissions.in_service`` names the permissions the service checks itself (the rule
    depends on the record, or the refusal is recorded in its transaction); one from
    ``any_principal`` says that any authenticated principal may call and what decides the answer.
    The decorator returns the function unchanged, so it may stand above or below the route's.
    """
    declared = Access.entry(access) if isinstance(access, Permission) else access

    def declare(endpoint: Endpoint) -> Endpoint:
        if endpoint in DECLARED:
            raise ValueError(f"{endpoint.__qualname__} declares who may call it twice")
        DECLARED[endpoint] = declared
        if declared.checked_at_entry:
            _CHECKED[endpoint] = declared.permissions[0]
        return endpoint

    return declare


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass(frozen=True, slots=True)
class Call:
    """What a route needs to know about its request: the wired container and who is calling."""

    ctx: Container
    caller: Caller

    @property
    def who(self) -> Principal:
        return self.caller.principal


def bearer_token(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


# One dependency, async, with no parameters of its own, on purpose: FastAPI solves every declared
# sub-dependency and header parameter per request, and on the masked-view path that solving cost
# about as much as the view itself. Reading the two headers here keeps it to one call; app.py
# documents them in the OpenAPI schema instead. Async, because a sync dependency costs a
# thread-pool hop, and this only reads memory. The token was checked by ``edge.EdgeGuard`` before
# the body was read; only an app without the guard (none that ``create_app`` builds) looks it up here.
# The route's declared permission, if it has one to check here, is one dict lookup away (``needs``);
# it is checked after the channel, as the handlers did before, so every refusal keeps its status.
async def call(request: Request) -> Call:
    ctx: Container = request.app.state.container
    headers = request.headers
    channel = headers.get(CHANNEL_HEADER) or "api"
    who: Principal | None = request.scope.get(PRINCIPAL)
    if who is None:
        token = bearer_token(headers.get("authorization"))
        who = ctx.authenticator.cached(token)
        if who is None:
            who = await run_in_threadpool(ctx.authenticator.authenticate, token)
    if channel not in CHANNELS:
        raise InvalidInput(f"{CHANNEL_HEADER}: must be one of {', '.join(sorted(CHANNELS))}")
    permission = _CHECKED.get(request.scope.get("endpoint"))
    if permission is not None:
        require(ctx.policies, who, permission)
    # The edge guard left a validated, normalised address here (a trusted proxy's client, or the peer).
    source_ip = request.client.host if request.client else None
    return Call(ctx, Caller(principal=who, channel=channel, source_ip=source_ip))


CallDep = Annotated[Call, Depends(call)]


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSON:
    """The project's error body: ``{"error": code, "message": ..., **extra}``."""
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSON({"error": code, "message": message, **extra}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def domain_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ShopShieldError)
        status = next((code for kind, code in STATUS if isinstance(exc, kind)), None)
        if status is None and isinstance(exc, InstanceFault | BadConfiguration):
            # The instance failed (a commit, the key store, the witness) or its operator's files
            # are wrong (a key file gone mid-run): an internal error, as it was before these joined
            # ShopShieldError (decision 0022), never a 400 that blames the caller.
            raise exc
        status = 400 if status is None else status
        extra: dict[str, Any] = {}
        if isinstance(exc, InvalidInput) and exc.field:
            extra["field"] = exc.field
        if isinstance(exc, QuotaExceeded):
            extra.update(kind=exc.kind, limit=exc.limit)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return error_response(status, exc.code, exc.message, headers=headers, **extra)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":
                return error_response(400, "malformed_json", "the request body is not valid JSON")
            # Only where and what: pydantic's own report also echoes the input, which may be
            # a phone number or an ID number.
            location = ".".join(str(part) for part in error.get("loc", ()))
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append({"loc": location, "problem": message})
        summary = "; ".join(f"{p['loc']}: {p['problem']}" for p in problems[:5])
        return error_response(422, "invalid_input", summary or "invalid request", problems=problems)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, "http_error", str(exc.detail))

    app.add_exception_handler(ShopShieldError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
