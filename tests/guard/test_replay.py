"""``guard replay`` and the replay loop: decisions before outcomes, the shared format, clean errors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from shopshield.cli import app
from shopshield.guard.models import Attempt, Decision, Outcome, Verdict
from shopshield.guard.replay import AttemptFormatError, parse_line, replay
from tests.support.environment import cli_env

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def line(n: int, *, user: str, ip: str, ok: bool, exists: bool = True, device: str | None = None) -> dict[str, Any]:
    return {
        "id": f"a{n}",
        "ts": (START + timedelta(seconds=n)).isoformat(),
        "username": user,
        "ip": ip,
        "user_agent": "Mozilla/5.0",
        "device_id": device,
        "password_sha1": hashlib.sha1(f"pw{n if not ok else ''}".encode()).hexdigest(),  # noqa: S324
        "user_exists": exists,
        "password_ok": ok,
        "challenge_passed": ok,
    }


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


class Script:
    """A decider that answers from a script and remembers what it was told, and when."""

    def __init__(self, verdicts: list[Verdict]) -> None:
        self.verdicts = verdicts
        self.events: list[tuple[str, str]] = []

    def assess(self, attempt: Attempt) -> Decision:
        self.events.append(("assess", attempt.id))
        return Decision(attempt.id, self.verdicts[len([e for e in self.events if e[0] == "assess"]) - 1], 0.0)

    def report(self, attempt_id: str, outcome: Outcome) -> None:
        self.events.append((outcome.value, attempt_id))


def test_replay_feeds_outcomes_after_each_decision() -> None:
    rows = [
        line(1, user="u1", ip="10.0.0.1", ok=True),
        line(2, user="u2", ip="10.0.0.2", ok=False),
        line(3, user="u3", ip="10.0.0.3", ok=True),
        line(4, user="u4", ip="10.0.0.4", ok=False, exists=False),
    ]
    parsed = [parse_line(orjson.dumps(r), i) for i, r in enumerate(rows, 1)]
    script = Script([Verdict.ALLOW, Verdict.CHALLENGE, Verdict.CHALLENGE, Verdict.DENY])
    recorded = list(replay(parsed, script))
    assert script.events == [
        ("assess", "a1"),
        ("success", "a1"),
        ("assess", "a2"),
        ("challenge_failed", "a2"),
        ("assess", "a3"),
        ("challenge_passed", "a3"),
        ("success", "a3"),
        ("assess", "a4"),
    ]
    assert [r.logged_in for r in recorded] == [True, False, True, False]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ip": "300.1.1.1"}, "line 1: field 'ip' must be an IPv4 or IPv6 address"),
        ({"password_sha1": "xyz"}, "line 1: field 'password_sha1' must be 40 hex digits"),
        ({"ts": "2026-11-02T08:00:00"}, "line 1: field 'ts' must carry a UTC offset"),
        ({"password_ok": "yes"}, "line 1: field 'password_ok' must be true or false"),
        ({"device_id": 7}, "line 1: field 'device_id' must be a string or null"),
    ],
)
def test_format_errors_name_line_and_field(change: dict[str, Any], reason: str) -> None:
    row = line(1, user="13800138000", ip="10.0.0.1", ok=True) | change
    with pytest.raises(AttemptFormatError) as caught:
        parse_line(orjson.dumps(row), 1)
    assert str(caught.value) == reason
    assert "13800138000" not in str(caught.value)


def test_guard_replay_writes_one_decision_per_attempt(tmp_path: Path) -> None:
    rows = [line(1, user="13800138000", ip="10.0.0.1", ok=True, device="p1")]
    rows += [line(n, user="13800138000", ip="203.0.113.5", ok=False) for n in range(2, 30)]
    rows += [line(30, user="13800138000", ip="10.0.0.1", ok=True, device="p1")]
    source = write(tmp_path / "attempts.jsonl", rows)
    out = tmp_path / "decisions.jsonl"
    result = CliRunner().invoke(app, ["guard", "replay", str(source), "--out", str(out)], env=cli_env())
    assert result.exit_code == 0, result.output
    decisions = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert [d["id"] for d in decisions] == [r["id"] for r in rows]
    assert set(decisions[0]) == {"id", "decision", "risk", "reasons"}
    assert decisions[-2]["decision"] == "deny"  # the brute force
    assert decisions[-1]["decision"] != "deny"  # the owner, from their own phone and network
    assert "30 attempts" in result.output
    assert not (tmp_path / "decisions.jsonl.partial").exists()


def test_guard_replay_refuses_a_bad_file_and_writes_nothing(tmp_path: Path) -> None:
    rows = [line(1, user="u", ip="10.0.0.1", ok=True), line(2, user="u", ip="10.0.0.1", ok=True) | {"ip": "nope"}]
    source = write(tmp_path / "attempts.jsonl", rows)
    out = tmp_path / "decisions.jsonl"
    result = CliRunner().invoke(app, ["guard", "replay", str(source), "--out", str(out)], env=cli_env())
    assert result.exit_code == 2
    assert "line 2: field 'ip'" in result.output
    assert not out.exists() and not (tmp_path / "decisions.jsonl.partial").exists()
    missing = CliRunner().invoke(app, ["guard", "replay", str(tmp_path / "nope.jsonl"), "--out", str(out)])
    assert missing.exit_code == 2 and "no such file" in missing.output
    bad_config = tmp_path / "guard.toml"
    bad_config.write_text("deny_at = 'high'\n")
    result = CliRunner().invoke(
        app, ["guard", "replay", str(source), "--out", str(out), "--config", str(bad_config)], env=cli_env()
    )
    assert result.exit_code == 2 and "deny_at" in result.output


def test_guard_replay_with_breach_data_flags_the_leaked_pair(tmp_path: Path) -> None:
    env = cli_env(DATA_DIR=str(tmp_path / "data"))
    runner = CliRunner()
    leaked = tmp_path / "other-site.txt"
    leaked.write_text("13800138000:pw2\n")
    common = tmp_path / "common.txt"
    common.write_text("pw2\n123456\n")
    assert runner.invoke(app, ["passwords", "build", str(common)], env=env).exit_code == 0
    assert runner.invoke(app, ["passwords", "pairs", str(leaked)], env=env).exit_code == 0
    source = write(tmp_path / "attempts.jsonl", [line(2, user="+86 138 0013 8000", ip="203.0.113.5", ok=False)])
    out = tmp_path / "decisions.jsonl"
    result = runner.invoke(app, ["guard", "replay", str(source), "--out", str(out), "--breach-data"], env=env)
    assert result.exit_code == 0, result.output
    assert "leaked pairs: 1" in result.output
    [decision] = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    codes = {reason.split(":")[0] for reason in decision["reasons"]}
    assert {"breached_password", "leaked_pair"} <= codes
    assert decision["decision"] == "challenge"
    # Without the flag the same file knows nothing of breaches.
    result = runner.invoke(app, ["guard", "replay", str(source), "--out", str(out)], env=env)
    assert not {"breached_password", "leaked_pair"} & {
        r.split(":")[0] for r in orjson.loads(out.read_bytes())["reasons"]
    }


def test_guard_replay_learns_the_history_first(tmp_path: Path) -> None:
    history = write(tmp_path / "history.jsonl", [line(1, user="13800138000", ip="10.0.0.1", ok=True, device="p1")])
    later = [line(100, user="+86 138 0013 8000", ip="10.0.9.9", ok=True, device="p1")]
    source = write(tmp_path / "attempts.jsonl", later)
    out = tmp_path / "decisions.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["guard", "replay", str(source), "--out", str(out)], env=cli_env())
    assert orjson.loads(out.read_bytes())["reasons"] == ["no_history: no earlier successful login to this account"]
    args = ["guard", "replay", str(source), "--out", str(out), "--history", str(history)]
    result = runner.invoke(app, args, env=cli_env())
    assert result.exit_code == 0, result.output
    assert "learnt 1 successful logins" in result.output
    # The phone is known; only the network is new.
    assert orjson.loads(out.read_bytes())["reasons"] == ["new_network: a network this account has not logged in from"]
