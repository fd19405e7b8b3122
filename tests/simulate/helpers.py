"""Reading a simulated store back the way an investigator would: DuckDB over its files."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb


def truth(store: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((store / "truth.json").read_text(encoding="utf-8"))
    return loaded


def reports(store: Path) -> list[dict[str, str]]:
    with (store / "reports.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def contacted(report: dict[str, str]) -> datetime:
    return datetime.fromisoformat(report["contacted_at"])


def events(store: Path, where: str, *params: object) -> list[dict[str, Any]]:
    """Access events matching a SQL condition, in time order, as dicts."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        relation = con.execute(
            f"SELECT * FROM read_parquet(?) WHERE {where} ORDER BY ts",
            [str(store / "events.parquet"), *params],
        )
        names = [d[0] for d in relation.description]
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]
    finally:
        con.close()


def scalar(store: Path, sql: str, *params: object) -> Any:
    """One value from SQL over ``events`` (the store's events.parquet)."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        path = str(store / "events.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}')")
        row = con.execute(sql, list(params)).fetchone()
        return None if row is None else row[0]
    finally:
        con.close()
