"""The baselines' rules, each on a hand-made sequence replayed the way the bench replays them."""

from __future__ import annotations

from datetime import timedelta

from shopshield.guard.baselines import (
    Auth0AttackProtection,
    Auth0Settings,
    Fail2banJail,
    Fail2banSettings,
    KeycloakBruteForce,
    KeycloakSettings,
)
from shopshield.guard.models import Attempt, Outcome, Truth, Verdict
from shopshield.guard.replay import Decider, replay
from tests.support.login_attempts import RIGHT, UNKNOWN, WRONG, attempt


def _verdicts(decider: Decider, items: list[tuple[Attempt, Truth]]) -> list[str]:
    return [r.decision.verdict.value for r in replay(items, decider)]


# -- fail2ban ------------------------------------------------------------------------------------


def test_fail2ban_documented_defaults() -> None:
    assert Fail2banSettings() == Fail2banSettings(
        maxretry=5, findtime=timedelta(minutes=10), bantime=timedelta(minutes=10)
    )


def test_fail2ban_bans_an_address_at_its_fifth_failure_within_ten_minutes_for_ten_minutes() -> None:
    failures = [(attempt(60 * i, username=f"u{i}"), WRONG) for i in range(5)]  # 0..4 minutes, any usernames
    after = [
        (attempt(300, username="someone-else"), RIGHT),  # banned: whoever the address carries
        (attempt(240 + 599), RIGHT),  # still banned one second before the ban ends
        (attempt(240 + 600), RIGHT),  # free again
        (attempt(240 + 601, ip="223.104.1.3"), RIGHT),  # another address never was banned
    ]
    assert _verdicts(Fail2banJail(), failures + after) == ["allow"] * 5 + ["deny", "deny", "allow", "allow"]


def test_fail2ban_forgets_failures_older_than_findtime_and_counts_unknown_users() -> None:
    spread = [(attempt(200 * i), UNKNOWN if i % 2 else WRONG) for i in range(8)]  # one every 3m20s
    # Never five within ten minutes (at most four: 0, 200, 400, 600 s is already 10 minutes wide).
    assert _verdicts(Fail2banJail(), spread) == ["allow"] * 8
    quick = [(attempt(10 * i), UNKNOWN) for i in range(6)]
    assert _verdicts(Fail2banJail(), quick) == ["allow"] * 5 + ["deny"]


def test_fail2ban_ignores_successes_and_starts_afresh_after_a_ban() -> None:
    jail = Fail2banJail()
    mixed = [(attempt(i), RIGHT if i % 2 else WRONG) for i in range(8)]  # four failures, four successes
    assert _verdicts(jail, mixed) == ["allow"] * 8
    more = [(attempt(10 + i), WRONG) for i in range(1, 3)]  # the fifth and sixth failures
    assert _verdicts(jail, more) == ["allow", "deny"]
    # After the ban the address needs five new failures: the banned ones were never seen.
    again = [(attempt(11 + 600 + i), WRONG) for i in range(6)]
    assert _verdicts(jail, again) == ["allow"] * 5 + ["deny"]


def test_fail2ban_denial_names_its_reason() -> None:
    items = [(attempt(i), WRONG) for i in range(6)]
    last = list(replay(items, Fail2banJail()))[-1]
    assert last.decision.verdict is Verdict.DENY and last.decision.reasons == ("ip_banned",)
    assert last.outcomes == ()


# -- Keycloak ------------------------------------------------------------------------------------


def test_keycloak_documented_defaults() -> None:
    assert KeycloakSettings() == KeycloakSettings(
        max_login_failures=30,
        wait_increment=timedelta(minutes=1),
        max_wait=timedelta(minutes=15),
        failure_reset_time=timedelta(hours=12),
        quick_login_check=timedelta(milliseconds=1000),
        minimum_quick_login_wait=timedelta(minutes=1),
    )


