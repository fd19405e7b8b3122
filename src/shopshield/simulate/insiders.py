"""``generate_insiders``: a store's staff at work, with insiders of known shapes among them.

Insider detection is judged on actor-days, so this simulator is about actors, not customers: a
history before the period under test, then the period itself, thousands of ordinary actors of
every role with the variety a real store has, and a few insiders of each shape.

Ordinary actors (what the detector must not alert on):

- customer-service agents in teams of about 15: general teams, returns teams (half their
  tickets are fresh return requests) and a night team (15:00-24:00). Each agent has its own pace
  (lognormal around 20 customers a day), two rest days a week, the odd day off, a few lookups
  without a ticket and a few customers on a colleague's ticket;
- supervisors spot-checking a sample of the day's tickets of other agents, plus escalations;
- couriers reading the labels of customers in their own province (rarely another's), merchants
  reading their own orders' customers;
- declared bulk readers, judged against their declared pattern: a logistics partner's daily
  feed, the nightly job, and a weekly marketing export every Monday night;
- a sale day in the period under test when agents and couriers read 1.8x as much.

Insider shapes (``SHAPES``, each with one sweepable parameter; the leak reads are orders with a
return request from the three days before, reached without a ticket or on a colleague's):

| shape | parameter | what the insider does |
|---|---|---|
| burst | extra reads as a multiple of its usual day | two days of heavy reading |
| sustained | multiple | 10 of the 14 days, from day 1-3 (the report's agent: about 3-4x) |
| ramp | final multiple | every day, growing linearly from a few reads to the multiple |
| low_slow | total as a multiple of the peers' median | every day, about twice the peers |
| night_export | customers exported | one night, an export between 22:00 and 24:00 |
| harvest | share of spot checks that are fresh returns | a supervisor whose spot checks become harvesting, 10 days |

Everything is drawn from one seed (``numpy`` PCG64 streams split by purpose), so the same
configuration writes the same files.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from shopshield.core.errors import InvalidInput
from shopshield.simulate.events import DAY, HOUR, MINUTE, epoch_us
from shopshield.simulate.world import PROVINCES

I64 = NDArray[np.int64]

# Shape name -> (the parameter's name, the default point, the sweep's points).
SHAPES: Final[dict[str, tuple[str, float, tuple[float, ...]]]] = {
    "burst": ("multiple", 4.0, (2.0, 4.0, 8.0)),
    "sustained": ("multiple", 2.5, (1.5, 2.5, 4.0)),
    "ramp": ("final_multiple", 2.0, (1.0, 2.0, 3.0)),
    "low_slow": ("peer_multiple", 2.0, (1.5, 2.0)),
    "night_export": ("customers", 200.0, (50.0, 200.0, 1000.0)),
    "harvest": ("fresh_share", 0.75, (0.5, 0.75, 1.0)),
}
FRESH: Final = 3 * DAY  # a return request this recent is "fresh"
AGENT_PACE: Final = 20.0  # an ordinary agent's median customers a day
SALE_FACTOR: Final = 1.8
DEFAULT_START: Final = date(2026, 10, 1)

ACTOR_COLUMNS: Final = ("actor_id", "actor_kind", "actor_role", "region", "merchant_id", "team", "declared")


@dataclass(frozen=True)
class Insider:
    shape: str
    value: float  # the shape's parameter


@dataclass(frozen=True)
class InsiderSimConfig:
    seed: int
    actors: int = 5_000
    customers: int = 200_000
    history_days: int = 14
    days: int = 14
    start: date = DEFAULT_START
    insiders: tuple[Insider, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if self.seed < 0:
            problems.append(f"seed: must be 0 or more, not {self.seed}")
        if self.actors < 200:
            problems.append(f"actors: at least 200 (teams of every kind), not {self.actors}")
        if self.customers < 1_000:
            problems.append(f"customers: at least 1000, not {self.customers}")
        if not 0 <= self.history_days <= 60 or not 7 <= self.days <= 60:
            problems.append("history_days: 0-60 and days: 7-60")
        problems += [f"insiders: unknown shape {i.shape!r}" for i in self.insiders if i.shape not in SHAPES]
        if problems:
            raise InvalidInput("; ".join(problems))

    @property
    def test_start(self) -> date:
        return self.start + timedelta(days=self.history_days)


def sweep(per_point: int) -> tuple[Insider, ...]:
    """``per_point`` insiders at every point of every shape's sweep."""
    return tuple(
        Insider(shape, v) for shape, (_, _, points) in SHAPES.items() for v in points for _ in range(per_point)
    )


