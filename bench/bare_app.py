"""The "bare endpoint" baseline: FastAPI and uvicorn with no work behind the route.

``python -m bench.bare_app --port N`` serves ``GET /v1/customers/{customer_id}`` returning a constant
JSON document shaped like ShopShield's masked cs_agent view, through the same kind of route as
ShopShield's (a sync ``def`` endpoint, run in Starlette's thread pool, rendered with orjson), with
uvicorn started the same way as bench/serve_app.py.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

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


def create_app() -> FastAPI:
    app = FastAPI(title="bare", default_response_class=ORJSON)

    @app.get("/healthz")
    def healthz() -> ORJSON:
        return ORJSON({"status": "ok"})

    @app.get("/v1/customers/{customer_id}")
    def get_customer(customer_id: str) -> ORJSON:
        return ORJSON({**MASKED_VIEW, "customer_id": customer_id})

    return app


def serve(app: FastAPI, description: str) -> None:
    """Run ``app`` as every bare baseline runs: ``--port N``, uvicorn started like bench/serve_app.py."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


def main() -> None:
    serve(create_app(), __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
