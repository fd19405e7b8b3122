"""A wired ShopShield behind an HTTP test client, with one principal per role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from shopshield.app import create_app
from shopshield.bootstrap import Container
from shopshield.core.db import unit_of_work
from shopshield.principals import service as principals

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