@dataclass
class _Actors:
    ids: list[str] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    role: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)
    merchant: list[str] = field(default_factory=list)
    team: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)

    def add(self, actor_id: str, kind: str, role: str, *, region: str = "", team: str = "", declared: str = "") -> int:
        self.ids.append(actor_id)
        self.kind.append(kind)
        self.role.append(role)
        self.region.append(region)
        self.merchant.append(actor_id if role == "merchant" else "")
        self.team.append(team)
        self.declared.append(declared)
        return len(self.ids) - 1


@dataclass
class _Batch:
    """Accesses as parallel lists of numpy arrays, joined once at the end."""

    ts: list[I64] = field(default_factory=list)
    actor: list[I64] = field(default_factory=list)
    customer: list[I64] = field(default_factory=list)
    order: list[I64] = field(default_factory=list)
    ticket: list[I64] = field(default_factory=list)
    action: list[I64] = field(default_factory=list)  # index into _ACTIONS

    def add(self, ts: I64, actor: int | I64, order: I64, ticket: I64, action: int, orders_customer: I64) -> None:
        n = ts.shape[0]
        self.ts.append(ts)
        self.actor.append(np.broadcast_to(np.asarray(actor, dtype=np.int64), (n,)).copy())
        self.order.append(order)
        self.customer.append(orders_customer[order])
        self.ticket.append(ticket)
        self.action.append(np.full(n, action, dtype=np.int64))


_ACTIONS: Final = ("view", "reveal", "export")
_CHANNEL: Final = {
    "staff": "cs-console",
    "courier": "courier-app",
    "merchant": "merchant-portal",
    "partner": "partner-api",
    "job": "batch",
}


@dataclass(frozen=True)
class InsiderSimSummary:
    out_dir: Path
    events: int
    actors: int
    insiders: int


