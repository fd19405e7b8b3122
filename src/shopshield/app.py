"""The FastAPI application: routers of every domain over one wired container."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopshield import __version__
from shopshield.bootstrap import Container
from shopshield.principals.views import router as principals_router
from shopshield.tickets.views import router as tickets_router
from shopshield.vault.views import router as vault_router
from shopshield.web import JSON, install_error_handlers

access_log = logging.getLogger("shopshield.http")


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="ShopShield",
        version=__version__,
        description="Keeps a store's customer data from leaking and protects its customers from scams.",
        default_response_class=JSON,
    )
    app.state.container = container
    install_error_handlers(app)
    app.include_router(principals_router)
    app.include_router(vault_router)
    app.include_router(tickets_router)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> JSON:
        return JSON({"status": "ok", "version": __version__})

    app.add_middleware(RequestLog)
    return app


class RequestLog:
    """Our own access log: method, path, status and time, never the query string, which can hold
    a mobile number or an ID number (GET /v1/customers?mobile=...). Plain ASGI: cheaper than
    Starlette's BaseHTTPMiddleware on the hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
