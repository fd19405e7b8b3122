"""Reading a simulated store back the way an investigator would: DuckDB over its files."""

from __future__ import annotations

import csv
import json
import math
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import duckdb


# Small enough for a fraction of a second each, large enough that every scenario finds victims.
class Sizes(TypedDict):
    """A store's sizes, as ``StoreConfig`` takes them."""

    customers: int
    actors: int
    days: int
    victims: int


SMALL: Sizes = {"customers": 3000, "actors": 300, "days": 20, "victims": 6}


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


def readers_in_week_before(store: Path, people: list[tuple[str, datetime]]) -> Counter[str]:
    """For each staff, courier, merchant or partner actor: how many of these (customer, moment)
    pairs it read in the seven days before the moment. Jobs read everyone and are left out."""
    reads: defaultdict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for e in events(store, "actor_kind NOT IN ('job', 'customer') AND outcome = 'ok'"):
        reads[e["customer_id"]].append((e["ts"], e["actor_id"]))
    covered: Counter[str] = Counter()
    for customer, moment in people:
        covered.update({actor for ts, actor in reads[customer] if moment - timedelta(days=7) <= ts < moment})
    return covered


def chance_controls(store: Path, moments: list[datetime], per_moment: int, seed: int = 0) -> list[tuple[str, datetime]]:
    """Customers like the victims (they had ordered a day before the moment), paired with the
    victims' moments: what any actor's reach looks like by chance."""
    first: dict[str, datetime] = {}
    with (store / "orders.csv").open(encoding="utf-8", newline="") as handle:
        for order in csv.DictReader(handle):
            placed = datetime.fromisoformat(order["placed_at"])
            first[order["customer_id"]] = min(placed, first.get(order["customer_id"], placed))
    pick = random.Random(seed)
    controls: list[tuple[str, datetime]] = []
    for moment in moments:
        pool = sorted(c for c, placed in first.items() if placed < moment - timedelta(days=1))
        controls.extend((c, moment) for c in pick.sample(pool, min(per_moment, len(pool))))
    return controls


def beyond_chance(hits: int, trials: int, control_hits: int, controls: int, tested: int) -> bool:
    """Whether ``hits`` of ``trials`` is more than chance at the rate seen in the controls, after
    a Bonferroni correction for the ``tested`` actors (thousands of merchants and couriers each
    reach two victims of twenty now and then, by chance alone)."""
    rate = (control_hits + 1) / (controls + 2)  # an actor never seen in the controls is rare, not impossible
    tail = sum(math.comb(trials, k) * rate**k * (1 - rate) ** (trials - k) for k in range(hits, trials + 1))
    return tail < 0.001 / max(tested, 1)