def test_keycloak_disables_the_account_for_a_minute_at_thirty_failures_from_anywhere() -> None:
    failures = [(attempt(5 * i, ip=f"10.0.{i}.1"), WRONG) for i in range(30)]  # 30 addresses, 5 s apart
    victim = [
        (attempt(5 * 29 + 30, ip="192.0.2.7"), RIGHT),  # the owner, right password: refused
        (attempt(5 * 29 + 61, ip="192.0.2.7"), RIGHT),  # after the minute: in
    ]
    assert _verdicts(KeycloakBruteForce(), failures + victim) == ["allow"] * 30 + ["deny", "allow"]


def test_keycloak_wait_grows_by_multiples_and_refusals_are_not_counted() -> None:
    keycloak = KeycloakBruteForce()
    t = 0.0
    items = []
    for _ in range(59):
        items.append((attempt(t), WRONG))
        t += 2
    # Failure 30 at t=58 locks until 118; attempts at 60..116 are refused and not counted.
    verdicts = _verdicts(keycloak, items)
    assert verdicts[:30] == ["allow"] * 30 and set(verdicts[30:]) == {"deny"}
    # Failures 31..59 each lock for another minute; the 60th locks for two minutes.
    more = [(attempt(118 + 61 * i), WRONG) for i in range(29)]
    assert _verdicts(keycloak, more) == ["allow"] * 29
    sixtieth_at = 118 + 61 * 29
    assert _verdicts(keycloak, [(attempt(sixtieth_at), WRONG)]) == ["allow"]
    assert _verdicts(keycloak, [(attempt(sixtieth_at + 119), RIGHT)]) == ["deny"]
    assert _verdicts(keycloak, [(attempt(sixtieth_at + 121), RIGHT)]) == ["allow"]


def test_keycloak_caps_the_wait_at_fifteen_minutes() -> None:
    settings = KeycloakSettings(max_login_failures=1)  # wait = failures x 1 minute: reach the cap fast
    keycloak = KeycloakBruteForce(settings)
    t = 0.0
    for _ in range(20):
        assert _verdicts(keycloak, [(attempt(t), WRONG)]) == ["allow"]
        t += 16 * 60  # every lock has ended by then, even the capped ones
    assert _verdicts(keycloak, [(attempt(t), WRONG)]) == ["allow"]  # the 21st failure: 21 min capped at 15
    assert _verdicts(keycloak, [(attempt(t + 15 * 60 - 1), RIGHT)]) == ["deny"]
    assert _verdicts(keycloak, [(attempt(t + 15 * 60), RIGHT)]) == ["allow"]


def test_keycloak_quick_failures_lock_for_the_minimum_quick_login_wait() -> None:
    items = [(attempt(0.0), WRONG), (attempt(0.5), WRONG), (attempt(30), RIGHT), (attempt(61), RIGHT)]
    assert _verdicts(KeycloakBruteForce(), items) == ["allow", "allow", "deny", "allow"]


def test_keycloak_success_and_failure_reset_time_clear_the_count() -> None:
    keycloak = KeycloakBruteForce()
    run = [(attempt(2 * i), WRONG) for i in range(29)] + [(attempt(60), RIGHT)]
    run += [(attempt(62 + 2 * i), WRONG) for i in range(29)]  # 29 more: the success reset the count
    assert _verdicts(keycloak, run) == ["allow"] * 59
    later = 62 + 2 * 28 + 12 * 3600 + 1  # more than 12 hours after the last failure
    assert _verdicts(keycloak, [(attempt(later + 2 * i), WRONG) for i in range(29)]) == ["allow"] * 29
    assert _verdicts(keycloak, [(attempt(later + 100), RIGHT)]) == ["allow"]


def test_keycloak_counts_per_account_case_insensitively_and_ignores_unknown_users() -> None:
    items = [(attempt(2 * i, username="A@Example.com" if i % 2 else "a@example.com"), WRONG) for i in range(30)]
    items += [(attempt(61, username="a@EXAMPLE.com"), RIGHT), (attempt(62, username="other"), RIGHT)]
    assert _verdicts(KeycloakBruteForce(), items)[-2:] == ["deny", "allow"]
    unknown = [(attempt(2 * i, username="nobody"), UNKNOWN) for i in range(40)]
    assert _verdicts(KeycloakBruteForce(), unknown) == ["allow"] * 40


