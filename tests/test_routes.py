"""Every route states who may call it (issue 12, item 1; decision 0021).

The walk covers every route of the app ``create_app`` builds, mounted sub-apps included: each one is
either on the one list of public routes (``web.public_routes``) or declares its access with
``web.needs``. The declarations then drive the refusals: every route that declares a permission
is called by every test principal whose role lacks it (403, with nothing done or recorded), every
route the service checks is called the same way (403, the refusal recorded only where the service
records it, and once), and every route that is not public is called without a token (401).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount

from shopshield.app import create_app, mount
from shopshield.bootstrap import Container
from shopshield.core.permissions import Access, Permission
from shopshield.web import COOKIE_PREFIXES, DECLARED, public_routes
from testkit import factories
from tests.support.events import stored_events
from tests.support.world import ROLES, World, make_world

# A syntactically valid value for each path parameter: the refusals come before any lookup.
PATH_VALUES = {
    "customer_id": "c-none",
    "order_id": "o-none",
    "ticket_id": "tk-none",
    "principal_id": "p-none",
    "attempt_id": "a" * 16,
    "return_id": "rt-none",
    "run_id": "run-none",
    "prefix": "5BAA6",
    "notification_id": "n-none",
    "channel_id": "ch-none",
    "contact_id": "ct-none",
}
# The routes whose service records a refusal as an access event (decision 0019 and the access
# report's own rule); every other refusal records nothing.
RECORDS_ITS_REFUSAL = {"/v1/customers/{customer_id}/access-report"}


@dataclass(frozen=True)
class Found:
    """One route of an app, with its full path template."""

    path: str
    methods: frozenset[str]
    route: BaseRoute

    @property
    def access(self) -> Access | None:
        if isinstance(self.route, APIRoute):
            return DECLARED.get(self.route.endpoint)
        return None


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[Found]:
    """Every route under ``routes``, descending into mounted sub-apps and routers."""
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(list(route.routes), prefix + route.path)
            continue
        path = getattr(route, "path", None)
        assert isinstance(path, str), f"a route without a path: {route!r}"
        methods = getattr(route, "methods", None) or set()
        yield Found(prefix + path, frozenset(methods), route)


def undeclared(app: FastAPI, public: frozenset[str]) -> list[str]:
    """The routes of ``app`` that are neither public nor declare who may call them."""
    return [found.path for found in walk(app.routes) if found.path not in public and found.access is None]


def declared(app: FastAPI) -> list[tuple[str, str, Access]]:
    """(method, path, access) of every declared API route of ``app``.

    The console's routes (``/console``) and the customer pages (``/me``) are left out: they
    authenticate by a session cookie, not a bearer token, and answer in HTML; tests/console/
    walks the console's the same way (a redirect to the login page without a session, a recorded
    403 for a role without the page's permission), tests/selfservice/ the customer pages'.
    """
    return [
        (method, found.path, access)
        for found in walk(app.routes)
        if (access := found.access) is not None and not found.path.startswith(COOKIE_PREFIXES)
        for method in sorted(found.methods - {"HEAD"})
    ]


def call(world: World, method: str, path: str, who: str | None) -> httpx.Response:
    headers = world.headers(who) if who is not None else {}
    body: dict[str, object] | None = {} if method in ("POST", "PUT", "PATCH") else None
    response: httpx.Response = world.client.request(method, path.format(**PATH_VALUES), headers=headers, json=body)
    return response


def lacking(world: World, permissions: tuple[Permission, ...]) -> list[str]:
    """The test principals whose role holds none of ``permissions``."""
    policies = world.container.policies
    return [
        who
        for who, (role, _link) in ROLES.items()
        if not any(p in policies.role(role).permissions for p in permissions)
    ]


@pytest.fixture
def world(container: Container) -> Iterator[World]:
    w = make_world(container)
    yield w
    w.client.close()


@pytest.mark.parametrize("range_public", [True, False])
def test_every_route_declares_who_may_call_it_or_is_public(container: Container, range_public: bool) -> None:
    container.settings = container.settings.model_copy(update={"passwords_range_public": range_public})
    app = create_app(container, checkpoints=False)
    public = public_routes(container.settings)

    assert undeclared(app, public) == []
    # The list names routes that exist, so it cannot quietly open a path nobody serves yet.
    assert public <= {found.path for found in walk(app.routes)}
    assert ("/range/{prefix}" in public) is range_public


def test_the_walk_finds_a_route_that_declares_nothing(container: Container) -> None:
    app = create_app(container, checkpoints=False)
    sub = FastAPI(openapi_url=None)  # no docs of its own, which would be unlisted routes too

    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    @sub.get("/inner")
    def inner() -> dict[str, str]:
        return {}

    app.mount("/sub", sub)

    assert undeclared(app, public_routes(container.settings)) == ["/v1/forgotten", "/sub/inner"]


def test_a_router_with_a_route_that_declares_nothing_is_refused() -> None:
    router = APIRouter(prefix="/x")

    @router.get("/y")
    def y() -> dict[str, str]:
        return {}

    with pytest.raises(ValueError, match=r"'/x/y' does not declare who may call it"):
        mount(FastAPI(), router)


def test_every_route_checked_at_entry_refuses_each_role_without_its_permission(world: World) -> None:
    routes = [(m, p, a) for m, p, a in declared(app_of(world)) if a.checked_at_entry]
    assert len(routes) >= 20, routes
    before = len(stored_events(world.container))
    refused = 0
    for method, path, access in routes:
        (permission,) = access.permissions
        principals = lacking(world, access.permissions)
        assert principals, f"every test principal holds {permission}"
        for who in principals:
            role = ROLES[who][0]
            response = call(world, method, path, who)
            assert response.status_code == 403, (method, path, who, response.text)
            assert response.json() == {
                "error": "forbidden",
                "message": f"role {role!r} lacks the permission '{permission}'",
            }, (method, path, who)
            refused += 1
    # Refused before the handler ran: nothing was done, so nothing was recorded.
    assert len(stored_events(world.container)) == before
    assert refused > len(routes)


def test_every_route_checked_in_its_service_refuses_each_role_without_its_permission(world: World) -> None:
    container = world.container
    customer = factories.customer(1)
    assert world.post("service", "/v1/customers", customer).status_code == 201
    # Assigned to a principal who holds tickets.write anyway, so no one refused below is its assignee.
    ticket_id = world.ticket("supervisor", customer["customer_id"])
    values = {"customer_id": customer["customer_id"], "ticket_id": ticket_id}
    routes = [(m, p, a) for m, p, a in declared(app_of(world)) if not a.checked_at_entry and a.permissions]
    assert {p for _m, p, _a in routes} == {"/v1/customers/{customer_id}/access-report", "/v1/tickets/{ticket_id}/close"}
    for method, path, access in routes:
        assert access.why, path
        for who in lacking(world, access.permissions):
            before = len(stored_events(container, actor_id=world.ids[who], outcome="denied"))
            response: httpx.Response = world.client.request(
                method,
                path.format(**{**PATH_VALUES, **values}),
                headers=world.headers(who),
                json={} if method == "POST" else None,
            )
            assert response.status_code == 403, (method, path, who, response.text)
            assert response.json()["error"] == "forbidden"
            recorded = len(stored_events(container, actor_id=world.ids[who], outcome="denied")) - before
            assert recorded == (1 if path in RECORDS_ITS_REFUSAL else 0), (path, who)


def test_every_route_that_is_not_public_needs_a_token(world: World) -> None:
    public = public_routes(world.container.settings)
    checked = 0
    for method, path, _access in declared(app_of(world)):
        if path in public:
            continue
        response = call(world, method, path, None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"] == "unauthenticated"
        checked += 1
    assert checked >= 25
    for path in sorted(public):
        assert call(world, "GET", path, None).status_code == 200, path


def test_a_public_template_opens_only_the_paths_it_matches(world: World) -> None:
    # "/range/{prefix}" is public, and a path below it is not: it reaches no public route.
    assert world.client.get("/range/5BAA6").status_code == 200
    assert world.client.get("/range/5BAA6/more").status_code == 401
    assert world.client.get("/range/5BAA6/more", headers=world.headers("agent")).status_code == 404


def app_of(world: World) -> FastAPI:
    app = world.client.app
    assert isinstance(app, FastAPI)
    return app
