"""The guard's hourly record: what it counts, how it stays bounded, and attack mode's periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shopshield.guard.config import load_config
from shopshield.guard.counters import MemoryCounters
from shopshield.guard.engine import Guard, Hasher
from shopshield.guard.history import HOUR, LoginHistory, Period, attack_periods
from shopshield.guard.models import Attempt, Outcome, Verdict

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _at(hours: float) -> float:
    return T0.timestamp() + hours * HOUR


def test_counts_land_in_the_hour_of_their_own_time_and_quiet_hours_read_as_zero() -> None:
    history = LoginHistory()
    history.decided(_at(0.1), "allow", [])
    history.decided(_at(0.9), "challenge", ["new_device", "no_history"])
    history.decided(_at(2.5), "deny", ["ip_failures"])
    history.failed(_at(2.5), "192.0.2.0/24")
    hours = history.hours(T0, T0 + timedelta(hours=3))
    assert [h.start for h in hours] == [T0 + timedelta(hours=n) for n in range(3)]
    assert [h.verdicts for h in hours] == [{"allow": 1, "challenge": 1}, {}, {"deny": 1}]
    assert hours[0].reasons == {"new_device": 1, "no_history": 1}
    assert [h.decisions for h in hours] == [2, 0, 1]
    assert [h.failures for h in hours] == [0, 0, 1]
    # A window starting inside an hour includes that hour; its end is exclusive.
    assert len(history.hours(T0 + timedelta(minutes=30), T0 + timedelta(hours=2))) == 2


def test_the_oldest_hours_go_first_and_network_counts_are_capped() -> None:
    history = LoginHistory(keep_hours=3, networks_per_hour=2)
    for n in range(5):
        history.decided(_at(n), "allow", [])
    assert history.oldest() == T0 + timedelta(hours=2)
    assert [h.decisions for h in history.hours(T0, T0 + timedelta(hours=5))] == [0, 0, 1, 1, 1]
    # A stray old attempt does not push out a recent hour: it is the oldest, so it goes itself.
    history.decided(_at(-10), "deny", [])
    assert history.oldest() == T0 + timedelta(hours=2)
    for network in ("a", "b", "a", "c", "d", "b"):
        history.failed(_at(4), network)
    (hour,) = history.hours(T0 + timedelta(hours=4), T0 + timedelta(hours=5))
    assert (hour.failures, hour.unattributed) == (6, 2)
    assert history.networks(T0, T0 + timedelta(hours=5), top=5) == [("a", 2), ("b", 2)]


def test_attack_periods_from_the_changes() -> None:
    assert attack_periods([]) == []
    on = [(_at(1), True), (_at(2), False), (_at(3), True)]
    start = datetime.fromtimestamp(_at(1), UTC)
    assert attack_periods(on) == [
        Period(start, start + timedelta(hours=1)),
        Period(start + timedelta(hours=2), None),
    ]
    assert Period(start, None).overlaps(T0, T0 + timedelta(minutes=61))
    assert not Period(start, start + timedelta(hours=1)).overlaps(T0, start)


def test_the_engine_records_each_decision_and_failure() -> None:
    guard = Guard(config=load_config(), counters=MemoryCounters(), hasher=Hasher(b"k" * 32))

    def attempt(n: int, ip: str, hours: float) -> Attempt:
        return Attempt(
            id=f"a-{n}",
            ts=datetime.fromtimestamp(_at(hours), UTC),
            username="13800138000",
            ip=ip,
            user_agent="app",
            device_id=None,
            password_sha1="0" * 40,
        )

    verdicts = []
    for n in range(20):
        decided = guard.assess(attempt(n, "198.51.100.7", 0.5))
        verdicts.append(decided.verdict)
        if decided.verdict is Verdict.ALLOW:
            guard.report(f"a-{n}", Outcome.BAD_PASSWORD)
        elif decided.verdict is Verdict.CHALLENGE:
            guard.report(f"a-{n}", Outcome.CHALLENGE_FAILED)
    (hour,) = guard.history.hours(T0, T0 + timedelta(hours=1))
    assert hour.verdicts == {v.value: verdicts.count(v) for v in set(verdicts)}
    assert Verdict.DENY in verdicts  # the brute force was stopped, and each denial is a failure
    assert hour.failures == 20
    assert guard.history.networks(T0, T0 + timedelta(hours=1), top=3) == [("198.51.100.0/24", 20)]
