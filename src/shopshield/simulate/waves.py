"""Scam waves with a known truth, for measuring who ``warn --cluster`` selects (``bench warn-sweep``).

A wave is the 2016 story with its knobs exposed. The store comes from the simulator's own world
(``build_world``: customers, orders, returns at the default volumes). An insider reads, each working
day of the leak's ``window_days``, a share of the returns requested in the three days before (the
rest are the **noise**: customers with the same kind of fresh return whose data did not leak).
Scammers call ``victims`` of the customers read, one to five days after the read; each victim
reports with chance ``report_share`` (at least one does), and remembers that the caller knew of the
return with chance ``knew_return`` (the name and the item always). The reports are written by the
simulator's ``build_reports``, so they carry the same numbers, domains and accounts a real
cluster does.

``evaluate`` runs a selection rule on a wave and scores it against the truth: the customers whose
data had leaked by the moment of the run, less the reporters (whom no rule warns: they told us).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np

from shopshield.breach.selection import Choice, Holding, Reported, choose
from shopshield.simulate.events import DAY, HOUR, NEVER, US, empty
from shopshield.simulate.reports import build_reports
from shopshield.simulate.scenarios import Plan
from shopshield.simulate.world import build_world

__all__ = [
    "DEFAULT",
    "KNOBS",
    "PointResult",
    "Score",
    "Wave",
    "WaveConfig",
    "evaluate",
    "score_point",
    "simulate",
    "sweep_points",
]

START: Final = date(2026, 9, 1)
_FRESH: Final = 3 * DAY  # the insider reads returns requested in the three days before


@dataclass(frozen=True, slots=True)
class WaveConfig:
    seed: int = 0
    customers: int = 4000
    days: int = 50
    victims: int = 12
    report_share: float = 0.6
    noise: float = 0.6
    window_days: int = 7
    knew_return: float = 0.8

    def label(self) -> str:
        return (
            f"victims={self.victims} report_share={self.report_share:g} noise={self.noise:g} "
            f"window_days={self.window_days} knew_return={self.knew_return:g}"
        )


DEFAULT: Final = WaveConfig()


@dataclass
class Wave:
    config: WaveConfig
    reports: list[Reported]
    holdings: list[Holding]
    leaked: set[str]
    now: datetime
    reporters: set[str] = field(default_factory=set)


def _at(us: int) -> datetime:
    return datetime.fromtimestamp(us / US, tz=UTC)


def simulate(config: WaveConfig) -> Wave:
    """The wave of ``config``: its reports, the store's orders as of the run, the leaked customers."""
    seq = np.random.SeedSequence(config.seed, spawn_key=(0x57A7E,))
    world_rng, leak_rng, report_rng = (np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(3))
    world = build_world(
        world_rng,
        seed=config.seed,
        customers=config.customers,
        actors=max(200, config.customers // 20),
        days=config.days,
        start=START,
        intensity=1.0,
    )
    o = world.orders
    # The leak starts after a week of history and ends early enough for its calls to be reported.
    first_day = int(leak_rng.integers(7, max(8, config.days - config.window_days - 10)))
    read_at: dict[int, int] = {}  # customer index -> first read (µs)
    for day in range(first_day, first_day + config.window_days):
        start = world.origin + day * DAY
        fresh = np.flatnonzero((o.return_requested >= start - _FRESH) & (o.return_requested < start))
        if fresh.size == 0:
            continue
        keep = leak_rng.random(fresh.size) >= config.noise
        for i in fresh[keep].tolist():
            customer = int(o.customer[i])
            if customer not in read_at:
                read_at[customer] = start + 9 * HOUR + int(leak_rng.integers(0, 9 * HOUR))
    leaked_idx = np.array(sorted(read_at), dtype=np.int32)
    if leaked_idx.size == 0:
        raise ValueError(f"no customer's data leaked in this wave ({config.label()}); a larger store is needed")
    count = min(config.victims, int(leaked_idx.size))
    victims = np.sort(leak_rng.choice(leaked_idx, size=count, replace=False)).astype(np.int32)
    reads = np.array([read_at[int(v)] for v in victims.tolist()], dtype=np.int64)
    later = leak_rng.choice(np.arange(1, 6), size=count, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    contacted = (
        world.origin + ((reads - world.origin) // DAY + later) * DAY + leak_rng.integers(9 * HOUR, 21 * HOUR, count)
    )
    knew = [
        "name|items|return_request" if leak_rng.random() < config.knew_return else "name|items" for _ in range(count)
    ]
    plan = Plan(
        scenario="insider",
        source=None,
        events=empty(),
        victims=victims,
        contacted=np.asarray(contacted, dtype=np.int64),
        knew=knew,
        leak_window=None,
    )
    written = build_reports(world, plan, report_rng)
    reporting = [r for r in written if report_rng.random() < config.report_share] or written[:1]
    reports = [
        Reported(
            customer_id=str(r["customer_id"]),
            contacted_at=datetime.fromisoformat(str(r["contacted_at"])),
            knew=frozenset(str(r["knew"]).split("|")) if r["knew"] else frozenset(),
        )
        for r in reporting
    ]
    # The security team runs the warning the day after the last report.
    last_report = max(datetime.fromisoformat(str(r["reported_at"])) for r in reporting)
    now = last_report + timedelta(days=1)
    now_us = int(now.timestamp() * US)
    ids = world.customers.ids
    holdings = [
        Holding(
            customer_id=ids[int(c)],
            placed_at=_at(int(p)),
            returned_at=None if r == NEVER or r > now_us else _at(int(r)),
        )
        for c, p, r in zip(o.customer.tolist(), o.placed.tolist(), o.return_requested.tolist(), strict=True)
        if p <= now_us
    ]
    return Wave(
        config=config,
        reports=reports,
        holdings=holdings,
        # Whose data had leaked by the run: a leak that goes on after it is the next run's to find.
        leaked={ids[c] for c, at in read_at.items() if at <= now_us},
        now=now,
        reporters={r.customer_id for r in reports},
    )


@dataclass(frozen=True, slots=True)
class Score:
    precision: float
    recall: float
    selected: int
    at_risk: int
    pattern: str


Rule = Callable[[Sequence[Reported], Sequence[Holding], datetime], Choice]


def current_rule(reports: Sequence[Reported], holdings: Sequence[Holding], now: datetime) -> Choice:
    """``selection.choose``, the rule ``warn --cluster`` runs."""
    return choose(reports, holdings, now=now)


def evaluate(wave: Wave, rule: Rule) -> Score:
    """Precision and recall of ``rule`` on ``wave`` against the leaked customers less the reporters."""
    choice = rule(wave.reports, wave.holdings, wave.now)
    truth = wave.leaked - wave.reporters
    chosen = set(choice.customers)
    hit = len(chosen & truth)
    precision = hit / len(chosen) if chosen else 0.0
    recall = hit / len(truth) if truth else 1.0
    return Score(precision, recall, len(chosen), len(truth), choice.pattern)


@dataclass(frozen=True, slots=True)
class PointResult:
    """A sweep point over several seeds: mean precision and recall, and the lowest recall of any seed."""

    config: WaveConfig
    precision: float
    recall: float
    min_recall: float
    min_precision: float
    selected: float
    at_risk: float


# The sweep: the default wave, and each knob moved one way and the other from it.
KNOBS: Final[dict[str, tuple[float | int, ...]]] = {
    "victims": (4, 30),
    "report_share": (0.2, 1.0),
    "noise": (0.3, 0.9),
    "window_days": (2, 14),
    "knew_return": (0.0, 0.4),
}


def sweep_points(base: WaveConfig = DEFAULT) -> list[WaveConfig]:
    points = [base]
    for knob, values in KNOBS.items():
        points.extend(replace(base, **{knob: value}) for value in values)  # type: ignore[arg-type]
    return points


def score_point(config: WaveConfig, seeds: Sequence[int], rules: Mapping[str, Rule]) -> dict[str, PointResult]:
    """Every rule on the same waves (one per seed) of ``config``."""
    scores: dict[str, list[Score]] = {name: [] for name in rules}
    for seed in seeds:
        wave = simulate(replace(config, seed=seed))
        for name, rule in rules.items():
            scores[name].append(evaluate(wave, rule))
    return {
        name: PointResult(
            config=config,
            precision=sum(s.precision for s in found) / len(found),
            recall=sum(s.recall for s in found) / len(found),
            min_recall=min(s.recall for s in found),
            min_precision=min(s.precision for s in found),
            selected=sum(s.selected for s in found) / len(found),
            at_risk=sum(s.at_risk for s in found) / len(found),
        )
        for name, found in scores.items()
    }
