"""The "bare endpoint" baseline for login assessments: FastAPI and uvicorn with no work behind it.

``python -m bench.bare_login_app --port N`` serves ``POST /v1/logins/assess``: it parses the same
JSON body into a pydantic model with the same fields (no validators) and returns a constant document
shaped like ShopShield's answer, through a sync ``def`` route rendered with orjson, with uvicorn
started as bench/serve_app.py starts ShopShield.
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from bench.bare_app import ORJSON, serve

ANSWER = {
    "attempt_id": "bDq3mJxq2xkD7o1b1y0r0A",
    "decision": "allow",
    "risk": 10,
    "reasons": [{"code": "no_history", "points": 10, "message": "no earlier successful login to this account"}],
    "attack_mode": False,
}


class Body(BaseModel):
    username: str
    ip: str
    user_agent: str = ""
    device_id: str | None = None
    password_sha1: str


def create_app() -> FastAPI:
    app = FastAPI(title="bare login", default_response_class=ORJSON)

    @app.get("/healthz")
    def healthz() -> ORJSON:
        return ORJSON({"status": "ok"})

    @app.post("/v1/logins/assess")
    def assess(body: Body) -> ORJSON:
        return ORJSON(ANSWER)

    return app


def main() -> None:
    serve(lambda _async_route: create_app(), __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
