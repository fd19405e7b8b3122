"""The insider simulator: the same seed writes the same files, every role works, and each shape
leaks on the days its description says."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shopshield.cli import app
from shopshield.core.errors import InvalidInput
from shopshield.investigate.insiders import Declared
from shopshield.simulate.insiders import SHAPES, Insider, InsiderSimConfig, generate_insiders


def _config(seed: int = 3) -> InsiderSimConfig:
    shapes = tuple(Insider(s, spec[1]) for s, spec in SHAPES.items())
    return InsiderSimConfig(seed=seed, actors=200, customers=4000, history_days=7, days=14, insiders=shapes)


def test_the_same_seed_writes_the_same_files_and_another_seed_does_not(tmp_path: Path) -> None:
    generate_insiders(_config(), tmp_path / "a")
    generate_insiders(_config(), tmp_path / "b")
    generate_insiders(_config(seed=4), tmp_path / "c")
    for name in ("actors.csv", "orders.csv", "tickets.csv", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    first, again = (pq.read_table(tmp_path / d / "events.parquet") for d in ("a", "b"))
    assert first.equals(again)
    assert not first.equals(pq.read_table(tmp_path / "c" / "events.parquet"))


def test_every_role_works_and_each_shape_leaks_when_it_should(tmp_path: Path) -> None:
    summary = generate_insiders(_config(), tmp_path)
    events = pq.read_table(tmp_path / "events.parquet").to_pydict()
    roles = set(events["actor_role"])
    assert {"cs_agent", "cs_supervisor", "courier", "merchant", "partner", "service"} <= roles
    with (tmp_path / "actors.csv").open(encoding="utf-8") as handle:
        actors = list(csv.DictReader(handle))
    assert len(actors) == summary.actors and summary.insiders == len(SHAPES)
    declared = [a for a in actors if a["declared"]]
    assert {a["actor_id"] for a in declared} == {"partner-logistics", "job-nightly", "job-marketing"}
    assert Declared.parse(next(a["declared"] for a in declared if a["actor_id"] == "job-marketing")).days == {0}
    truth = orjson.loads((tmp_path / "truth.json").read_bytes())
    test_start = date.fromisoformat(truth["test_start"])
    by_shape = {i["shape"]: [date.fromisoformat(d) for d in i["leak_days"]] for i in truth["insiders"]}
    assert all(d >= test_start for days in by_shape.values() for d in days)
    assert len(by_shape["night_export"]) == 1 and 1 <= len(by_shape["burst"]) <= 2
    assert 5 <= len(by_shape["sustained"]) <= 10  # ten days, less the rest days in them
    assert len(by_shape["ramp"]) >= 8 and len(by_shape["low_slow"]) >= 8  # every working day
    harvester = next(i for i in truth["insiders"] if i["shape"] == "harvest")
    assert harvester["actor_role"] == "cs_supervisor"
    # The marketing export runs on Mondays only, at night, as declared.
    marketing = [t for t, a in zip(events["ts"], events["actor_id"], strict=True) if a == "job-marketing"]
    assert marketing and {t.astimezone(_SHANGHAI).weekday() for t in marketing} == {0}


_SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"actors": 10}, "actors: at least 200"),
        ({"seed": -1}, "seed: must be 0 or more"),
        ({"insiders": (Insider("teleport", 1.0),)}, "unknown shape 'teleport'"),
    ],
)
def test_bad_configurations_say_what_is_wrong(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        InsiderSimConfig(**({"seed": 1} | change))  # type: ignore[arg-type]


def test_the_command_writes_the_files_and_refuses_bad_options(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["simulate", "insiders", "--seed", "2", "--out", str(tmp_path / "s"), "--customers", "2000"]
    result = runner.invoke(app, [*args, "--actors", "200", "--history-days", "0", "--days", "7", "--per-point", "0"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "s").iterdir()} == {
        "events.parquet",
        "actors.csv",
        "customers.csv",
        "orders.csv",
        "tickets.csv",
        "truth.json",
    }
    assert orjson.loads((tmp_path / "s" / "truth.json").read_bytes())["insiders"] == []
    bad = runner.invoke(app, [*args, "--actors", "30"])
    assert bad.exit_code == 2 and "actors: at least 200" in bad.output
