"""Login-guard effectiveness: a simulated week of logins with planted attacks, replayed through each
decider, scored against the truth.

``python -m bench guard [--quick]``

1. ``shopshield simulate logins`` (``generate_logins``), seed 1: 20,000 customers over 7 days with
   a 50,000-pair breach list (2,000 customers over 2 days and 5,000 pairs with --quick), in a
   temporary directory;
2. the attempts file read once (``guard.replay.read_attempts``) and replayed, in time order with
   outcomes fed back, through every decider that ``deciders`` lists: the baselines written from
   documented defaults (``guard.baselines``) and, once it is registered there, ShopShield's engine;
3. each replay scored by ``guard.evaluate`` against ``<stem>.truth.jsonl``: accounts taken over,
   attack attempts stopped per kind and overall, legitimate attempts challenged and denied,
   customers locked out (and of those, by others' failures), and whether the lockout attack's
   victim was locked out.

Only effectiveness is measured here; the speed of decisions is another benchmark's.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.common import Options, console, markdown_table, phase, run_stamp, write_section
from shopshield.guard.baselines import Auth0AttackProtection, Fail2banJail, KeycloakBruteForce
from shopshield.guard.cli import learn_history, replay_guard
from shopshield.guard.evaluate import ATTACKS, Evaluation, read_labels, replay_and_evaluate
from shopshield.guard.replay import Decider, read_attempts
from shopshield.passwords.formats import open_source
from shopshield.passwords.models import CORPUS
from shopshield.passwords.service import (
    BreachedPasswords,
    LeakedPairs,
    build_corpus,
    current_generation,
    ingest_pairs,
)
from shopshield.simulate.logins import LoginSimConfig, LoginSimPaths, LoginSimSummary, generate_logins

NAME = "guard"
SEED = 1
# The aims for ShopShield's engine; the baselines are shown against them too.
AIM_STUFFING_STOPPED = 0.99
AIM_LEGIT_CHALLENGED = 0.01
AIM_LOCKED_OUT = 0


@dataclass(frozen=True)
class Scale:
    customers: int
    days: int
    leaked: int


FULL = Scale(customers=20_000, days=7, leaked=50_000)
QUICK = Scale(customers=2_000, days=2, leaked=5_000)


def deciders(sim_paths: LoginSimPaths) -> dict[str, Callable[[], Decider]]:
    """Every decider the benchmark compares, by the name its row carries; each factory builds a fresh
    one. ``sim_paths`` holds what a defence may know before the attack (the breach list's pairs and
    the breached-passwords corpus), never the truth."""
    return {
        "fail2ban (jail per IP)": Fail2banJail,
        "Keycloak (temporary lockout)": KeycloakBruteForce,
        "Auth0 (brute force + IP throttling)": Auth0AttackProtection,
        "ShopShield (no breach data)": lambda: engine(sim_paths, breach_data=False),
        "ShopShield (breached passwords + leaked pairs)": lambda: engine(sim_paths, breach_data=True),
    }


def engine(sim_paths: LoginSimPaths, *, breach_data: bool) -> Decider:
    """ShopShield's engine as a store would start it: having learnt its customers' devices from the
    30 days of successful logins before the log (``guard replay --history``) and, with
    ``breach_data``, with the breached-password corpus (``passwords build``) and the breach list's
    pairs (``passwords pairs``), built beside the simulation's files on first use."""
    passwords = pairs = None
    if breach_data:
        directory = sim_paths.attempts.parent / "passwords"
        key = b"bench-pairs-key-" * 2  # a fixed key: these pairs exist only for this run
        if current_generation(directory, CORPUS) is None:
            build_corpus(sources=[open_source(sim_paths.breached_passwords)], directory=directory)
            ingest_pairs(files=[sim_paths.leaked_pairs], directory=directory, key=key)
        passwords, pairs = BreachedPasswords.open(directory), LeakedPairs(directory, key)
    guard = replay_guard(config=None, locations=None, passwords=passwords, pairs=pairs)
    learn_history(guard, sim_paths.history)
    return guard


@dataclass(frozen=True)
class Result:
    name: str
    evaluation: Evaluation
    seconds: float


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


METRICS = (
    "Accounts taken over",
    "Stuffing attempts stopped",
    "Brute-force attempts stopped",
    "Spraying attempts stopped",
    "Lockout attempts stopped",
    "All attack attempts stopped",
    "Legitimate attempts challenged",
    "Legitimate attempts denied",
    "Customers locked out",
    "… of whom by others' failures",
    "Lockout victim locked out",
    "Replay and scoring",
)


def column(result: Result) -> list[str]:
    """One decider's figures, in ``METRICS`` order."""
    e = result.evaluation
    return [
        f"{e.accounts_taken_over:,}",
        *[_pct(e.stopped_share(kind)) for kind in ATTACKS],
        _pct(e.stopped_share()),
        f"{_pct(e.legit_challenged_share)} ({e.legit_challenged:,})",
        f"{_pct(e.legit_denied_share)} ({e.legit_denied:,})",
        f"{len(e.locked_out):,}",
        f"{len(e.locked_out_by_others):,}",
        "yes" if e.lockout_targets_locked_out else "no",
        f"{result.seconds:.1f} s",
    ]


