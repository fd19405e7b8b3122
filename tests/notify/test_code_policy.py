"""No staff role can view or reveal a customer's anti-phishing code (issue 13).

The code is what tells a customer a message is the store's; a role that could read it could
write a convincing fake. So, for every role of the shipped policy, through the API: the masked
view (on every channel, the export channel included), an order's view, searches, a reveal of every
field with every purpose on a ticket assigned to the caller, the access report and the preferences
route never carry it; neither does the exported access log. And the policy has no way to grant it:
the code is not a vault field, a policy file that names it does not load, and a reveal that asks
for it is refused.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, get_args

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shopshield.cli import app
from shopshield.core.db import Tx, unit_of_work
from shopshield.core.policy import ALL_FIELDS, PolicyError, load_policies
from shopshield.notify import service
from shopshield.settings import Settings
from shopshield.vault import service as vault_service
from shopshield.vault.schemas import RevealIn
from shopshield.web import CHANNELS
from testkit import factories
from tests.support.environment import cli_env
from tests.support.policies import policy_toml
from tests.support.world import ROLES, World

# Distinct enough that finding it anywhere means it leaked.
THE_CODE = "Heron-qzv"
FIELD = service.CODE_FIELD


def needles() -> tuple[str, ...]:
    return (THE_CODE, THE_CODE.casefold(), THE_CODE.upper())


def assert_no_code(text: str, where: str) -> None:
    assert not any(n in text for n in needles()), f"the anti-phishing code appeared in {where}"


def set_up(world: World) -> tuple[str, str]:
    body = factories.customer(3, random.Random(3))
    assert world.post("service", "/v1/customers", body).status_code == 201
    cid = body["customer_id"]
    order = factories.order(3, cid, body["addresses"][0]["address_id"])
    assert world.post("service", "/v1/orders", order).status_code == 201
    answer = world.client.put(
        f"/v1/customers/{cid}/anti-phishing-code", headers=world.headers("service"), json={"code": THE_CODE}
    )
    assert answer.status_code == 200, answer.text
    with unit_of_work(world.container.sessions) as session:
        key = vault_service.data_key(vault=world.container.vault, session=session, customer_id=cid)
        assert service.anti_phishing_code(Tx.of_session(session), data_key=key, customer_id=cid) == THE_CODE
    return cid, order["order_id"]


def reveal_ticket(world: World, who: str, cid: str) -> str | None:
    """A ticket about the customer assigned to ``who``, opened by someone else (decision 0019)."""
    opener = "supervisor" if who == "service" else "service"
    answer = world.post(
        opener, "/v1/tickets", {"customer_id": cid, "category": "refund", "assignee_id": world.ids[who]}
    )
    return str(answer.json()["ticket_id"]) if answer.status_code == 201 else None


def test_the_world_has_a_principal_for_every_role_of_the_shipped_policy(world: World) -> None:
    assert {role for role, _link in ROLES.values()} == set(world.container.policies.roles)


def test_no_role_sees_the_code_through_any_route(world: World) -> None:
    cid, order_id = set_up(world)
    body = factories.customer(3, random.Random(3))
    policies = world.container.policies
    every_field: list[str] = list(get_args(get_args(RevealIn.model_fields["fields"].annotation)[0]))
    seen: list[tuple[str, str, int]] = []

    def look(who: str, what: str, response: Any) -> None:
        assert_no_code(response.text, f"{what} as {who}")
        seen.append((who, what, response.status_code))

    for who in ROLES:
        for channel in sorted(CHANNELS):
            headers = {**world.headers(who), "x-shopshield-channel": channel}
            look(who, f"view on {channel}", world.client.get(f"/v1/customers/{cid}", headers=headers))
        look(who, "order view", world.get(who, f"/v1/orders/{order_id}"))
        for by, value, purpose in (
            ("mobile", body["mobile"], "inbound_call"),
            ("email", body["email"], "inbound_message"),
            ("id_number", body["id_number"], None),
        ):
            search = {by: value, **({"purpose": purpose} if purpose else {})}
            look(who, f"search by {by}", world.post(who, "/v1/customers/search", search))
        ticket = reveal_ticket(world, who, cid)
        for purpose in policies.purposes:
            reveal = {"fields": every_field, "purpose": purpose, "ticket_id": ticket or "t-none"}
            look(who, f"reveal for {purpose}", world.post(who, f"/v1/customers/{cid}/reveal", reveal))
            asked = world.post(who, f"/v1/customers/{cid}/reveal", {**reveal, "fields": [FIELD]})
            assert asked.status_code in (403, 422), asked.text
            look(who, "reveal of the code", asked)
        look(who, "access report", world.get(who, f"/v1/customers/{cid}/access-report"))
        look(who, "preferences", world.get(who, f"/v1/customers/{cid}/notification-preferences"))

    # The walk did reach the data: the backend and the roles that may reveal got full values.
    assert ("service", "view on api", 200) in seen
    assert any(what.startswith("reveal for") and status == 200 for who, what, status in seen if who != "service")
    assert any(what == "access report" and status == 200 for _who, what, status in seen)


def test_the_exported_access_log_holds_no_code(world: World, settings: Settings, tmp_path: Path) -> None:
    cid, _order = set_up(world)
    world.get("service", f"/v1/customers/{cid}/notification-preferences")
    out = tmp_path / "accesses.parquet"
    result = CliRunner().invoke(app, ["export", "accesses", "--out", str(out)], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out).to_pylist()
    assert any(row["fields"] == FIELD for row in rows)  # the write is recorded, by name
    assert_no_code(repr(rows), "the exported access log")


def test_the_policy_has_no_way_to_grant_the_code(tmp_path: Path) -> None:
    # Not a vault field: no access level in any role's policy is about it.
    assert FIELD not in ALL_FIELDS
    shipped = load_policies()
    for name, policy in shipped.roles.items():
        assert FIELD not in policy.fields, name
    # A reveal cannot ask for it.
    with pytest.raises(ValueError, match="fields"):
        RevealIn.model_validate({"fields": [FIELD], "purpose": "refund_dispute", "ticket_id": "t-1"})
    # A policy file that gives any role any level of it does not load.
    for level in ("masked", "revealable", "full"):
        for role in shipped.roles:
            table = f'["roles"."{role}"."fields"]\n'
            text = policy_toml(shipped).replace(table, f'{table}"{FIELD}" = "{level}"\n')
            assert FIELD in text, "the policy file's layout changed: this check must find the fields table"
            path = tmp_path / f"{role}-{level}.toml"
            path.write_text(text, encoding="utf-8")
            with pytest.raises(PolicyError):
                load_policies(path)
