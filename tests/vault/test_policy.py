"""The policy file's search rules are checked when it is loaded: a mistake stops the service from
starting instead of opening search to a role by accident."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from shopshield.cli import app
from shopshield.core.permissions import Permission
from shopshield.core.policy import PolicyError, load_policies
from shopshield.settings import Settings
from tests.support.environment import cli_env
from tests.support.policies import write_policies

SHIPPED = resources.files("shopshield.core").joinpath("policies.toml")
AGENT_SEARCH = """[roles.cs_agent.search]
per_hour = 60
per_day = 300
misses_per_hour = 10
misses_per_day = 30
purposes = { mobile = ["inbound_call"], email = ["inbound_message"] }
"""


def variant(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policies.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_shipped_policy_lets_only_staff_and_the_backend_search() -> None:
    policies = load_policies()
    searching = {name for name, role in policies.roles.items() if role.search is not None}
    assert searching == {"cs_agent", "cs_supervisor", "security_analyst", "service"}
    for name in ("cs_agent", "cs_supervisor", "security_analyst"):
        search = policies.role(name).search
        assert search is not None and search.misses_per_hour < 100 and search.misses_per_day < 100
    assert policies.role("cs_agent").search_purposes("mobile") == frozenset({"inbound_call"})
    assert not policies.role("cs_agent").may_search("id_number")
    alerts = Permission.ALERTS_READ
    assert alerts in policies.role("security_analyst").permissions and alerts in policies.role("admin").permissions
    assert alerts not in policies.role("cs_agent").permissions


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        (AGENT_SEARCH.replace('["inbound_call"]', '["curiosity"]'), "['curiosity'] not in search_purposes"),
        (AGENT_SEARCH.replace("mobile = ", "phone = "), "search purposes name unknown fields ['phone']"),
        (AGENT_SEARCH.replace("per_hour = 60", "per_hour = 600"), "an hourly search limit cannot exceed its daily"),
        (AGENT_SEARCH.replace("misses_per_day = 30", "misses_per_day = 3000"), "cannot exceed the limit on all"),
        (AGENT_SEARCH.replace("misses_per_hour = 10", "misses_per_hour = 0"), "greater than or equal to 1"),
        (AGENT_SEARCH.replace('["inbound_message"]', "[]"), "search purposes for ['email'] are empty"),
        (AGENT_SEARCH.replace("per_day = 300\n", ""), "per_day"),
        (AGENT_SEARCH + "misses_per_week = 100\n", "misses_per_week"),
    ],
)
def test_a_mistake_in_a_search_table_is_refused_at_load(tmp_path: Path, new: str, problem: str) -> None:
    with pytest.raises(PolicyError) as refused:
        load_policies(variant(tmp_path, AGENT_SEARCH, new))
    assert problem in str(refused.value)


def test_a_search_table_for_a_role_that_may_search_by_nothing_is_refused(tmp_path: Path) -> None:
    """A partner sees mobiles masked: a search table alone would grant nothing, so it is a mistake."""
    table = "\n[roles.partner.search]\nper_hour = 10\nper_day = 10\nmisses_per_hour = 1\nmisses_per_day = 1\n"
    path = variant(tmp_path, "\n[roles.security_analyst]", table + "\n[roles.security_analyst]")
    with pytest.raises(PolicyError, match=re.escape("the role may search by no field")):
        load_policies(path)
    granted = table + 'purposes = { mobile = ["inbound_call"] }\n'
    path = variant(tmp_path, "\n[roles.security_analyst]", granted + "\n[roles.security_analyst]")
    assert load_policies(path).role("partner").may_search("mobile")


def test_a_command_on_a_bad_policy_exits_2_with_the_reason(tmp_path: Path, settings: Settings) -> None:
    path = variant(tmp_path, AGENT_SEARCH, AGENT_SEARCH.replace('["inbound_call"]', '["curiosity"]'))
    result = CliRunner().invoke(app, ["alerts", "list"], env=cli_env(settings, policy_file=str(path)))
    assert result.exit_code == 2
    assert "not in search_purposes" in " ".join(result.output.split())


def test_a_derived_policy_is_checked_and_loads_back_from_a_file(tmp_path: Path) -> None:
    shipped = load_policies()
    agent = shipped.role("cs_agent")
    assert agent.search is not None
    stricter = shipped.with_role("cs_agent", agent.with_limits(views_per_day=2))
    assert stricter.role("cs_agent").views_per_day == 2
    assert shipped.role("cs_agent").views_per_day == agent.views_per_day  # the original is untouched
    assert stricter.role("cs_agent").search == agent.search
    assert load_policies(write_policies(tmp_path / "policies.toml", stricter)) == stricter
    # Derived limits are checked as a loaded file's are: misses cannot exceed all searches.
    with pytest.raises(ValidationError, match="cannot exceed the limit on all searches"):
        agent.search.with_limits(per_hour=agent.search.misses_per_hour - 1)
    with pytest.raises(PolicyError, match="nobody"):
        shipped.with_role("nobody", agent)
