"""Insider detection per shape: ``python -m bench insider-sweep [--quick] [--no-docs]``

Stores from ``shopshield.simulate.insiders`` (5,000 actors and 200,000 customers, 14 days of
history and 14 under test; 1,000 actors with --quick), several seeds, with insiders of every
shape at every point of its parameter's sweep among thousands of ordinary actors of every role
(teams, a night team, returns teams, supervisors, couriers, merchants, a partner feed, the
nightly job and the weekly marketing export, a sale day). ``investigate insiders`` scores every
actor-day of the period under test, the days before it being the baseline.

Positives are the insiders' leak actor-days; negatives every actor-day of the ordinary actors.
The 1% threshold is the 99th percentile of the ordinary actor-days' scores pooled over all
seeds (never one seed's); each seed's own false-positive rate at it is reported beside it. For
each shape: the share of leak actor-days above the 1% threshold and at or above the shipped
default, at the shape's default point and at its worst point of the sweep (worst seed too),
and the leak day of the first alert at the default threshold. Alerts a day at the default
threshold are counted per 5,000 actors. A last store has no history at all (the log starts with
the period under test, as in the issue): every actor is judged by its peers and, for how much it
reads, by its own days in the period.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import orjson

from bench.common import (
    Measurement,
    Options,
    Ratio,
    console,
    markdown_results,
    phase,
    print_results,
    run_stamp,
    write_section,
)
from shopshield.investigate import events, insiders
from shopshield.simulate.insiders import SHAPES, InsiderSimConfig, generate_insiders, sweep


@dataclass(frozen=True)
class Plan:
    seeds: int
    actors: int
    customers: int
    per_point: int


FULL = Plan(seeds=3, actors=5_000, customers=200_000, per_point=2)
QUICK = Plan(seeds=2, actors=1_000, customers=40_000, per_point=1)


@dataclass
class Store:
    seed: int
    ordinary: list[float]
    ordinary_days: list[date]
    declared_alerts: int
    # (shape, value, actor) -> scores of its leak days in order, and the leak days' dates
    leaks: dict[tuple[str, float, str], list[tuple[date, float]]]
    days: int
    actors: int
    seconds: float


def one_store(root: Path, seed: int, plan: Plan, history_days: int = 14) -> Store:
    out = root / f"seed-{seed}-history-{history_days}"
    config = InsiderSimConfig(
        seed=seed,
        actors=plan.actors,
        customers=plan.customers,
        history_days=history_days,
        insiders=sweep(plan.per_point),
    )
    with phase(f"simulated staff: seed {seed}, {plan.actors:,} actors"):
        summary = generate_insiders(config, out)
    truth = orjson.loads((out / "truth.json").read_bytes())
    con = events.connect()
    events.open_events(con, [out / "events.parquet"])
    started = time.perf_counter()
    with phase(f"investigate insiders over {summary.events:,} events"):
        insiders.load_metadata(
            con,
            actors=out / "actors.csv",
            customers=out / "customers.csv",
            orders=out / "orders.csv",
            tickets=out / "tickets.csv",
        )
        since = datetime.fromisoformat(truth["test_start"] + "T00:00:00+08:00")
        days = insiders.detect(con, since=since)
    seconds = time.perf_counter() - started
    con.close()
    planted = {i["actor_id"]: i for i in truth["insiders"]}
    declared = set(truth["declared"])
    store = Store(seed, [], [], 0, defaultdict(list), int(truth["days"]), summary.actors, seconds)
    for d in days:
        found = planted.get(d.actor_id)
        if found is None:
            if d.actor_id in declared:
                store.declared_alerts += d.score >= insiders.DEFAULT_THRESHOLD
            else:
                store.ordinary.append(d.score)
                store.ordinary_days.append(d.day)
        elif d.day.isoformat() in found["leak_days"]:
            store.leaks[(found["shape"], float(found["value"]), d.actor_id)].append((d.day, d.score))
    for key in store.leaks:
        store.leaks[key].sort()
    return store


def _rate(scores: list[float], above: float, inclusive: bool) -> float:
    if not scores:
        return 0.0
    return sum((s >= above) if inclusive else (s > above) for s in scores) / len(scores)


def _worst(per_point: dict[tuple[float, int], list[float]], threshold: float, inclusive: bool) -> tuple[float, str]:
    """The lowest detection rate over the sweep's points and seeds, and where it is."""
    rates = [
        (_rate(scores, threshold, inclusive), f"{value:g} (seed {seed})") for (value, seed), scores in per_point.items()
    ]
    return min(rates) if rates else (0.0, "–")


