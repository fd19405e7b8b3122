"""The login risk engine: ``Guard.assess`` before the password is checked, ``Guard.report`` after.

An assessment is one batch against the counter store (one Redis round trip), plus a second only
when the verdict is deny (the denial is counted as a failure at once, since the store will not
check the password). An outcome is one batch, plus one to fetch the assessment's context when
another instance made it.

Nothing that identifies a person reaches the store: usernames, addresses, networks and device ids
become keyed BLAKE2b digests (``Hasher``), and the context an outcome needs is sealed with
AES-GCM before it is stashed in a shared store.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

import orjson
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from prometheus_client import CollectorRegistry, Counter, Gauge

from shopshield.core.errors import NotFound
from shopshield.core.normalize import normalize_username
from shopshield.guard.actions import Action, ActionKind, ActionSink, MemorySink
from shopshield.guard.config import GuardConfig
from shopshield.guard.counters import (
    NOTHING,
    Add,
    Count,
    CounterStore,
    Distinct,
    Get,
    Known,
    Op,
    Pop,
    Put,
    Remember,
    Result,
)
from shopshield.guard.history import LoginHistory
from shopshield.guard.models import Attempt, Decision, Outcome, Verdict
from shopshield.guard.networks import Locations, Place, network_of
from shopshield.guard.signals import Reading, Score, score

log = logging.getLogger(__name__)

_LOCAL_STASH: Final = 200_000  # assessments awaiting their outcome in this process


class PasswordCorpus(Protocol):
    def count(self, sha1_hex: str) -> int: ...


class PairList(Protocol):
    def contains(self, username: str, password_sha1_hex: str) -> bool: ...


class UnknownAttempt(NotFound, LookupError):
    """An outcome for an attempt this guard did not assess, or whose outcome came already or too late."""


class Hasher:
    """Keyed digests of identifiers (BLAKE2b, 96 bits) and the seal of stashed contexts (AES-GCM).

    The two keys come from one secret through HKDF, so that a counter key can neither be reversed
    nor recomputed without the key file, and a stashed context cannot be read or forged.
    """

    def __init__(self, secret: bytes) -> None:
        material = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"shopshield/guard/v1").derive(secret)
        self._key = material[:32]
        self._aead = AESGCM(material[32:])

    @classmethod
    def ephemeral(cls) -> Hasher:
        """A key for one process (replays, tests): its digests mean nothing afterwards."""
        return cls(os.urandom(32))

    def __call__(self, kind: bytes, value: str) -> str:
        return hashlib.blake2b(kind + b"\x00" + value.encode(), key=self._key, digest_size=12).hexdigest()

    def seal(self, data: bytes, label: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, label.encode())

    def open(self, sealed: bytes, label: str) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], label.encode())


class _ByLabel:
    """A Prometheus counter with one label, each label's child looked up once.

    ``Counter.labels`` takes a lock and checks its arguments on every call (about 1 µs), and the
    engine counts on every login. Children are looked up on first use rather than up front, so
    ``/metrics`` shows only the labels seen, as before.
    """

    __slots__ = ("_children", "_counter")

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[str, Counter] = {}

    def inc(self, label: str) -> None:
        child = self._children.get(label)
        if child is None:
            # Two threads may both miss: labels() hands both the same child.
            child = self._children[label] = self._counter.labels(label)
        child.inc()


class GuardMetrics:
    """Prometheus counters on the guard's own registry (one per app, so tests can run many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.decisions = _ByLabel(
            Counter("shopshield_login_decisions", "Login assessments by verdict", ["verdict"], registry=self.registry)
        )
        self.outcomes = _ByLabel(
            Counter("shopshield_login_outcomes", "Outcomes reported by the store", ["outcome"], registry=self.registry)
        )
        self.actions = _ByLabel(
            Counter("shopshield_login_actions", "Actions asked of the store", ["kind"], registry=self.registry)
        )
        self.fallbacks = Counter(
            "shopshield_login_counter_fallbacks",
            "Counter batches run on local memory because Redis was unavailable",
            registry=self.registry,
        )
        self.events_failed = Counter(
            "shopshield_login_events_failed",
            "Successful logins whose access event could not be recorded",
            registry=self.registry,
        )
        self.attack_mode = Gauge("shopshield_login_attack_mode", "1 while attack mode is on", registry=self.registry)


