"""``simulate logins``: same seed, same bytes; the shared format; and the shapes of the legitimate
traffic and the attacks that the engine and the baselines are measured on."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shopshield.guard.models import Attempt, Truth
from shopshield.guard.replay import parse_line
from shopshield.simulate.logins import (
    ACTORS,
    BRUTE_FORCE_TRIES,
    SPRAY_IPS,
    SPRAY_PASSWORDS,
    InvalidLoginSimConfig,
    LoginSimConfig,
    LoginSimPaths,
    common_passwords,
    generate_logins,
)

SMALL = LoginSimConfig(seed=5, customers=1500, days=3, leaked=4000)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> LoginSimPaths:
    return generate_logins(SMALL, tmp_path_factory.mktemp("logins") / "week.jsonl").paths


@pytest.fixture(scope="module")
def rows(sim: LoginSimPaths) -> list[tuple[Attempt, Truth, dict[str, Any]]]:
    """Every attempt, its truth and its label, in file order."""
    labels = [json.loads(line) for line in sim.truth.read_text(encoding="utf-8").splitlines()]
    lines = sim.attempts.read_bytes().splitlines()
    assert len(lines) == len(labels)
    return [(*parse_line(raw, n), label) for n, (raw, label) in enumerate(zip(lines, labels, strict=True), start=1)]


def _by_actor(
    rows: list[tuple[Attempt, Truth, dict[str, Any]]], actor: str
) -> list[tuple[Attempt, Truth, dict[str, Any]]]:
    return [r for r in rows if r[2]["actor"] == actor]


def _sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest()


def _summary(sim: LoginSimPaths) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(sim.summary.read_text(encoding="utf-8"))
    return loaded


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path, sim: LoginSimPaths) -> None:
    again = generate_logins(SMALL, tmp_path / "again" / "week.jsonl").paths
    for first, second in zip(sim.all(), again.all(), strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    other = generate_logins(LoginSimConfig(seed=6, customers=1500, days=3, leaked=4000), tmp_path / "other.jsonl")
    assert other.paths.attempts.read_bytes() != sim.attempts.read_bytes()


def test_the_files_sit_beside_the_attempts(sim: LoginSimPaths) -> None:
    assert {p.name for p in sim.attempts.parent.iterdir()} == {
        "week.jsonl",
        "week.truth.jsonl",
        "week.summary.json",
        "week.leaked-pairs.txt",
        "week.breached-passwords.txt",
        "week.history.jsonl",
    }


def test_the_history_is_customers_own_successes_before_the_log(sim: LoginSimPaths) -> None:
    first = min(parse_line(raw, n)[0].ts for n, raw in enumerate(sim.attempts.read_bytes().splitlines()[:1], 1))
    history = [parse_line(raw, n) for n, raw in enumerate(sim.history.read_bytes().splitlines(), 1)]
    assert history and all(a.ts < first for a, _ in history)
    assert all(t.user_exists and t.password_ok for _, t in history)
    assert [a.ts for a, _ in history] == sorted(a.ts for a, _ in history)
    customers = {a.username for a, _ in history}
    summary = json.loads(sim.summary.read_text(encoding="utf-8"))
    assert len(customers) == summary["customers"]["total"]  # every customer, on every device
    assert all(a.device_id for a, _ in history)


def test_every_line_is_in_the_shared_format_in_time_order(rows: list[tuple[Attempt, Truth, dict[str, Any]]]) -> None:
    ids = [a.id for a, _, _ in rows]
    assert len(set(ids)) == len(ids)
    assert [label["id"] for _, _, label in rows] == ids
    times = [a.ts for a, _, _ in rows]
    assert times == sorted(times)
    assert {t.utcoffset() for t in times} == {timedelta(hours=8)}
    assert {label["actor"] for _, _, label in rows} == set(ACTORS)
    for _, truth, label in rows:
        assert not truth.password_ok or truth.user_exists
        assert (label["customer"] is not None) == (truth.user_exists or label["actor"] == "legit")


def test_summary_counts_match_the_files(sim: LoginSimPaths, rows: list[tuple[Attempt, Truth, dict[str, Any]]]) -> None:
    summary = _summary(sim)
    counts = Counter(label["actor"] for _, _, label in rows)
    assert summary["counts"] == {"attempts": len(rows), **{a: counts[a] for a in ACTORS}}
    assert summary["seed"] == 5 and summary["config"]["customers"] == 1500
    exposed = {a: len({x.username for x, t, _ in _by_actor(rows, a) if t.password_ok}) for a in ACTORS[1:]}
    assert summary["exposed"] == exposed
    assert exposed["stuffing"] > 0 and exposed["brute_force"] == 1 and exposed["lockout"] == 0


def test_the_attackers_inputs_are_the_breach_list_and_a_corpus_that_holds_it(
    sim: LoginSimPaths, rows: list[tuple[Attempt, Truth, dict[str, Any]]]
) -> None:
    pairs = [line.split(":", 1) for line in sim.leaked_pairs.read_text(encoding="utf-8").splitlines()]
    assert len(pairs) == SMALL.leaked
    corpus = set(sim.breached_passwords.read_text(encoding="utf-8").splitlines())
    assert {p for _, p in pairs} <= corpus and "123456" in corpus and "19880101" in corpus
    # Stuffing replays exactly those pairs, hashed as the store would hash them.
    leaked = {(u, _sha1(p)) for u, p in pairs}
    stuffing = _by_actor(rows, "stuffing")
    assert {(a.username, a.password_sha1) for a, _, _ in stuffing} == leaked
    # Some of the store's customers are on the list, and some of those reused their password here.
    assert 0 < sum(t.user_exists for _, t, _ in stuffing) < len(stuffing) // 4
    assert sum(t.password_ok for _, t, _ in stuffing) > 0


def test_stuffing_spreads_over_proxies_with_one_or_two_tries_each(
    rows: list[tuple[Attempt, Truth, dict[str, Any]]],
) -> None:
    stuffing = _by_actor(rows, "stuffing")
    per_ip = Counter(a.ip for a, _, _ in stuffing)
    assert max(per_ip.values()) <= 2
    assert len(per_ip) > len(stuffing) / 2
    assert len({ip.rsplit(".", 1)[0] for ip in per_ip}) > len(per_ip) / 5
    assert len({a.user_agent for a, _, _ in stuffing}) <= 4
    assert not any(t.challenge_passed for _, t, _ in stuffing)
    # A few hours, and far faster than the store's own failures in any hour before it.
    times = [a.ts for a, _, _ in stuffing]
    hours = (max(times) - min(times)).total_seconds() / 3600
    assert 3 <= hours <= 5
    legit_failures = Counter(
        a.ts.replace(minute=0, second=0, microsecond=0) for a, t, _ in _by_actor(rows, "legit") if not t.password_ok
    )
    assert len(stuffing) / hours > 10 * max(legit_failures.values())


def test_shared_mobile_gateways_carry_many_customers(rows: list[tuple[Attempt, Truth, dict[str, Any]]]) -> None:
    customers_per_ip: defaultdict[str, set[str]] = defaultdict(set)
    for attempt, _, label in _by_actor(rows, "legit"):
        customers_per_ip[attempt.ip].add(label["customer"])
    busiest = sorted((len(c) for c in customers_per_ip.values()), reverse=True)
    assert busiest[9] >= 20  # at least ten addresses each shared by twenty customers or more
    assert any(":" in ip for ip in customers_per_ip)  # home IPv6 too


def test_legitimate_customers_mistype_forget_change_phones_and_mostly_pass_challenges(
    sim: LoginSimPaths, rows: list[tuple[Attempt, Truth, dict[str, Any]]]
) -> None:
    legit = _by_actor(rows, "legit")
    failures = sum(not t.password_ok for _, t, _ in legit) / len(legit)
    assert 0.03 < failures < 0.15
    assert 0.97 < sum(t.challenge_passed for _, t, _ in legit) / len(legit) < 1
    assert any(not t.user_exists for _, t, _ in legit)  # a mistyped username
    # A typo: a wrong password, then the right one from the same place within a minute.
    by_customer: defaultdict[str, list[tuple[Attempt, Truth]]] = defaultdict(list)
    for attempt, truth, label in legit:
        by_customer[label["customer"]].append((attempt, truth))
    typos = sum(
        1
        for seq in by_customer.values()
        for (a, t), (b, u) in itertools.pairwise(seq)
        if not t.password_ok and u.password_ok and a.ip == b.ip and (b.ts - a.ts).total_seconds() < 60
    )
    assert typos > 50
    assert max(len({a.device_id for a, _ in seq if a.device_id}) for seq in by_customer.values()) >= 2
    events = _summary(sim)["legit_events"]
    assert events["new_phones"] > 0 and events["trips"] > 0 and events["resets"] > 0


def test_brute_force_tries_the_dictionary_on_one_account_from_two_servers(
    rows: list[tuple[Attempt, Truth, dict[str, Any]]],
) -> None:
    brute = _by_actor(rows, "brute_force")
    assert len(brute) == BRUTE_FORCE_TRIES
    assert len({a.username for a, _, _ in brute}) == 1 and len({a.ip for a, _, _ in brute}) == 2
    assert sum(t.password_ok for _, t, _ in brute) == 1
    dictionary = [_sha1(p) for p in common_passwords()[:BRUTE_FORCE_TRIES]]
    assert [a.password_sha1 for a, _, _ in brute] == dictionary


def test_spraying_tries_a_few_common_passwords_on_many_accounts(
    rows: list[tuple[Attempt, Truth, dict[str, Any]]],
) -> None:
    spray = _by_actor(rows, "spraying")
    assert len({a.password_sha1 for a, _, _ in spray}) == SPRAY_PASSWORDS
    assert len({a.ip for a, _, _ in spray}) == SPRAY_IPS
    per_account = Counter(a.username for a, _, _ in spray)
    assert len(per_account) >= 50 and max(per_account.values()) == SPRAY_PASSWORDS
    assert 0.7 < sum(t.user_exists for _, t, _ in spray) / len(spray) < 0.9


def test_the_lockout_victim_keeps_logging_in_from_their_own_phone_and_home(
    sim: LoginSimPaths, rows: list[tuple[Attempt, Truth, dict[str, Any]]]
) -> None:
    attack = _by_actor(rows, "lockout")
    victim = _summary(sim)["attacks"]["lockout"]["victim"]
    assert {a.username for a, _, _ in attack} == {victim}
    assert not any(t.password_ok for _, t, _ in attack)
    assert max(Counter(a.ip for a, _, _ in attack).values()) <= 2
    first, last = min(a.ts for a, _, _ in attack), max(a.ts for a, _, _ in attack)
    own = [(a, t) for a, t, label in _by_actor(rows, "legit") if label["customer"] == victim]
    before = {a.device_id for a, _ in own if a.ts < first}
    during = [(a, t) for a, t in own if first <= a.ts <= last]
    assert len(during) >= 8
    assert all(t.password_ok for _, t in during[:3])
    assert {a.device_id for a, _ in during} & before  # a device the account had used before the attack


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("customers", 10, "must be at least 100"),
        ("days", 0, "must be between 1 and 366"),
        ("leaked", 0, "must be at least 1"),
        ("logins_per_day", 0, "must be more than 0"),
        ("seed", -1, "must be 0 or more"),
        ("reuse_share", 1.5, "must be between 0 and 1"),
    ],
)
def test_a_bad_config_names_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(InvalidLoginSimConfig) as caught:
        LoginSimConfig(**{"seed": 1, field: value})  # type: ignore[arg-type]
    assert [name for name, _ in caught.value.problems] == [field]
    assert message in str(caught.value)


def test_one_day_still_holds_every_attack(tmp_path: Path) -> None:
    summary = generate_logins(LoginSimConfig(seed=2, customers=300, days=1, leaked=500), tmp_path / "day.jsonl")
    assert all(summary.counts[a] > 0 for a in ACTORS)
    first = datetime.fromisoformat("2026-10-01T00:00:00+08:00")
    for raw in summary.paths.attempts.read_bytes().splitlines():
        attempt, _ = parse_line(raw, 1)
        assert 0 <= (attempt.ts - first).total_seconds() < 26 * 3600