def generate_insiders(config: InsiderSimConfig, out_dir: Path) -> InsiderSimSummary:
    """Write events.parquet, actors.csv, customers.csv, orders.csv, tickets.csv and truth.json."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(config.seed)))
    total_days = config.history_days + config.days
    origin = epoch_us(config.start)
    # Customers, their provinces, orders (about three each) and return requests (one order in ten).
    n_cust = config.customers
    province = rng.choice(len(PROVINCES), size=n_cust)
    n_orders = 3 * n_cust
    order_customer = rng.integers(0, n_cust, size=n_orders)
    returned = rng.random(n_orders) < 0.10
    return_at = np.where(returned, origin + rng.integers(-3 * DAY, total_days * DAY, size=n_orders), -1)

    actors = _Actors()
    n = config.actors
    agents: list[int] = []
    agent_team: dict[int, str] = {}
    team_kind: dict[str, str] = {}
    n_agents = int(0.40 * n)
    for i in range(n_agents):
        team = f"team-{i // 15:03d}"
        team_kind.setdefault(team, ("night", "returns", "general", "general", "general")[(i // 15) % 5])
        a = actors.add(f"agent-{i:05d}", "staff", "cs_agent", team=team)
        agents.append(a)
        agent_team[a] = team
    supervisors = [actors.add(f"sup-{i:04d}", "staff", "cs_supervisor") for i in range(max(int(0.03 * n), 5))]
    couriers = [
        actors.add(f"courier-{i:05d}", "courier", "courier", region=PROVINCES[i % len(PROVINCES)])
        for i in range(int(0.30 * n))
    ]
    merchants = [actors.add(f"merchant-{i:05d}", "merchant", "merchant") for i in range(int(0.20 * n))]
    partner = actors.add("partner-logistics", "partner", "partner", declared="days=daily;hours=0-24;customers=4000")
    nightly = actors.add("job-nightly", "job", "service", declared="days=daily;hours=1-4;customers=12000")
    marketing = actors.add("job-marketing", "job", "service", declared="days=mon;hours=0-6;customers=40000")
    order_merchant = np.asarray(merchants, dtype=np.int64)[
        np.minimum(rng.zipf(1.6, size=n_orders) - 1, len(merchants) - 1)
    ]
    rng.shuffle(order_merchant)
    by_merchant = _group(order_merchant, len(actors.ids))
    by_province = _group(province[order_customer], len(PROVINCES))

    # Each actor's own ways: pace, rest days, habits.
    pace = np.exp(rng.normal(0.0, 0.35, size=len(actors.ids) + len(config.insiders) + 8))
    rest = rng.integers(0, 7, size=len(pace))
    no_ticket_share = rng.beta(2, 40, size=len(pace))
    colleague_share = rng.beta(2, 30, size=len(pace))

    # Insiders are extra actors: agents, and supervisors for the harvest.
    planted: list[tuple[int, Insider, set[int]]] = []
    for k, ins in enumerate(config.insiders):
        if ins.shape == "harvest":
            a = actors.add(f"sup-x{k:03d}", "staff", "cs_supervisor")
            supervisors.append(a)
        else:
            team = f"team-{int(rng.integers(0, n_agents // 15)):03d}"
            while team_kind[team] == "night":
                team = f"team-{int(rng.integers(0, n_agents // 15)):03d}"
            a = actors.add(f"agent-x{k:03d}", "staff", "cs_agent", team=team)
            agents.append(a)
            agent_team[a] = team
            if ins.shape == "low_slow":
                pace[a] = 1.0  # "twice the peers" means twice the median agent
        planted.append((a, ins, set()))

    tickets_assignee: list[I64] = []
    next_ticket = 0
    batch = _Batch()
    sale_day = config.history_days + min(5, config.days - 1)
    fresh_pool_cache: dict[int, I64] = {}

    def fresh_orders(day: int) -> I64:
        if day not in fresh_pool_cache:
            start = origin + day * DAY
            fresh_pool_cache[day] = np.flatnonzero((return_at >= start - FRESH) & (return_at < start + 12 * HOUR))
        return fresh_pool_cache[day]

    def new_tickets(assignees: I64) -> I64:
        nonlocal next_ticket
        ids = np.arange(next_ticket, next_ticket + assignees.shape[0], dtype=np.int64)
        next_ticket += assignees.shape[0]
        tickets_assignee.append(assignees.astype(np.int64))
        return ids

    def times(day: int, count: int, first_hour: float, last_hour: float) -> I64:
        start = origin + day * DAY
        return start + (rng.uniform(first_hour, last_hour, size=count) * HOUR).astype(np.int64)

    weekday0 = config.start.weekday()
    for day in range(total_days):
        weekday = (weekday0 + day) % 7
        sale = SALE_FACTOR if day == sale_day else 1.0
        fresh = fresh_orders(day)
        all_orders_today: list[I64] = []
        ticket_of_order: list[I64] = []
        # Agents: their own tickets, a few colleague tickets, a few lookups without one.
        for a in agents:
            if weekday in (rest[a], (rest[a] + 1) % 7) or rng.random() < 0.04:
                continue
            kind = team_kind[agent_team[a]]
            count = int(rng.poisson(AGENT_PACE * pace[a] * sale * np.exp(rng.normal(0, 0.25))))
            if count == 0:
                continue
            share = 0.55 if kind == "returns" else 0.15
            picks = np.where(
                rng.random(count) < share, rng.choice(fresh, size=count), rng.integers(0, n_orders, size=count)
            )
            hours = (15.0, 23.9) if kind == "night" else (8.5, 18.0)
            ts = times(day, count, *hours)
            overtime = rng.random(count) < 0.03
            ts[overtime] += int(3 * HOUR)
            tickets = new_tickets(np.full(count, a))
            how = rng.random(count)
            tickets[how < no_ticket_share[a]] = -1
            colleague = (how >= no_ticket_share[a]) & (how < no_ticket_share[a] + colleague_share[a])
            if colleague.any():
                others = rng.choice(np.asarray(agents[:n_agents]), size=int(colleague.sum()))
                tickets[colleague] = new_tickets(others)
            batch.add(ts, a, picks, tickets, 0, order_customer)
            reveal = rng.random(count) < 0.04
            if reveal.any():
                batch.add(ts[reveal] + MINUTE, a, picks[reveal], tickets[reveal], 1, order_customer)
            own = tickets >= 0
            all_orders_today.append(picks[own])
            ticket_of_order.append(tickets[own])
        pool_orders = np.concatenate(all_orders_today) if all_orders_today else np.zeros(0, dtype=np.int64)
        pool_tickets = np.concatenate(ticket_of_order) if ticket_of_order else np.zeros(0, dtype=np.int64)
        # Supervisors: spot checks of other agents' tickets, and their own escalations.
        for s in supervisors:
            if weekday in (rest[s], (rest[s] + 1) % 7) or rng.random() < 0.04 or pool_orders.size == 0:
                continue
            count = int(rng.poisson(40 * pace[s] * np.exp(rng.normal(0, 0.3))))
            pick = rng.integers(0, pool_orders.size, size=count)
            batch.add(times(day, count, 9, 18.5), s, pool_orders[pick], pool_tickets[pick], 0, order_customer)
            esc = int(rng.poisson(3))
            if esc:
                orders = rng.integers(0, n_orders, size=esc)
                batch.add(times(day, esc, 9, 18.5), s, orders, new_tickets(np.full(esc, s)), 1, order_customer)
        # Couriers: labels in their own province, six days a week.
        for c in couriers:
            if weekday == rest[c] or rng.random() < 0.04:
                continue
            count = int(rng.poisson(40 * pace[c] * (1.5 if sale > 1 else 1.0) * np.exp(rng.normal(0, 0.3))))
            home = by_province[PROVINCES.index(actors.region[c])]
            orders = rng.choice(home, size=count) if home.size else rng.integers(0, n_orders, size=count)
            stray = rng.random(count) < 0.01
            orders[stray] = rng.integers(0, n_orders, size=int(stray.sum()))
            batch.add(times(day, count, 8, 20), c, orders, np.full(count, -1), 0, order_customer)
        # Merchants: their own orders' customers, any day, very different sizes.
        for m in merchants:
            own_orders = by_merchant[m]
            if own_orders.size == 0 or rng.random() < 0.3:
                continue
            count = int(rng.poisson(min(10 * pace[m] ** 3, own_orders.size)))
            if count:
                orders = rng.choice(own_orders, size=count)
                batch.add(times(day, count, 9, 22), m, orders, np.full(count, -1), 0, order_customer)
        # Declared bulk readers.
        count = int(rng.normal(2500, 200))
        batch.add(
            times(day, count, 0, 24),
            partner,
            rng.integers(0, n_orders, size=count),
            np.full(count, -1),
            0,
            order_customer,
        )
        count = int(rng.normal(9000, 600))
        batch.add(
            times(day, count, 2, 3),
            nightly,
            rng.integers(0, n_orders, size=count),
            np.full(count, -1),
            0,
            order_customer,
        )
        if weekday == 0:
            count = int(rng.normal(30000, 2000))
            batch.add(
                times(day, count, 1, 2),
                marketing,
                rng.integers(0, n_orders, size=count),
                np.full(count, -1),
                2,
                order_customer,
            )
        # Insiders' leak reads on top of their ordinary day.
        t = day - config.history_days
        for a, ins, leak_days in planted:
            if t < 0:
                continue
            extra = _extra(ins, a, t, config.days, pace, rng)
            working = weekday not in (rest[a], (rest[a] + 1) % 7)
            if ins.shape == "night_export":
                if t == config.days // 2:
                    count = int(ins.value)
                    orders = rng.choice(fresh, size=count)
                    batch.add(times(day, count, 22, 23.9), a, orders, np.full(count, -1), 2, order_customer)
                    leak_days.add(day)
                continue
            if extra <= 0 or not working:
                continue
            if ins.shape == "harvest":
                # The spot checks go to fresh returns: on colleagues' tickets when one exists.
                count = int(extra)
                orders = rng.choice(fresh, size=count)
                tickets = np.where(rng.random(count) < 0.5, -1, new_tickets(rng.choice(np.asarray(agents), size=count)))
                batch.add(times(day, count, 9, 18.5), a, orders, tickets, 0, order_customer)
            else:
                count = int(extra)
                orders = rng.choice(fresh, size=count)
                tickets = np.where(rng.random(count) < 0.7, -1, new_tickets(rng.choice(np.asarray(agents), size=count)))
                batch.add(times(day, count, 8.5, 18.0), a, orders, tickets, 0, order_customer)
            leak_days.add(day)

    out_dir.mkdir(parents=True, exist_ok=True)
    events = _write_events(out_dir / "events.parquet", batch, actors, n_orders)
    _write_csv(
        out_dir / "actors.csv",
        ACTOR_COLUMNS,
        zip(
            actors.ids,
            actors.kind,
            actors.role,
            actors.region,
            actors.merchant,
            actors.team,
            actors.declared,
            strict=True,
        ),
    )
    _write_csv(
        out_dir / "customers.csv",
        ("customer_id", "province"),
        ((f"c{i:07d}", PROVINCES[p]) for i, p in enumerate(province.tolist())),
    )
    returns_text = _iso(return_at)
    _write_csv(
        out_dir / "orders.csv",
        ("order_id", "customer_id", "merchant_id", "return_requested_at"),
        (
            (f"o{i:08d}", f"c{c:07d}", actors.ids[m], r)
            for i, (c, m, r) in enumerate(
                zip(order_customer.tolist(), order_merchant.tolist(), returns_text, strict=True)
            )
        ),
    )
    assignees = np.concatenate(tickets_assignee) if tickets_assignee else np.zeros(0, dtype=np.int64)
    _write_csv(
        out_dir / "tickets.csv",
        ("ticket_id", "assignee_id"),
        ((f"t{i:08d}", actors.ids[a]) for i, a in enumerate(assignees.tolist())),
    )
    truth = {
        "seed": config.seed,
        "start": config.start.isoformat(),
        "test_start": config.test_start.isoformat(),
        "days": config.days,
        "history_days": config.history_days,
        "sale_day": (config.start + timedelta(days=sale_day)).isoformat(),
        "declared": [actors.ids[i] for i in (partner, nightly, marketing)],
        "insiders": [
            {
                "actor_id": actors.ids[a],
                "actor_role": actors.role[a],
                "shape": ins.shape,
                "parameter": SHAPES[ins.shape][0],
                "value": ins.value,
                "leak_days": sorted((config.start + timedelta(days=d)).isoformat() for d in leak_days),
            }
            for a, ins, leak_days in planted
        ],
    }
    (out_dir / "truth.json").write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2) + b"\n")
    return InsiderSimSummary(out_dir, events, len(actors.ids), len(planted))


def _extra(ins: Insider, actor: int, t: int, days: int, pace: NDArray[np.float64], rng: np.random.Generator) -> int:
    """The insider's leak reads on day ``t`` of the period under test (0 when it does not leak)."""
    usual = AGENT_PACE * float(pace[actor])
    seed_day = actor % 3  # where a windowed shape starts: day 1, 2 or 3
    if ins.shape == "burst":
        first = 2 + actor % max(days - 4, 1)
        return int(rng.poisson(ins.value * usual)) if first <= t < first + 2 else 0
    if ins.shape == "sustained":
        return int(rng.poisson(ins.value * usual)) if seed_day <= t < seed_day + 10 else 0
    if ins.shape == "ramp":
        return max(1, int(rng.poisson(ins.value * usual * (t + 1) / days)))
    if ins.shape == "low_slow":
        return int(rng.poisson((ins.value - 1.0) * AGENT_PACE))
    if ins.shape == "harvest":
        # About 40 spot checks a day, of which this share become fresh returns.
        return int(rng.poisson(ins.value * 40 * float(pace[actor]))) if seed_day <= t < seed_day + 10 else 0
    return 0