@dataclass
class AttackMode:
    """Store-wide: on when failures leave their baseline; see defaults.toml [attack]."""

    on: bool = False
    since: float = 0.0
    last_above: float = 0.0
    threshold: float = 0.0
    changes: list[tuple[float, bool]] = field(default_factory=list)

    def update(self, now: float, failures: float, attempts: float, long_failures: float, config: GuardConfig) -> bool:
        a = config.attack
        # The baseline is the long window's rate with the short window taken out, per short window.
        earlier = max(0.0, long_failures - failures)
        baseline = earlier * a.short / (a.long - a.short)
        threshold = max(float(a.min_failures), a.factor * baseline)
        share = failures / attempts if attempts > 0 else 0.0
        if not self.on:
            if failures >= threshold and share >= a.min_failure_share:
                # Freeze the threshold: the attack's own failures flow into the baseline while it lasts.
                self.on, self.since, self.last_above, self.threshold = True, now, now, threshold
                self.changes.append((now, True))
        elif failures >= self.threshold:
            self.last_above = now
        elif now - self.last_above >= a.hold:
            self.on = False
            self.changes.append((now, False))
        return self.on


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment(Decision):
    """A decision with what the HTTP answer shows beyond a replay's line: the reasons with their
    points, and whether attack mode was on. Being a ``Decision``, it is what the replay records too,
    so the routes and the replay read one method."""

    score: Score
    attack_mode: bool


@dataclass(frozen=True, slots=True)
class Settled:
    """An outcome taken in: the actions for the store, and the attempt's address and time (for the
    login's access event)."""

    actions: list[Action]
    address: str
    at: datetime
    # For the customer's notification (decision 0028): a success from a device or network the
    # account has not used before (an account with no history has nothing to compare with), and
    # one the guard let through although it found a reason to act (``risk_reason``).
    new_device: bool = False
    risk_reason: str | None = None


@dataclass(frozen=True, slots=True)
class _Context:
    """What an outcome needs from its assessment; all known before the counters are read, so it
    travels in the assessment's one batch."""

    username: str
    address: str  # the client's IP as sent, for the outcome's login event; sealed in a shared store
    account: str
    ip: str
    network: str
    device: str | None
    place: tuple[float, float] | None
    breached: bool
    leaked: bool
    attack: bool  # attack mode as this instance last saw it
    ts: float  # the assessment's time: an outcome's counts go in its windows

    def dump(self) -> bytes:
        return orjson.dumps([
            self.username, self.address, self.account, self.ip, self.network, self.device, self.place,
            self.breached, self.leaked, self.attack, self.ts,
        ])  # fmt: skip

    @classmethod
    def load(cls, raw: bytes) -> _Context:
        v: list[Any] = orjson.loads(raw)
        place = (float(v[6][0]), float(v[6][1])) if v[6] else None
        return cls(v[0], v[1], v[2], v[3], v[4], v[5], place, bool(v[7]), bool(v[8]), bool(v[9]), float(v[10]))


S = TypeVar("S")  # what a batch's slots hold: an operation going out, or its result coming back


class _AssessBatch(NamedTuple, Generic[S]):
    """The assessment's one batch, each operation under the name its result is read by.

    Built by keyword and read back with ``_make``, which refuses a result list of another length:
    an operation cannot be added without a name, nor a name read from another operation's position.
    The field order is the order the store runs them in, and it matters: the counts are read before
    this attempt is added to them. Slots that do not apply hold ``NOTHING`` (no command is sent).

    All three batches are built on every login, so two spellings are avoided:
    ``_AssessBatch[Op](...)`` builds a typing alias on every call (the type parameter goes in the
    annotation instead), and ``_AssessBatch(...)`` with keywords goes through ``type.__call__``,
    which packs them into a dict first; ``_AssessBatch.__new__(_AssessBatch, ...)`` takes them as
    a plain call (5,000 instructions a batch instead of 14,000, measured under cachegrind).
    """

    account_failures: S
    account_ip_failures: S
    ip_failures: S
    network_failures: S
    ip_attempts: S
    ip_unknown: S
    ip_recent_failures: S
    ip_usernames: S  # adds this username, then counts: includes this attempt
    has_history: S
    known_network: S
    store_failures_short: S  # attack mode: store-wide failures and attempts
    store_attempts_short: S
    store_failures_long: S
    add_ip_attempt: S
    add_store_attempt: S
    device_usernames: S  # NOTHING without a device id
    known_device: S  # NOTHING without a device id
    last_place: S  # NOTHING without a location source
    stash: S  # the sealed context for an outcome on another instance; NOTHING unless shared


