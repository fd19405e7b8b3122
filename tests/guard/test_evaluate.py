"""The evaluation's definitions on small hand-made replays: taken over, stopped, challenged, denied,
locked out (and by whom)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopshield.guard.evaluate import (
    Label,
    TruthFormatError,
    evaluate,
    read_labels,
    replay_and_evaluate,
)
from shopshield.guard.models import Attempt, Decision, Outcome, Recorded, Truth, Verdict
from tests.support.login_attempts import RIGHT, UNKNOWN, WRONG, attempt

ATTACKER = Truth(user_exists=True, password_ok=True, challenge_passed=False)
BOT_WRONG = Truth(user_exists=True, password_ok=False, challenge_passed=False)


class Scripted:
    """A decider that answers from a script keyed by attempt id (allow when not scripted)."""

    def __init__(self, verdicts: dict[str, Verdict]) -> None:
        self.verdicts = verdicts
        self.reported: list[tuple[str, Outcome]] = []

    def assess(self, attempt: Attempt) -> Decision:
        return Decision(attempt.id, self.verdicts.get(attempt.id, Verdict.ALLOW), 0.0)

    def report(self, attempt_id: str, outcome: Outcome) -> None:
        self.reported.append((attempt_id, outcome))


def test_taken_over_counts_accounts_an_attack_got_into_once_each() -> None:
    a1, a2, a3, a4 = (attempt(i, username=u) for i, u in enumerate(["alice", "alice", "bob", "carol"]))
    items = [(a1, ATTACKER), (a2, ATTACKER), (a3, ATTACKER), (a4, ATTACKER)]
    labels = {a.id: Label("stuffing", a.username) for a, _ in items}
    labels[a4.id] = Label("spraying", "carol")
    decider = Scripted({a3.id: Verdict.DENY})
    result = replay_and_evaluate(items, decider, labels)
    assert result.taken_over == {"stuffing": ("alice",), "spraying": ("carol",)}
    assert result.accounts_taken_over == 2
    assert result.stopped == {"stuffing": 1, "spraying": 0}
    assert result.stopped_share("stuffing") == pytest.approx(1 / 3)
    assert result.stopped_share() == pytest.approx(1 / 4)


def test_a_failed_challenge_stops_an_attack_a_passed_one_does_not() -> None:
    bot, person = attempt(0, username="dave"), attempt(1, username="dave")
    items = [(bot, ATTACKER), (person, RIGHT)]
    labels = {bot.id: Label("brute_force", "dave"), person.id: Label("legit", "dave")}
    result = replay_and_evaluate(items, Scripted({bot.id: Verdict.CHALLENGE, person.id: Verdict.CHALLENGE}), labels)
    assert result.stopped == {"brute_force": 1} and result.accounts_taken_over == 0
    assert result.legit_challenged == 1 and result.legit_challenge_failed == 0 and result.legit_denied == 0
    assert result.locked_out == ()


def test_legitimate_shares_and_lockouts() -> None:
    items = [
        (attempt(0, username="erin"), RIGHT),  # allowed
        (attempt(1, username="erin"), RIGHT),  # challenged, passes
        (attempt(2, username="frank"), WRONG),  # denied, but the password was wrong anyway: no lockout
        (attempt(3, username="grace"), RIGHT),  # denied with the right password: locked out
        (attempt(4, username="grace"), RIGHT),  # again
        (attempt(5, username="gracee"), UNKNOWN),  # her mistyped username, denied: no lockout
        (attempt(6, username="heidi"), Truth(True, True, challenge_passed=False)),  # challenged, gives up
    ]
    customers = ["erin", "erin", "frank", "grace", "grace", "grace", "heidi"]
    labels = {a.id: Label("legit", c) for (a, _), c in zip(items, customers, strict=True)}
    ids = [a.id for a, _ in items]
    script = {ids[1]: Verdict.CHALLENGE, ids[6]: Verdict.CHALLENGE}
    script |= {ids[2]: Verdict.DENY, ids[3]: Verdict.DENY, ids[4]: Verdict.DENY, ids[5]: Verdict.DENY}
    result = replay_and_evaluate(items, Scripted(script), labels)
    assert result.legit == 7
    assert (result.legit_challenged, result.legit_denied, result.legit_challenge_failed) == (2, 4, 1)
    assert result.legit_challenged_share == pytest.approx(2 / 7)
    assert result.legit_denied_share == pytest.approx(4 / 7)
    assert result.locked_out == ("grace",) and result.locked_out_attempts == 2
    assert result.locked_out_by_others == ("grace",)
    assert result.attacks == {} and result.stopped_share() == 0.0


def test_a_customer_refused_after_their_own_failures_locked_themselves_out() -> None:
    own = [(attempt(60 * i, username="ivan"), WRONG) for i in range(5)]
    refused = (attempt(300, username="ivan"), RIGHT)
    much_later = (attempt(300 + 2 * 3600, username="ivan"), RIGHT)
    items = [*own, refused, much_later]
    labels = {a.id: Label("legit", "ivan") for a, _ in items}
    result = replay_and_evaluate(items, Scripted({refused[0].id: Verdict.DENY}), labels)
    assert result.locked_out == ("ivan",) and result.locked_out_by_others == ()
    result = replay_and_evaluate(items, Scripted({much_later[0].id: Verdict.DENY}), labels)
    assert result.locked_out_by_others == ("ivan",)  # two hours on, his own failures are not the cause


def test_the_lockout_attacks_target_is_reported_when_locked_out() -> None:
    attack = [(attempt(i, username="judy", ip=f"198.51.100.{i}"), BOT_WRONG) for i in range(3)]
    owner = (attempt(10, username="judy"), RIGHT)
    labels = {a.id: Label("lockout", "judy") for a, _ in attack} | {owner[0].id: Label("legit", "judy")}
    items = [*attack, owner]
    kept_out = replay_and_evaluate(items, Scripted({owner[0].id: Verdict.DENY}), labels)
    assert kept_out.lockout_targets == ("judy",) and kept_out.lockout_targets_locked_out == ("judy",)
    fine = replay_and_evaluate(items, Scripted({a.id: Verdict.DENY for a, _ in attack}), labels)
    assert fine.lockout_targets_locked_out == () and fine.stopped_share("lockout") == 1.0


def test_evaluate_takes_recorded_items_with_their_truth() -> None:
    a = attempt(0, username="kim")
    recorded = Recorded(a, Decision(a.id, Verdict.ALLOW, 0.0), (Outcome.SUCCESS,))
    result = evaluate([(recorded, ATTACKER)], {a.id: Label("stuffing", "kim")})
    assert result.taken_over == {"stuffing": ("kim",)}
    assert result.as_json()["accounts_taken_over"] == 1


def test_an_attempt_missing_from_the_truth_is_an_error() -> None:
    a = attempt(0)
    recorded = Recorded(a, Decision(a.id, Verdict.ALLOW, 0.0), (Outcome.SUCCESS,))
    with pytest.raises(TruthFormatError, match="has no line in the truth file"):
        evaluate([(recorded, RIGHT)], {})


def test_read_labels_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "t.truth.jsonl"
    good.write_text(
        '{"id": "la-1", "actor": "legit", "customer": "13800000001"}\n\n'
        '{"id": "la-2", "actor": "stuffing", "customer": null}\n',
        encoding="utf-8",
    )
    assert read_labels(good) == {"la-1": Label("legit", "13800000001"), "la-2": Label("stuffing", None)}
    for text, message in [
        ("{not json\n", "line 1: not valid JSON"),
        ('{"id": "x", "actor": "ghost", "customer": null}\n', "line 1: field 'actor' must be one of"),
        ("[1, 2]\n", "line 1: expected an object"),
        ('{"id": "x", "actor": "legit", "customer": 5}\n', "field 'customer' must be a string or null"),
    ]:
        bad = tmp_path / "bad.jsonl"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(TruthFormatError, match=message):
            read_labels(bad)
