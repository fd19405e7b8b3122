"""Disabling a principal shuts its token out: at once on the instance that disables it, and within
``token_cache_seconds`` on every other instance that shares the database."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shopshield.app import create_app
from shopshield.bootstrap import Container, build
from shopshield.core.db import unit_of_work
from shopshield.core.errors import Unauthenticated
from shopshield.principals import service as principals
from shopshield.principals.service import Authenticator, TokenOwner
from shopshield.settings import Settings
from tests.support.world import make_world

MISSING = "/v1/customers/c-none"  # any authenticated request: 404 once the token is accepted


def test_a_token_disabled_through_the_api_fails_on_the_very_next_request(container: Container) -> None:
    assert container.settings.token_cache_seconds >= 1, "the cache must be in play for this to mean anything"
    world = make_world(container)
    agent = world.ids["agent"]
    assert world.get("agent", MISSING).status_code == 404  # verified, so now cached

    response = world.post("admin", f"/v1/principals/{agent}/disable")

    assert response.status_code == 200, response.text
    assert response.json() == {"principal_id": agent, "disabled": True}
    refused = world.get("agent", MISSING)
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthenticated"
    # The other principals' cached tokens are untouched.
    assert world.get("agent2", MISSING).status_code == 404


def test_only_principal_managers_may_disable_and_only_active_principals(container: Container) -> None:
    world = make_world(container)
    for who in ("supervisor", "analyst", "service", "agent"):
        response = world.post(who, f"/v1/principals/{world.ids['agent2']}/disable")
        assert response.status_code == 403, (who, response.text)
    assert world.get("agent2", MISSING).status_code == 404
    assert world.post("admin", f"/v1/principals/{world.ids['agent2']}/disable").status_code == 200
    again = world.post("admin", f"/v1/principals/{world.ids['agent2']}/disable")
    assert again.status_code == 404 and "no active principal" in again.json()["message"]
    assert world.post("admin", "/v1/principals/staff-nobody/disable").status_code == 404
    assert world.post("admin", "/v1/principals/bad%20id/disable").status_code == 422


def test_a_disable_by_another_instance_is_honoured_within_token_cache_seconds(settings: Settings) -> None:
    """Two instances on one database: the one that disables forgets at once; the other may still
    accept the token from its cache, but never longer than its token_cache_seconds."""
    cache_seconds = 1.0
    serving = build(settings.model_copy(update={"token_cache_seconds": cache_seconds}), migrate=False)
    other = build(settings, migrate=False)
    try:
        world = make_world(serving)
        other_client = TestClient(create_app(other), raise_server_exceptions=False)
        agent = world.ids["agent"]
        verified_before = time.monotonic()
        assert world.get("agent", MISSING).status_code == 404  # cached on the serving instance

        disabled = other_client.post(f"/v1/principals/{agent}/disable", headers=world.headers("admin"))
        assert disabled.status_code == 200, disabled.text
        assert other_client.get(MISSING, headers=world.headers("agent")).status_code == 401

        # The documented bound: once token_cache_seconds have passed since the token was last
        # verified, the serving instance asks the database again and refuses it.
        time.sleep(max(0.0, verified_before + cache_seconds - time.monotonic()) + 0.05)
        assert world.get("agent", MISSING).status_code == 401
        other_client.close()
        world.client.close()
    finally:
        serving.close()
        other.close()


def test_a_lookup_in_flight_during_a_disable_does_not_cache_the_token(container: Container) -> None:
    """The request that read the row just before the disable committed is served, but it must not
    put the token back into the cache after the disable forgot it."""
    world = make_world(container)
    agent = world.ids["agent"]

    raced: list[str] = []

    class Racing(Authenticator):
        def lookup(self, digest: bytes) -> TokenOwner | None:
            found = super().lookup(digest)  # the first lookup reads the row while it is still active
            if not raced:
                with unit_of_work(container.sessions) as writing:
                    principals.disable(session=writing, principal_id=agent)
                self.forget(agent)
                raced.append(agent)
            return found

    authenticator = Racing(engine=container.engine, policies=container.policies, cache_seconds=30.0)
    token = world.tokens["agent"]
    assert authenticator.authenticate(token).principal_id == agent
    assert authenticator.cached(token) is None
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(token)


def test_the_token_cache_cannot_be_configured_beyond_a_minute() -> None:
    assert Settings(token_cache_seconds=60).token_cache_seconds == 60
    with pytest.raises(ValidationError, match="token_cache_seconds"):
        Settings(token_cache_seconds=61)
