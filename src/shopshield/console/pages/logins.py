"""Login protection: what the login guard decided per hour and why, the networks failures came
from, attack mode's periods and whether it is on now.

The numbers come from the guard's own hourly record (``guard.history``, decision 0037): kept in
this process's memory for a week of hours, so the page says since when it has been recording and
that an instance counts only the logins it assessed itself.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from shopshield.console import charts
from shopshield.console.views import View, page
from shopshield.core.errors import InvalidInput
from shopshield.core.permissions import Permission
from shopshield.core.times import parse_window
from shopshield.guard.engine import Guard
from shopshield.guard.history import HOUR, VERDICTS, Hour, Period, attack_periods

DEFAULT_HOURS: Final = 48
TOP_NETWORKS: Final = 10
TOP_REASONS_PER_HOUR: Final = 3
SERIES: Final = (
    charts.Series("allow", "#2f7a45"),
    charts.Series("challenge", "#c98a1b"),
    charts.Series("deny", "#a8323a"),
)


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _window(view: View, now: datetime) -> tuple[datetime, datetime, ZoneInfo]:
    """The hours asked for, whole hours, at most as many as the guard keeps."""
    for name in ("since", "until"):
        value = view.query(name)
        if value is not None and len(value) > 64:
            raise InvalidInput(f"{name}: at most 64 characters", field=name)
    window = parse_window(since=view.query("since"), until=view.query("until"), tz=view.ctx.settings.timezone)
    if window.until is not None:
        end = window.until
    else:
        # The end of the current hour, so the hour in progress is shown.
        end = datetime.fromtimestamp((int(now.timestamp()) // HOUR + 1) * HOUR, UTC)
    start = window.since if window.since is not None else end - timedelta(hours=DEFAULT_HOURS)
    start = datetime.fromtimestamp(int(start.timestamp()) // HOUR * HOUR, UTC)
    if start >= end:
        raise InvalidInput("since must be before until", field="since")
    keep = view.ctx.guard.history.keep_hours
    if end - start > timedelta(hours=keep):
        raise InvalidInput(f"since, until: the guard keeps {keep} hours; ask for at most that many", field="since")
    return start, end, window.tz


def _during(periods: list[Period], hour: Hour) -> bool:
    return any(p.overlaps(hour.start, hour.start + timedelta(seconds=HOUR)) for p in periods)


@dataclass(frozen=True, slots=True)
class Hours:
    """The guard's hours in a window, as rows for a table and a chart, with attack mode's periods."""

    hours: list[Hour]
    rows: list[dict[str, Any]]
    periods: list[Period]
    reasons: Counter[str]

    def chart(self) -> charts.StackedChart:
        return charts.stacked(
            "Logins decided per hour",
            SERIES,
            [(row["label"], [float(row[verdict]) for verdict in VERDICTS]) for row in self.rows],
        )


def hours_between(guard: Guard, start: datetime, end: datetime, zone: ZoneInfo) -> Hours:
    """The hours from ``start`` to ``end`` (whole hours, UTC) in the guard's record: what this
    page and the Overview show."""
    hours = guard.history.hours(start, end)
    # The guard appends to its list of changes under its lock; a copy is a consistent prefix.
    periods = [p for p in attack_periods(list(guard.attack.changes)) if p.overlaps(start, end)]
    rows: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    for hour in hours:
        reasons.update(hour.reasons)
        top = sorted(hour.reasons.items(), key=lambda item: (-item[1], item[0]))[:TOP_REASONS_PER_HOUR]
        rows.append(
            {
                "hour": _when(hour.start, zone),
                "label": hour.start.astimezone(zone).strftime("%m-%d %H"),
                **{verdict: hour.count(verdict) for verdict in VERDICTS},
                "decisions": hour.decisions,
                "failures": hour.failures,
                "attack": _during(periods, hour),
                "reasons": ", ".join(f"{code} {count}" for code, count in top),
            }
        )
    return Hours(hours, rows, periods, reasons)


def last_hours(guard: Guard, count: int, now: datetime, zone: ZoneInfo) -> Hours:
    """The last ``count`` hours, the hour in progress the last of them."""
    end = datetime.fromtimestamp((int(now.timestamp()) // HOUR + 1) * HOUR, UTC)
    return hours_between(guard, end - timedelta(hours=count), end, zone)


@page("/logins", title="Login protection", template="logins.html", permission=Permission.LOGINS_READ, nav=True)
def logins(view: View) -> dict[str, Any]:
    guard = view.ctx.guard
    now = datetime.now(UTC)
    start, end, zone = _window(view, now)
    found = hours_between(guard, start, end, zone)
    hours, rows, shown_periods, reasons = found.hours, found.rows, found.periods, found.reasons
    decisions = sum(row["decisions"] for row in rows)
    status = guard.status()
    since = status["attack_mode_since"]
    oldest = guard.history.oldest()
    return {
        "tz": zone.key,
        "since": view.query("since") or "",
        "until": view.query("until") or "",
        "first": _when(start, zone),
        "last": _when(end, zone),
        "status": {
            "on": bool(status["attack_mode"]),
            "since": None if since is None else _when(datetime.fromtimestamp(since, UTC), zone),
            "counters": status["counters"],
        },
        "recording": {
            "started": _when(guard.history.started_at, zone),
            "oldest": None if oldest is None else _when(oldest, zone),
            "keep_hours": guard.history.keep_hours,
        },
        "hours": rows,
        "totals": {
            **{verdict: sum(row[verdict] for row in rows) for verdict in VERDICTS},
            "decisions": decisions,
            "failures": sum(row["failures"] for row in rows),
        },
        "decisions_chart": found.chart(),
        "failures_chart": charts.bars("Failures per hour", [(row["label"], float(row["failures"])) for row in rows]),
        "reasons": [
            {"code": code, "count": count, "share": f"{count / decisions:.1%}"}
            for code, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ],
        "networks": [
            {"network": network, "failures": count}
            for network, count in guard.history.networks(start, end, top=TOP_NETWORKS)
        ],
        "unattributed": sum(hour.unattributed for hour in hours),
        "periods": [
            {
                "start": _when(p.start, zone),
                "end": None if p.end is None else _when(p.end, zone),
                "minutes": round(((p.end or now) - p.start).total_seconds() / 60),
            }
            for p in shown_periods
        ],
    }
