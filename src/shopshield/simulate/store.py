"""``generate_store``: the whole synthetic store written to a directory, and its truth.

Random streams are split by purpose (the world, each day's traffic, the scenario, the reports)
from one seed, so the same seed gives the same store and the same ordinary traffic under every
scenario: only the planted leak differs. Output is byte-identical for the same configuration.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from shopshield.core.errors import InvalidInput
from shopshield.scams.formats import COLUMNS
from shopshield.simulate.events import (
    CUSTOMER,
    DAY,
    EVENT_SCHEMA,
    KINDS,
    R_CUSTOMER,
    ROLES,
    Dictionaries,
    Events,
    iso_local,
    to_table,
)
from shopshield.simulate.reports import Report, build_reports
from shopshield.simulate.scenarios import SCENARIOS, Plan, plan
from shopshield.simulate.traffic import SESSIONS_PER_CUSTOMER_DAY, day_events
from shopshield.simulate.world import (
    GAZETTEER,
    HISTORY_DAYS,
    ORDERS_PER_CUSTOMER_MONTH,
    REFERENCE_CUSTOMERS,
    RETURN_REASONS,
    STATUSES,
    World,
    build_world,
)

CHUNK: Final = 1_000_000  # events per Parquet row group: bounds memory whatever the run's size
MAX_DAYS: Final = 366
MIN_ACTORS: Final = 20  # one of every role, and the four batch jobs
DEFAULT_START: Final = date(2026, 10, 1)
_WORLD, _TRAFFIC, _SCENARIO, _REPORTS = range(4)
# Columns with few distinct values a chunk; addresses, tickets and times are mostly unique, and
# trying to dictionary-encode them costs a quarter of the write for nothing. Statistics only for
# ts: row groups are in time order, so readers skip by time; min/max of ids skip nothing.
_DICTIONARY_COLUMNS: Final = [n for n in EVENT_SCHEMA.names if n not in ("ts", "source_ip", "ticket_id")]


class InvalidStoreConfig(InvalidInput, ValueError):
    """Arguments no store can be built from; ``problems`` pairs each field with what is wrong."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems))
        self.problems = problems


@dataclass(frozen=True)
class StoreConfig:
    seed: int
    scenario: str
    customers: int = 50_000
    actors: int = 5_000
    days: int = 30
    victims: int = 10
    start: date = DEFAULT_START
    events_per_day: int | None = None  # None: the default volumes (about 97,000 a day)

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if self.seed < 0:
            problems.append(("seed", f"must be 0 or more, not {self.seed}"))
        if self.scenario not in SCENARIOS:
            problems.append(("scenario", f"unknown {self.scenario!r}; choose one of {', '.join(SCENARIOS)}"))
        if self.customers < 1:
            problems.append(("customers", f"must be at least 1, not {self.customers}"))
        if self.actors < MIN_ACTORS:
            problems.append(("actors", f"must be at least {MIN_ACTORS} (one of every role), not {self.actors}"))
        if not 1 <= self.days <= MAX_DAYS:
            problems.append(("days", f"must be between 1 and {MAX_DAYS}, not {self.days}"))
        if self.victims < 1:
            problems.append(("victims", f"must be at least 1, not {self.victims}"))
        elif self.customers >= 1 and self.victims > self.customers:
            problems.append(("victims", f"{self.victims} is more than the {self.customers} customers"))
        if self.events_per_day is not None and self.events_per_day < 1:
            problems.append(("events_per_day", f"must be at least 1, not {self.events_per_day}"))
        if problems:
            raise InvalidStoreConfig(problems)

    def intensity(self) -> float:
        """How much busier than the default volumes the traffic is, to reach ``events_per_day``."""
        if self.events_per_day is None:
            return 1.0
        low, high = 0.0, 1.0
        while expected_events_per_day(self, high) < self.events_per_day and high < 1e6:
            high *= 2
        for _ in range(50):
            middle = (low + high) / 2
            low, high = (middle, high) if expected_events_per_day(self, middle) < self.events_per_day else (low, middle)
        return max(high, 1e-3)

    def as_json(self) -> dict[str, object]:
        values = dataclasses.asdict(self)
        values["start"] = self.start.isoformat()
        return values


