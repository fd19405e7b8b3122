"""Login assessments through the API, as the store's backend sends them."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.support.world import World

PASSWORD_SHA1 = hashlib.sha1(b"correct horse battery").hexdigest()  # noqa: S324 - HIBP-style


def assess(world: World, who: str = "service", **body: object) -> tuple[int, dict[str, Any]]:
    payload: dict[str, object] = {
        "username": "13800138000",
        "ip": "203.0.113.7",
        "user_agent": "app/1.0",
        "password_sha1": PASSWORD_SHA1,
    }
    payload.update(body)
    response = world.post(who, "/v1/logins/assess", payload)
    return response.status_code, response.json()
