"""How the app is assembled: every domain's routes on the app itself, with their tags."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI

from shopshield.app import create_app, mount
from shopshield.bootstrap import Container


def test_every_route_is_on_the_app_with_its_prefix_and_tags(container: Container) -> None:
    app = create_app(container)
    schema = app.openapi()
    assert schema["paths"]["/v1/customers/{customer_id}"]["get"]["tags"] == ["vault"]
    assert schema["paths"]["/v1/audit/checkpoints/latest"]["get"]["tags"] == ["audit"]
    assert schema["paths"]["/v1/principals"]["post"]["tags"] == ["principals"]
    assert {"/v1/tickets", "/v1/customers/{customer_id}/access-report"} <= set(schema["paths"])


def test_a_router_with_its_own_dependencies_is_refused() -> None:
    async def guard() -> None:
        return None

    router = APIRouter(prefix="/x", dependencies=[Depends(guard)])

    @router.get("/y")
    def y() -> dict[str, str]:
        return {}

    with pytest.raises(ValueError, match="router-level dependencies"):
        mount(FastAPI(), router)
