"""Scoring a replay against a simulation's truth: what a decider let the attackers take, and what it
cost the store's own customers (the metrics of docs/login-protection.md, "Evaluation and baselines").

The truth (``<stem>.truth.jsonl`` of ``shopshield simulate logins``: ``{"id", "actor",
"customer"}``) is read here and only here: a decider never sees it. Whether a denied attempt
carried the right password is not in its outcomes (nothing is checked after a denial), so the
evaluation also takes each attempt's ``Truth`` from the attempts file.

Definitions, per decider:

- taken over: distinct accounts where an attack attempt ended logged in (``success`` reported);
- stopped: an attack attempt denied, or challenged and the challenge failed;
- legit challenged / denied: shares of legitimate attempts whose verdict was challenge / deny;
- locked out: a customer with at least one legitimate attempt that carried the right password
  for an existing account and was denied. Being challenged is friction, not a lockout (the
  customer can pass); a denied wrong password is not one either (it would have failed anyway).
  Of those, locked out by others: the customer's own attempts had not failed (a wrong password or
  username of their own) in the hour before the denial, so it was someone else's failures (an
  attacker's, or a stranger's behind the same shared address) that shut them out. A customer who
  forgets a password and is then refused the right one locked themselves out: counted above only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

from shopshield.core.errors import InvalidInput
from shopshield.guard.models import Attempt, Outcome, Recorded, Truth, Verdict
from shopshield.guard.replay import Decider, replay

LEGIT: Final = "legit"
ATTACKS: Final = ("stuffing", "brute_force", "spraying", "lockout")
ACTORS: Final = (LEGIT, *ATTACKS)
OWN_FAILURES_WINDOW: Final = timedelta(hours=1)  # own failures this recent make a lockout self-inflicted


class TruthFormatError(InvalidInput, ValueError):
    """A line of a truth file is not ``{"id", "actor", "customer"}``, or an attempt has no line."""


@dataclass(frozen=True, slots=True)
class Label:
    actor: str  # one of ACTORS
    customer: str | None  # the customer the attempt belongs to or targets, null when none


def read_labels(path: Path) -> dict[str, Label]:
    """The truth file, by attempt id; errors name the line and field, never a value."""
    labels: dict[str, Label] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                attempt_id, label = _parse_label(raw, number)
                labels[attempt_id] = label
    return labels


def _parse_label(raw: bytes, line: int) -> tuple[str, Label]:
    try:
        obj: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise TruthFormatError(f"line {line}: not valid JSON") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise TruthFormatError(f"line {line}: expected an object with a string 'id'")
    if obj.get("actor") not in ACTORS:
        raise TruthFormatError(f"line {line}: field 'actor' must be one of {', '.join(ACTORS)}")
    customer = obj.get("customer")
    if customer is not None and not isinstance(customer, str):
        raise TruthFormatError(f"line {line}: field 'customer' must be a string or null")
    return obj["id"], Label(actor=obj["actor"], customer=customer)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(frozen=True)
class Evaluation:
    attempts: int
    legit: int
    legit_challenged: int
    legit_denied: int
    legit_challenge_failed: int  # challenged legitimate attempts whose person did not pass
    attacks: dict[str, int]  # attempts per attack kind
    stopped: dict[str, int]  # of those, stopped
    taken_over: dict[str, tuple[str, ...]]  # accounts per attack kind, sorted
    locked_out: tuple[str, ...]  # customers, sorted
    locked_out_attempts: int  # right-password legitimate attempts denied
    locked_out_by_others: tuple[str, ...]  # of ``locked_out``, those with no failure of their own just before
    lockout_targets: tuple[str, ...]  # customers the lockout attack went after, sorted

    @property
    def accounts_taken_over(self) -> int:
        return len({account for accounts in self.taken_over.values() for account in accounts})

    def stopped_share(self, kind: str | None = None) -> float:
        """Share of attack attempts stopped, of one kind or (None) of all of them."""
        if kind is None:
            return _share(sum(self.stopped.values()), sum(self.attacks.values()))
        return _share(self.stopped.get(kind, 0), self.attacks.get(kind, 0))

    @property
    def legit_challenged_share(self) -> float:
        return _share(self.legit_challenged, self.legit)

    @property
    def legit_denied_share(self) -> float:
        return _share(self.legit_denied, self.legit)

    @property
    def lockout_targets_locked_out(self) -> tuple[str, ...]:
        return tuple(c for c in self.lockout_targets if c in set(self.locked_out))

    def as_json(self) -> dict[str, object]:
        return {
            "attempts": self.attempts,
            "legit": self.legit,
            "legit_challenged": self.legit_challenged,
            "legit_denied": self.legit_denied,
            "legit_challenge_failed": self.legit_challenge_failed,
            "attacks": self.attacks,
            "stopped": self.stopped,
            "accounts_taken_over": self.accounts_taken_over,
            "taken_over": {kind: list(accounts) for kind, accounts in self.taken_over.items()},
            "locked_out": list(self.locked_out),
            "locked_out_attempts": self.locked_out_attempts,
            "locked_out_by_others": list(self.locked_out_by_others),
            "lockout_targets": list(self.lockout_targets),
        }


@dataclass
class Evaluator:
    """Adds up replayed attempts one at a time, so a long replay need not be kept in memory."""

    labels: Mapping[str, Label]
    _attempts: int = 0
    _legit: Counter[str] = field(default_factory=Counter)
    _attacks: Counter[str] = field(default_factory=Counter)
    _stopped: Counter[str] = field(default_factory=Counter)
    _taken: dict[str, set[str]] = field(default_factory=dict)
    _locked_out: set[str] = field(default_factory=set)
    _locked_out_attempts: int = 0
    _by_others: set[str] = field(default_factory=set)
    _own_failure: dict[str, datetime] = field(default_factory=dict)  # customer -> their latest failed attempt
    _lockout_targets: set[str] = field(default_factory=set)

    def add(self, recorded: Recorded, truth: Truth) -> None:
        attempt, verdict = recorded.attempt, recorded.decision.verdict
        label = self.labels.get(attempt.id)
        if label is None:
            raise TruthFormatError(f"attempt {attempt.id!r} has no line in the truth file")
        self._attempts += 1
        failed_challenge = Outcome.CHALLENGE_FAILED in recorded.outcomes
        if label.actor == LEGIT:
            self._legit["attempts"] += 1
            self._legit["challenged"] += verdict is Verdict.CHALLENGE
            self._legit["denied"] += verdict is Verdict.DENY
            self._legit["challenge_failed"] += failed_challenge
            customer = label.customer or attempt.username
            right = truth.user_exists and truth.password_ok
            if verdict is Verdict.DENY and right:
                self._locked_out.add(customer)
                self._locked_out_attempts += 1
                own = self._own_failure.get(customer)
                if own is None or attempt.ts - own > OWN_FAILURES_WINDOW:
                    self._by_others.add(customer)
            if not right:
                self._own_failure[customer] = attempt.ts
            return
        self._attacks[label.actor] += 1
        self._stopped[label.actor] += verdict is Verdict.DENY or failed_challenge
        if recorded.logged_in:
            self._taken.setdefault(label.actor, set()).add(label.customer or attempt.username)
        if label.actor == "lockout" and label.customer is not None:
            self._lockout_targets.add(label.customer)

    def result(self) -> Evaluation:
        kinds = [k for k in ATTACKS if self._attacks[k]] + sorted(set(self._attacks) - set(ATTACKS))
        return Evaluation(
            attempts=self._attempts,
            legit=self._legit["attempts"],
            legit_challenged=self._legit["challenged"],
            legit_denied=self._legit["denied"],
            legit_challenge_failed=self._legit["challenge_failed"],
            attacks={k: self._attacks[k] for k in kinds},
            stopped={k: self._stopped[k] for k in kinds},
            taken_over={k: tuple(sorted(self._taken.get(k, ()))) for k in kinds},
            locked_out=tuple(sorted(self._locked_out)),
            locked_out_attempts=self._locked_out_attempts,
            locked_out_by_others=tuple(sorted(self._by_others)),
            lockout_targets=tuple(sorted(self._lockout_targets)),
        )


def evaluate(items: Iterable[tuple[Recorded, Truth]], labels: Mapping[str, Label]) -> Evaluation:
    """Score replayed attempts, each with the truth of its attempt, against the truth file's labels."""
    evaluator = Evaluator(labels)
    for recorded, truth in items:
        evaluator.add(recorded, truth)
    return evaluator.result()


def replay_with_truth(attempts: Sequence[tuple[Attempt, Truth]], decider: Decider) -> Iterator[tuple[Recorded, Truth]]:
    """``replay`` over ``attempts``, each result paired with its attempt's truth for ``evaluate``."""
    for recorded, (_, truth) in zip(replay(attempts, decider), attempts, strict=True):
        yield recorded, truth


def replay_and_evaluate(
    attempts: Sequence[tuple[Attempt, Truth]], decider: Decider, labels: Mapping[str, Label]
) -> Evaluation:
    return evaluate(replay_with_truth(attempts, decider), labels)
