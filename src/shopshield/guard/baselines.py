"""Deciders written from the documented defaults of three widely deployed defences, to measure the
login guard against (``bench/guard.py``, docs/login-protection.md "Evaluation and baselines").

Each implements ``guard.replay.Decider`` and only ever allows or denies: none of them challenges.
A denial is answered by the defence itself, so no outcome is reported for it (the replay's
convention); each counts it as a failure exactly as far as its own documentation says a refused
attempt counts, which is stated per class. Times are the attempts' own (``Attempt.ts``), so a
replay of a week takes seconds and is the same on every run.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from shopshield.guard.models import Attempt, Decision, Outcome, Verdict

_ALLOW_RISK: Final = 0.0
_DENY_RISK: Final = 1.0


def _allow(attempt: Attempt) -> Decision:
    return Decision(attempt.id, Verdict.ALLOW, _ALLOW_RISK)


def _deny(attempt: Attempt, reason: str) -> Decision:
    return Decision(attempt.id, Verdict.DENY, _DENY_RISK, (reason,))


class _Pending:
    """Allowed attempts waiting for their outcome: the store reports an outcome by id only."""

    def __init__(self) -> None:
        self._waiting: dict[str, Attempt] = {}

    def add(self, attempt: Attempt) -> None:
        self._waiting[attempt.id] = attempt

    def take(self, attempt_id: str) -> Attempt | None:
        return self._waiting.pop(attempt_id, None)


@dataclass(frozen=True)
class Fail2banSettings:
    maxretry: int = 5
    findtime: timedelta = timedelta(minutes=10)
    bantime: timedelta = timedelta(minutes=10)


class Fail2banJail:
    """fail2ban's jail, per client address, on the store's failed logins (what an sshd-style jail
    over the store's login log does).

    Source: fail2ban's ``config/jail.conf``, ``[DEFAULT]`` section
    (https://github.com/fail2ban/fail2ban/blob/master/config/jail.conf, and jail.conf(5)):
    ``maxretry = 5`` ("the number of failures before a host get banned"), ``findtime = 10m`` ("a
    host is banned if it has generated maxretry during the last findtime"), ``bantime = 10m``
    ("the number of seconds that a host is banned"); the ``[sshd]`` jail keeps these defaults.

    Model: every failed login (bad password or unknown user: the sshd filter matches both "Failed
    password" and "Invalid user") from an address is a failure at the attempt's time; at the
    ``maxretry``-th failure within ``findtime`` the address is banned for ``bantime`` and its
    failures are forgotten (fail2ban removes a banned address's failures from its list). A banned
    address is refused whoever it carries: behind a carrier's shared gateway, every customer on it.
    Refused attempts are not counted: the firewall drops them before the store logs anything.
    ``bantime.increment`` (longer bans for repeat offenders) is off by default, and so here.
    """

    def __init__(self, settings: Fail2banSettings | None = None) -> None:
        self.settings = settings or Fail2banSettings()
        self._failures: dict[str, deque[datetime]] = {}
        self._banned_until: dict[str, datetime] = {}
        self._pending = _Pending()

    def assess(self, attempt: Attempt) -> Decision:
        until = self._banned_until.get(attempt.ip)
        if until is not None:
            if attempt.ts < until:
                return _deny(attempt, "ip_banned")
            del self._banned_until[attempt.ip]
        self._pending.add(attempt)
        return _allow(attempt)

    def report(self, attempt_id: str, outcome: Outcome) -> None:
        attempt = self._pending.take(attempt_id)
        if attempt is None or not outcome.is_failure:
            return
        failures = self._failures.setdefault(attempt.ip, deque())
        failures.append(attempt.ts)
        while failures and failures[0] <= attempt.ts - self.settings.findtime:
            failures.popleft()
        if len(failures) >= self.settings.maxretry:
            self._banned_until[attempt.ip] = attempt.ts + self.settings.bantime
            del self._failures[attempt.ip]
        elif not failures:
            del self._failures[attempt.ip]


@dataclass(frozen=True)
class KeycloakSettings:
    max_login_failures: int = 30
    wait_increment: timedelta = timedelta(minutes=1)
    max_wait: timedelta = timedelta(minutes=15)
    failure_reset_time: timedelta = timedelta(hours=12)
    quick_login_check: timedelta = timedelta(milliseconds=1000)
    minimum_quick_login_wait: timedelta = timedelta(minutes=1)


@dataclass
class _KeycloakUser:
    count: int = 0
    last_failure: datetime | None = None
    disabled_until: datetime | None = None


class KeycloakBruteForce:
    """Keycloak's brute force detection per account, in "Lockout temporarily" mode with the
    "Multiple" wait strategy: the documented defaults once an administrator turns it on (it is off
    by default).

    Source: Keycloak Server Administration Guide, "Brute force attacks"
    (https://www.keycloak.org/docs/latest/server_admin/index.html#password-guess-brute-force-attacks),
    "Temporary Lockout Parameters": Max Login Failures 30, Wait Increment 1 minute, Max Wait 15
    minutes, Failure Reset Time 12 hours, Quick Login Check Milliseconds 1000, Minimum Quick Login
    Wait 1 minute; strategy "Multiple" (wait = Wait Increment x floor(count / Max Login Failures)).

    Model, the guide's "Temporary Lockout Algorithm": a success resets the account's count; a
    failure first resets it when the previous failure is older than the Failure Reset Time, then
    increments it and computes the wait; a zero wait becomes the Minimum Quick Login Wait when this
    failure came within Quick Login Check of the previous one; a positive wait disables the
    account for min(wait, Max Wait). While disabled, every login is refused, the right password
    too ("Invalid username or password", so that an attacker cannot tell): this is how others'
    failures lock a customer out. A refused attempt is not counted ("count does not increment when
    a temporarily disabled account commits a login failure"). Unknown usernames have no account
    to count against. Usernames are compared case-insensitively, as Keycloak stores them.
    """

    def __init__(self, settings: KeycloakSettings | None = None) -> None:
        self.settings = settings or KeycloakSettings()
        self._users: dict[str, _KeycloakUser] = {}
        self._pending = _Pending()

    def assess(self, attempt: Attempt) -> Decision:
        user = self._users.get(attempt.username.lower())
        if user is not None and user.disabled_until is not None and attempt.ts < user.disabled_until:
            return _deny(attempt, "account_temporarily_disabled")
        self._pending.add(attempt)
        return _allow(attempt)

    def report(self, attempt_id: str, outcome: Outcome) -> None:
        attempt = self._pending.take(attempt_id)
        if attempt is None:
            return
        key = attempt.username.lower()
        if outcome is Outcome.SUCCESS:
            user = self._users.get(key)
            if user is not None:
                user.count = 0
            return
        if outcome is not Outcome.BAD_PASSWORD:
            return  # an unknown user has no account to lock; challenges never happen here
        self._failure(self._users.setdefault(key, _KeycloakUser()), attempt.ts)

    def _failure(self, user: _KeycloakUser, now: datetime) -> None:
        s = self.settings
        previous = user.last_failure
        if previous is not None and now - previous > s.failure_reset_time:
            user.count = 0
        user.count += 1
        wait = s.wait_increment * (user.count // s.max_login_failures)
        if wait <= timedelta(0) and previous is not None and now - previous < s.quick_login_check:
            wait = s.minimum_quick_login_wait
        if wait > timedelta(0):
            user.disabled_until = now + min(wait, s.max_wait)
        user.last_failure = now


@dataclass(frozen=True)
class Auth0Settings:
    brute_force_threshold: int = 10
    brute_force_block: timedelta = timedelta(days=30)
    throttle_max_attempts: int = 100
    throttle_rate: timedelta = timedelta(milliseconds=864_000)


class Auth0AttackProtection:
    """Auth0 Attack Protection's two default shields together: brute-force protection per
    (username, address) and suspicious IP throttling per address.

    Sources: "Brute-Force Protection"
    (https://auth0.com/docs/secure/attack-protection/brute-force-protection): on by default; the
    threshold is "the number of incorrect login attempts allowed from a single IP address to a
    single user identifier", Default 10 (the Management API's ``max_attempts: 10``, mode
    ``count_per_identifier_and_ip``); "Block Brute-force Logins" blocks that address from logging
    in as that user until, among other things, "thirty (30) days pass from the last failed login
    attempt" or the user unblocks or changes the password. The rate-limit policy
    (https://auth0.com/docs/policies/rate-limit-policy/database-connections-rate-limits) says
    "more than 10 times consecutively": a success resets the count. "Suspicious IP Throttling"
    (https://auth0.com/docs/secure/attack-protection/suspicious-ip-throttling): on by default;
    after "a high number of ... failed login attempts from an IP address" it answers 429 "until
    that IP address is no longer throttled"; the Management API's pre-login stage defaults are
    ``max_attempts: 100`` ("total number of attempts allowed per day") and ``rate: 864000`` ms
    ("interval of time ... at which new attempts are granted": one every 14.4 minutes, 100 a day).

    Model: each address has a bucket of 100 failed logins that refills one every 14.4 minutes up to
    100; each failed login from it takes one; an empty bucket refuses every login from the address
    until one is granted back. Each (username, address) pair counts consecutive failures; at 10
    the pair is blocked for 30 days from its last failure; users unblocking themselves by e-mail
    or a password change are not modelled (the simulation has no mailbox). A refusal by the
    brute-force block is still a failed login from that address and takes from its bucket (the
    address keeps failing at logging in); a refusal by the throttle finds the bucket empty already.
    """

    def __init__(self, settings: Auth0Settings | None = None) -> None:
        self.settings = settings or Auth0Settings()
        self._consecutive: dict[tuple[str, str], int] = {}
        self._blocked_until: dict[tuple[str, str], datetime] = {}
        self._buckets: dict[str, tuple[float, datetime]] = {}  # address -> (attempts left, as of)
        self._pending = _Pending()

    def assess(self, attempt: Attempt) -> Decision:
        pair = (attempt.username.lower(), attempt.ip)
        until = self._blocked_until.get(pair)
        if until is not None:
            if attempt.ts < until:
                self._take(attempt.ip, attempt.ts)
                return _deny(attempt, "user_ip_blocked")
            del self._blocked_until[pair]
        if self._left(attempt.ip, attempt.ts) < 1:
            return _deny(attempt, "ip_throttled")
        self._pending.add(attempt)
        return _allow(attempt)

    def report(self, attempt_id: str, outcome: Outcome) -> None:
        attempt = self._pending.take(attempt_id)
        if attempt is None:
            return
        pair = (attempt.username.lower(), attempt.ip)
        if outcome is Outcome.SUCCESS:
            self._consecutive.pop(pair, None)
            return
        if not outcome.is_failure:
            return
        self._take(attempt.ip, attempt.ts)
        count = self._consecutive.get(pair, 0) + 1
        if count >= self.settings.brute_force_threshold:
            self._blocked_until[pair] = attempt.ts + self.settings.brute_force_block
            self._consecutive.pop(pair, None)
        else:
            self._consecutive[pair] = count

    def _left(self, ip: str, now: datetime) -> float:
        state = self._buckets.get(ip)
        if state is None:
            return float(self.settings.throttle_max_attempts)
        left, since = state
        granted = (now - since) / self.settings.throttle_rate
        return min(float(self.settings.throttle_max_attempts), left + max(granted, 0.0))

    def _take(self, ip: str, now: datetime) -> None:
        self._buckets[ip] = (max(self._left(ip, now) - 1, 0.0), now)
