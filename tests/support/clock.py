"""Moments for tests that queue SMS or push on the real clock.

SMS and push wait out the customer's quiet hours (22:00 to 08:00 in the default zone), so a test
that queues one "now" and drains at once passes in the afternoon and fails at night. These give a
moment that is daytime for the default zone whatever the hour the suite runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from shopshield.notify.schedule import DEFAULT_QUIET, DEFAULT_ZONE


def last_noon(now: datetime | None = None) -> datetime:
    """The latest 12:00 in the default zone at or before ``now``: outside the default quiet hours,
    and never in the future, so whatever is queued at it is due at once on the real clock."""
    local = (now or datetime.now(UTC)).astimezone(DEFAULT_ZONE)
    noon = datetime.combine(local.date(), time(12, 0), tzinfo=DEFAULT_ZONE)
    if noon > local:
        noon -= timedelta(days=1)
    assert not DEFAULT_QUIET.contains(noon.time())
    return noon.astimezone(UTC)


def past_quiet_hours() -> datetime:
    """A worker clock after the end of any quiet hours the real clock is in now: for messages a
    service queued on the real clock (quiet hours last at most ten hours)."""
    return datetime.now(UTC) + timedelta(hours=12)
