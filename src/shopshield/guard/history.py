"""What the login guard decided, hour by hour: verdicts, the reasons named, failures and the networks
they came from; and attack mode's periods from the changes ``AttackMode`` keeps.

The guard's counters are sliding windows that forget (docs/login-protection.md), so they cannot
say what happened yesterday at 14:00. This is the smallest record that can: counts per hour in
the process's memory, a week of hours at most, the network counts of an hour capped so a stuffing
run over a hundred thousand networks cannot grow it without bound. It holds no username, address
or device: only verdicts, reason codes and /24 or /64 network prefixes (the unit the guard already
counts failures in). It is per process and starts empty, like the in-process counters: an instance
behind a load balancer sees its own share, and a restart forgets (decision 0037).

Pure: no clock of its own, no store, no I/O; ``engine.Guard`` feeds it, the console reads it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

HOUR: Final = 3600
KEEP_HOURS: Final = 7 * 24
# Distinct failing networks kept per hour; failures from further networks are counted apart
# (``Hour.unattributed``), so totals stay exact while the memory stays bounded.
NETWORKS_PER_HOUR: Final = 2000
VERDICTS: Final = ("allow", "challenge", "deny")


@dataclass(slots=True)
class _Tally:
    verdicts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    failures: int = 0
    networks: Counter[str] = field(default_factory=Counter)
    unattributed: int = 0


@dataclass(frozen=True, slots=True)
class Hour:
    """One hour's counts, as readers get them (a copy: the live tally keeps changing)."""

    start: datetime  # UTC, on the hour
    verdicts: dict[str, int]
    reasons: dict[str, int]
    failures: int
    unattributed: int  # failures from networks past the hour's cap

    @property
    def decisions(self) -> int:
        return sum(self.verdicts.values())

    def count(self, verdict: str) -> int:
        return self.verdicts.get(verdict, 0)


@dataclass(frozen=True, slots=True)
class Period:
    """Attack mode from ``start`` to ``end`` (None: still on)."""

    start: datetime
    end: datetime | None

    def overlaps(self, since: datetime, until: datetime) -> bool:
        return self.start < until and (self.end is None or self.end > since)


class LoginHistory:
    """Counts per UTC hour of the attempts' own times (a replay of yesterday lands in yesterday's
    hours); thread-safe, as the guard is."""

    def __init__(
        self, *, keep_hours: int = KEEP_HOURS, networks_per_hour: int = NETWORKS_PER_HOUR, now: float | None = None
    ) -> None:
        self.keep_hours = keep_hours
        self.networks_per_hour = networks_per_hour
        self.started_at = datetime.fromtimestamp(time.time() if now is None else now, UTC)
        self._hours: dict[int, _Tally] = {}
        self._lock = threading.Lock()

    def _tally(self, at: float) -> _Tally:
        # Called with the lock held.
        index = int(at // HOUR)
        tally = self._hours.get(index)
        if tally is None:
            tally = self._hours[index] = _Tally()
            if len(self._hours) > self.keep_hours:
                # The oldest hour goes, even if it is the one just made (a stray old attempt).
                del self._hours[min(self._hours)]
        return tally

    def decided(self, at: float, verdict: str, reasons: Iterable[str]) -> None:
        """An assessment at ``at`` (epoch seconds): its verdict and the codes of the reasons it named."""
        with self._lock:
            tally = self._tally(at)
            tally.verdicts[verdict] += 1
            tally.reasons.update(reasons)

    def failed(self, at: float, network: str) -> None:
        """A failure counted at ``at`` (a denial, or a failed outcome) from ``network``."""
        with self._lock:
            tally = self._tally(at)
            tally.failures += 1
            if network in tally.networks or len(tally.networks) < self.networks_per_hour:
                tally.networks[network] += 1
            else:
                tally.unattributed += 1

    def hours(self, since: datetime, until: datetime) -> list[Hour]:
        """Every hour from the one holding ``since`` up to ``until`` (exclusive), quiet hours
        included as zeros: a chart must show them too."""
        first, last = _index(since), _index(until - timedelta(microseconds=1))
        with self._lock:
            found = {i: self._hours[i] for i in range(first, last + 1) if i in self._hours}
            return [_hour(i, found.get(i)) for i in range(first, last + 1)]

    def networks(self, since: datetime, until: datetime, *, top: int) -> list[tuple[str, int]]:
        """The ``top`` networks by failures over the hours of the window, most first (then by
        network, so equal counts read the same every time)."""
        first, last = _index(since), _index(until - timedelta(microseconds=1))
        total: Counter[str] = Counter()
        with self._lock:
            for index, tally in self._hours.items():
                if first <= index <= last:
                    total.update(tally.networks)
        return sorted(total.items(), key=lambda item: (-item[1], item[0]))[:top]

    def oldest(self) -> datetime | None:
        """The start of the oldest hour still kept."""
        with self._lock:
            return None if not self._hours else datetime.fromtimestamp(min(self._hours) * HOUR, UTC)


def _index(moment: datetime) -> int:
    return int(moment.timestamp() // HOUR)


def _hour(index: int, tally: _Tally | None) -> Hour:
    start = datetime.fromtimestamp(index * HOUR, UTC)
    if tally is None:
        return Hour(start, {}, {}, 0, 0)
    return Hour(start, dict(tally.verdicts), dict(tally.reasons), tally.failures, tally.unattributed)


def attack_periods(changes: Sequence[tuple[float, bool]]) -> list[Period]:
    """Attack mode's periods from its changes in time order (on, off, on, ...): the last one has no
    end while the mode is on."""
    periods: list[Period] = []
    start: float | None = None
    for at, on in changes:
        if on and start is None:
            start = at
        elif not on and start is not None:
            periods.append(Period(_utc(start), _utc(at)))
            start = None
    if start is not None:
        periods.append(Period(_utc(start), None))
    return periods


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
