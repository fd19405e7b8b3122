"""What the login guard passes around: an attempt, its decision, and the outcome the store reports.

Plain dataclasses so the engine, the replay, the simulator and the baselines share one vocabulary
without any of them importing the web framework or the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

SHA1_HEX: Final = re.compile(r"^[0-9a-fA-F]{40}$")


class Verdict(StrEnum):
    ALLOW = "allow"
    CHALLENGE = "challenge"
    DENY = "deny"


class Outcome(StrEnum):
    """What the store's own authentication found after ShopShield's decision."""

    SUCCESS = "success"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - an outcome name, not a secret
    UNKNOWN_USER = "unknown_user"
    CHALLENGE_PASSED = "challenge_passed"
    CHALLENGE_FAILED = "challenge_failed"

    @property
    def is_failure(self) -> bool:
        return self in (Outcome.BAD_PASSWORD, Outcome.UNKNOWN_USER, Outcome.CHALLENGE_FAILED)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One login attempt as the store sees it before checking the password.

    ``password_sha1`` is the SHA-1 the store computed (40 hex, upper or lower case); ShopShield
    never receives the password itself and never stores this hash.
    """

    id: str
    ts: datetime
    username: str
    ip: str
    user_agent: str
    device_id: str | None
    password_sha1: str


@dataclass(frozen=True, slots=True)
class Decision:
    attempt_id: str
    verdict: Verdict
    risk: float
    reasons: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The replay's output line: ``{"id", "decision", "risk", "reasons"}``."""
        return {"id": self.attempt_id, "decision": self.verdict.value, "risk": self.risk, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class Truth:
    """What the store's authentication would find; the replay reveals it only as outcomes."""

    user_exists: bool
    password_ok: bool
    challenge_passed: bool


@dataclass(frozen=True, slots=True)
class Recorded:
    """One replayed attempt: what was decided and what the store then reported back."""

    attempt: Attempt
    decision: Decision
    outcomes: tuple[Outcome, ...] = field(default=())

    @property
    def logged_in(self) -> bool:
        return Outcome.SUCCESS in self.outcomes