# Expected events of each kind, per order and per customer-day, at intensity 1 (see traffic.py).
_EVENTS_PER_ORDER: Final = 10.3
_EVENTS_PER_SESSION: Final = 1.75
_STAFF_EVENTS_PER_ITEM: Final = 1.45
_STAFF_ITEMS_PER_DAY: Final = {  # per actor, reference store, a working day (5 in 7)
    "cs_agent": (0.06, 80.0),
    "cs_supervisor": (0.005, 1130.0),
}


def expected_events_per_day(config: StoreConfig, intensity: float) -> float:
    """Roughly how many ordinary events a day a store of this size makes at this intensity."""
    customers = config.customers
    orders = ORDERS_PER_CUSTOMER_MONTH * customers / 30 * intensity
    sessions = SESSIONS_PER_CUSTOMER_DAY * customers * intensity
    staff_scale = customers / REFERENCE_CUSTOMERS * intensity
    staff = sum(share * config.actors * items for share, items in _STAFF_ITEMS_PER_DAY.values())
    staff_events = staff * staff_scale * 5 / 7 * _STAFF_EVENTS_PER_ITEM
    # The nightly job reads every customer who has ordered: a share that grows with the order rate.
    activity = np.random.default_rng(0).lognormal(0.0, 1.1, 4000)
    activity /= activity.mean()
    ordered = float(np.mean(1 - np.exp(-activity * orders * (HISTORY_DAYS + config.days / 2) / customers)))
    jobs = customers * (ordered + 0.33 * 2 / 7)
    return orders * _EVENTS_PER_ORDER + sessions * _EVENTS_PER_SESSION + staff_events + jobs


@dataclass(frozen=True)
class StoreSummary:
    out_dir: Path
    files: dict[str, Path]
    events: int
    customers: int
    orders: int
    actors: int
    reports: int
    source_events: int  # accesses by the planted source (0 when there is none)


def generate_store(config: StoreConfig, out_dir: Path, progress: Callable[[int], None] | None = None) -> StoreSummary:
    """Write the store of ``config`` into ``out_dir`` (created if missing): events.parquet,
    reports.csv, reports.jsonl, customers.csv, orders.csv, actors.csv and truth.json.
    ``progress`` is called with the number of events in each chunk written."""
    world = build_world(
        _stream(config.seed, _WORLD),
        seed=config.seed,
        customers=config.customers,
        actors=config.actors,
        days=config.days,
        start=config.start,
        intensity=config.intensity(),
    )
    leak = plan(world, config.scenario, config.victims, _stream(config.seed, _SCENARIO))
    out_dir.mkdir(parents=True, exist_ok=True)  # only once the scenario fits the store
    files = {name: out_dir / name for name in _FILES}
    _write_customers(world, files["customers.csv"])
    _write_orders(world, files["orders.csv"])
    _write_actors(world, files["actors.csv"])
    events, source_events = _write_events(config, world, leak, files["events.parquet"], progress)
    reports = build_reports(world, leak, _stream(config.seed, _REPORTS))
    _write_reports(reports, files["reports.csv"], files["reports.jsonl"])
    counts = {
        "events": events,
        "customers": len(world.customers),
        "orders": len(world.orders),
        "actors": len(world.actors),
        "reports": len(reports),
        "source_events": source_events,
    }
    _write_truth(config, world, leak, counts, files["truth.json"])
    return StoreSummary(out_dir=out_dir, files=files, **counts)


_FILES: Final = (
    "events.parquet",
    "reports.csv",
    "reports.jsonl",
    "customers.csv",
    "orders.csv",
    "actors.csv",
    "truth.json",
)


def _stream(seed: int, purpose: int, index: int = 0) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(purpose, index))))


