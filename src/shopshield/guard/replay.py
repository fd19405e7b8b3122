"""Replay a file of login attempts through any decider, in time order, feeding outcomes back.

The engine and the baselines (``guard.baselines``) implement ``Decider``. The replay hands each
attempt over without its truth, then tells the decider what the store would have found, exactly as
a live store would through ``POST /v1/logins/{id}/outcome``:

- allow: the store checks the password: ``success``, ``bad_password`` or ``unknown_user``;
- challenge: ``challenge_passed`` or ``challenge_failed``; after a pass, the password check as above;
- deny: nothing is checked and nothing is reported; a decider counts its own denials as failures.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from shopshield.core.errors import InvalidInput
from shopshield.guard.models import SHA1_HEX, Attempt, Decision, Outcome, Recorded, Truth, Verdict


class Decider(Protocol):
    """What the store's login path calls: ``assess`` before the password check, ``report`` after."""

    def assess(self, attempt: Attempt) -> Decision: ...

    def report(self, attempt_id: str, outcome: Outcome) -> object: ...


class AttemptFormatError(InvalidInput, ValueError):
    """A line of an attempts file is not in the shared "Login attempts" format."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


_REQUIRED = ("id", "ts", "username", "ip", "user_agent", "password_sha1", "user_exists", "password_ok")


def parse_line(raw: bytes | str, line: int) -> tuple[Attempt, Truth]:
    """One JSON line of the shared format; errors name the line and field, never a value."""
    try:
        obj: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AttemptFormatError(line, "not valid JSON") from None
    if not isinstance(obj, dict):
        raise AttemptFormatError(line, "not a JSON object")
    for name in _REQUIRED:
        if name not in obj:
            raise AttemptFormatError(line, f"missing field {name!r}")
    for name in ("id", "ts", "username", "ip", "user_agent", "password_sha1"):
        if not isinstance(obj[name], str):
            raise AttemptFormatError(line, f"field {name!r} must be a string")
    device = obj.get("device_id")
    if device is not None and not isinstance(device, str):
        raise AttemptFormatError(line, "field 'device_id' must be a string or null")
    if not SHA1_HEX.match(obj["password_sha1"]):
        raise AttemptFormatError(line, "field 'password_sha1' must be 40 hex digits")
    try:
        ipaddress.ip_address(obj["ip"])
    except ValueError:
        raise AttemptFormatError(line, "field 'ip' must be an IPv4 or IPv6 address") from None
    try:
        ts = datetime.fromisoformat(obj["ts"])
    except ValueError:
        raise AttemptFormatError(line, "field 'ts' must be an ISO 8601 timestamp") from None
    if ts.tzinfo is None:
        raise AttemptFormatError(line, "field 'ts' must carry a UTC offset")
    flags = []
    for name in ("user_exists", "password_ok", "challenge_passed"):
        value = obj.get(name, False)
        if not isinstance(value, bool):
            raise AttemptFormatError(line, f"field {name!r} must be true or false")
        flags.append(value)
    attempt = Attempt(
        id=obj["id"],
        ts=ts,
        username=obj["username"],
        ip=obj["ip"],
        user_agent=obj["user_agent"],
        device_id=device,
        password_sha1=obj["password_sha1"].lower(),
    )
    return attempt, Truth(user_exists=flags[0], password_ok=flags[1], challenge_passed=flags[2])


def read_attempts(path: Path) -> Iterator[tuple[Attempt, Truth]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield parse_line(raw, number)


def password_outcome(truth: Truth) -> Outcome:
    if not truth.user_exists:
        return Outcome.UNKNOWN_USER
    return Outcome.SUCCESS if truth.password_ok else Outcome.BAD_PASSWORD


def feed(decider: Decider, attempt_id: str, verdict: Verdict, truth: Truth) -> tuple[Outcome, ...]:
    """Tell ``decider`` what the store finds after ``verdict``, as a live store would."""
    outcomes: list[Outcome] = []
    if verdict is Verdict.CHALLENGE:
        outcomes.append(Outcome.CHALLENGE_PASSED if truth.challenge_passed else Outcome.CHALLENGE_FAILED)
    if verdict is Verdict.ALLOW or (verdict is Verdict.CHALLENGE and truth.challenge_passed):
        outcomes.append(password_outcome(truth))
    for outcome in outcomes:
        decider.report(attempt_id, outcome)
    return tuple(outcomes)


def replay(attempts: Iterable[tuple[Attempt, Truth]], decider: Decider) -> Iterator[Recorded]:
    """Decide each attempt before its truth is used, then report what the store would find."""
    for attempt, truth in attempts:
        decision = decider.assess(attempt)
        outcomes = feed(decider, attempt.id, decision.verdict, truth)
        yield Recorded(attempt=attempt, decision=decision, outcomes=outcomes)