def aims(summary: LoginSimSummary) -> list[str]:
    """The issue's aims, and what no defence at all would give up (accounts whose password was tried)."""
    exposed: dict[str, int] = summary.summary["exposed"]  # type: ignore[assignment]
    return [
        f"0 (no defence: {sum(exposed.values()):,})",
        f"≥ {_pct(AIM_STUFFING_STOPPED)}",
        "",
        "",
        "",
        "",
        f"≤ {_pct(AIM_LEGIT_CHALLENGED)}",
        "",
        str(AIM_LOCKED_OUT),
        str(AIM_LOCKED_OUT),
        "no",
        "",
    ]


def table_rows(summary: LoginSimSummary, results: list[Result]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: one row per measure, one column per decider, the aims last."""
    headers = ["Measure", *(r.name for r in results), "Aim (issue 5)"]
    columns = [column(r) for r in results] + [aims(summary)]
    return headers, [[metric, *(c[i] for c in columns)] for i, metric in enumerate(METRICS)]


def measure(root: Path, scale: Scale) -> tuple[LoginSimSummary, list[Result]]:
    config = LoginSimConfig(seed=SEED, customers=scale.customers, days=scale.days, leaked=scale.leaked)
    with phase(f"simulating {scale.customers:,} customers over {scale.days} days, {scale.leaked:,} leaked pairs"):
        summary = generate_logins(config, root / "logins.jsonl")
    with phase(f"reading {summary.attempts:,} attempts and their truth"):
        attempts = list(read_attempts(summary.paths.attempts))
        labels = read_labels(summary.paths.truth)
    results = []
    for name, build in deciders(summary.paths).items():
        with phase(f"replaying through {name}"):
            started = time.perf_counter()
            evaluation = replay_and_evaluate(attempts, build(), labels)
            results.append(Result(name, evaluation, time.perf_counter() - started))
    return summary, results


def _setup(summary: LoginSimSummary) -> str:
    s: dict[str, Any] = summary.summary  # the summary.json document, as written
    counts, customers, exposed, stuffing = s["counts"], s["customers"], s["exposed"], s["attacks"]["stuffing"]
    return (
        f"Simulation (seed {SEED}): {counts['attempts']:,} attempts, {counts['legit']:,} legitimate from "
        f"{customers['total']:,} customers ({customers['cgnat_addresses']:,} shared mobile-gateway addresses), "
        f"{counts['stuffing']:,} stuffing from {stuffing['ips']:,} addresses in {stuffing['slash24s']:,} /24s, "
        f"{counts['brute_force']:,} brute force, {counts['spraying']:,} spraying and {counts['lockout']:,} lockout "
        f"attempts. With no defence the attacks would take over {sum(exposed.values()):,} accounts "
        f"({exposed['stuffing']:,} by stuffing, {exposed['spraying']:,} by spraying, {exposed['brute_force']:,} by "
        f"brute force). Stopped: denied, or challenged and failed. Locked out: a customer denied an attempt with "
        f"the right password; by others: with no failure of their own in the hour before. None of the baselines "
        f"challenges, so their legitimate challenged share is 0 by construction. ShopShield starts as a store "
        f"would start it: it first learns the 30 days of successful logins before the log "
        f"({s['files']['history']:,} logins, `guard replay --history`); with breach data it also has the "
        f"breached-password corpus ({s['files']['breached_passwords']:,} passwords) and the breach list "
        f"({s['files']['leaked_pairs']:,} pairs) the stuffers use. Definitions and sources: "
        f"docs/login-protection.md and docs/decisions/0012-login-simulation-and-baselines.md."
    )


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    stamp = run_stamp(options)
    with tempfile.TemporaryDirectory(prefix="bench-guard-") as tmp:
        summary, results = measure(Path(tmp), scale)
    title = "Login protection: effectiveness on a simulated week" + (" (quick)" if options.quick else "")
    headers, lines = table_rows(summary, results)
    table = Table(title=title, title_justify="left")
    for n, header in enumerate(headers):
        table.add_column(header, justify="left" if n == 0 else "right", overflow="fold")
    for line in lines:
        table.add_row(*line)
    console.print(table)
    setup = _setup(summary)
    console.print(setup, highlight=False)
    if options.write_docs:
        body = "\n\n".join(
            [
                f"## {title}",
                f"Run: {stamp}. Command: `.venv/bin/python -m bench guard" + (" --quick`." if options.quick else "`."),
                markdown_table(headers, lines, "l" + "r" * (len(headers) - 1)),
                setup,
            ]
        )
        path = write_section(NAME, body, stamp)
        console.print(f"wrote the {NAME} section of {path}")
