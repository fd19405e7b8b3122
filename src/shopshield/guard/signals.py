"""From what the counters say about an attempt to a risk score, a verdict and its reasons.

Pure: no clock, no store, no I/O. ``engine.Guard`` gathers a ``Reading`` in one batch and calls
``score``; tests feed readings directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from shopshield.guard.config import GuardConfig, Steps
from shopshield.guard.models import Verdict


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything the decision uses, as known before the password is checked.

    Failure counts exclude this attempt (its outcome is not known yet); distinct usernames include
    it. ``known_device`` is None when the attempt carries no device id.
    """

    account_failures: float
    account_ip_failures: float
    ip_failures: float
    network_failures: float
    ip_attempts: float
    ip_unknown: float
    ip_recent_failures: float  # over the same window as ip_attempts, for the failure shares
    ip_usernames: int
    device_usernames: int
    has_history: bool
    known_device: bool | None
    known_network: bool
    breach_count: int
    leaked_pair: bool
    travel_kmh: float | None
    travel_km: float
    attack_mode: bool

    @property
    def familiar(self) -> bool:
        """The device has logged in to this account before (an app's install id is hard to guess,
        and a phone's carrier address changes from day to day); without a device id, the network."""
        if not self.has_history:
            return False
        return self.known_device if self.known_device is not None else self.known_network

    @property
    def new_to_account(self) -> bool:
        return not self.familiar


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    points: int
    message: str

    def text(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class Score:
    verdict: Verdict
    risk: int
    reasons: tuple[Reason, ...]
    capped: bool  # a familiar login whose verdict was lowered to protect it from lockout


def step(steps: Steps, value: float) -> int:
    """Points of the highest step ``value`` reaches (0 below the first)."""
    points = 0
    for threshold, award in steps:
        if value >= threshold:
            points = award
        else:
            break
    return points


def score(r: Reading, config: GuardConfig) -> Score:
    s = config.signals
    reasons: list[Reason] = []

    def add(code: str, points: int, message: str) -> None:
        if points > 0:
            reasons.append(Reason(code, points, message))

    w = config.windows
    add(
        "account_failures",
        step(s.account_failures, r.account_failures),
        f"{r.account_failures:.0f} failed logins to this account in {w.account // 60} min",
    )
    add(
        "account_ip_failures",
        step(s.account_ip_failures, r.account_ip_failures),
        f"{r.account_ip_failures:.0f} failed logins to this account from this address in {w.account_ip // 60} min",
    )
    add("ip_failures", step(s.ip_failures, r.ip_failures), f"{r.ip_failures:.0f} failed logins from this address")
    add(
        "network_failures",
        step(s.network_failures, r.network_failures),
        f"{r.network_failures:.0f} failed logins from this network (/24 or /64)",
    )
    if r.ip_attempts > 0 and r.ip_recent_failures / r.ip_attempts >= s.ip_usernames_min_failure_share:
        add(
            "ip_usernames",
            step(s.ip_usernames, r.ip_usernames),
            f"{r.ip_usernames} different usernames tried from this address, most failing",
        )
    add(
        "device_usernames",
        step(s.device_usernames, r.device_usernames),
        f"{r.device_usernames} different usernames tried from this device",
    )
    if r.ip_attempts >= s.unknown_share_min_attempts:
        share = r.ip_unknown / r.ip_attempts
        add(
            "ip_unknown_share",
            step(s.ip_unknown_share, share),
            f"{share:.0%} of attempts from this address named accounts that do not exist",
        )
    if r.ip_attempts >= s.failure_share_min_attempts:
        share = r.ip_recent_failures / r.ip_attempts
        add(
            "ip_failure_share",
            step(s.ip_failure_share, share),
            f"{share:.0%} of {r.ip_attempts:.0f} attempts from this address failed",
        )
    # On the customer's own device a leaked password is theirs: no friction now, a reset after the
    # login (the outcome asks for it). Elsewhere it is what credential stuffing and spraying use.
    own = " (the account's own device: a reset follows the login)" if r.familiar else ""
    if r.breach_count > 0:
        common = r.breach_count >= s.common_count
        points = s.breached_password_common if common else s.breached_password
        reasons.append(
            Reason(
                "breached_password",
                0 if r.familiar else points,
                f"the password appears in known breaches ({r.breach_count:,} times){own}",
            )
        )
    if r.leaked_pair:
        reasons.append(
            Reason(
                "leaked_pair",
                0 if r.familiar else s.leaked_pair,
                f"this username and password appear together in a breach list{own}",
            )
        )
    if r.has_history:
        if r.known_device is None:
            add("no_device", s.no_device, "no device id")
        elif not r.known_device:
            add("new_device", s.new_device, "a device this account has not logged in from")
        if not r.known_network:
            add("new_network", s.new_network, "a network this account has not logged in from")
    else:
        add("no_history", s.no_history, "no earlier successful login to this account")
    if r.travel_kmh is not None and r.travel_kmh > config.travel.max_speed_kmh:
        add(
            "impossible_travel",
            s.impossible_travel,
            f"{r.travel_km:,.0f} km from the last login at {r.travel_kmh:,.0f} km/h",
        )
    challenge_at = config.challenge_at
    if r.attack_mode:
        challenge_at = config.attack.challenge_at
        if r.new_to_account:
            add("attack_mode", s.attack_mode, "the store is under a credential attack and this login is new")

    # What the login is (its password, how new it is to the account) earns a challenge at most;
    # a denial needs behaviour as well (failures, velocity), so a real customer whose password
    # leaked elsewhere is challenged and then made to reset it, not turned away.
    passive = min(config.deny_at - 1, sum(x.points for x in reasons if x.code in _PASSIVE))
    risk = min(100, passive + sum(x.points for x in reasons if x.code not in _PASSIVE))
    verdict = _verdict(risk, challenge_at, config.deny_at)
    capped = False
    if r.familiar and verdict is not Verdict.ALLOW:
        # No lockout: nothing others do (failures on the account, its address or network, attack
        # mode) and nothing about the password denies a customer on their own device and network;
        # a breached password is dealt with by a reset after the login. One exception: a device id
        # that has tried many accounts is not a customer's phone, whoever it claims to be.
        ceiling = Verdict.CHALLENGE if config.known_login_max == "challenge" else Verdict.ALLOW
        device_abuse = step(s.device_usernames, r.device_usernames) >= config.deny_at
        if not device_abuse and _RANK[verdict] > _RANK[ceiling]:
            verdict, capped = ceiling, True
    return Score(verdict=verdict, risk=risk, reasons=tuple(reasons), capped=capped)


_RANK = {Verdict.ALLOW: 0, Verdict.CHALLENGE: 1, Verdict.DENY: 2}
_PASSIVE = frozenset(
    {
        "breached_password",
        "leaked_pair",
        "new_device",
        "no_device",
        "new_network",
        "no_history",
        "impossible_travel",
        "attack_mode",
    }
)


def _verdict(risk: int, challenge_at: int, deny_at: int) -> Verdict:
    if risk >= deny_at:
        return Verdict.DENY
    if risk >= challenge_at:
        return Verdict.CHALLENGE
    return Verdict.ALLOW
