"""``shopshield breach scope`` on SQLite and PostgreSQL: the files it writes, the report's counts and
its lack of personal values, attribution as the source, and exit codes on bad input."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from shopshield.bootstrap import Container
from shopshield.breach.models import WarningRow
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.settings import Settings
from testkit import factories
from tests.support.environment import cli_env
from tests.support.events import stored_events
from tests.support.outbox import outbox
from tests.support.plaintext_scan import Scanner
from tests.support.world import World, make_world

CUSTOMERS = [factories.customer(n) for n in range(1, 4)]


@pytest.fixture
def world(container: Container) -> Iterator[World]:
    """Three customers in the vault; the agent viewed the first two, the supervisor the third."""
    w = make_world(container)
    for body in CUSTOMERS:
        assert w.post("service", "/v1/customers", body).status_code == 201
    order = factories.order(1, CUSTOMERS[0]["customer_id"], CUSTOMERS[0]["addresses"][0]["address_id"])
    assert w.post("service", "/v1/orders", order).status_code == 201
    for body in CUSTOMERS[:2]:
        assert w.get("agent", f"/v1/customers/{body['customer_id']}").status_code == 200
    assert w.get("agent", f"/v1/orders/{order['order_id']}").status_code == 200
    assert w.get("supervisor", f"/v1/customers/{CUSTOMERS[2]['customer_id']}").status_code == 200
    yield w
    w.client.close()


def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(app, ["breach", "scope", *args], env=cli_env(settings))


def warnings(container: Container) -> int:
    with unit_of_work(container.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(WarningRow)) or 0)


def test_scope_writes_the_files_and_the_report_holds_counts_but_no_personal_value(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    agent = world.ids["agent"]
    out = tmp_path / "case"

    result = run(settings, "--actor", agent, "--kind", "staff", "--since", "2000-01-01", "--warn", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["customers.csv", "report.html", "report.md", "scope.json"]
    assert f"staff {agent} reached 2 customers in 3 access events (1 orders)" in " ".join(result.stdout.split())
    scope = orjson.loads((out / "scope.json").read_bytes())
    assert [c["customer_id"] for c in scope["customers"]] == [c["customer_id"] for c in CUSTOMERS[:2]]
    assert scope["warnings"]["queued"] == 2
    with (out / "customers.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [(r["customer_id"], r["orders"], r["events"]) for r in rows] == [
        (CUSTOMERS[0]["customer_id"], "1", "2"),
        (CUSTOMERS[1]["customer_id"], "0", "1"),
    ]
    assert rows[1]["fields"] == "name|mobile|email|recipient|phone|region|street"
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for expected in (
        "the personal information of 2 customers through ShopShield, in 3 recorded accesses",
        "| Customers affected · 受影响的个人 | 2 |",
        "| names | 姓名 | 2 |",
        "| contact details (mobile, phone, e-mail) | 联系方式 | 2 |",
        "| orders and purchases (items, prices, times, returns) | 订单与交易信息 | 1 |",
        "| mobile | 2 |",
        "PIPL Art. 57(1)",
        "GDPR Art. 33(3)(a)",
        "GDPR Art. 33(3)(b)",
        "An anti-scam warning is queued for each of the 2 customers",
        "**\\[TO BE COMPLETED · 待填写: the personal information protection officer or DPO",
        "本店客服绝不会以“退款失败”",
    ):
        assert expected in markdown, expected
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "default-src 'none'" in page and "<mark>[TO BE COMPLETED · 待填写:" in page
    assert "<td>names</td><td>姓名</td><td>2</td>" in page
    # Names, numbers, e-mails, ID numbers and streets of every customer, the viewed ones included.
    values = {c[k] for c in CUSTOMERS for k in ("name", "mobile", "id_number")}
    values |= {c["addresses"][0]["street"] for c in CUSTOMERS}
    scanner = Scanner(values, {c["email"] for c in CUSTOMERS})
    assert {p.name: found for p in out.iterdir() if (found := scanner.find(p.read_bytes()))} == {}
    assert scanner.find(result.output.encode()) == set()
    # The report names no customer either: the list is customers.csv.
    assert all(c["customer_id"] not in markdown for c in CUSTOMERS)


def test_running_again_queues_no_second_warning(world: World, settings: Settings) -> None:
    args = ("--actor", world.ids["agent"], "--since", "2000-01-01", "--until", "2100-01-01", "--warn")

    first, second = run(settings, *args, "--format", "json"), run(settings, *args, "--format", "json")

    assert orjson.loads(first.stdout)["warnings"]["queued"] == 2
    # Each warning went into the outbox, once per channel; the second run adds none.
    queued = outbox(world.container, event="breach.warning")
    assert orjson.loads(first.stdout)["warnings"]["notifications"] == len(queued) > 0
    assert orjson.loads(second.stdout)["warnings"] == {
        "case_id": orjson.loads(first.stdout)["case_id"],
        "queued": 0,
        "already_queued": 2,
        "notifications": 0,
    }
    assert len(outbox(world.container, event="breach.warning")) == len(queued)
    assert warnings(world.container) == 2
    assert len(stored_events(world.container, action="scope", actor_id="cli")) == 2


def attribution(tmp_path: Path, actor_id: str, **overrides: Any) -> Path:
    body: dict[str, Any] = {
        "conclusive": True,
        "likely_source": "insider",
        "suspects": [
            {
                "actor_id": actor_id,
                "actor_kind": "staff",
                "score": 4.9,
                "victims_covered": 2,
                "victims_total": 2,
                "expected": 0.1,
                "p_value": 1.2e-05,
                "first_access": None,
                "last_access": None,
                "explanation": "viewed both victims the day before the calls",
            },
            {
                "actor_id": "partner-x",
                "actor_kind": "partner",
                "score": 0.2,
                "victims_covered": 1,
                "victims_total": 2,
                "expected": 0.9,
                "p_value": 0.6,
                "explanation": "as often as chance",
            },
        ],
    } | overrides
    path = tmp_path / "attribution.json"
    path.write_bytes(orjson.dumps(body))
    return path


def test_the_top_suspect_of_a_conclusive_attribution_is_the_source(
    world: World, settings: Settings, tmp_path: Path
) -> None:
    agent = world.ids["agent"]
    out = tmp_path / "case"

    result = run(
        settings, "--attribution", str(attribution(tmp_path, agent)), "--since", "2000-01-01", "--out", str(out)
    )

    assert result.exit_code == 0, result.output
    scope = orjson.loads((out / "scope.json").read_bytes())
    assert scope["source"] == {
        "actor_id": agent,
        "actor_kind": "staff",
        "attribution": {
            "likely_source": "insider",
            "victims_covered": 2,
            "victims_total": 2,
            "p_value": 1.2e-05,
            "explanation": "viewed both victims the day before the calls",
        },
    }
    assert scope["totals"]["customers"] == 2
    assert scope["warnings"] is None and warnings(world.container) == 0
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "it accessed 2 of 2 scam victims before they were contacted (p = 1.2e-05)" in markdown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2000-01-01"], "--actor: name the confirmed source"),
        (["--actor", "AGENT"], "--since: the start of the window is needed"),
        (["--actor", "AGENT", "--since", "last week"], "--since: expected an ISO 8601"),
        (["--actor", "AGENT", "--since", "2000-01-01", "--tz", "Mars/Base"], "--tz: must be an IANA time zone"),
        (["--actor", "AGENT", "--since", "2000-01-01", "--kind", "wizard"], "--kind: must be one of"),
        (["--actor", "staff 1", "--since", "2000-01-01"], "--actor: 1-64"),
        (["--actor", "AGENT", "--since", "2000-01-01", "--case", "a b"], "--case: 1-64"),
        (["--actor", "AGENT", "--since", "2000-01-01", "--out", "FULL"], "exists and is not an empty directory"),
        (["--attribution", "INCONCLUSIVE", "--since", "2000-01-01"], "does not conclude that an insider"),
        (["--attribution", "CONCLUSIVE", "--actor", "staff-0", "--since", "2000-01-01"], "not among the attribution"),
        (["--attribution", "CONCLUSIVE", "--kind", "partner", "--since", "2000-01-01"], "names this actor as staff"),
        (["--attribution", "MALFORMED", "--since", "2000-01-01"], "is not the output of `investigate attribute`"),
    ],
)
def test_bad_input_exits_2_and_records_nothing(
    world: World, settings: Settings, tmp_path: Path, args: list[str], message: str
) -> None:
    agent = world.ids["agent"]
    full = tmp_path / "full"
    full.mkdir()
    (full / "old.txt").write_text("x")
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"conclusive": true, "likely_source": "insider", "suspects": [{"p_value": 3}]}')
    files = {
        "AGENT": agent,
        "FULL": str(full),
        "CONCLUSIVE": str(attribution(tmp_path, agent)),
        "MALFORMED": str(malformed),
    }
    if "INCONCLUSIVE" in args:
        files["INCONCLUSIVE"] = str(attribution(tmp_path, agent, conclusive=False, likely_source="unknown"))
    events_before = len(stored_events(world.container))

    result = run(settings, "--warn", *(files.get(a, a) for a in args))

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert len(stored_events(world.container)) == events_before
    assert warnings(world.container) == 0
    assert [p.name for p in full.iterdir()] == ["old.txt"]
