"""``shopshield simulate store`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shopshield.cli import app

SMALL_ARGS = ["--customers", "2000", "--actors", "200", "--days", "15", "--victims", "4"]


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["simulate", "store", *args])


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_store_is_written_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    result = _run("--seed", "3", "--out", str(out), "--scenario", "courier", *SMALL_ARGS)
    assert result.exit_code == 0, result.output
    assert "access events" in result.output and "truth.json" in result.output
    names = {p.name for p in out.iterdir()}
    assert names == {
        "events.parquet",
        "reports.csv",
        "reports.jsonl",
        "customers.csv",
        "orders.csv",
        "actors.csv",
        "truth.json",
    }
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert truth["scenario"] == "courier" and truth["source"]["actor_role"] == "courier"
    assert truth["config"]["customers"] == 2000 and len(truth["victims"]) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "mole"], "--scenario: unknown 'mole'; choose one of insider, courier"),
        (["--customers", "-5"], "--customers: must be at least 1, not -5"),
        (["--victims", "50", "--customers", "40"], "--victims: 50 is more than the 40 customers"),
        (["--victims", "0"], "--victims: must be at least 1"),
        (["--actors", "3"], "--actors: must be at least 20"),
        (["--days", "0"], "--days: must be between 1 and 366"),
        (["--events-per-day", "-1"], "--events-per-day: must be at least 1"),
        (["--seed", "-1"], "--seed: must be 0 or more"),
        (["--start", "October"], "--start: expected an ISO date"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "shop"
    result = _run("--seed", "1", "--out", str(out), *args)
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert "Traceback" not in result.output
    assert not out.exists()


def test_out_must_not_be_a_file(tmp_path: Path) -> None:
    taken = tmp_path / "notes.txt"
    taken.write_text("mine", encoding="utf-8")
    result = _run("--seed", "1", "--out", str(taken), *SMALL_ARGS)
    assert result.exit_code == 2
    assert "is a file, not a directory" in _flat(result.output)
    assert taken.read_text(encoding="utf-8") == "mine"


def test_a_store_too_small_for_its_victims_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    args = ["--customers", "60", "--actors", "20", "--days", "6", "--victims", "50", "--scenario", "courier"]
    result = _run("--seed", "1", "--out", str(out), *args)
    assert result.exit_code == 2, result.output
    assert "ask for fewer victims or a larger store" in _flat(result.output)
    assert not out.exists()
