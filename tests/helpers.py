"""Test helpers: an HTTP client over a wired container, with one principal per role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from shopshield.access.models import AccessEventRow
from shopshield.app import create_app
from shopshield.bootstrap import Container
from shopshield.core.db import unit_of_work
from shopshield.principals import service as principals
from shopshield.settings import Settings

# The address the test client connects from (TEST-NET-3, RFC 5737): what access events record as
# source_ip for requests made through ``World``.
CLIENT_ADDRESS = "203.0.113.10"

ROLES = {
    "service": ("service", None),
    "admin": ("admin", None),
    "agent": ("cs_agent", None),
    "agent2": ("cs_agent", None),
    "supervisor": ("cs_supervisor", None),
    "courier": ("courier", "k-001"),
    "courier2": ("courier", "k-002"),
    "merchant": ("merchant", "m-001"),
    "partner": ("partner", None),
    "analyst": ("security_analyst", None),
}


@dataclass
class World:
    client: TestClient
    container: Container
    tokens: dict[str, str]
    ids: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(who), **kw)

    def post(self, who: str, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers(who), json=body, **kw)

    def delete(self, who: str, path: str) -> Any:
        return self.client.delete(path, headers=self.headers(who))

    def ticket(self, who: str, customer_id: str, *, by: str = "service") -> str:
        response = self.post(
            by,
            "/v1/tickets",
            {"customer_id": customer_id, "category": "refund", "assignee_id": self.ids[who]},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["ticket_id"])


def stored_events(container: Container, **where: Any) -> list[AccessEventRow]:
    """Stored access events in leaf order, optionally only those whose columns equal ``where``."""
    with container.sessions() as session:
        query = select(AccessEventRow).order_by(AccessEventRow.leaf_index)
        for column, value in where.items():
            query = query.where(getattr(AccessEventRow, column) == value)
        return list(session.scalars(query))


def make_world(container: Container) -> World:
    tokens, ids = {}, {}
    with unit_of_work(container.sessions) as session:
        for name, (role, link) in ROLES.items():
            created = principals.create(
                session=session, policies=container.policies, name=name, role=role, link_id=link
            )
            tokens[name] = created.token
            ids[name] = created.principal.principal_id
    client = TestClient(create_app(container), raise_server_exceptions=False, client=(CLIENT_ADDRESS, 50000))
    return World(client, container, tokens, ids)


# Every SHOPSHIELD_* variable a command reads: unset unless a test sets it, so the outer
# environment (a developer's shell, CI) cannot leak into what a command under test sees.
ENV_KEYS = (
    "SHOPSHIELD_DATA_DIR",
    "SHOPSHIELD_DATABASE_URL",
    "SHOPSHIELD_KEYSTORE_URL",
    "SHOPSHIELD_MASTER_KEY_FILE",
    "SHOPSHIELD_POLICY_FILE",
    "SHOPSHIELD_PORT",
    "SHOPSHIELD_HOST",
    "SHOPSHIELD_TRUSTED_PROXIES",
    "SHOPSHIELD_MAX_BODY_BYTES",
    "SHOPSHIELD_TOKEN_CACHE_SECONDS",
    "SHOPSHIELD_DATA_KEY_CACHE_SECONDS",
    "SHOPSHIELD_KEYSTORE_PURGE_TIMEOUT_SECONDS",
    "SHOPSHIELD_PASSWORDS_DIR",
    "SHOPSHIELD_PASSWORDS_RANGE_PUBLIC",
    "SHOPSHIELD_REDIS_URL",
    "SHOPSHIELD_REDIS_PREFIX",
    "SHOPSHIELD_GUARD_CONFIG",
    "SHOPSHIELD_GUARD_WEBHOOK_URL",
    "SHOPSHIELD_GUARD_WEBHOOK_SECRET",
    "SHOPSHIELD_GUARD_LOCATIONS_FILE",
)


def cli_env(settings: Settings | None = None, **extra: str) -> dict[str, str | None]:
    """SHOPSHIELD_* variables for ``settings`` only, whatever the outer environment holds."""
    env: dict[str, str | None] = dict.fromkeys(ENV_KEYS)
    if settings is not None:
        env["SHOPSHIELD_DATA_DIR"] = str(settings.data_dir)
        env["SHOPSHIELD_DATABASE_URL"] = settings.effective_database_url()
        env["SHOPSHIELD_KEYSTORE_URL"] = settings.effective_keystore_url()
    env.update({f"SHOPSHIELD_{k.upper()}": v for k, v in extra.items()})
    return env