def _write_events(
    config: StoreConfig, world: World, leak: Plan, path: Path, progress: Callable[[int], None] | None
) -> tuple[int, int]:
    customers = len(world.customers)
    names = Dictionaries(
        actor_ids=pa.array(world.actors.ids + world.customers.ids, type=pa.string()),
        actor_kind=np.concatenate([world.actors.kind, np.full(customers, CUSTOMER, dtype=np.int32)]),
        actor_role=np.concatenate([world.actors.role, np.full(customers, R_CUSTOMER, dtype=np.int32)]),
        customer_ids=pa.array(world.customers.ids, type=pa.string()),
        order_ids=pa.array(world.orders.ids, type=pa.string()),
    )
    planted_day = (leak.events.ts - world.origin) // DAY
    written = by_source = 0
    partial = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(
        partial, EVENT_SCHEMA, compression="zstd", use_dictionary=_DICTIONARY_COLUMNS, write_statistics=["ts"]
    ) as writer:
        for day in range(config.days):
            batch = Events.concat(
                [day_events(world, day, _stream(config.seed, _TRAFFIC, day)), leak.events.take(planted_day == day)]
            )
            batch = batch.take(np.argsort(batch.ts, kind="stable"))
            if leak.source is not None:
                by_source += int(np.count_nonzero(batch.actor == leak.source))
            for first in range(0, len(batch), CHUNK):
                chunk = batch.take(slice(first, first + CHUNK))
                writer.write_table(to_table(chunk, names), row_group_size=CHUNK)
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk))
    partial.replace(path)
    return written, by_source


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_customers(world: World, path: Path) -> None:
    c = world.customers
    registered = iso_local(c.registered)
    _write_csv(
        path,
        ("customer_id", "name", "mobile", "province", "city", "district", "street", "registered_at"),
        (
            (
                c.ids[i],
                c.names[i],
                str(c.mobiles[i]),
                GAZETTEER[city][0],
                GAZETTEER[city][1],
                c.districts[i],
                c.streets[i],
                registered[i],
            )
            for i, city in enumerate(c.city.tolist())
        ),
    )


def _write_orders(world: World, path: Path) -> None:
    o, a = world.orders, world.actors
    asked = o.return_requested < world.end
    requested = [
        t if yes else ""
        for t, yes in zip(iso_local(np.where(asked, o.return_requested, 0)), asked.tolist(), strict=True)
    ]
    reasons = [
        RETURN_REASONS[r] if yes else "" for r, yes in zip(o.return_reason.tolist(), asked.tolist(), strict=True)
    ]
    merchant_ids = [a.ids[int(i)] for i in world.merchant_actor(o.merchant).tolist()]
    courier_ids = [a.ids[int(i)] for i in world.courier_actor(o.courier).tolist()]
    cents = world.catalogue.price_cents[o.sku].tolist()
    _write_csv(
        path,
        (
            "order_id",
            "customer_id",
            "merchant_id",
            "courier_id",
            "placed_at",
            "status",
            "title",
            "price",
            "quantity",
            "return_requested_at",
            "return_reason",
        ),
        zip(
            o.ids,
            [world.customers.ids[c] for c in o.customer.tolist()],
            merchant_ids,
            courier_ids,
            iso_local(o.placed),
            [STATUSES[s] for s in o.status.tolist()],
            [world.catalogue.titles[k] for k in o.sku.tolist()],
            [f"{c // 100}.{c % 100:02d}" for c in cents],
            o.quantity.tolist(),
            requested,
            reasons,
            strict=True,
        ),
    )


def _write_actors(world: World, path: Path) -> None:
    a = world.actors
    _write_csv(
        path,
        ("actor_id", "actor_kind", "actor_role", "region", "merchant_id", "note"),
        (
            (a.ids[i], KINDS[kind], ROLES[role], a.region[i], a.merchant_ids[i], a.notes[i])
            for i, (kind, role) in enumerate(zip(a.kind.tolist(), a.role.tolist(), strict=True))
        ),
    )


def _write_reports(reports: list[Report], csv_path: Path, jsonl_path: Path) -> None:
    _write_csv(csv_path, COLUMNS, ([("" if r[k] is None else r[k]) for k in COLUMNS] for r in reports))
    with jsonl_path.open("wb") as handle:
        for report in reports:
            handle.write(orjson.dumps(report) + b"\n")


def _write_truth(config: StoreConfig, world: World, leak: Plan, counts: dict[str, int], path: Path) -> None:
    a = world.actors
    source = None
    if leak.source is not None:
        source = {
            "actor_id": a.ids[leak.source],
            "actor_kind": KINDS[int(a.kind[leak.source])],
            "actor_role": ROLES[int(a.role[leak.source])],
        }
    window = None
    if leak.leak_window is not None:
        window = iso_local(np.array(leak.leak_window, dtype=np.int64))
    truth = {
        "seed": config.seed,
        "scenario": config.scenario,
        "likely_source": leak.likely_source,
        "source": source,
        "victims": sorted(world.customers.ids[int(v)] for v in leak.victims.tolist()),
        "leak_window": window,
        "config": config.as_json(),
        "counts": counts,
        "detail": leak.detail,
    }
    path.write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2) + b"\n")
