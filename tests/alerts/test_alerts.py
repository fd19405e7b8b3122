"""Security alerts on SQLite and PostgreSQL: who may read them (HTTP and the command line), that
one is raised in the same transaction as the refusal behind it, and its Prometheus counter."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from shopshield.access.models import QuotaUsageRow
from shopshield.alerts.models import SecurityAlertRow
from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.settings import Settings
from tests.support.environment import cli_env
from tests.support.events import stored_events
from tests.support.world import World


def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(app, ["alerts", *args], env=cli_env(settings))


def miss(world: World, n: int) -> Any:
    return world.post("agent", "/v1/customers/search", {"mobile": f"1590000{n:04d}", "purpose": "inbound_call"})


def pass_the_miss_limit(world: World) -> None:
    """The agent searches numbers nobody has until refused, then once more."""
    policy = world.container.policies.role("cs_agent")
    assert policy.search is not None
    limit = policy.search.misses_per_hour
    assert [miss(world, n).status_code for n in range(limit + 2)] == [200] * limit + [429, 429]


def alerts_in_db(container: Container) -> int:
    with unit_of_work(container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(SecurityAlertRow)) or 0)


def test_only_holders_of_alerts_read_may_list_them(world: World) -> None:
    pass_the_miss_limit(world)

    assert world.get("agent", "/v1/alerts").status_code == 403
    assert world.get("partner", "/v1/alerts").status_code == 403
    for who in ("analyst", "admin"):
        [alert] = world.get(who, "/v1/alerts").json()["alerts"]
        assert (alert["actor_id"], alert["occurrences"]) == (world.ids["agent"], 2)
    filters = {"kind": "search_limit", "status": "open", "since": "2000-01-01", "limit": "5"}
    assert len(world.get("analyst", "/v1/alerts", params=filters).json()["alerts"]) == 1
    assert world.get("analyst", "/v1/alerts", params={"kind": "canary_hit"}).json() == {"alerts": []}
    assert world.get("analyst", "/v1/alerts", params={"since": "2999-01-01"}).json() == {"alerts": []}
    bad = world.get("analyst", "/v1/alerts", params={"since": "13800138000x"})
    assert bad.status_code == 422 and "13800138000" not in bad.text


def test_the_command_lists_alerts_as_json_and_as_a_table(world: World, settings: Settings) -> None:
    pass_the_miss_limit(world)

    listed = run(settings, "list", "--format", "json")
    table = run(settings, "list", "--kind", "search_limit")
    none = run(settings, "list", "--actor", "someone-else", "--format", "json")

    assert listed.exit_code == 0, listed.output
    [alert] = orjson.loads(listed.stdout)["alerts"]
    assert alert["actor_id"] == world.ids["agent"] and alert["details"]["limit"] == "search_misses_per_hour"
    assert table.exit_code == 0 and world.ids["agent"] in table.stdout
    assert none.exit_code == 0 and orjson.loads(none.stdout) == {"alerts": []}
    for args in (["--since", "yesterday"], ["--kind", "Search Limit"], ["--limit", "0"], ["--actor", "a b"]):
        failed = run(settings, "list", *args)
        assert failed.exit_code == 2, (args, failed.output)


def test_an_alert_commits_with_its_refusal_or_not_at_all(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = world.container.policies.role("cs_agent")
    assert policy.search is not None
    limit = policy.search.misses_per_hour
    assert [miss(world, n).status_code for n in range(limit)] == [200] * limit

    def broken(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("log unavailable")

    with monkeypatch.context() as patch:
        # The refusal's event cannot be appended: the refusal fails whole, alert included.
        patch.setattr(world.container.audit, "append_batch", broken)
        assert miss(world, limit).status_code == 500
    assert alerts_in_db(world.container) == 0
    assert [e.outcome for e in stored_events(world.container, actor_id=world.ids["agent"])] == ["no_match"] * limit

    assert miss(world, limit).status_code == 429
    assert alerts_in_db(world.container) == 1
    with unit_of_work(world.container.sessions) as session:
        assert session.scalar(select(QuotaUsageRow.used).where(QuotaUsageRow.kind == "search_miss")) == limit


def test_the_metric_counts_alerts_not_refusals(world: World) -> None:
    pass_the_miss_limit(world)
    assert miss(world, 99).status_code == 429

    metrics = world.client.get("/metrics").text

    assert 'shopshield_security_alerts_total{kind="search_limit"} 1.0' in metrics
    assert "1590000" not in metrics
