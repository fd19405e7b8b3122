"""``python -m bench guard`` on a tiny simulation: every baseline is replayed and scored."""

from __future__ import annotations

from pathlib import Path

from bench.guard import METRICS, Scale, deciders, measure, table_rows
from shopshield.simulate.logins import LoginSimPaths

BASELINES = ["fail2ban (jail per IP)", "Keycloak (temporary lockout)", "Auth0 (brute force + IP throttling)"]


def test_the_baselines_and_the_engine_are_registered_by_name() -> None:
    names = list(deciders(LoginSimPaths.beside(Path("x.jsonl"))))
    assert names[:3] == BASELINES
    assert all(name.startswith("ShopShield") for name in names[3:])
    assert names[3:]


def test_a_tiny_run_scores_every_decider(tmp_path: Path) -> None:
    summary, results = measure(tmp_path, Scale(customers=300, days=1, leaked=500))
    assert [r.name for r in results] == list(deciders(summary.paths))
    for result in results:
        assert result.evaluation.attempts == summary.attempts
    for result in results[:3]:
        assert result.evaluation.legit_challenged == 0  # none of the baselines challenges
        assert result.evaluation.stopped_share("stuffing") < 0.05  # one or two tries per address pass them all
    for result in results[3:]:
        # Too small a run for attack mode (40 failures in 5 minutes); but never a lockout.
        assert not result.evaluation.locked_out
        assert not result.evaluation.lockout_targets_locked_out
    keycloak = results[1].evaluation
    assert keycloak.lockout_targets_locked_out  # per-account lockout hands the attacker the victim
    headers, rows = table_rows(summary, results)
    assert len(headers) == len(results) + 2
    assert [r[0] for r in rows] == list(METRICS)
