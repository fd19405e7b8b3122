"""``shopshield simulate logins`` from the command line: the files it writes, and exit code 2 with a
message naming the option for arguments no simulation can be built from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from shopshield.cli import app

SMALL_ARGS = ["--customers", "300", "--days", "1", "--leaked", "400"]


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["simulate", "logins", *args])


def _has(output: str, message: str) -> bool:
    """Whether ``message`` is in ``output``, ignoring where Rich wrapped the lines (even mid-path)."""
    return "".join(message.split()) in "".join(output.split())


def test_logins_are_written_with_their_truth_and_the_attackers_inputs(tmp_path: Path) -> None:
    out = tmp_path / "sim" / "week.jsonl"
    result = _run("--seed", "3", "--out", str(out), *SMALL_ARGS, "--logins-per-day", "2", "--start", "2026-11-11")
    assert result.exit_code == 0, result.output
    assert _has(result.output, "login attempts") and _has(result.output, "week.truth.jsonl")
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "week.breached-passwords.txt",
        "week.history.jsonl",
        "week.jsonl",
        "week.leaked-pairs.txt",
        "week.summary.json",
        "week.truth.jsonl",
    ]
    summary = json.loads((out.parent / "week.summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["start"] == "2026-11-11" and summary["config"]["logins_per_day"] == 2
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["ts"].startswith("2026-11-11T") and first["ts"].endswith("+08:00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "5"], "--customers: must be at least 100, not 5"),
        (["--days", "0"], "--days: must be between 1 and 366, not 0"),
        (["--days", "400"], "--days: must be between 1 and 366, not 400"),
        (["--leaked", "0"], "--leaked: must be at least 1, not 0"),
        (["--logins-per-day", "-1"], "--logins-per-day: must be more than 0"),
        (["--seed", "-2"], "--seed: must be 0 or more, not -2"),
        (["--start", "October"], "--start: expected an ISO date"),
    ],
)
def test_bad_options_exit_2_with_a_message_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "sim" / "week.jsonl"
    base = ["--seed", "1", "--out", str(out), *SMALL_ARGS]
    result = _run(*base, *args)
    assert result.exit_code == 2, result.output
    assert _has(result.output, message)
    assert "Traceback" not in result.output
    assert not out.parent.exists()


def test_two_problems_are_both_named(tmp_path: Path) -> None:
    result = _run("--seed", "1", "--out", str(tmp_path / "x.jsonl"), "--customers", "1", "--days", "0")
    assert result.exit_code == 2
    assert _has(result.output, "--customers:") and _has(result.output, "--days:")


def test_out_must_name_a_file_not_a_directory(tmp_path: Path) -> None:
    result = _run("--seed", "1", "--out", str(tmp_path), *SMALL_ARGS)
    assert result.exit_code == 2
    assert _has(result.output, "is a directory; name the attempts file")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_where_a_companion_file_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "week.truth.jsonl").mkdir()
    result = _run("--seed", "1", "--out", str(tmp_path / "week.jsonl"), *SMALL_ARGS)
    assert result.exit_code == 2
    assert _has(result.output, "week.truth.jsonl is a directory")
    assert not (tmp_path / "week.jsonl").exists()


def test_seed_and_out_are_required() -> None:
    result = _run("--customers", "300")
    assert result.exit_code == 2
    assert _has(result.output, "--seed") or _has(result.output, "--out")
