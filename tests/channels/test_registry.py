"""The registry of official channels on SQLite and PostgreSQL: who may change and read it, values
normalised, duplicates refused, every change kept and alerted, the command line, and
``official_values`` for the link checker."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from shopshield.alerts.models import SecurityAlertRow
from shopshield.channels import service
from shopshield.channels.models import ChannelChangeRow, OfficialChannelRow
from shopshield.cli import app
from shopshield.core.db import Tx, transaction, unit_of_work
from shopshield.settings import Settings
from tests.support.contacts import AGENT_LINE, AGENT_LINE_NORMALISED, HOTLINE, HOTLINE_NORMALISED, register_store
from tests.support.environment import cli_env
from tests.support.world import World


def channel_rows(world: World) -> int:
    with unit_of_work(world.container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(OfficialChannelRow)) or 0)


def test_admins_add_list_and_remove_with_values_normalised(world: World) -> None:
    ids = register_store(world)
    listed = world.get("analyst", "/v1/channels").json()["channels"]
    values = {(c["kind"], c["value"]) for c in listed}
    assert {
        ("phone", HOTLINE_NORMALISED),
        ("phone", AGENT_LINE_NORMALISED),
        ("sms_sender", "106900008888"),
        ("email_domain", "mail.example-shop.cn"),
        ("web_domain", "www.example-shop.cn"),
        ("payee_account", "110022334455"),
        ("brand_name", "示例商城"),
    } == values
    hotline = next(c for c in listed if c["value"] == HOTLINE_NORMALISED)
    assert hotline["label"] == "customer service" and hotline["added_by"] == world.ids["admin"]
    assert [c["kind"] for c in world.get("service", "/v1/channels?kind=phone").json()["channels"]] == ["phone"] * 2

    removed = world.delete("analyst", f"/v1/channels/{ids[AGENT_LINE]}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["value"] == AGENT_LINE_NORMALISED
    assert world.delete("analyst", f"/v1/channels/{ids[AGENT_LINE]}").status_code == 404
    assert channel_rows(world) == 6

    with transaction(world.container.engine) as tx:
        assert service.official_values(tx, "phone") == [HOTLINE_NORMALISED]
        assert service.official_values(tx, "web_domain") == ["www.example-shop.cn"]
        assert service.official_values(tx, "brand_name") == ["示例商城"]


def test_a_duplicate_in_any_spelling_is_409_and_writes_nothing(world: World) -> None:
    register_store(world)
    before = channel_rows(world)
    again = world.post("admin", "/v1/channels", {"kind": "phone", "value": "４００ ８２０ １２３４"})
    assert again.status_code == 409, again.text
    assert "already an official channel" in again.json()["message"]
    assert channel_rows(world) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "phone", "value": "call me maybe"}, "value"),
        ({"kind": "phone", "value": "1069 0000 1234"}, "value"),
        ({"kind": "web_domain", "value": "https://shop.example.com/login"}, "value"),
        ({"kind": "email_domain", "value": "例子.中国/"}, None),  # accepted: IDNA-encoded
        ({"kind": "payee_account", "value": "收款人张三"}, "value"),
        ({"kind": "brand_name", "value": "Ехаmple"}, "value"),
        ({"kind": "fax", "value": "010-12345678"}, "kind"),
        ({"kind": "phone", "value": "1" * 5000}, "value"),
        ({"kind": "phone", "value": "4008201234", "label": "a\nb"}, "label"),
        ({"kind": "phone", "value": "4008201234", "extra": 1}, "extra"),
    ],
)
def test_bad_input_is_a_4xx_with_a_reason_and_writes_nothing(
    world: World, body: dict[str, object], field: str | None
) -> None:
    response = world.post("admin", "/v1/channels", body)
    if field is None:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    assert field in response.text
    assert channel_rows(world) == 0
    # The reason names the rule, never what was typed.
    value = str(body["value"])
    assert value[:20] not in response.json()["message"]


def test_only_admins_and_security_staff_change_it(world: World) -> None:
    body = {"kind": "phone", "value": HOTLINE}
    for who in ("service", "agent", "supervisor", "courier", "merchant", "partner"):
        assert world.post(who, "/v1/channels", body).status_code == 403, who
    for who in ("agent", "courier", "merchant", "partner"):
        assert world.get(who, "/v1/channels").status_code == 403, who
    assert channel_rows(world) == 0


def test_every_change_is_kept_and_raises_a_security_alert(world: World) -> None:
    ids = register_store(world)
    world.delete("analyst", f"/v1/channels/{ids[HOTLINE]}")
    changes = world.get("analyst", "/v1/channels/changes").json()["changes"]
    assert len(changes) == 8
    assert changes[0]["action"] == "removed" and changes[0]["actor_id"] == world.ids["analyst"]
    assert changes[0]["value"] == HOTLINE_NORMALISED
    assert {c["action"] for c in changes[1:]} == {"added"}
    with unit_of_work(world.container.sessions) as session:
        assert session.scalar(select(func.count()).select_from(ChannelChangeRow)) == 8
        alerts = list(session.scalars(select(SecurityAlertRow).where(SecurityAlertRow.kind == "channel_registry")))
    # One alert per actor and hour, each repeat counted on it.
    assert sorted((a.actor_id, a.occurrences) for a in alerts) == sorted(
        [(world.ids["admin"], 7), (world.ids["analyst"], 1)]
    )
    listed = world.get("analyst", "/v1/alerts?kind=channel_registry").json()["alerts"]
    assert len(listed) == 2


def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(app, ["channels", *args], env=cli_env(settings))


def test_the_command_line_adds_lists_and_removes(settings: Settings, world: World) -> None:
    added = run(settings, "add", "phone", "400-820-1234", "--label", "hotline")
    assert added.exit_code == 0, added.output
    channel_id = orjson.loads(added.stdout)["channel_id"]
    assert run(settings, "add", "phone", "4008201234").exit_code == 2
    bad = run(settings, "add", "phone", "not a number")
    assert bad.exit_code == 2 and "Chinese mobile" in bad.output
    assert run(settings, "add", "fax", "x").exit_code == 2
    listed = run(settings, "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    assert [c["value"] for c in orjson.loads(listed.stdout)["channels"]] == [HOTLINE_NORMALISED]
    plain = run(settings, "list")
    assert plain.exit_code == 0 and HOTLINE_NORMALISED in plain.stdout
    assert run(settings, "remove", channel_id).exit_code == 0
    assert run(settings, "remove", channel_id).exit_code == 2
    with unit_of_work(world.container.sessions) as session:
        actors = set(session.scalars(select(ChannelChangeRow.actor_id)))
    assert actors == {"cli"}


def test_official_values_reads_inside_a_session_transaction(world: World) -> None:
    register_store(world)
    with unit_of_work(world.container.sessions) as session:
        assert service.official_values(Tx.of_session(session), "payee_account") == ["110022334455"]
