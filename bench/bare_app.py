"""The "bare endpoint" baseline: FastAPI and uvicorn with no work behind the route.

``python -m bench.bare_app --port N [--async-route]`` serves ``GET /v1/customers/{customer_id}``
returning a constant JSON document shaped like ShopShield's masked cs_agent view, rendered with
orjson, run by the same function as ShopShield's server (``shopshield.serving.run``: uvicorn with
the same options, the start-up heap frozen; that module imports nothing else of ShopShield).

The route is a sync ``def`` endpoint, run in Starlette's thread pool as any route with blocking
work is: the baseline of the issue's aim. ``--async-route`` makes it ``async def`` instead (no
thread hop at all), a reference: ShopShield's read routes are async and reach the thread pool once
per batch of requests (docs/decisions/0014).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

from shopshield import serving

MASKED_VIEW: dict[str, Any] = {
    "customer_id": "c0000000",
    "name": "吴*",
    "mobile": "138****6171",
    "email": "u***@example.cn",
    "addresses": [
        {
            "address_id": "a0000000-0",
            "recipient": "吴*",
            "phone": "138****6171",
            "street": "****",
            "province": "北京市",
            "city": "北京市",
            "district": "朝阳区",
        }
    ],
    "masked": ["name", "mobile", "email", "recipient", "phone", "region", "street"],
    "revealable": ["mobile", "phone", "street"],
}


class ORJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def create_app(*, async_route: bool = False) -> FastAPI:
    app = FastAPI(title="bare", default_response_class=ORJSON)

    @app.get("/healthz")
    def healthz() -> ORJSON:
        return ORJSON({"status": "ok"})

    if async_route:

        @app.get("/v1/customers/{customer_id}")
        async def get_customer_async(customer_id: str) -> ORJSON:
            return ORJSON({**MASKED_VIEW, "customer_id": customer_id})

    else:

        @app.get("/v1/customers/{customer_id}")
        def get_customer(customer_id: str) -> ORJSON:
            return ORJSON({**MASKED_VIEW, "customer_id": customer_id})

    return app


def serve(build: Callable[[bool], FastAPI], description: str) -> None:
    """Run a bare baseline as ShopShield runs: ``--port N``, started through ``serving.run`` like
    bench/serve_app.py. ``build`` gets whether ``--async-route`` was given."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--async-route", action="store_true", help="an async def route instead of a sync one")
    args = parser.parse_args()
    serving.run(build(args.async_route), host="127.0.0.1", port=args.port, log_level="warning")


def main() -> None:
    serve(lambda async_route: create_app(async_route=async_route), __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
