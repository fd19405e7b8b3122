"""The customer pages from tests: customers through the API, their one-time links, a client that
keeps the pages' Secure cookie, and the CSRF token of a page."""

from __future__ import annotations

import random
import re
from typing import Any, Final

from fastapi.testclient import TestClient

from testkit import factories
from tests.support.world import CLIENT_ADDRESS, World

_CSRF: Final = re.compile(r'name="csrf" value="([^"]+)"')
_TOKEN: Final = re.compile(r"token=([A-Za-z0-9_-]{43})$")


def new_customer(world: World, n: int) -> dict[str, Any]:
    """A synthetic customer stored through the vault by the store's backend; their body."""
    body = factories.customer(n, random.Random(n))
    response = world.post("service", "/v1/customers", body)
    assert response.status_code == 201, response.text
    return body


def link(world: World, customer_id: str, *, page: str | None = None) -> str:
    """The path of a one-time link to ``customer_id``'s pages, asked for by the store's backend."""
    response = world.post("service", f"/v1/customers/{customer_id}/page-link", {} if page is None else {"page": page})
    assert response.status_code == 201, response.text
    path = str(response.json()["path"])
    assert path.startswith("/me/enter?token=")
    return path


def token_of(path: str) -> str:
    found = _TOKEN.search(path)
    assert found is not None
    return found.group(1)


def client(world: World) -> TestClient:
    """A client of ``world``'s app over https://, so the __Host- cookie (Secure) is kept."""
    return TestClient(
        world.client.app,
        base_url="https://testserver",
        raise_server_exceptions=False,
        client=(CLIENT_ADDRESS, 50002),
        follow_redirects=False,
    )


def enter(browser: TestClient, path: str) -> str:
    """Open a link; the CSRF token of the page it lands on."""
    opened = browser.get(path)
    assert opened.status_code == 303, opened.text
    landed = browser.get(opened.headers["location"])
    assert landed.status_code == 200, landed.text
    return csrf_of(landed.text)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)
