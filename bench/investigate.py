"""Investigation benchmark: attribution at scale, beside a plain DuckDB scan of the same files.

``python -m bench investigate [--quick]``

Scale: an access log of 100 million events (2 million with --quick) from 10,000 actors over 30
days, written by DuckDB itself to Parquet (not timed), with one planted insider who read 300
customers, 50 of whom are then called. The attribution (DuckDB engine, embedded defaults) ranks
the 50 victims' actors; the baseline is a plain DuckDB scan of the same files reading the same
columns (one aggregate per actor kind). The aim is at most 60 s for the full size.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import (
    Measurement,
    Options,
    Ratio,
    console,
    markdown_results,
    phase,
    print_results,
    run_stamp,
    write_section,
)
from shopshield.investigate import events
from shopshield.investigate.attribution import Attribution, Config, Victim, attribute
from shopshield.investigate.duck import DuckDBEngine

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
ACTORS = 10_000
CUSTOMERS = 2_000_000
VICTIMS = 50
INSIDER = "actor-insider"
AIM_SECONDS = 60.0


@dataclass(frozen=True)
class Scale:
    events: int
    row_group: int


FULL = Scale(events=100_000_000, row_group=1_000_000)
QUICK = Scale(events=2_000_000, row_group=200_000)

# Background traffic: the actor is skewed towards low ids (actor-00000, a batch job, does about
# 1% of all reads), kinds by id range, each access on one order. hash() is DuckDB's, so the data
# is the same on every run.
_BACKGROUND = f"""
COPY (
  WITH r AS (
    SELECT i, (hash(i) % 1000000000) / 1e9 AS u, hash(i * 7 + 1) % {CUSTOMERS} AS c FROM range($n) t(i)
  )
  SELECT TIMESTAMPTZ '{START.isoformat()}' + to_microseconds(CAST(i * ({DAYS} * 86400e6 / $n) AS BIGINT)) AS ts,
         'actor-' || lpad(CAST(CAST(floor({ACTORS} * u * u) AS BIGINT) AS VARCHAR), 5, '0') AS actor_id,
         CASE WHEN floor({ACTORS} * u * u) < 10 THEN 'job'
              WHEN floor({ACTORS} * u * u) < 700 THEN 'staff'
              WHEN floor({ACTORS} * u * u) < 6000 THEN 'courier' ELSE 'merchant' END AS actor_kind,
         'view' AS action,
         'c' || lpad(CAST(c AS VARCHAR), 7, '0') AS customer_id,
         'o' || CAST(hash(i * 3 + 2) % 9000000 AS VARCHAR) AS order_id,
         CASE WHEN floor({ACTORS} * u * u) < 10 THEN 'name|mobile'
              WHEN floor({ACTORS} * u * u) < 700 THEN 'name|mobile|items|price'
              WHEN floor({ACTORS} * u * u) < 6000 THEN 'name|mobile|address'
              ELSE 'name|mobile|address|items|price' END AS fields,
         'cs-console' AS channel, CAST(NULL AS VARCHAR) AS source_ip
  FROM r
) TO '{{path}}' (FORMAT parquet, ROW_GROUP_SIZE $row_group)
"""

_SCAN = """
SELECT actor_kind, count(*), count(customer_id), count(DISTINCT actor_id), max(ts)
FROM events GROUP BY actor_kind
"""


def _plant(path: Path, rng: random.Random) -> list[Victim]:
    """The insider reads 300 customers on days 10-20; 50 of them are called 1-4 days later."""
    read = rng.sample(range(CUSTOMERS), 300)
    times = {c: START + timedelta(days=rng.uniform(10, 20)) for c in read}
    rows = {
        "ts": [times[c] for c in read],
        "actor_id": [INSIDER] * len(read),
        "actor_kind": ["staff"] * len(read),
        "action": ["view"] * len(read),
        "customer_id": [f"c{c:07d}" for c in read],
        "order_id": [f"o-planted-{c}" for c in read],
        "fields": ["name|mobile|items|price|returns"] * len(read),
        "channel": ["cs-console"] * len(read),
        "source_ip": [None] * len(read),
    }
    schema = pa.schema([("ts", pa.timestamp("us", tz="UTC"))] + [(k, pa.string()) for k in rows if k != "ts"])
    pq.write_table(pa.table(rows, schema=schema), path)
    knew = frozenset({"name", "mobile", "items", "price"})
    return [Victim(f"c{c:07d}", times[c] + timedelta(days=rng.uniform(1, 4)), knew) for c in read[:VICTIMS]]


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-investigate-") as tmp:
        root = Path(tmp)
        background, planted = root / "background.parquet", root / "planted.parquet"
        con = events.connect()
        with phase(f"writing {scale.events:,} access events with DuckDB (not timed)"):
            con.execute(
                _BACKGROUND.replace("{path}", str(background)), {"n": scale.events, "row_group": scale.row_group}
            )
            victims = _plant(planted, rng)
        events.open_events(con, [background, planted])
        with phase("plain DuckDB scan of the same files"):
            started = time.perf_counter()
            kinds = con.execute(_SCAN).fetchall()
            scan = time.perf_counter() - started
        total = sum(int(k[1]) for k in kinds)
        with phase(f"attribution of {VICTIMS} victims among {total:,} events"):
            started = time.perf_counter()
            result = attribute(DuckDBEngine(con), victims, Config())
            seconds = time.perf_counter() - started
        con.close()
    _report(options, scale, total, scan, seconds, result)


def _report(options: Options, scale: Scale, total: int, scan: float, seconds: float, result: Attribution) -> None:
    top = result.suspects[0] if result.suspects else None
    found = top is not None and top.actor_id == INSIDER
    measurements = [
        Measurement(
            "attribution, DuckDB",
            seconds,
            "s",
            count=total,
            note=f"{VICTIMS} victims, {result.actors_tested:,} actors tested",
        ),
        Measurement(
            "baseline: plain DuckDB scan",
            scan,
            "s",
            count=total,
            note="count, distinct actors and max(ts) per actor kind over the same files",
        ),
    ]
    ratios = [
        Ratio(
            "plain scan time / attribution time",
            scan / seconds,
            0.0,
            "(reported)",
            f"the attribution takes {seconds / scan:.0f}x a plain scan of the same files",
        )
    ]
    if not options.quick:
        ratios.insert(
            0,
            Ratio(
                "aim of 60 s / attribution time",
                AIM_SECONDS / seconds,
                1.0,
                "≥ 1.00 (at most 60 s)",
                f"{seconds:.1f} s for {total:,} events",
            ),
        )
    title = "Investigation: attribution at scale" + (" (quick)" if options.quick else "")
    print_results(title, measurements, ratios)
    verdict = (
        f"The planted insider ranked first ({'conclusive' if result.conclusive else 'not conclusive'}, "
        f"covering {top.victims_covered if top else 0} of {VICTIMS} victims, p = {top.p_value if top else 1:.1e})."
        if found
        else f"The planted insider did NOT rank first (top: {top.actor_id if top else 'none'})."
    )
    console.print(verdict)
    if not options.write_docs:
        return
    stamp = run_stamp(options)
    body = "\n\n".join(
        [
            f"## {title}",
            f"Run: {stamp}. Command: `.venv/bin/python -m bench investigate"
            + (" --quick`." if options.quick else "`."),
            markdown_results(measurements, ratios),
            verdict,
            "Setup: " + " ".join(__doc__.split("\n\n")[1].split()),
        ]
    )
    write_section("investigate", body, stamp)
