"""The engine end to end over memory and Redis: brute force, lockout attempts, attack mode, actions."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from shopshield.core.normalize import normalize_username
from shopshield.guard.actions import ActionKind, MemorySink
from shopshield.guard.config import load_config
from shopshield.guard.counters import (
    Add,
    Count,
    CounterStore,
    Distinct,
    Get,
    Known,
    MemoryCounters,
    Op,
    Pop,
    Put,
    RedisCounters,
    Remember,
    Resilient,
    Result,
)
from shopshield.guard.engine import Guard, GuardMetrics, Hasher, UnknownAttempt
from shopshield.guard.models import Attempt, Outcome, Verdict
from shopshield.guard.networks import Locations
from testkit.counting_redis import CountingRedis

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRET = b"k" * 32


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest()  # noqa: S324 - the store's own HIBP-style hash


class Corpus:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = {sha1(p): n for p, n in counts.items()}

    def count(self, sha1_hex: str) -> int:
        return self.counts.get(sha1_hex, 0)


class Pairs:
    def __init__(self, pairs: set[tuple[str, str]]) -> None:
        self.pairs = {(normalize_username(u), sha1(p)) for u, p in pairs}

    def contains(self, username: str, password_sha1_hex: str) -> bool:
        return (normalize_username(username), password_sha1_hex) in self.pairs


class Driver:
    """Attempts at chosen moments; ``login`` plays the store: assess, then report what it found."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.ids = itertools.count(1)

    def attempt(self, user: str, ip: str, device: str | None, password: str, at: float) -> Attempt:
        return Attempt(
            id=f"att-{next(self.ids):06d}",
            ts=START + timedelta(seconds=at),
            username=user,
            ip=ip,
            user_agent="Mozilla/5.0",
            device_id=device,
            password_sha1=sha1(password),
        )

    def login(self, user: str, ip: str, device: str | None, password: str, at: float, *, ok: bool) -> Verdict:
        attempt = self.attempt(user, ip, device, password, at)
        verdict = self.guard.assess(attempt).verdict
        if verdict is Verdict.CHALLENGE:
            self.guard.report(attempt.id, Outcome.CHALLENGE_PASSED if ok else Outcome.CHALLENGE_FAILED)
        if verdict is Verdict.ALLOW or (verdict is Verdict.CHALLENGE and ok):
            self.guard.report(attempt.id, Outcome.SUCCESS if ok else Outcome.BAD_PASSWORD)
        return verdict


