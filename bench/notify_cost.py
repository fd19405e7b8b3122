"""What telling the customer costs a reveal: in-process reveals with their ``data.revealed``
notification queued in the same transaction, against the same reveals with nothing queued.

The store is ``bench.vault``'s, smaller: a cs_agent reveals mobile, phone and street of random
customers on open tickets, with every data key warm in the cache. "Without" is the same container
with ``Vault.notices`` set to ``NO_NOTICES``; the two alternate in rounds, so that a slow moment of
a shared machine falls on both. Target (issue 13): with / without >= 0.8.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from bench.common import (
    Measurement,
    Options,
    Ratio,
    Timing,
    console,
    markdown_results,
    phase,
    print_results,
    run_for,
    run_stamp,
    write_section,
)
from bench.vault import Scale, container_for, prepare, reveal_op
from shopshield.core.notices import NO_NOTICES

NAME = "notify-cost"
TARGET = 0.8
ROUNDS = 4

FULL = Scale(
    customers=5_000,
    timed_stores=100,
    fill_batch=500,
    seconds=12.0,
    cold_seconds=1.0,
    http_seconds=1.0,
    http_warmup=1.0,
    connections=1,
    rotation_keys=0,
)
QUICK = dataclasses.replace(FULL, customers=500, timed_stores=50, fill_batch=200, seconds=2.0)


def _sum(timings: list[Timing]) -> Timing:
    return Timing(
        sum(t.count for t in timings),
        sum(t.seconds for t in timings),
        tuple(latency for t in timings for latency in t.latencies),
    )


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    stamp = run_stamp(options)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-notify-cost-") as tmp:
        world, _stores = prepare(Path(tmp), scale)
        ids = world.customer_ids
        with_notice: list[Timing] = []
        without: list[Timing] = []
        each = scale.seconds / ROUNDS
        rounds = phase(f"reveals with and without a notification, {ROUNDS} rounds of {each:.1f}s each")
        with rounds, container_for(world.settings, warm=True) as container:
            bare = dataclasses.replace(container.vault, notices=NO_NOTICES)
            told = container.vault
            for n in range(ROUNDS):
                container.vault = told
                reveal_op(container, world.agent_caller, ids[:1], 100 + n)(0)
                with_notice.append(run_for(reveal_op(container, world.agent_caller, ids, n), seconds=each))
                container.vault = bare
                reveal_op(container, world.agent_caller, ids[:1], 200 + n)(0)
                without.append(run_for(reveal_op(container, world.agent_caller, ids, 50 + n), seconds=each))
            container.vault = told
    told_t, bare_t = _sum(with_notice), _sum(without)
    rows = [
        Measurement.from_timing(
            "reveals, in-process, with data.revealed queued",
            told_t,
            "reveal + its access event + one notification intent in one transaction (the worker expands it)",
        ),
        Measurement.from_timing("reveals, in-process, nothing queued", bare_t, "Vault.notices = NO_NOTICES"),
    ]
    ratios = [
        Ratio(
            "reveals with a notification / without",
            told_t.rate / bare_t.rate,
            TARGET,
            "≥ 0.8",
            f"{told_t.rate:,.0f} / {bare_t.rate:,.0f} per s; {ROUNDS} alternating rounds",
        )
    ]
    title = "Notification cost" + (" (quick)" if options.quick else "")
    print_results(title, rows, ratios)
    console.print(f"whole benchmark took {time.perf_counter() - started:.0f}s")
    if options.write_docs:
        body = "\n\n".join(
            [
                "## Notification cost",
                f"Run: {stamp}. Command: `.venv/bin/python -m bench notify-cost"
                + (" --quick`." if options.quick else "`."),
                markdown_results(rows, ratios),
            ]
        )
        write_section(NAME, body, stamp)
