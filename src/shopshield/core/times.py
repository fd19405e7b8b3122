"""Times as ShopShield keeps them: aware, in UTC, written with a ``Z``; and windows of time in a
zone, as the API and the command line receive them.

Every time ShopShield stores is UTC. SQLite hands stored times back naive, or as text when read
through the driver; PostgreSQL hands them back aware, in the session's zone. These helpers turn
all of those into one thing.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shopshield.core.errors import InvalidInput

_ZONE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_+\-/]{0,63}")
_WINDOW_HINT: Final = "expected an ISO 8601 date or time such as 2016-07-15 or 2016-07-15T08:00+08:00"


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken to be UTC already, as every stored time is."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stored(value: Any) -> datetime:
    """A timestamp as a driver hands it back (text on SQLite, a datetime on PostgreSQL), in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"not a timestamp: {type(value).__name__}")
    return utc(value)


def iso(moment: datetime) -> str:
    """``2016-07-15T02:30:00Z``: UTC, fraction digits only when there is a fraction."""
    return utc(moment).isoformat().replace("+00:00", "Z")


def format_ts(moment: datetime) -> str:
    """``2026-11-28T08:30:00.000001Z``: UTC, always six fraction digits.

    The ``ts`` of an access event's canonical bytes (``audit.canonical``, docs/audit-log.md): it
    must never change, and a test pins it. Access reports show it too, so an item can be checked
    against its inclusion proof.
    """
    if moment.tzinfo is UTC:
        # The clock's own times: "+00:00" cut off costs half of converting (once per event).
        return moment.isoformat(timespec="microseconds")[:26] + "Z"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    # Naive means UTC: SQLite hands timestamps back naive, and everything ShopShield stores is UTC.
    # isoformat, not strftime: it is C all the way and this runs once per access event.
    return moment.isoformat(timespec="microseconds") + "Z"


@dataclass(frozen=True, slots=True)
class Window:
    """``[since, until)`` in UTC, either end open when None, counted in days of ``tz``."""

    since: datetime | None
    until: datetime | None
    tz: ZoneInfo

    def json(self) -> dict[str, str | None]:
        return {
            "since": None if self.since is None else iso(self.since),
            "until": None if self.until is None else iso(self.until),
            "tz": self.tz.key,
        }


def parse_window(*, since: str | None, until: str | None, tz: str, prefix: str = "") -> Window:
    """A window as the API and the command line receive it. A date or time without an offset is
    read in ``tz``, so ``since=2016-07-15`` starts at that day's midnight there. Messages name the
    parameter (after ``prefix``: "--" names the command line's options), never the value."""
    zone = parse_zone(tz, f"{prefix}tz")
    start = _moment_in(since, f"{prefix}since", zone)
    end = _moment_in(until, f"{prefix}until", zone)
    if start is not None and end is not None and start >= end:
        raise InvalidInput(f"{prefix}since must be before {prefix}until", field="since")
    return Window(start, end, zone)


def parse_zone(name: str, option: str = "tz") -> ZoneInfo:
    """The IANA time zone ``name``; ``InvalidInput`` naming ``option`` otherwise."""
    if _ZONE.fullmatch(name):
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError, OSError):
            return ZoneInfo(name)
    raise InvalidInput(f"{option}: must be an IANA time zone such as Asia/Shanghai or UTC", field=option.lstrip("-"))


def _moment_in(text: str | None, name: str, zone: ZoneInfo) -> datetime | None:
    if text is None:
        return None
    try:
        found = datetime.fromisoformat(text)
        return (found.replace(tzinfo=zone) if found.tzinfo is None else found).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name}: {_WINDOW_HINT}", field=name.lstrip("-")) from None