def _group(keys: I64, size: int) -> list[I64]:
    """Indexes of ``keys`` grouped by key value."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(size + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(size)]


def _iso(ts: I64) -> list[str]:
    from shopshield.simulate.events import iso_local

    text = iso_local(np.where(ts < 0, 0, ts))
    return [t if v >= 0 else "" for t, v in zip(text, ts.tolist(), strict=True)]


def _write_csv(path: Path, header: Sequence[str], rows: object) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)  # type: ignore[arg-type]


def _write_events(path: Path, batch: _Batch, actors: _Actors, n_orders: int) -> int:
    ts = np.concatenate(batch.ts)
    order = np.argsort(ts, kind="stable")
    actor = np.concatenate(batch.actor)[order]
    customer = np.concatenate(batch.customer)[order]
    orders = np.concatenate(batch.order)[order]
    ticket = np.concatenate(batch.ticket)[order]
    action = np.concatenate(batch.action)[order]
    ids = pa.array(actors.ids, type=pa.string())
    kinds = pa.array(actors.kind, type=pa.string())
    roles = pa.array(actors.role, type=pa.string())
    channels = pa.array([_CHANNEL[k] for k in actors.kind], type=pa.string())
    idx = pa.array(actor)
    table = pa.table(
        {
            "ts": pa.array(ts[order], type=pa.timestamp("us", tz="UTC")),
            "actor_id": ids.take(idx),
            "actor_kind": kinds.take(idx),
            "actor_role": roles.take(idx),
            "action": pa.array(_ACTIONS, type=pa.string()).take(pa.array(action)),
            "customer_id": pa.array(np.char.add("c", np.char.zfill(customer.astype(str), 7)).tolist()),
            "order_id": pa.array(np.char.add("o", np.char.zfill(orders.astype(str), 8)).tolist()),
            "channel": channels.take(idx),
            "ticket_id": pa.array(
                np.char.add("t", np.char.zfill(np.maximum(ticket, 0).astype(str), 8)).tolist(), mask=ticket < 0
            ),
        }
    )
    pq.write_table(table, path, compression="zstd", row_group_size=1_000_000)
    return int(table.num_rows)
