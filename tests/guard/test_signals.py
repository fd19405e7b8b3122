"""Scoring from a reading: steps, thresholds, attack mode, and the no-lockout ceiling."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from shopshield.guard.config import GuardConfigError, load_config
from shopshield.guard.models import Verdict
from shopshield.guard.signals import Reading, score, step

CONFIG = load_config()
QUIET = Reading(
    account_failures=0,
    account_ip_failures=0,
    ip_failures=0,
    network_failures=0,
    ip_attempts=0,
    ip_unknown=0,
    ip_recent_failures=0,
    ip_usernames=1,
    device_usernames=1,
    has_history=True,
    known_device=True,
    known_network=True,
    breach_count=0,
    leaked_pair=False,
    travel_kmh=None,
    travel_km=0.0,
    attack_mode=False,
)


def read(**changes: object) -> Reading:
    return dataclasses.replace(QUIET, **changes)  # type: ignore[arg-type]


def codes(reading: Reading) -> set[str]:
    return {r.code for r in score(reading, CONFIG).reasons}


def test_step_takes_the_highest_step_reached() -> None:
    steps = [(5.0, 20), (15.0, 40)]
    assert [step(steps, v) for v in (0, 4.9, 5, 14, 15, 99)] == [0, 0, 20, 20, 40, 40]


def test_a_familiar_login_is_allowed_with_no_reasons() -> None:
    result = score(QUIET, CONFIG)
    assert result.verdict is Verdict.ALLOW and result.risk == 0 and result.reasons == ()


def test_brute_force_from_one_address_is_denied() -> None:
    stranger = read(has_history=False, known_device=None, known_network=False)
    assert score(dataclasses.replace(stranger, account_ip_failures=10), CONFIG).verdict is Verdict.CHALLENGE
    result = score(dataclasses.replace(stranger, account_ip_failures=30), CONFIG)
    assert result.verdict is Verdict.DENY
    assert "account_ip_failures" in {r.code for r in result.reasons}


def test_others_failures_never_deny_a_familiar_login() -> None:
    storm = read(account_failures=500, account_ip_failures=500, ip_failures=500, network_failures=500, attack_mode=True)
    result = score(storm, CONFIG)
    assert result.risk == 100
    assert result.verdict is Verdict.CHALLENGE and result.capped
    relaxed = CONFIG.model_copy(update={"known_login_max": "allow"})
    assert score(storm, relaxed).verdict is Verdict.ALLOW


def test_a_device_that_tried_many_accounts_is_not_protected() -> None:
    result = score(read(device_usernames=10), CONFIG)
    assert result.verdict is Verdict.DENY and not result.capped


def test_the_same_storm_denies_a_login_new_to_the_account() -> None:
    storm = read(known_device=False, known_network=False, account_failures=500, ip_failures=500)
    assert score(storm, CONFIG).verdict is Verdict.DENY


def test_breached_password_and_new_device_earn_a_challenge() -> None:
    result = score(read(breach_count=3, known_device=False, known_network=False), CONFIG)
    assert result.verdict is Verdict.CHALLENGE
    assert codes(read(breach_count=3, known_device=False, known_network=False)) == {
        "breached_password",
        "new_device",
        "new_network",
    }
    common = score(read(breach_count=CONFIG.signals.common_count, known_device=False), CONFIG)
    assert common.risk == CONFIG.signals.breached_password_common + CONFIG.signals.new_device


def test_a_leaked_password_on_the_accounts_own_device_adds_no_friction() -> None:
    result = score(read(breach_count=10**6, leaked_pair=True), CONFIG)
    assert result.verdict is Verdict.ALLOW and result.risk == 0
    # Still named, so the store sees why a reset follows.
    assert [(r.code, r.points) for r in result.reasons] == [("breached_password", 0), ("leaked_pair", 0)]


def test_attack_mode_lowers_the_bar_for_logins_new_to_the_account() -> None:
    new_phone = read(known_device=False)
    assert score(new_phone, CONFIG).verdict is Verdict.ALLOW
    during = score(read(known_device=False, attack_mode=True), CONFIG)
    assert during.verdict is Verdict.CHALLENGE
    assert "attack_mode" in {r.code for r in during.reasons}
    # A familiar login gets no attack-mode points.
    assert score(read(attack_mode=True), CONFIG).verdict is Verdict.ALLOW


def test_usernames_per_address_count_only_where_the_address_fails() -> None:
    carrier_nat = read(ip_usernames=40, ip_attempts=100, ip_recent_failures=10)
    assert "ip_usernames" not in codes(carrier_nat)
    stuffing_proxy = read(ip_usernames=40, ip_attempts=100, ip_recent_failures=90)
    assert "ip_usernames" in codes(stuffing_proxy)


def test_an_address_whose_attempts_nearly_all_fail() -> None:
    spraying = read(ip_attempts=25, ip_recent_failures=24)
    assert "ip_failure_share" in codes(spraying)
    assert "ip_failure_share" not in codes(read(ip_attempts=19, ip_recent_failures=19))  # too few to judge
    assert "ip_failure_share" not in codes(read(ip_attempts=500, ip_recent_failures=40))  # a carrier's NAT


def test_unknown_username_share_needs_enough_attempts() -> None:
    assert "ip_unknown_share" not in codes(read(ip_attempts=2, ip_unknown=2))
    assert "ip_unknown_share" in codes(read(ip_attempts=4, ip_unknown=3))


def test_what_a_login_is_earns_a_challenge_at_most() -> None:
    everything = read(
        breach_count=10**6,
        leaked_pair=True,
        has_history=False,
        known_device=None,
        known_network=False,
        attack_mode=True,
    )
    result = score(everything, CONFIG)
    assert result.verdict is Verdict.CHALLENGE and result.risk == CONFIG.deny_at - 1
    # Behaviour on top of it denies.
    assert score(dataclasses.replace(everything, ip_failures=10), CONFIG).verdict is Verdict.DENY


def test_impossible_travel() -> None:
    assert "impossible_travel" in codes(read(travel_kmh=5000.0, travel_km=1200.0))
    assert "impossible_travel" not in codes(read(travel_kmh=300.0, travel_km=1200.0))


def test_reasons_name_numbers_not_people() -> None:
    result = score(read(ip_failures=34, known_network=False), CONFIG)
    assert [r.text() for r in result.reasons] == [
        "ip_failures: 34 failed logins from this address",
        "new_network: a network this account has not logged in from",
    ]


def test_config_override_and_errors(tmp_path: Path) -> None:
    override = tmp_path / "guard.toml"
    override.write_text("challenge_at = 30\n[signals]\nleaked_pair = 90\n")
    loaded = load_config(override)
    assert loaded.challenge_at == 30 and loaded.signals.leaked_pair == 90
    assert loaded.deny_at == CONFIG.deny_at  # untouched keys keep their defaults
    override.write_text("[signals]\nip_failures = [[30, 10], [10, 20]]\n")
    with pytest.raises(GuardConfigError, match="strictly ascending"):
        load_config(override)
    override.write_text("challenge_at = 90\ndeny_at = 50\n")
    with pytest.raises(GuardConfigError, match="challenge_at must not exceed deny_at"):
        load_config(override)
    override.write_text("surprise = 1\n")
    with pytest.raises(GuardConfigError, match="surprise"):
        load_config(override)
    override.write_text("not toml [")
    with pytest.raises(GuardConfigError, match=str(override)):
        load_config(override)
