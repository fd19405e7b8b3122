"""``shopshield canary`` and the canary line of ``reports import``, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from shopshield.bootstrap import Container
from shopshield.canary.models import CanaryHitRow
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.principals import service as principals
from shopshield.settings import Settings
from tests.support.environment import cli_env
from tests.support.events import stored_events
from tests.support.scam_reports import report, write_csv

PREFIX = "1700000"


@pytest.fixture(autouse=True)
def store_backend(container: Container) -> str:
    """The store's backend principal, which a canary's writes and reads are recorded under."""
    with unit_of_work(container.sessions) as session:
        created = principals.create(session=session, policies=container.policies, name="store-backend", role="service")
    return created.principal.principal_id


def run(settings: Settings, *args: str, prefix: str | None = PREFIX) -> Result:
    env = cli_env(settings) if prefix is None else cli_env(settings, canary_mobile_prefix=prefix)
    return CliRunner().invoke(app, list(args), env=env)


def planted(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.strip().split(": ", 1)[1].split(", ")


def exported(settings: Settings, recipient: str) -> list[dict[str, str]]:
    result = run(settings, "canary", "list", "--recipient", recipient, "--format", "csv")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_plant_list_and_contact(container: Container, settings: Settings, store_backend: str) -> None:
    ids = planted(
        run(settings, "canary", "plant", "--recipient", "partner-sf", "--count", "2", "--kind", "partner-feed")
    )
    other = planted(run(settings, "canary", "plant", "--recipient", "export-job-7"))

    rows = exported(settings, "partner-sf")
    table = run(settings, "canary", "list")
    hit = run(settings, "canary", "contact", "--mobile", rows[1]["mobile"], "--channel", "call")
    miss = run(settings, "canary", "contact", "--mobile", "13900000000")

    assert len(ids) == 2 and len(other) == 3
    assert sorted(r["customer_id"] for r in rows) == sorted(ids)
    assert all(r["mobile"].startswith(PREFIX) for r in rows)
    lines = table.stdout.splitlines()
    assert lines[0].split("\t") == ["customer_id", "recipient", "kind", "planted_at", "planted_by"]
    assert sorted((line.split("\t")[0], line.split("\t")[1]) for line in lines[1:]) == sorted(
        [(i, "partner-sf") for i in ids] + [(i, "export-job-7") for i in other]
    )
    assert hit.exit_code == 0, hit.output
    assert orjson.loads(hit.stdout) | {"planted_at": None, "hit_id": None} == {
        "canary": True,
        "recipient": "partner-sf",
        "kind": "partner-feed",
        "customer_id": rows[1]["customer_id"],
        "planted_at": None,
        "hit_id": None,
    }
    assert (miss.exit_code, orjson.loads(miss.stdout)) == (1, {"canary": False})
    reads = stored_events(container, action="view", channel="export")
    assert sorted({e.customer_id or "" for e in reads}) == sorted(ids)
    assert {e.actor_id for e in reads} == {store_backend}
    [by_operator] = stored_events(container, actor_id="cli", action="export")
    assert (by_operator.customer_id, by_operator.reason) == (None, "export rows of 2 canaries for partner-sf")
    hits = orjson.loads(run(settings, "canary", "hits", "--format", "json").stdout)
    assert [(h["recipient"], h["customer_id"], h["recorded_by"]) for h in hits] == [
        ("partner-sf", rows[1]["customer_id"], "cli")
    ]


def test_list_as_json_gives_the_same_rows(container: Container, settings: Settings) -> None:
    planted(run(settings, "canary", "plant", "--recipient", "partner-sf", "--count", "1"))

    as_json = orjson.loads(run(settings, "canary", "list", "--recipient", "partner-sf", "--format", "json").stdout)

    assert [{k: v or "" for k, v in row.items()} for row in as_json] == exported(settings, "partner-sf")


def test_importing_a_scam_report_about_a_canary_names_the_recipient(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    [canary] = planted(run(settings, "canary", "plant", "--recipient", "partner-sf", "--count", "1"))
    path = write_csv(tmp_path / "r.csv", [report("r-1", customer_id="c1001"), report("r-2", customer_id=canary)])

    first = run(settings, "reports", "import", str(path))
    again = run(settings, "reports", "import", str(path))

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "2 stored, 0 skipped as identical duplicates, 0 rejected (r.csv)",
        f"canary hit: report r-2 is about canary {canary} of recipient partner-sf",
    ]
    assert again.stdout.splitlines() == ["0 stored, 2 skipped as identical duplicates, 0 rejected (r.csv)"]
    with unit_of_work(container.sessions) as session:
        assert [(h.report_id, h.recipient) for h in session.query(CanaryHitRow)] == [("r-2", "partner-sf")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plant", "--recipient", "partner sf"], "--recipient:"),
        (["plant", "--recipient", "p", "--count", "0"], "--count:"),
        (["plant", "--recipient", "p", "--kind", "pigeon"], "--kind:"),
        (["plant", "--recipient", "p", "--merchant", "m 1"], "--merchant:"),
        (["list", "--format", "csv"], "--recipient: needed"),
        (["list", "--recipient", "a b"], "--recipient: 1-64"),
        (["contact"], "give exactly one of mobile and customer_id"),
        (["contact", "--mobile", "23812345678"], "--mobile:"),
        (["contact", "--customer-id", "c1", "--contacted-at", "2016-07-15T14:03"], "--contacted-at:"),
    ],
)
def test_bad_input_exits_2_with_a_reason(
    container: Container, settings: Settings, args: list[str], message: str
) -> None:
    result = run(settings, "canary", *args)

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "23812345678" not in result.output
    assert stored_events(container) == []


def test_planting_without_the_number_block_exits_2(container: Container, settings: Settings) -> None:
    result = run(settings, "canary", "plant", "--recipient", "partner-sf", prefix=None)

    assert result.exit_code == 2
    assert "SHOPSHIELD_CANARY_MOBILE_PREFIX is not set" in " ".join(result.stderr.split())
    assert stored_events(container) == []