def make_guard(store: CounterStore, **kw: object) -> Guard:
    return Guard(
        config=load_config(),
        counters=store,
        hasher=Hasher(SECRET),
        shared=not isinstance(store, MemoryCounters),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def guard(store: CounterStore) -> Guard:
    return make_guard(store)


def test_brute_force_on_one_account_is_denied(guard: Guard) -> None:
    drive = Driver(guard)
    verdicts = [drive.login("13800138000", "203.0.113.9", None, f"guess{i}", 10 + i, ok=False) for i in range(30)]
    assert verdicts[0] is Verdict.ALLOW
    # From the sixth try the attacker meets a challenge it cannot pass; from the eleventh, a denial.
    assert Verdict.ALLOW not in verdicts[5:]
    first_deny = verdicts.index(Verdict.DENY)
    assert first_deny <= 10
    assert all(v is Verdict.DENY for v in verdicts[first_deny:])


def test_others_cannot_lock_a_customer_out(guard: Guard) -> None:
    drive = Driver(guard)
    owner = ("+86 138 0013 8000", "10.1.2.3", "phone-1", "correct horse")
    assert drive.login(*owner, at=0, ok=True) is Verdict.ALLOW
    # An attacker fails on the account from 400 addresses in 200 networks, three tries each.
    for n in range(400):
        ip = f"198.{51 + n % 2}.{n // 2 % 250}.{n % 200 + 1}"
        for k in range(3):
            drive.login("13800138000", ip, None, f"x{n}-{k}", 60 + n + k / 3, ok=False)
    # A stranger's next try on the account is stopped (an attacker cannot pass the challenge).
    assert drive.login("13800138000", "198.51.7.9", None, "x", 500, ok=False) is not Verdict.ALLOW
    # The owner, from their phone at home, is never denied; at most challenged.
    verdicts = [drive.login(*owner, at=520 + i, ok=True) for i in range(5)]
    assert Verdict.DENY not in verdicts
    # And the owner has been told that someone is trying their account.
    sink = guard.actions
    assert isinstance(sink, MemorySink)
    notices = [a for _, user, actions in sink.delivered for a in actions if a.reason == "failed_attempts_on_account"]
    assert len(notices) >= 1
    assert all(user == "13800138000" for _, user, actions in sink.delivered)


def test_distributed_stuffing_turns_on_attack_mode_and_it_ends(guard: Guard) -> None:
    drive = Driver(guard)
    # Ordinary traffic: 200 customers log in from their own devices, with a few typos.
    for i in range(200):
        drive.login(f"user{i}@example.cn", f"10.9.{i % 250}.{i % 200 + 1}", f"dev-{i}", "pw", i * 5, ok=True)
    assert not guard.attack.on
    # Stuffing: one try per address, thousands of addresses, every one failing.
    verdicts = []
    for n in range(600):
        ip = f"{100 + n % 50}.{n % 7}.{n // 7 % 250}.{n % 250 + 1}"
        verdicts.append(drive.login(f"victim{n}@example.cn", ip, None, "leaked", 1000 + n * 0.2, ok=False))
    assert guard.attack.on
    tail = verdicts[100:]
    assert sum(v is not Verdict.ALLOW for v in tail) / len(tail) >= 0.99
    # A customer's new phone during the attack is challenged, their familiar phone is not.
    assert drive.login("user1@example.cn", "10.9.1.2", "new-phone", "pw", 1130, ok=True) is Verdict.CHALLENGE
    assert drive.login("user2@example.cn", "10.9.2.3", "dev-2", "pw", 1131, ok=True) is Verdict.ALLOW
    # Quiet again: after the hold, attack mode ends.
    hold = guard.config.attack.hold
    for i in range(3):
        drive.login(f"user{i}@example.cn", f"10.9.{i}.{i + 1}", f"dev-{i}", "pw", 1200 + hold + 400 + i, ok=True)
    assert not guard.attack.on
    assert [on for _, on in guard.attack.changes] == [True, False]


def test_a_risky_success_asks_for_a_reset_and_revocation(store: CounterStore) -> None:
    guard = make_guard(store, passwords=Corpus({"123456": 37_000_000}), pairs=Pairs({("bob@example.cn", "hunter2")}))
    drive = Driver(guard)
    attempt = drive.attempt("Bob@Example.cn", "10.0.0.8", "bob-phone", "hunter2", 0)
    assessed = guard.assess(attempt)
    assert {r.code for r in assessed.score.reasons} >= {"leaked_pair"}
    guard.report(attempt.id, Outcome.CHALLENGE_PASSED)
    actions = guard.report(attempt.id, Outcome.SUCCESS).actions
    assert [a.kind for a in actions] == [
        ActionKind.REQUIRE_PASSWORD_RESET,
        ActionKind.REVOKE_SESSIONS,
        ActionKind.NOTIFY_CUSTOMER,
    ]
    assert {a.reason for a in actions} == {"leaked_pair"}
    common = drive.attempt("carol@example.cn", "10.0.0.9", "carol-phone", "123456", 5)
    assert "breached_password" in {r.code for r in guard.assess(common).score.reasons}
    assert guard.report(common.id, Outcome.SUCCESS).actions[0].reason == "breached_password"
    # A plain success asks for nothing.
    plain = drive.attempt("dan@example.cn", "10.0.0.10", "dan-phone", "a long unique passphrase", 6)
    guard.assess(plain)
    assert guard.report(plain.id, Outcome.SUCCESS).actions == []


def test_outcomes_need_an_assessment(guard: Guard) -> None:
    drive = Driver(guard)
    with pytest.raises(UnknownAttempt):
        guard.report("att-never", Outcome.SUCCESS)
    attempt = drive.attempt("eve@example.cn", "10.0.0.11", None, "pw", 0)
    guard.assess(attempt)
    guard.report(attempt.id, Outcome.SUCCESS)
    with pytest.raises(UnknownAttempt):  # answered already
        guard.report(attempt.id, Outcome.SUCCESS)


def test_impossible_travel_with_a_location_source(store: CounterStore, tmp_path: Path) -> None:
    places = tmp_path / "places.csv"
    places.write_text("network,lat,lon,name\n10.1.0.0/16,39.90,116.40,Beijing\n10.2.0.0/16,22.54,114.06,Shenzhen\n")
    guard = make_guard(store, locations=Locations.load(places))
    drive = Driver(guard)
    assert drive.login("fay@example.cn", "10.1.0.5", "fay-phone", "pw", 0, ok=True) is Verdict.ALLOW
    quick = guard.assess(drive.attempt("fay@example.cn", "10.2.0.5", "fay-phone", "pw", 600))
    assert "impossible_travel" in {r.code for r in quick.score.reasons}
    later = guard.assess(drive.attempt("fay@example.cn", "10.2.0.5", "fay-phone", "pw", 6 * 3600))
    assert "impossible_travel" not in {r.code for r in later.score.reasons}


class Recording:
    """A counter store that keeps every batch it is handed, then runs it on memory."""

    backend = "memory"

    def __init__(self) -> None:
        self.inner = MemoryCounters()
        self.batches: list[Sequence[Op]] = []

    def run(self, ops: Sequence[Op], now: float) -> list[Result]:
        self.batches.append(ops)
        return self.inner.run(ops, now)


class OneResultTooMany(MemoryCounters):
    """A store whose answer does not fit its batch, as if an operation had been slipped in unnamed."""

    def run(self, ops: Sequence[Op], now: float) -> list[Result]:
        return [*super().run(ops, now), None]


def _what(op: Op) -> str:
    """An operation as the table below names it: its kind, its counter, and for the familiarity
    set the kind of member (history, a network, a device)."""
    if isinstance(op, Known | Remember):
        return f"{type(op).__name__} {op.member.split('.')[0]}"
    assert isinstance(op, Count | Add | Distinct | Get | Put | Pop)
    return f"{type(op).__name__} {op.name}"


# Every batch the engine sends, slot by slot and in order: the name its result is read by, and the
# operation that must produce it. A slot renamed, moved or added without its name fails here.
BATCHES = {
    "_AssessBatch": {
        "account_failures": "Count fail_acct",
        "account_ip_failures": "Count fail_acct_ip",
        "ip_failures": "Count fail_ip",
        "network_failures": "Count fail_net",
        "ip_attempts": "Count att_ip",
        "ip_unknown": "Count unk_ip",
        "ip_recent_failures": "Count fail_ip_long",
        "ip_usernames": "Distinct users_ip",
        "has_history": "Known history",
        "known_network": "Known n",
        "store_failures_short": "Count g_fail_s",
        "store_attempts_short": "Count g_att_s",
        "store_failures_long": "Count g_fail_l",
        "add_ip_attempt": "Add att_ip",
        "add_store_attempt": "Add g_att_s",
        "device_usernames": "Distinct users_dev",
        "known_device": "Known d",
        "last_place": "Get place",
        "stash": "Put stash",
    },
    "_SuccessBatch": {
        "has_history": "Known history",
        "known_network": "Known n",
        "known_device": "Known d",
        "remember_history": "Remember history",
        "remember_network": "Remember n",
        "remember_device": "Remember d",
        "place": "Put place",
        "stash": "Pop stash",
    },
    "_FailureBatch": {
        "account_failures": "Add fail_acct",
        "account_ip_failures": "Add fail_acct_ip",
        "ip_failures": "Add fail_ip",
        "network_failures": "Add fail_net",
        "ip_recent_failures": "Add fail_ip_long",
        "store_failures_short": "Add g_fail_s",
        "store_failures_long": "Add g_fail_l",
        "ip_unknown": "Add unk_ip",
        "stash": "Pop stash",
    },
}


def _places(tmp_path: Path) -> Locations:
    places = tmp_path / "places.csv"
    places.write_text("network,lat,lon,name\n10.1.0.0/16,39.90,116.40,Beijing\n")
    return Locations.load(places)


def test_every_batch_result_is_read_by_the_name_of_its_operation(tmp_path: Path) -> None:
    store = Recording()
    guard = make_guard(store, locations=_places(tmp_path))  # shared: the stash slots are used too
    drive = Driver(guard)
    # A device, a place and a shared store fill every slot; a success, then an unknown user's
    # failure, send the two outcome batches.
    drive.login("hal@example.cn", "10.1.0.7", "hal-phone", "pw", 0, ok=True)
    unknown = drive.attempt("nobody@example.cn", "10.1.0.8", "hal-phone", "pw", 5)
    guard.assess(unknown)
    guard.report(unknown.id, Outcome.UNKNOWN_USER)
    sent = {type(batch).__name__: batch for batch in store.batches}
    assert set(sent) == set(BATCHES)
    for shape, expected in BATCHES.items():
        batch = sent[shape]
        # In order too: a pipeline runs in order, and the reads must come before the writes.
        sent_in_order = [(name, _what(op)) for name, op in zip(batch._fields, batch, strict=True)]  # type: ignore[attr-defined]
        assert sent_in_order == list(expected.items())


def test_a_batch_answered_with_the_wrong_number_of_results_is_refused() -> None:
    guard = make_guard(OneResultTooMany())
    attempt = Driver(guard).attempt("ivy@example.cn", "10.0.0.12", "ivy-phone", "pw", 0)
    # Read by position, a result list that does not fit its batch goes unnoticed; read by name, it
    # is refused.
    with pytest.raises(TypeError):
        guard.assess(attempt)


def test_every_batch_is_one_redis_round_trip(redis_client: CountingRedis, redis_prefix: str, tmp_path: Path) -> None:
    guard = make_guard(RedisCounters(redis_client, prefix=redis_prefix), locations=_places(tmp_path))
    drive = Driver(guard)
    trips: list[int] = []
    for outcome, user in ((Outcome.SUCCESS, "jo@example.cn"), (Outcome.UNKNOWN_USER, "nobody@example.cn")):
        attempt = drive.attempt(user, "10.1.0.9", "jo-phone", "pw", len(trips))
        before = redis_client.trips
        assert guard.assess(attempt).verdict is Verdict.ALLOW
        middle = redis_client.trips
        guard.report(attempt.id, outcome)
        trips += [middle - before, redis_client.trips - middle]
    # Every slot filled (a device, a place, the stash): the assessment, a success and a failure
    # are still one pipeline each.
    assert trips == [1, 1, 1, 1]


def test_an_assessment_costs_at_most_two_redis_round_trips(redis_client: CountingRedis, redis_prefix: str) -> None:
    guard = make_guard(RedisCounters(redis_client, prefix=redis_prefix))
    drive = Driver(guard)
    trips: dict[Verdict, set[int]] = {}
    for i in range(20):
        attempt = drive.attempt("13900139000", "203.0.113.50", None, f"g{i}", i)
        before = redis_client.trips
        verdict = guard.assess(attempt).verdict
        trips.setdefault(verdict, set()).add(redis_client.trips - before)
        if verdict is not Verdict.DENY:
            guard.report(attempt.id, Outcome.BAD_PASSWORD)
    # One batch reads, counts and stashes; a denial adds one to count itself as a failure.
    assert trips[Verdict.ALLOW] == {1}
    assert trips[Verdict.DENY] == {2}


def test_instances_share_state_and_hand_over_outcomes(redis_client: CountingRedis, redis_prefix: str) -> None:
    one = make_guard(RedisCounters(redis_client, prefix=redis_prefix))
    two = make_guard(RedisCounters(redis_client, prefix=redis_prefix))
    drive_one, drive_two = Driver(one), Driver(two)
    attempt = drive_one.attempt("gus@example.cn", "10.3.0.1", "gus-phone", "pw", 0)
    one.assess(attempt)
    two.report(attempt.id, Outcome.SUCCESS)  # the outcome reached the other instance
    # Instance two now knows gus's device and network, learnt through the shared store.
    familiar = two.assess(drive_two.attempt("gus@example.cn", "10.3.0.1", "gus-phone", "pw", 10))
    assert familiar.score.reasons == ()
    # Nothing in Redis names gus, his address or his device.
    for key in redis_client.scan_iter(match=f"{redis_prefix}:*"):
        blob = key + (redis_client.dump(key) or b"")
        for secret in (b"gus", b"10.3.0.1", b"gus-phone", sha1("pw").encode()):
            assert secret not in blob


def test_decisions_continue_when_redis_is_down(redis_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2, socket_connect_timeout=0.2)
    metrics = GuardMetrics()
    counters = Resilient(
        RedisCounters(dead, prefix=redis_prefix), MemoryCounters(), retry_after=60, on_fallback=metrics.fallbacks.inc
    )
    guard = make_guard(counters, metrics=metrics)
    drive = Driver(guard)
    verdicts = [drive.login("13700137000", "203.0.113.77", None, f"g{i}", i, ok=False) for i in range(12)]
    assert Verdict.DENY in verdicts  # local counters still catch the brute force
    fallbacks = metrics.registry.get_sample_value("shopshield_login_counter_fallbacks_total")
    assert fallbacks is not None and fallbacks >= 12
    assert guard.status()["counters"] == "memory (redis unavailable)"
    warnings = [r.getMessage() for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1  # logged once, not once per login
    assert "13700137000" not in caplog.text


def test_metrics_count_by_label_and_show_only_the_labels_seen() -> None:
    metrics = GuardMetrics()
    drive = Driver(make_guard(MemoryCounters(), metrics=metrics))
    for i in range(2):
        assert drive.login("kim@example.cn", "10.0.0.13", "kim-phone", "pw", i, ok=True) is Verdict.ALLOW
    sample = metrics.registry.get_sample_value
    assert sample("shopshield_login_decisions_total", {"verdict": "allow"}) == 2
    assert sample("shopshield_login_outcomes_total", {"outcome": "success"}) == 2
    # A verdict or outcome never seen has no series at all, rather than one at 0.
    assert sample("shopshield_login_decisions_total", {"verdict": "deny"}) is None
    assert sample("shopshield_login_outcomes_total", {"outcome": "bad_password"}) is None


def test_usernames_are_normalised() -> None:
    assert normalize_username(" +86 138-0013-8000 ") == "13800138000"
    assert normalize_username("0086 13800138000") == "13800138000"
    assert normalize_username("Alice@Example.CN ") == "alice@example.cn"
    assert normalize_username("Ｂｏｂ") == "bob"