# -- Auth0 ---------------------------------------------------------------------------------------


def test_auth0_documented_defaults() -> None:
    assert Auth0Settings() == Auth0Settings(
        brute_force_threshold=10,
        brute_force_block=timedelta(days=30),
        throttle_max_attempts=100,
        throttle_rate=timedelta(milliseconds=864_000),
    )


def test_auth0_blocks_an_address_for_one_user_after_ten_consecutive_failures() -> None:
    items = [(attempt(60 * i), WRONG) for i in range(10)]
    items += [
        (attempt(700), RIGHT),  # the same user from the same address: blocked
        (attempt(701, ip="192.0.2.7"), RIGHT),  # the same user from home: fine
        (attempt(702, username="13900000002"), RIGHT),  # another user from the same address: fine
        (attempt(60 * 9 + 30 * 86400 - 1), RIGHT),  # still blocked just under 30 days on
        (attempt(60 * 9 + 30 * 86400), RIGHT),  # 30 days from the last failure: unblocked
    ]
    assert _verdicts(Auth0AttackProtection(), items) == ["allow"] * 10 + ["deny", "allow", "allow", "deny", "allow"]


def test_auth0_counts_consecutive_failures_a_success_starts_again() -> None:
    items = [(attempt(i), WRONG) for i in range(9)] + [(attempt(9), RIGHT)]
    items += [(attempt(10 + i), WRONG) for i in range(9)] + [(attempt(30), RIGHT)]
    assert _verdicts(Auth0AttackProtection(), items) == ["allow"] * 20


def test_auth0_throttles_an_address_after_a_hundred_failures_and_grants_one_every_864_seconds() -> None:
    auth0 = Auth0AttackProtection()
    spray = [(attempt(0, username=f"user{i}"), WRONG) for i in range(100)]  # 100 users at once, one try each
    assert _verdicts(auth0, spray) == ["allow"] * 100
    assert _verdicts(auth0, [(attempt(100, username="13900000002"), RIGHT)]) == ["deny"]  # anyone, right or not
    # One attempt is granted back 14.4 minutes after the bucket ran dry, not before.
    assert _verdicts(auth0, [(attempt(863, username="x1"), WRONG)]) == ["deny"]
    assert _verdicts(auth0, [(attempt(864, username="x2"), WRONG)]) == ["allow"]
    assert _verdicts(auth0, [(attempt(865, username="x3"), RIGHT)]) == ["deny"]
    # Successes cost nothing: a gateway carrying many customers logging in is never throttled by them.
    busy = [(attempt(i, ip="223.104.9.9", username=f"c{i}"), RIGHT) for i in range(500)]
    assert set(_verdicts(auth0, busy)) == {"allow"}


def test_auth0_brute_force_refusals_still_drain_the_addresss_bucket() -> None:
    auth0 = Auth0AttackProtection(Auth0Settings(throttle_max_attempts=15))
    items = [(attempt(i), WRONG) for i in range(15)]  # 10 allowed failures block the pair; 5 refusals follow
    assert _verdicts(auth0, items) == ["allow"] * 10 + ["deny"] * 5
    result = next(replay([(attempt(16, username="someone-else"), RIGHT)], auth0))
    assert result.decision.reasons == ("ip_throttled",)


def test_outcomes_for_unknown_ids_and_challenges_are_ignored() -> None:
    for decider in (Fail2banJail(), KeycloakBruteForce(), Auth0AttackProtection()):
        decider.report("never-seen", Outcome.BAD_PASSWORD)
        first = attempt(0)
        assert decider.assess(first).verdict is Verdict.ALLOW
        decider.report(first.id, Outcome.CHALLENGE_PASSED)
        decider.report(first.id, Outcome.SUCCESS)
