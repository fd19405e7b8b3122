"""The files of a simulated store: deterministic, in the shared formats, internally consistent."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopshield.access.export import SCHEMA
from shopshield.investigate.knowledge import REVEALED_BY, parse_items
from shopshield.scams.formats import COLUMNS
from shopshield.simulate import StoreConfig, generate_store
from tests.support.simulated_store import SMALL, reports, scalar, truth

FILES = ("events.parquet", "reports.csv", "reports.jsonl", "customers.csv", "orders.csv", "actors.csv", "truth.json")
REPORT_COLUMNS = list(COLUMNS)


def _generate(tmp_path: Path, name: str, seed: int) -> Path:
    out = tmp_path / name
    generate_store(StoreConfig(seed=seed, scenario="insider", **SMALL), out)
    return out


def test_the_same_seed_writes_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first, again, other = (_generate(tmp_path, name, seed) for name, seed in (("a", 5), ("b", 5), ("c", 6)))
    for name in FILES:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    for name in ("events.parquet", "customers.csv", "orders.csv", "reports.csv", "truth.json"):
        assert (first / name).read_bytes() != (other / name).read_bytes(), name


def test_the_scenario_changes_the_leak_but_not_the_store(store: Callable[..., Path]) -> None:
    insider, courier = store("insider"), store("courier")
    for name in ("customers.csv", "orders.csv", "actors.csv"):
        assert (insider / name).read_bytes() == (courier / name).read_bytes(), name
    assert truth(insider)["source"] != truth(courier)["source"]


def test_events_have_the_export_schema_without_the_audit_columns(store: Callable[..., Path]) -> None:
    expected = pa.schema([f for f in SCHEMA if f.name not in ("leaf_hash", "leaf_index")])
    written = pq.read_schema(store("insider") / "events.parquet")
    assert written.equals(expected, check_metadata=False)


def test_events_are_in_time_order_inside_the_log(store: Callable[..., Path]) -> None:
    directory = store("insider")
    assert scalar(directory, "SELECT count(*) FROM (SELECT ts < lag(ts) OVER () AS back FROM events) WHERE back") == 0
    first, last = scalar(directory, "SELECT min(ts) FROM events"), scalar(directory, "SELECT max(ts) FROM events")
    china = datetime.fromisoformat("2026-10-01T00:00:00+08:00")
    assert china <= first and last < china + timedelta(days=SMALL["days"])


def test_event_values_come_from_the_shared_vocabularies(store: Callable[..., Path]) -> None:
    directory = store("stuffing")
    known_fields = set().union(*REVEALED_BY.values())

    def distinct(column: str) -> set[str]:
        return set(scalar(directory, f"SELECT list(DISTINCT {column}) FROM events"))

    assert set().union(*(parse_items(f) for f in distinct("fields"))) <= known_fields
    assert distinct("action") <= {"view", "reveal", "search", "export", "print", "call", "login"}
    assert distinct("channel") <= {
        "cs-console",
        "courier-app",
        "partner-api",
        "export",
        "web",
        "app",
        "merchant-portal",
        "batch",
    }
    assert distinct("actor_kind") <= {"staff", "courier", "merchant", "partner", "job", "customer"}
    refused = scalar(directory, "SELECT count(*) FROM events WHERE outcome <> 'ok'")
    assert 0 <= refused < scalar(directory, "SELECT count(*) FROM events") / 100  # "ok" almost always
    assert scalar(directory, "SELECT count(*) FROM events WHERE outcome = 'ok' AND reason IS NOT NULL") == 0
    assert scalar(directory, "SELECT count(*) FROM events WHERE action = 'login' AND fields <> ''") == 0
    assert (
        scalar(directory, "SELECT count(*) FROM events WHERE actor_kind = 'customer' AND actor_id <> customer_id") == 0
    )


def test_reports_csv_and_jsonl_hold_the_same_rows_in_the_shared_format(store: Callable[..., Path]) -> None:
    directory = store("insider")
    with (directory / "reports.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == REPORT_COLUMNS
    from_csv = reports(directory)
    lines = (directory / "reports.jsonl").read_text(encoding="utf-8").splitlines()
    from_json = [json.loads(line) for line in lines]
    assert len(from_csv) == len(from_json) == SMALL["victims"]
    for row, record in zip(from_csv, from_json, strict=True):
        assert list(record) == REPORT_COLUMNS
        assert row == {k: "" if v is None else str(v) for k, v in record.items()}
    for row in from_csv:
        reported, contact = datetime.fromisoformat(row["reported_at"]), datetime.fromisoformat(row["contacted_at"])
        assert row["contacted_at"].endswith("+08:00") and row["reported_at"].endswith("+08:00")
        assert contact <= reported <= contact + timedelta(days=3)
        assert row["channel"] in {"call", "sms"} and row["currency"] == "CNY"
        assert int(row["loss_amount"]) >= 0
    # One gang: its numbers, links and accounts repeat across reports.
    assert len({r["contact_from"] for r in from_csv}) <= 5
    assert len({r["url"].split("/")[2] for r in from_csv if r["url"]}) <= 2
    assert len({r["report_id"] for r in from_csv}) == len(from_csv)


def test_customers_have_valid_mainland_mobiles_and_orders_point_at_known_people(store: Callable[..., Path]) -> None:
    directory = store("insider")
    with (directory / "customers.csv").open(encoding="utf-8", newline="") as handle:
        customers = list(csv.DictReader(handle))
    assert len(customers) == SMALL["customers"]
    assert all(re.fullmatch(r"1[3-9]\d{9}", c["mobile"]) for c in customers)
    assert len({c["mobile"] for c in customers}) == len(customers)
    assert all(c["name"] and c["province"] and c["city"] and c["street"] for c in customers)
    with (directory / "actors.csv").open(encoding="utf-8", newline="") as handle:
        actors = {a["actor_id"]: a for a in csv.DictReader(handle)}
    assert len(actors) == SMALL["actors"]
    with (directory / "orders.csv").open(encoding="utf-8", newline="") as handle:
        orders = list(csv.DictReader(handle))
    ids = {c["customer_id"] for c in customers}
    for order in orders:
        assert order["customer_id"] in ids
        assert actors[order["merchant_id"]]["actor_role"] == "merchant"
        assert actors[order["courier_id"]]["actor_role"] == "courier"
        if order["return_requested_at"]:
            assert order["return_requested_at"] > order["placed_at"] and order["return_reason"]
    assert {"delivered", "returned"} <= {o["status"] for o in orders}


def test_couriers_see_labels_within_days_of_the_order(store: Callable[..., Path]) -> None:
    directory = store("insider")
    orders = str(directory / "orders.csv").replace("'", "''")
    late = scalar(
        directory,
        "SELECT count(*) FROM events e JOIN read_csv(?, all_varchar=true) o USING (order_id) "
        "WHERE e.actor_kind = 'courier' AND o.return_requested_at IS NULL "
        "AND (e.ts < CAST(o.placed_at AS TIMESTAMPTZ) OR e.ts > CAST(o.placed_at AS TIMESTAMPTZ) + INTERVAL 4 DAY)",
        orders,
    )
    assert late == 0
    fields = scalar(directory, "SELECT list(DISTINCT fields) FROM events WHERE actor_kind = 'courier'")
    assert set(fields) == {"name|mobile|address", "mobile"}


@pytest.mark.parametrize("per_day", [1500, 12000])
def test_events_per_day_sets_the_volume(tmp_path: Path, per_day: int) -> None:
    config = StoreConfig(seed=2, scenario="none", customers=3000, actors=300, days=5, victims=3, events_per_day=per_day)
    summary = generate_store(config, tmp_path)
    assert 0.75 * per_day * 5 <= summary.events <= 1.25 * per_day * 5
