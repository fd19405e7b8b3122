"""Hand-made login attempts for the baselines' and the evaluation's tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from shopshield.guard.models import Attempt, Truth

START = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
RIGHT = Truth(user_exists=True, password_ok=True, challenge_passed=True)
WRONG = Truth(user_exists=True, password_ok=False, challenge_passed=True)
UNKNOWN = Truth(user_exists=False, password_ok=False, challenge_passed=False)
_ids = itertools.count(1)


def attempt(
    seconds: float, username: str = "13800000001", ip: str = "223.104.1.2", device: str | None = None
) -> Attempt:
    """An attempt ``seconds`` after START."""
    return Attempt(
        id=f"t-{next(_ids)}",
        ts=START + timedelta(seconds=seconds),
        username=username,
        ip=ip,
        user_agent="Mozilla/5.0",
        device_id=device,
        password_sha1="0" * 40,
    )
