"""The attribution's scans on Apache Spark, for logs that outgrow one machine.

The same three scans as ``duck.py``, in Spark SQL, over a DataFrame of events in the shared
format; they return the same ``Gathered`` tables, so ``attribution.conclude`` gives the same
ranking on both (tests/investigate/test_spark.py runs both on one file). Timestamps cross from
the JVM as epoch microseconds: PySpark would otherwise turn them into naive datetimes in the
machine's zone.

PySpark is imported only here, and only when Spark is asked for: ``shopshield`` runs without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopshield.core.errors import InvalidInput
from shopshield.investigate.attribution import (
    Config,
    Gathered,
    Logins,
    Victim,
    analysis_period,
    gathered,
    reference_moment,
)
from shopshield.investigate.events import EXTRA, OPTIONAL, REQUIRED, SUFFIXES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

NETWORK = (
    "CASE WHEN source_ip RLIKE '^[0-9]+\\\\.[0-9]+\\\\.[0-9]+\\\\.[0-9]+$' "
    "THEN regexp_extract(source_ip, '^([0-9]+\\\\.[0-9]+\\\\.[0-9]+)\\\\.', 1) "
    "WHEN instr(source_ip, ':') > 0 THEN lower(array_join(slice(split(source_ip, ':'), 1, 3), ':')) "
    "ELSE source_ip END"
)

_ACTORS = """
SELECT actor_id, min(actor_kind) AS actor_kind, count(DISTINCT customer_id) AS customers
FROM events
WHERE ts >= timestamp_micros({start}) AND ts < timestamp_micros({end})
  AND actor_kind <> 'customer' AND customer_id IS NOT NULL
GROUP BY GROUPING SETS ((actor_id), ())
"""

_ACCESSES = """
SELECT e.actor_id, min(e.actor_kind), v.customer_id, unix_micros(min(e.ts)), unix_micros(max(e.ts)),
       concat_ws('|', collect_set(e.fields)), bool_or(e.order_id IS NOT NULL)
FROM events e JOIN victims v ON e.customer_id = v.customer_id
WHERE e.ts >= v.window_start AND e.ts < v.contacted_at AND e.actor_kind <> 'customer'
GROUP BY e.actor_id, v.customer_id
"""

_NEW_NETWORKS = f"""
WITH logins AS (
    SELECT customer_id, {NETWORK} AS network, ts FROM events
    WHERE actor_kind = 'customer' AND action = 'login' AND customer_id IS NOT NULL
      AND ts < timestamp_micros({{end}})
),
firsts AS (SELECT customer_id, network, min(ts) AS first_ts FROM logins GROUP BY customer_id, network),
accounts AS (SELECT customer_id, min(first_ts) AS since FROM firsts GROUP BY customer_id)
SELECT f.customer_id, f.first_ts FROM firsts f JOIN accounts a ON f.customer_id = a.customer_id
WHERE f.first_ts > a.since
"""  # noqa: S608 - NETWORK is a constant

_VICTIMS_NEW = """
SELECT DISTINCT v.customer_id FROM victims v JOIN new_networks n ON v.customer_id = n.customer_id
WHERE n.first_ts >= v.window_start AND n.first_ts < v.contacted_at
"""

_REFERENCE = """
SELECT
    (SELECT count(DISTINCT customer_id) FROM events
     WHERE actor_kind = 'customer' AND action = 'login'
       AND ts >= timestamp_micros({start}) AND ts < timestamp_micros({end})),
    (SELECT count(DISTINCT customer_id) FROM new_networks
     WHERE first_ts >= timestamp_micros({start}) AND first_ts < timestamp_micros({end}))
"""


def local_session(cores: int = 2) -> SparkSession:
    """A Spark session in local mode, in UTC, without its web UI (tests and one-machine runs)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("shopshield-attribution")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(max(4, cores * 4)))
        .getOrCreate()
    )


def read_events(spark: SparkSession, sources: Sequence[Path]) -> DataFrame:
    """Events in the shared format as a DataFrame with ``investigate.events``' columns and types."""
    from pyspark.sql import functions as F  # noqa: N812 - PySpark's own convention

    kinds = {SUFFIXES.get(p.suffix.lower()) for p in sources}
    if not sources or None in kinds or len(kinds) != 1:
        raise InvalidInput("access events: give .parquet files or .csv files (one kind at a time)")
    paths = [str(p) for p in sources]
    parquet = kinds == {"parquet"}
    frame = spark.read.parquet(*paths) if parquet else spark.read.option("header", "true").csv(paths)
    present = {name.lower() for name in frame.columns}
    absent = [c for c in REQUIRED if c not in present]
    if absent:
        raise InvalidInput(f"access events: missing column(s) {', '.join(absent)}")
    ts_type = dict(frame.dtypes)["ts"]
    if ts_type.startswith("timestamp"):
        ts = F.col("ts")
    elif ts_type in {"bigint", "int", "double"}:
        ts = F.timestamp_millis(F.col("ts").cast("bigint"))
    else:
        ts = F.when(F.col("ts").rlike("^[0-9]{1,15}$"), F.timestamp_millis(F.col("ts").cast("bigint"))).otherwise(
            F.col("ts").cast("timestamp")
        )
    columns = [ts.alias("ts")]
    columns += [F.col(c).cast("string").alias(c) for c in REQUIRED[1:]]
    columns += [
        F.col(c).cast("string").alias(c) if c in present else F.lit(None).cast("string").alias(c)
        for c in OPTIONAL + EXTRA
    ]
    return frame.select(*columns)


class SparkEngine:
    """Gathers from ``events`` (a DataFrame from ``read_events``) with ``spark``."""

    def __init__(self, spark: SparkSession, events: DataFrame) -> None:
        self.spark = spark
        events.createOrReplaceTempView("events")

    def gather(self, victims: Sequence[Victim], config: Config) -> Gathered:
        spark = self.spark
        start, end = analysis_period(victims, config)
        rows = [(v.customer_id, _micros(v.contacted_at), _micros(v.contacted_at - config.window)) for v in victims]
        table = spark.createDataFrame(rows, "customer_id string, contacted_us long, window_us long")
        table.selectExpr(
            "customer_id",
            "timestamp_micros(contacted_us) AS contacted_at",
            "timestamp_micros(window_us) AS window_start",
        ).createOrReplaceTempView("victims")

        actor_rows = _collect(spark, _ACTORS.format(start=_micros(start), end=_micros(end)))
        access_rows = [(*row[:3], _moment(row[3]), _moment(row[4]), *row[5:]) for row in _collect(spark, _ACCESSES)]

        spark.sql(_NEW_NETWORKS.format(end=_micros(end))).cache().createOrReplaceTempView("new_networks")
        hit = frozenset(str(r[0]) for r in _collect(spark, _VICTIMS_NEW))
        moment = reference_moment(victims)
        reference = _collect(spark, _REFERENCE.format(start=_micros(moment - config.window), end=_micros(moment)))[0]
        spark.catalog.dropTempView("new_networks")
        logins = Logins(hit, int(reference[0]), int(reference[1]))
        return gathered((start, end), actor_rows, access_rows, logins)


def _collect(spark: SparkSession, sql: str) -> list[Any]:
    return list(spark.sql(sql).collect())


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(micros))
