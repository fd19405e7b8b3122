"""The Spark path gathers what the DuckDB path gathers, so both rank alike (Spark in local mode)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shopshield.investigate import events
from shopshield.investigate.attribution import Config, Gathered, attribute, conclude
from shopshield.investigate.duck import DuckDBEngine
from tests.support.attribution_world import LABEL, ORDER_VIEW, World

pytest.importorskip("pyspark", reason="PySpark is a dev dependency; the suite installs it")

from shopshield.investigate.spark import SparkEngine, local_session, read_events

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = local_session(cores=2)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _normalised(g: Gathered) -> tuple[object, ...]:
    accesses = sorted(
        (
            a.actor_id,
            a.actor_kind,
            a.customer_id,
            a.first_ts.timestamp(),
            a.last_ts.timestamp(),
            a.fields,
            a.order_access,
        )
        for a in g.accesses
    )
    return (g.period, g.population, g.actor_customers, accesses, g.logins)


def _world(scenario: str) -> World:
    world = World(seed=40)
    world.background()
    world.logins()
    if scenario == "insider":
        world.leak_through("agent-07", "staff", ORDER_VIEW, "name|mobile|items|price|return_request")
    elif scenario == "courier":
        world.leak_through("courier-05", "courier", LABEL, "name|mobile|address", reads=120)
    elif scenario == "stuffing":
        world.stuffed()
    else:
        world.random_victims()
    return world


@pytest.mark.parametrize(
    ("scenario", "suffix"),
    [
        ("insider", ".parquet"),
        ("courier", ".parquet"),
        ("stuffing", ".parquet"),
        ("none", ".parquet"),
        ("insider", ".csv"),
    ],
)
def test_spark_gathers_and_ranks_as_duckdb(spark: SparkSession, tmp_path: Path, scenario: str, suffix: str) -> None:
    world = _world(scenario)
    path = world.write(tmp_path / "events.parquet")
    if suffix == ".csv":
        con = events.connect()
        csv = tmp_path / "events.csv"
        # The shared format's CSV: ISO 8601 with an offset for ts.
        con.execute(
            f"COPY (SELECT strftime(ts, '%Y-%m-%dT%H:%M:%S.%f+00:00') AS ts, * EXCLUDE (ts) FROM '{path}') "
            f"TO '{csv}' (HEADER)"
        )
        path = csv
    config = Config()
    con = events.connect()
    events.open_events(con, [path])
    duck = DuckDBEngine(con).gather(world.victims, config)
    sparked = SparkEngine(spark, read_events(spark, [path])).gather(world.victims, config)
    assert _normalised(sparked) == _normalised(duck)

    ours, theirs = conclude(duck, world.victims, config), conclude(sparked, world.victims, config)
    assert [s.to_json() for s in theirs.suspects] == [s.to_json() for s in ours.suspects]
    assert (theirs.conclusive, theirs.likely_source) == (ours.conclusive, ours.likely_source)
    expected = {"insider": "insider", "courier": "insider", "stuffing": "credential_stuffing", "none": "unknown"}
    assert ours.likely_source == expected[scenario]


def test_spark_attribute_end_to_end(spark: SparkSession, tmp_path: Path) -> None:
    world = _world("insider")
    path = world.write(tmp_path / "events.parquet")
    result = attribute(SparkEngine(spark, read_events(spark, [path])), world.victims)
    assert result.suspects[0].actor_id == "agent-07" and result.conclusive