def summarise(stores: list[Store]) -> tuple[list[Measurement], list[Ratio], str]:
    pooled = sorted(s for store in stores for s in store.ordinary)
    one_percent = pooled[int(0.99 * (len(pooled) - 1))]
    default = insiders.DEFAULT_THRESHOLD
    lines = [
        "| shape | parameter | default point | leak actor-days | at 1%: default point | at 1%: worst point (seed) "
        "| at default: default point | at default: worst point (seed) | first alert (leak day), default point |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    worst_overall = 1.0
    sustained_within_3: list[bool] = []
    for shape, (parameter, point, points) in SHAPES.items():
        per_point: dict[tuple[float, int], list[float]] = defaultdict(list)
        first_alerts: list[int | None] = []
        for store in stores:
            for (name, value, _actor), leak in store.leaks.items():
                if name != shape:
                    continue
                per_point[(value, store.seed)] += [score for _, score in leak]
                if value == point or shape == "sustained":
                    hit = next((n for n, (_, s) in enumerate(leak, start=1) if s >= default), None)
                    if value == point:
                        first_alerts.append(hit)
                    if shape == "sustained":
                        sustained_within_3.append(hit is not None and hit <= 3)
        total = sum(len(v) for v in per_point.values())
        at_point = [s for (v, _), scores in per_point.items() if v == point for s in scores]

        w1, w1_at = _worst(per_point, one_percent, False)
        wd, wd_at = _worst(per_point, default, True)
        worst_overall = min(worst_overall, w1)
        found = [f for f in first_alerts if f is not None]
        first = (
            f"median {statistics.median(found):g}, latest {max(found)}; {len(first_alerts) - len(found)} never"
            if found
            else "never"
        )
        lines.append(
            f"| {shape} | {parameter}: {', '.join(f'{p:g}' for p in points)} | {point:g} | {total} "
            f"| {_rate(at_point, one_percent, False):.0%} | {w1:.0%} at {w1_at} "
            f"| {_rate(at_point, default, True):.0%} | {wd:.0%} at {wd_at} | {first} |"
        )
    per_day: list[float] = []
    for store in stores:
        alerts_by_day: dict[date, int] = defaultdict(int)
        for score, day in zip(store.ordinary, store.ordinary_days, strict=True):
            alerts_by_day[day] += score >= default
        scale = 5_000 / store.actors
        per_day += [alerts_by_day.get(day, 0) * scale for day in sorted(set(store.ordinary_days))]
    seed_fp = ", ".join(f"{_rate(store.ordinary, one_percent, False):.2%}" for store in stores)
    measurements = [
        Measurement(
            "investigate insiders per store",
            statistics.mean(s.seconds for s in stores),
            "s",
            count=len(stores),
            note=f"{stores[0].actors:,} actors, {stores[0].days} days under test",
        )
    ]
    ratios = [
        Ratio(
            "leak actor-days above the 1% threshold, worst shape point and seed",
            worst_overall,
            0.95,
            "≥ 0.95",
            f"1% threshold {one_percent:.2f} pooled over {len(pooled):,} ordinary actor-days; per seed: {seed_fp}",
        ),
        Ratio(
            "sustained insiders first alerted within their first 3 leak days (default threshold)",
            sum(sustained_within_3) / len(sustained_within_3) if sustained_within_3 else 0.0,
            1.0,
            "1.00",
            f"{sum(sustained_within_3)} of {len(sustained_within_3)}, all sweep points",
        ),
        Ratio(
            f"ordinary actor-days at or above the default threshold ({default:g})",
            1.0 - _rate(pooled, default, True),
            0.999,
            "≥ 0.999 (≤ 0.1% alert)",
            f"{_rate(pooled, default, True):.3%}; alerts a day per 5,000 actors: mean "
            f"{statistics.mean(per_day):.1f}, most {max(per_day):.0f}",
        ),
        Ratio(
            "declared bulk readers' days not alerted",
            1.0 - sum(s.declared_alerts for s in stores) / max(1, 3 * sum(s.days for s in stores)),
            1.0,
            "1.00",
            f"{sum(s.declared_alerts for s in stores)} alerts on the partner feed, nightly job and weekly export",
        ),
    ]
    return measurements, ratios, "\n".join(lines)


def run(options: Options) -> None:
    plan = QUICK if options.quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-insiders-") as tmp:
        stores = [one_store(Path(tmp), seed, plan) for seed in range(plan.seeds)]
        # The case: a log that starts with the period under test (no history at all).
        bare = one_store(Path(tmp), plan.seeds, plan, history_days=0)
    measurements, ratios, table = summarise(stores)
    bare_measurements, bare_ratios, bare_table = summarise([bare])
    bare_title = f"Without history (one seed, {bare.actors:,} actors, the log starts with the 14 days under test)"
    title = "Insider detection per shape (insider-sweep)" + (" (quick)" if options.quick else "")
    print_results(title, measurements, ratios)
    console.print(table.replace("|", " "), highlight=False, markup=False)
    print_results(bare_title, bare_measurements, bare_ratios)
    console.print(bare_table.replace("|", " "), highlight=False, markup=False)
    if not options.write_docs:
        return
    stamp = run_stamp(options)
    body = "\n\n".join(
        [
            f"## {title}",
            f"Run: {stamp}. Command: `.venv/bin/python -m bench insider-sweep"
            + (" --quick`." if options.quick else "`."),
            markdown_results(measurements, ratios),
            table,
            f"### {bare_title}",
            markdown_results(bare_measurements, bare_ratios),
            bare_table,
            "Setup: " + " ".join((__doc__ or "").split("\n\n", 1)[1].split()),
        ]
    )
    write_section("insider-sweep", body, stamp)
