"""Who ``warn --cluster`` warns, measured against the truth of simulated scam waves.

Each point of the sweep is a wave configuration (``simulate.waves``): the default wave, then each
knob moved one way and the other (wave size, share of victims who report, noise customers with
the same kind of fresh return, the leak's length, how often victims remember the return). Each
point runs over several seeds. The rule ``warn --cluster`` runs (``breach.selection.choose``) is
scored beside the baseline, the rule of decision 0028 before the sweep (the pattern from the
reports alone, the window ending at the last call), on the same waves in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from rich.table import Table

from bench.common import Options, Ratio, console, markdown_results, markdown_table, run_stamp, write_section
from shopshield.breach.selection import LEAD, Choice, Holding, Reported, pattern_from_knowledge
from shopshield.simulate.waves import DEFAULT, PointResult, current_rule, score_point, sweep_points

NAME: Final = "warn-sweep"
FULL_SEEDS: Final = tuple(range(8))
QUICK_SEEDS: Final = tuple(range(3))


def rule_0028(reports: Sequence[Reported], holdings: Sequence[Holding], now: datetime) -> Choice:
    """The baseline: the selection as decision 0028 shipped it."""
    pattern = pattern_from_knowledge(r.knew for r in reports)
    since = min(r.contacted_at for r in reports) - LEAD
    until = max(r.contacted_at for r in reports)
    if pattern == "return":
        chosen = {h.customer_id for h in holdings if h.returned_at is not None and since <= h.returned_at <= until}
    else:
        chosen = {h.customer_id for h in holdings if since <= h.placed_at <= until}
    return Choice(pattern, since, until, sorted(chosen - {r.customer_id for r in reports}), "reports")


RULES: Final = {"rule": current_rule, "baseline": rule_0028}


def _changed(result: PointResult) -> str:
    if result.config == DEFAULT:
        return "default"
    moved = [
        f"{name}={getattr(result.config, name):g}"
        for name in ("victims", "report_share", "noise", "window_days", "knew_return")
        if getattr(result.config, name) != getattr(DEFAULT, name)
    ]
    return ", ".join(moved)


def run(options: Options) -> None:
    seeds = QUICK_SEEDS if options.quick else FULL_SEEDS
    stamp = run_stamp(options)
    started = time.perf_counter()
    results = []
    for config in sweep_points():
        results.append(score_point(config, seeds, RULES))
        console.print(f"  {_changed(results[-1]['rule'])}: done", highlight=False)
    seconds = time.perf_counter() - started
    default = results[0]
    worst_recall = min(results, key=lambda r: (r["rule"].recall, r["rule"].precision))
    worst_precision = min(results, key=lambda r: (r["rule"].precision, r["rule"].recall))
    # The baseline's weakest point, where the rule had to improve.
    weakest_baseline = min(results, key=lambda r: r["baseline"].precision)
    rows = []
    for found in results:
        rule, base = found["rule"], found["baseline"]
        rows.append(
            [
                _changed(rule),
                f"{rule.precision:.2f}",
                f"{rule.recall:.2f}",
                f"{rule.min_recall:.2f}",
                f"{rule.selected:,.0f}",
                f"{base.precision:.2f}",
                f"{base.recall:.2f}",
                f"{base.selected:,.0f}",
                f"{rule.at_risk:,.0f}",
            ]
        )
    headers = [
        "point",
        "precision",
        "recall",
        "lowest recall",
        "warned",
        "baseline precision",
        "baseline recall",
        "baseline warned",
        "at risk",
    ]
    ratios = [
        Ratio(
            "recall at the worst point, rule / baseline",
            worst_recall["rule"].recall / max(worst_recall["baseline"].recall, 1e-9),
            0.95,
            ">= 0.95",
            f"worst point: {_changed(worst_recall['rule'])}",
        ),
        Ratio(
            "precision at the baseline's weakest point, rule / baseline",
            weakest_baseline["rule"].precision / max(weakest_baseline["baseline"].precision, 1e-9),
            2.0,
            ">= 2",
            f"at {_changed(weakest_baseline['rule'])}",
        ),
        Ratio("recall at the default point (absolute)", default["rule"].recall, 0.9, ">= 0.9"),
    ]
    table = Table(title=f"warn --cluster over {len(seeds)} seeds a point", title_justify="left")
    for header in headers:
        table.add_column(header, justify="left" if header == "point" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"default point: precision {default['rule'].precision:.2f}, recall {default['rule'].recall:.2f}; "
        f"worst recall: {_changed(worst_recall['rule'])} ({worst_recall['rule'].recall:.2f}); "
        f"worst precision: {_changed(worst_precision['rule'])} ({worst_precision['rule'].precision:.2f})",
        highlight=False,
    )
    for ratio in ratios:
        console.print(f"{ratio.name}: {ratio.value:.2f} (target {ratio.target_text})", highlight=False)
    if options.write_docs:
        body = "\n\n".join(
            [
                "## Warning selection for scam clusters (warn-sweep)",
                f"Run: {stamp}. Command: `.venv/bin/python -m bench warn-sweep"
                + (" --quick`." if options.quick else "`."),
                f"Each point is the mean over {len(seeds)} simulated waves (seeds {seeds[0]}-{seeds[-1]}; "
                f"{seconds:.0f} s in all) of a store of {DEFAULT.customers:,} customers over {DEFAULT.days} days "
                "(`simulate.waves`); the truth is the customers whose data had leaked by the run, less the "
                "reporters. The default wave: "
                f"{DEFAULT.label()}. Each other point moves one knob. The baseline is the rule of decision 0028 "
                "(the pattern from the reports alone, the window ending at the last call), run on the same waves.",
                markdown_table(headers, rows, "lrrrrrrrr"),
                f"Default point: precision {default['rule'].precision:.2f}, recall {default['rule'].recall:.2f}. "
                f"Worst recall: {_changed(worst_recall['rule'])}, {worst_recall['rule'].recall:.2f} "
                f"(lowest seed {worst_recall['rule'].min_recall:.2f}). Worst precision: "
                f"{_changed(worst_precision['rule'])}, {worst_precision['rule'].precision:.2f}.",
                markdown_results([], ratios),
            ]
        )
        path = write_section(NAME, body, stamp)
        console.print(f"wrote the {NAME} section of {path}")