class _SuccessBatch(NamedTuple, Generic[S]):
    """A success's one batch: whether the login was familiar, read before it is remembered."""

    has_history: S
    known_network: S
    known_device: S  # NOTHING without a device id
    remember_history: S
    remember_network: S
    remember_device: S  # NOTHING without a device id
    place: S  # NOTHING without a location source
    stash: S  # the context is spent; NOTHING unless shared


class _FailureBatch(NamedTuple, Generic[S]):
    """A failure's one batch: the failure added to every count it belongs to."""

    account_failures: S  # the current fixed window's count after this failure
    account_ip_failures: S
    ip_failures: S
    network_failures: S
    ip_recent_failures: S
    store_failures_short: S
    store_failures_long: S
    ip_unknown: S  # NOTHING unless the username does not exist
    stash: S  # the context is spent; NOTHING unless shared


class Guard:
    """Decides logins; one per process, shared by every request (thread-safe)."""

    def __init__(
        self,
        *,
        config: GuardConfig,
        counters: CounterStore,
        hasher: Hasher,
        passwords: PasswordCorpus | None = None,
        pairs: PairList | None = None,
        locations: Locations | None = None,
        actions: ActionSink | None = None,
        metrics: GuardMetrics | None = None,
        shared: bool = False,
        history: LoginHistory | None = None,
    ) -> None:
        self.config = config
        self.counters = counters
        self._hash = hasher
        self._passwords = passwords
        self._pairs = pairs
        self._locations = locations
        self.actions = actions if actions is not None else MemorySink()
        self.metrics = metrics or GuardMetrics()
        self._shared = shared  # stash contexts in the store too, for outcomes that reach another instance
        self.attack = AttackMode()
        # Decisions and failures per hour, for people to look back on (the counters forget).
        self.history = history if history is not None else LoginHistory()
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, _Context] = OrderedDict()

    @property
    def waits_on_network(self) -> bool:
        """Whether a call may wait on a shared store (Redis) rather than only use the CPU."""
        return self._shared

    # -- assessment -------------------------------------------------------------------------

    def assess(self, attempt: Attempt) -> Assessment:
        now = attempt.ts.timestamp()
        w, a = self.config.windows, self.config.attack
        h = self._hash
        account = h(b"u", normalize_username(attempt.username))
        ip = h(b"ip", attempt.ip)
        network = h(b"net", network_of(attempt.ip))
        device = h(b"dev", attempt.device_id) if attempt.device_id else None
        here = self._locations.place(attempt.ip) if self._locations is not None else None
        # Local lookups first, so that the context an outcome needs is complete before the one batch.
        breach_count = self._passwords.count(attempt.password_sha1) if self._passwords is not None else 0
        leaked = self._pairs.contains(attempt.username, attempt.password_sha1) if self._pairs is not None else False
        context = _Context(
            username=attempt.username,
            address=attempt.ip,
            account=account,
            ip=ip,
            network=network,
            device=device,
            place=(here.lat, here.lon) if here is not None else None,
            breached=breach_count > 0,
            leaked=leaked,
            attack=self.attack.on,
            ts=now,
        )
        ops: _AssessBatch[Op] = _AssessBatch.__new__(
            _AssessBatch,
            account_failures=Count("fail_acct", account, w.account),
            account_ip_failures=Count("fail_acct_ip", f"{account}.{ip}", w.account_ip),
            ip_failures=Count("fail_ip", ip, w.ip),
            network_failures=Count("fail_net", network, w.network),
            ip_attempts=Count("att_ip", ip, w.ip_attempts),
            ip_unknown=Count("unk_ip", ip, w.ip_attempts),
            ip_recent_failures=Count("fail_ip_long", ip, w.ip_attempts),
            ip_usernames=Distinct("users_ip", ip, account, w.ip_usernames),
            has_history=Known("known", account, "history"),
            known_network=Known("known", account, f"n.{network}"),
            store_failures_short=Count("g_fail_s", "all", a.short),
            store_attempts_short=Count("g_att_s", "all", a.short),
            store_failures_long=Count("g_fail_l", "all", a.long),
            add_ip_attempt=Add("att_ip", ip, w.ip_attempts),
            add_store_attempt=Add("g_att_s", "all", a.short),
            device_usernames=Distinct("users_dev", device, account, w.device_usernames) if device else NOTHING,
            known_device=Known("known", account, f"d.{device}") if device else NOTHING,
            last_place=Get("place", account) if here is not None else NOTHING,
            stash=Put("stash", h(b"att", attempt.id), h.seal(context.dump(), attempt.id), w.stash)
            if self._shared
            else NOTHING,
        )
        r: _AssessBatch[Result] = _AssessBatch._make(self.counters.run(ops, now))
        with self._lock:
            attack = self.attack.update(
                now, _f(r.store_failures_short), _f(r.store_attempts_short) + 1, _f(r.store_failures_long), self.config
            )
        self.metrics.attack_mode.set(1 if attack else 0)
        travel_kmh, travel_km = self._travel(here, r.last_place, now)
        reading = Reading(
            account_failures=_f(r.account_failures),
            account_ip_failures=_f(r.account_ip_failures),
            ip_failures=_f(r.ip_failures),
            network_failures=_f(r.network_failures),
            ip_attempts=_f(r.ip_attempts),
            ip_unknown=_f(r.ip_unknown),
            ip_recent_failures=_f(r.ip_recent_failures),
            ip_usernames=int(_f(r.ip_usernames)),
            device_usernames=int(_f(r.device_usernames)),
            has_history=bool(r.has_history),
            known_device=bool(r.known_device) if device is not None else None,
            known_network=bool(r.known_network),
            breach_count=breach_count,
            leaked_pair=leaked,
            travel_kmh=travel_kmh,
            travel_km=travel_km,
            attack_mode=attack,
        )
        verdict = score(reading, self.config)
        if verdict.verdict is Verdict.DENY:
            # The store will not check the password, so the denial is this attempt's failure.
            self._record_failure(context, attempt.id, now, unknown=False)
        else:
            with self._lock:
                self._pending[attempt.id] = context
                while len(self._pending) > _LOCAL_STASH:
                    self._pending.popitem(last=False)
        self.metrics.decisions.inc(verdict.verdict.value)
        self.history.decided(now, verdict.verdict.value, [reason.code for reason in verdict.reasons])
        return Assessment(
            attempt_id=attempt.id,
            verdict=verdict.verdict,
            risk=float(verdict.risk),
            reasons=tuple(reason.text() for reason in verdict.reasons),
            score=verdict,
            attack_mode=attack,
        )

    def _travel(self, here: Place | None, last: Result, now: float) -> tuple[float | None, float]:
        if here is None or not isinstance(last, bytes):
            return None, 0.0
        lat, lon, then = orjson.loads(last)
        km = here.km_to(Place(lat, lon, ""))
        if km < self.config.travel.min_distance_km:
            return None, km
        hours = max(now - float(then), 60.0) / 3600.0  # a minute's floor: clocks and NAT jitter
        return km / hours, km

    def learn(self, attempt: Attempt) -> None:
        """Take a successful login from the store's own history as familiar, without deciding it:
        how a store that starts using ShopShield brings its customers' devices and networks along
        (``guard replay --history``, ``POST /v1/logins/history``). The password is not looked at."""
        h, w = self._hash, self.config.windows
        account = h(b"u", normalize_username(attempt.username))
        network = h(b"net", network_of(attempt.ip))
        ops: list[Op] = [
            Remember("known", account, "history", w.known),
            Remember("known", account, f"n.{network}", w.known),
        ]
        if attempt.device_id:
            ops.append(Remember("known", account, f"d.{h(b'dev', attempt.device_id)}", w.known))
        here = self._locations.place(attempt.ip) if self._locations is not None else None
        if here is not None:
            ops.append(Put("place", account, orjson.dumps([here.lat, here.lon, attempt.ts.timestamp()]), w.known))
        self.counters.run(ops, attempt.ts.timestamp())

    # -- outcomes ---------------------------------------------------------------------------

    def report(self, attempt_id: str, outcome: Outcome) -> Settled:
        """Learn what the store found: the actions the store should take now, and where and when
        the attempt came from (for the login's access event)."""
        self.metrics.outcomes.inc(outcome.value)
        context = self._context(attempt_id, outcome)
        where = (context.address, datetime.fromtimestamp(context.ts, UTC))
        if outcome.is_failure:
            failed = self._record_failure(context, attempt_id, context.ts, unknown=outcome is Outcome.UNKNOWN_USER)
            return Settled(failed, *where)
        if outcome is Outcome.CHALLENGE_PASSED:
            return Settled([], *where)
        actions, new_device, why = self._succeed(attempt_id, context)
        return Settled(actions, *where, new_device=new_device, risk_reason=why)

    def _succeed(self, attempt_id: str, context: _Context) -> tuple[list[Action], bool, str | None]:
        # Success. Whether the login was new to the account is read in the same batch, before the
        # device and network are remembered (a pipeline runs its commands in order).
        w = self.config.windows
        account, device, network = context.account, context.device, context.network
        ops: _SuccessBatch[Op] = _SuccessBatch.__new__(
            _SuccessBatch,
            has_history=Known("known", account, "history"),
            known_network=Known("known", account, f"n.{network}"),
            known_device=Known("known", account, f"d.{device}") if device else NOTHING,
            remember_history=Remember("known", account, "history", w.known),
            remember_network=Remember("known", account, f"n.{network}", w.known),
            remember_device=Remember("known", account, f"d.{device}", w.known) if device is not None else NOTHING,
            place=Put("place", account, orjson.dumps([*context.place, context.ts]), w.known)
            if context.place is not None
            else NOTHING,
            stash=Pop("stash", self._hash(b"att", attempt_id)) if self._shared else NOTHING,
        )
        r: _SuccessBatch[Result] = _SuccessBatch._make(self.counters.run(ops, context.ts))
        familiar = bool(r.has_history) and bool(r.known_network) and device is not None and bool(r.known_device)
        why = (
            "leaked_pair"
            if context.leaked
            else "breached_password"
            if context.breached
            else "new_login_during_attack"
            if context.attack and not familiar
            else None
        )
        actions = []
        if why is not None:
            kinds = (ActionKind.REQUIRE_PASSWORD_RESET, ActionKind.REVOKE_SESSIONS, ActionKind.NOTIFY_CUSTOMER)
            actions = [Action(kind, why) for kind in kinds]
        new_device = bool(r.has_history) and not familiar
        return self._deliver(attempt_id, context, actions, context.ts), new_device, why

    def _context(self, attempt_id: str, outcome: Outcome) -> _Context:
        with self._lock:
            # A challenge outcome is followed by the password's: keep the context until then.
            context = (
                self._pending.get(attempt_id)
                if outcome is Outcome.CHALLENGE_PASSED
                else self._pending.pop(attempt_id, None)
            )
        if context is not None:
            return context
        if self._shared:
            key = self._hash(b"att", attempt_id)
            op: Op = Get("stash", key) if outcome is Outcome.CHALLENGE_PASSED else Pop("stash", key)
            sealed = self.counters.run([op], time.time())[0]
            if isinstance(sealed, bytes):
                return _Context.load(self._hash.open(sealed, attempt_id))
        raise UnknownAttempt(attempt_id)

    def _record_failure(self, context: _Context, attempt_id: str, now: float, *, unknown: bool) -> list[Action]:
        w, a = self.config.windows, self.config.attack
        ops: _FailureBatch[Op] = _FailureBatch.__new__(
            _FailureBatch,
            account_failures=Add("fail_acct", context.account, w.account),
            account_ip_failures=Add("fail_acct_ip", f"{context.account}.{context.ip}", w.account_ip),
            ip_failures=Add("fail_ip", context.ip, w.ip),
            network_failures=Add("fail_net", context.network, w.network),
            ip_recent_failures=Add("fail_ip_long", context.ip, w.ip_attempts),
            store_failures_short=Add("g_fail_s", "all", a.short),
            store_failures_long=Add("g_fail_l", "all", a.long),
            ip_unknown=Add("unk_ip", context.ip, w.ip_attempts) if unknown else NOTHING,
            stash=Pop("stash", self._hash(b"att", attempt_id)) if self._shared else NOTHING,
        )
        r: _FailureBatch[Result] = _FailureBatch._make(self.counters.run(ops, now))
        self.history.failed(now, network_of(context.address))
        actions: list[Action] = []
        if not unknown and r.account_failures == self.config.notify.account_failures:
            # Once per window, when the account's count reaches the limit: the owner hears that
            # someone is trying their account, which is also how a lockout attempt becomes visible.
            actions.append(Action(ActionKind.NOTIFY_CUSTOMER, "failed_attempts_on_account"))
        return self._deliver(attempt_id, context, actions, now)

    def _deliver(self, attempt_id: str, context: _Context, actions: list[Action], now: float) -> list[Action]:
        if actions:
            for action in actions:
                self.metrics.actions.inc(action.kind.value)
            self.actions.deliver(attempt_id=attempt_id, username=context.username, actions=actions, at=now)
        return actions

    def status(self) -> dict[str, Any]:
        """Attack mode and the counters in use; the password stores report their own state."""
        return {
            "attack_mode": self.attack.on,
            "attack_mode_since": self.attack.since if self.attack.on else None,
            "counters": self.counters.backend,
            "locations": self._locations is not None,
        }


def _f(value: Result) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


__all__ = ["Assessment", "Guard", "GuardMetrics", "Hasher", "Settled", "UnknownAttempt"]
