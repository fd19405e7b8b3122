"""The FastAPI application: routers of every domain over one wired container."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopshield import __version__
from shopshield.access.views import router as access_router
from shopshield.alerts.views import router as alerts_router
from shopshield.audit.views import router as audit_router
from shopshield.bootstrap import Container
from shopshield.breach.views import router as breach_router
from shopshield.breach.views import warnings_router
from shopshield.canary.views import router as canary_router
from shopshield.channels.views import contacts_router, status_router
from shopshield.channels.views import router as channels_router
from shopshield.channels.views import verify_router as verify_contact_router
from shopshield.console.pages import router as console_router
from shopshield.console.views import public_paths as console_public_paths
from shopshield.edge import EdgeGuard
from shopshield.guard.views import router as guard_router
from shopshield.notify.views import ops_router as notify_ops_router
from shopshield.notify.views import router as notify_router
from shopshield.notify.worker import DeliveryThread
from shopshield.passwords.views import router as passwords_router
from shopshield.principals.views import router as principals_router
from shopshield.scams.views import router as scams_router
from shopshield.selfservice.views import api_router as page_link_router
from shopshield.selfservice.views import router as selfservice_router
from shopshield.tickets.views import router as tickets_router
from shopshield.vault.views import router as vault_router
from shopshield.verify.views import router as verify_router
from shopshield.web import (
    DECLARED,
    DOCS_OAUTH2_REDIRECT_URL,
    DOCS_URL,
    JSON,
    OPENAPI_URL,
    REDOC_URL,
    SELF_SERVICE_PUBLIC,
    PageHeaders,
    install_error_handlers,
    public_routes,
)

access_log = logging.getLogger("shopshield.http")
log = logging.getLogger(__name__)


def create_app(container: Container, *, checkpoints: bool = True, notify_worker: bool = False) -> FastAPI:
    """The app over ``container``; while it runs (its lifespan), checkpoints are signed in the
    background unless ``checkpoints`` is False, and with ``notify_worker`` a notification worker
    delivers the outbox in a thread (``serve`` turns it on by default, tests only when they ask)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        checkpointer = container.checkpointer() if checkpoints else None
        # The corpus loads before the first request, not during the first login it should judge.
        await run_in_threadpool(container.passwords.load)
        if checkpointer is not None:
            checkpointer.start()
        delivery = DeliveryThread(container.notify_worker()) if notify_worker else None
        if delivery is not None:
            delivery.start()
        try:
            yield
        finally:
            if delivery is not None:
                await run_in_threadpool(delivery.stop)
            if checkpointer is not None:
                await run_in_threadpool(checkpointer.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="ShopShield",
        version=__version__,
        description="Keeps a store's customer data from leaking and protects its customers from scams.",
        default_response_class=JSON,
        openapi_url=OPENAPI_URL,
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        swagger_ui_oauth2_redirect_url=DOCS_OAUTH2_REDIRECT_URL,
    )
    app.state.container = container
    install_error_handlers(app)
    for router in (
        principals_router,
        vault_router,
        tickets_router,
        access_router,
        audit_router,
        scams_router,
        canary_router,
        breach_router,
        warnings_router,
        passwords_router,
        guard_router,
        alerts_router,
        notify_router,
        notify_ops_router,
        channels_router,
        contacts_router,
        verify_contact_router,
        verify_router,
        status_router,
        page_link_router,
    ):
        mount(app, router)
    mount(app, console_router, public=console_public_paths())
    mount(app, selfservice_router, public=SELF_SERVICE_PUBLIC)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> JSON:
        return JSON({"status": "ok", "version": __version__})

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics: counts only, never personal data")
    def metrics() -> Response:
        return Response(generate_latest(container.metrics), media_type=CONTENT_TYPE_LATEST)

    settings = container.settings
    app.add_middleware(
        EdgeGuard,
        authenticator=container.authenticator,
        trusted_proxies=settings.trusted_proxies,
        max_body_bytes=settings.max_body_bytes,
        public=public_routes(settings),
    )
    # The pages' security headers on every answer under /console and /me, the guard's refusals included.
    app.add_middleware(PageHeaders)
    # Added last, so outermost: it also logs and answers what the guard refuses or fails on.
    app.add_middleware(RequestLog)
    return app


def mount(app: FastAPI, router: APIRouter, *, public: frozenset[str] = frozenset()) -> None:
    """Put ``router``'s routes on the app's own route list.

    ``include_router`` keeps each router as a nested matcher that FastAPI walks on every request;
    flat routes made masked views over HTTP 15-25% faster (docs/benchmarks.md). A route already
    carries its router's prefix and tags from when it was declared; router-level dependencies
    would be lost, so they are refused (ours authenticate per route through ``web.CallDep``).
    A route that does not declare who may call it (``web.needs``) is refused too: every domain
    route takes a token, and only ``web.public_routes`` may go without a declaration (``public``
    names the router's own, such as the console's login page).
    """
    if router.dependencies:
        raise ValueError(f"router {router.prefix!r} has router-level dependencies; declare them per route")
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint not in DECLARED and route.path not in public:
            raise ValueError(f"route {route.path!r} does not declare who may call it (web.needs)")
    app.router.routes.extend(router.routes)


class RequestLog:
    """The outermost layer of our own: logs each request and turns any escaped exception into a
    plain 500.

    It logs method, route template and status: never the query string (searches carry mobile
    numbers there) and never the raw path (a caller may put a phone number where an id belongs).
    It does not re-raise: Starlette's error middleware would, and uvicorn would then log the
    exception's message, which can carry personal values.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unhandled %s on %s %s\n%s", type(exc).__name__, scope["method"], _route(scope), frames)
            if status == 0:
                status = 500
                await JSON(
                    {"error": "internal_error", "message": "internal error; the request was not completed"},
                    status_code=500,
                )(scope, receive, send)
        if access_log.isEnabledFor(logging.INFO):
            elapsed = (time.perf_counter() - started) * 1000
            access_log.info("%s %s %d %.1fms", scope["method"], _route(scope), status, elapsed)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", "(no route)"))
