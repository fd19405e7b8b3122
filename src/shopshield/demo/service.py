"""Filling a fresh instance with the demo store, through the same services the API calls.

The store, its traffic, the planted insider and the scam reports come from the simulator
(``simulate.world``, ``traffic``, ``scenarios``, ``reports``; the login wave from
``simulate.logins``), drawn from the seed exactly as ``shopshield simulate store`` draws them.
What this module adds is the way in: every actor becomes a principal with a token; customers,
orders and returns are written by the store's backend principal through the vault (sealed under
per-customer keys, each write an access event); the ordinary reads are recorded through the audit
log at the moment the simulator drew them; the insider's reads are real vault reads as that agent;
the stuffing wave goes through ``Guard.assess`` with its outcomes fed back; the victims' reports go
through the scam-report intake; and the investigation runs over the instance's own log.

The replay runs on a clock of its own (``_Clock``): each write and read is stamped with its
simulated moment, so the log, the quotas and the reports line up in time as they would have.
"""

from __future__ import annotations

import secrets
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shopshield.access.export import export_parquet
from shopshield.audit.service import AuditLog
from shopshield.channels import service as channels
from shopshield.channels.numbers import Kind
from shopshield.channels.schemas import ChannelIn
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Tx, transaction, unit_of_work
from shopshield.core.errors import InvalidInput
from shopshield.core.events import AccessEvent
from shopshield.core.files import open_private, private_dir
from shopshield.core.policy import PolicySet
from shopshield.guard.engine import Guard
from shopshield.guard.replay import feed, read_attempts
from shopshield.investigate import events as event_files
from shopshield.investigate import insiders
from shopshield.investigate.attribution import Attribution, attribute, victims_from_reports
from shopshield.investigate.attribution import Config as AttributionConfig
from shopshield.investigate.duck import DuckDBEngine
from shopshield.principals import service as principals
from shopshield.scams import service as scams
from shopshield.scams.formats import ScamReport, parse_report, write_reports
from shopshield.simulate.events import CUSTOMER as CUSTOMER_KIND
from shopshield.simulate.events import (
    DAY,
    ROLES,
    US,
    Dictionaries,
    Events,
    to_table,
)
from shopshield.simulate.events import R_CUSTOMER as CUSTOMER_ROLE
from shopshield.simulate.logins import LoginSimConfig, generate_logins
from shopshield.simulate.reports import build_reports
from shopshield.simulate.scenarios import Plan, ScenarioError, plan
from shopshield.simulate.traffic import day_events
from shopshield.simulate.world import GAZETTEER, HISTORY_DAYS, RETURN_REASONS, STATUSES, World, build_world
from shopshield.vault import service as vault_service
from shopshield.vault.schemas import AddressIn, CustomerIn, ItemIn, OrderIn, ReturnIn
from shopshield.vault.service import Vault

DAYS: Final = 21  # days of traffic replayed: the leak's days, the calls after them, and a week before
MIN_CUSTOMERS: Final = 200  # fewer, and the store has too few fresh returns for the insider to feed a wave
MAX_CUSTOMERS: Final = 200_000
VICTIMS: Final = 10
STORE_TZ: Final = ZoneInfo("Asia/Shanghai")
BACKEND: Final = "store-backend"  # the store's backend principal, which writes customers and orders
# The simulator's random streams (store.py's purposes), so that a seed draws the same store and
# traffic here as ``shopshield simulate store --seed`` does with the same size and start.
_WORLD, _TRAFFIC, _SCENARIO, _REPORTS = range(4)
_EMAIL_STREAM: Final = 0xE3A1
_MAIL_DOMAINS: Final = ("163.com", "qq.com", "126.com", "sina.com", "foxmail.com")
_LETTERS: Final = "abcdefghijkmnpqrstuvwxyz"
# The vault's order status for the simulator's status at the end of the log.
_ORDER_STATUS: Final = {
    "cancelled": "cancelled",
    "paid": "paid",
    "shipped": "shipped",
    "delivered": "delivered",
    "return_requested": "delivered",
    "returned": "returned",
}
# Roles whose principals are printed: one login each.
PRINTED_ROLES: Final = (
    "cs_agent",
    "cs_supervisor",
    "security_analyst",
    "admin",
    "courier",
    "merchant",
    "partner",
    "service",
)
OFFICIAL_CHANNELS: Final = (
    (Kind.PHONE, "400-820-1234", "客服热线"),
    (Kind.WEB_DOMAIN, "shop.example.cn", "官网"),
    (Kind.BRAND_NAME, "示例商城", None),
)
_ORDER, _RETURN, _READ, _PLANTED = range(4)  # what a moment of the replay is, in this order on a tie


class Instance(Protocol):
    """The wired parts the demo fills (``bootstrap.Container`` is one)."""

    engine: Engine
    sessions: sessionmaker[Session]
    policies: PolicySet
    vault: Vault
    audit: AuditLog
    guard: Guard


class Steps(Protocol):
    """Where the long steps report progress (the command shows Rich bars)."""

    def begin(self, label: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class Quiet:
    """Steps that show nothing."""

    def begin(self, label: str, total: int) -> None:
        return None

    def advance(self, amount: int = 1) -> None:
        return None


def china_today() -> date:
    return datetime.now(STORE_TZ).date()


@dataclass(frozen=True, slots=True)
class DemoConfig:
    seed: int = 1
    customers: int = 2_000
    # The store's local day the demo runs on: the replayed log ends at its midnight.
    today: date = field(default_factory=china_today)

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise InvalidInput(f"seed: must be 0 or more, not {self.seed}", field="seed")
        if not MIN_CUSTOMERS <= self.customers <= MAX_CUSTOMERS:
            raise InvalidInput(
                f"customers: must be between {MIN_CUSTOMERS:,} and {MAX_CUSTOMERS:,}, not {self.customers:,}",
                field="customers",
            )

    @property
    def actors(self) -> int:
        """Staff, couriers, merchants, partners and jobs: the simulator's one to ten, at least 40."""
        return max(40, self.customers // 10)

    @property
    def start(self) -> date:
        return self.today - timedelta(days=DAYS)

    @property
    def leaked_pairs(self) -> int:
        """Pairs on the other site's breach list that the stuffers replay."""
        return max(1_000, min(self.customers, 5_000))


@dataclass(frozen=True, slots=True)
class Login:
    """A demo login: a principal, its role, its API token, and a console password once the console
    can take one (None until ``principals.service.set_password`` exists)."""

    principal_id: str
    role: str
    token: str
    password: str | None = None


@dataclass(frozen=True, slots=True)
class LoginWave:
    """What the guard made of the day's logins: decisions per kind of attempt, and attack mode."""

    decisions: dict[str, dict[str, int]]  # actor (legit, stuffing, ...) -> verdict -> count
    attack_mode_decisions: int  # decisions taken while attack mode was on
    attack_mode_now: bool


@dataclass(frozen=True, slots=True)
class Investigation:
    attribution: Attribution
    insider_alerts: int  # actor-days over the insider detection's threshold
    files: dict[str, Path]


@dataclass(frozen=True, slots=True)
class Filled:
    logins: list[Login]
    principals: int
    customers: int
    orders: int
    returns: int
    events_recorded: int  # ordinary reads, recorded at their moment
    insider_reads: int  # the planted agent's real reads (a customer view and an order view each)
    reports: list[str]  # ids of the scam reports taken in
    channels: int
    logins_wave: LoginWave
    investigation: Investigation
    # The planted source: kept for the tests and never printed (the investigation names it).
    insider: str
    period: tuple[datetime, datetime]


class _Clock:
    """The replay's clock: the vault stamps each write and read with the moment it is set to."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _moment(us: int) -> datetime:
    return datetime.fromtimestamp(us / US, tz=UTC)


def _stream(seed: int, purpose: int, index: int = 0) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(purpose, index))))


def fill(instance: Instance, config: DemoConfig, work_dir: Path, steps: Steps | None = None) -> Filled:
    """Fill ``instance`` (migrated, empty) with the demo store; ``work_dir`` takes the login wave's
    files and the investigation's results."""
    steps = steps or Quiet()
    world = draw_world(config)
    leak = _plant(world, config.seed)
    assert leak.source is not None  # the insider scenario always names its agent
    clock = _Clock(_moment(world.origin - (HISTORY_DAYS + 1) * DAY))
    vault = replace(instance.vault, clock=clock)
    people = _principals(instance, world, steps)
    _customers(instance, vault, world, people[BACKEND], config.seed, steps)
    orders, returns, recorded, planted = _replay(instance, vault, clock, world, leak, people, config.seed, steps)
    now = datetime.now(UTC)
    admin = _first(world, "admin")
    supervisor = _first(world, "cs_supervisor")
    reports = _take_reports(instance, world, leak, people[supervisor], config.seed, now)
    channel_count = _official_channels(instance, people[admin], now)
    wave = _login_wave(instance.guard, config, work_dir / "logins", steps)
    investigation = _investigate(instance, reports, work_dir / "investigation", steps)
    printed = [people[_first(world, role)] for role in PRINTED_ROLES if role != "service"] + [people[BACKEND]]
    with unit_of_work(instance.sessions) as session:
        logins = _console_logins(
            session, [Login(p.principal_id, p.role, people.tokens[p.principal_id]) for p in printed]
        )
    return Filled(
        logins=logins,
        principals=len(people),
        customers=len(world.customers),
        orders=orders,
        returns=returns,
        events_recorded=recorded,
        insider_reads=planted,
        reports=[r.report_id for r in reports],
        channels=channel_count,
        logins_wave=wave,
        investigation=investigation,
        insider=world.actors.ids[leak.source],
        period=(_moment(world.origin), _moment(world.end)),
    )


def draw_world(config: DemoConfig) -> World:
    """The store of ``config``: customers, staff, merchants, orders, all timed (``simulate.world``)."""
    return build_world(
        _stream(config.seed, _WORLD),
        seed=config.seed,
        customers=config.customers,
        actors=config.actors,
        days=DAYS,
        start=config.start,
        intensity=1.0,
    )


def _plant(world: World, seed: int) -> Plan:
    """The insider of the 2016 case; a small store whose returns cannot feed ten victims feeds fewer."""
    for victims in range(VICTIMS, 2, -1):
        try:
            return plan(world, "insider", victims, _stream(seed, _SCENARIO))
        except ScenarioError:
            continue
    raise InvalidInput(
        "customers: the store has too few returns for the planted insider; ask for a larger store",
        field="customers",
    )


def _first(world: World, role: str) -> str:
    return world.actors.ids[world.actors.first[ROLES.index(role)]]


class _People(dict[str, Principal]):
    """Every principal of the demo by id, and the tokens printed (the rest are dropped unread)."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, str] = {}


def _principals(instance: Instance, world: World, steps: Steps) -> _People:
    """One principal per actor, under the actor's own id, so the log names the simulator's actors;
    couriers and merchants linked to their own id (their orders carry it), and the store's backend."""
    a = world.actors
    keep = {_first(world, role) for role in PRINTED_ROLES if role != "service"} | {BACKEND}
    wanted = [(a.ids[i], ROLES[int(a.role[i])]) for i in range(len(a))] + [(BACKEND, "service")]
    people = _People()
    steps.begin("principals", len(wanted))
    with unit_of_work(instance.sessions) as session:
        for actor_id, role in wanted:
            scoped = instance.policies.roles[role].scope != "all"
            made = principals.create(
                session=session,
                policies=instance.policies,
                name=actor_id,
                role=role,
                link_id=actor_id if scoped else None,
                principal_id=actor_id,
            )
            people[actor_id] = made.principal
            if actor_id in keep:
                people.tokens[actor_id] = made.token
            steps.advance()
    return people


def emails(seed: int, n: int) -> list[str]:
    """Made-up mail addresses: letters and digits at a big provider, one per customer."""
    rng = _stream(seed, _EMAIL_STREAM)
    stems = rng.integers(0, len(_LETTERS), (n, 6))
    digits = rng.integers(100, 99_999, n)
    domains = rng.integers(0, len(_MAIL_DOMAINS), n)
    return [
        "".join(_LETTERS[k] for k in stem) + f"{d}@{_MAIL_DOMAINS[m]}"
        for stem, d, m in zip(stems.tolist(), digits.tolist(), domains.tolist(), strict=True)
    ]


def address_id(customer_id: str) -> str:
    return "a" + customer_id[1:]


def _customers(instance: Instance, vault: Vault, world: World, backend: Principal, seed: int, steps: Steps) -> None:
    """Every customer with one address, written by the backend through the vault (the store's
    import, a day before its oldest order)."""
    c = world.customers
    addresses = emails(seed, len(c))
    caller = Caller(backend, channel="batch")
    steps.begin("customers", len(c))
    batch = 250
    for first in range(0, len(c), batch):
        with unit_of_work(instance.sessions) as session:
            for i in range(first, min(first + batch, len(c))):
                province, city, _weight, _districts = GAZETTEER[int(c.city[i])]
                mobile = str(int(c.mobiles[i]))
                customer = CustomerIn(
                    customer_id=c.ids[i],
                    name=c.names[i],
                    mobile=mobile,
                    email=addresses[i],
                    addresses=[
                        AddressIn(
                            address_id=address_id(c.ids[i]),
                            recipient=c.names[i],
                            phone=mobile,
                            province=province,
                            city=city,
                            district=c.districts[i],
                            street=c.streets[i],
                        )
                    ],
                )
                vault_service.store_customer(vault=vault, session=session, caller=caller, customer=customer)
        steps.advance(min(batch, len(c) - first))


def _segments(world: World) -> Iterator[tuple[int, int, int | None]]:
    """The replay's transactions: everything before the log (the order history), then each day."""
    yield np.iinfo(np.int64).min, world.origin, None
    for day in range(world.days):
        yield world.origin + day * DAY, world.origin + (day + 1) * DAY, day


def _rows(batch: Events, names: Dictionaries) -> list[dict[str, Any]]:
    return to_table(batch, names).to_pylist() if len(batch) else []


def _replay(
    instance: Instance,
    vault: Vault,
    clock: _Clock,
    world: World,
    leak: Plan,
    people: _People,
    seed: int,
    steps: Steps,
) -> tuple[int, int, int, int]:
    """The orders, returns and reads of the store's history and of each logged day, in time order,
    one transaction a day. Returns (orders, returns, reads recorded, insider reads)."""
    o = world.orders
    customers = len(world.customers)
    names = Dictionaries(
        actor_ids=pa.array(world.actors.ids + world.customers.ids, type=pa.string()),
        actor_kind=np.concatenate([world.actors.kind, np.full(customers, CUSTOMER_KIND, dtype=np.int32)]),
        actor_role=np.concatenate([world.actors.role, np.full(customers, CUSTOMER_ROLE, dtype=np.int32)]),
        customer_ids=pa.array(world.customers.ids, type=pa.string()),
        order_ids=pa.array(world.orders.ids, type=pa.string()),
    )
    traffic = [day_events(world, day, _stream(seed, _TRAFFIC, day)) for day in range(world.days)]
    planted = leak.events.take(leak.events.ts < world.end)
    returns = int(np.count_nonzero(o.return_requested < world.end))
    total = len(o) + returns + sum(map(len, traffic)) + len(planted)
    steps.begin("replaying the store's last three weeks", total)
    backend = Caller(people[BACKEND], channel="batch")
    assert leak.source is not None
    insider = Caller(people[world.actors.ids[leak.source]], channel="cs-console")
    counts = Counter[int]()
    for start, end, day in _segments(world):
        reads = _rows(traffic[day], names) if day is not None else []
        leaked = _rows(planted.take((planted.ts >= start) & (planted.ts < end)), names)
        moments: list[tuple[int, int, int]] = []
        moments += [(t, _ORDER, i) for i, t in _between(o.placed, start, end)]
        moments += [(t, _RETURN, i) for i, t in _between(o.return_requested, start, min(end, world.end))]
        moments += [(_us(row["ts"]), _READ, n) for n, row in enumerate(reads)]
        moments += [(_us(row["ts"]), _PLANTED, n) for n, row in enumerate(leaked)]
        moments.sort()
        if not moments:
            continue
        with unit_of_work(instance.sessions) as session:
            tx = Tx.of_session(session)
            for at, kind, index in moments:
                clock.at = _moment(at)
                if kind == _ORDER:
                    _write_order(vault, session, backend, world, index)
                elif kind == _RETURN:
                    _write_return(vault, session, backend, world, index)
                elif kind == _READ:
                    instance.audit.append(tx, _event(reads[index]), now=clock.at)
                else:
                    _insider_read(vault, tx, insider, leaked[index])
                counts[kind] += 1
        steps.advance(len(moments))
    return counts[_ORDER], counts[_RETURN], counts[_READ], counts[_PLANTED]


def _between(times: np.ndarray[Any, Any], start: int, end: int) -> Iterator[tuple[int, int]]:
    for i in np.flatnonzero((times >= start) & (times < end)).tolist():
        yield i, int(times[i])


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * US + moment.microsecond


def _write_order(vault: Vault, session: Session, caller: Caller, world: World, i: int) -> None:
    o, a = world.orders, world.actors
    customer_id = world.customers.ids[int(o.customer[i])]
    order = OrderIn(
        order_id=o.ids[i],
        customer_id=customer_id,
        merchant_id=a.ids[int(world.merchant_actor(o.merchant[i]))],
        courier_id=a.ids[int(world.courier_actor(o.courier[i]))],
        address_id=address_id(customer_id),
        placed_at=_moment(int(o.placed[i])),
        status=_ORDER_STATUS[STATUSES[int(o.status[i])]],
        items=[
            ItemIn(
                title=world.catalogue.titles[int(o.sku[i])],
                price=Decimal(int(world.catalogue.price_cents[int(o.sku[i])])).scaleb(-2),
                quantity=int(o.quantity[i]),
            )
        ],
    )
    vault_service.store_order(vault=vault, session=session, caller=caller, order=order)


def _write_return(vault: Vault, session: Session, caller: Caller, world: World, i: int) -> None:
    o = world.orders
    request = ReturnIn(
        return_id="rt" + o.ids[i][1:],
        kind="return",
        requested_at=_moment(int(o.return_requested[i])),
        reason=RETURN_REASONS[int(o.return_reason[i])],
    )
    vault_service.add_return(vault=vault, session=session, caller=caller, order_id=o.ids[i], request=request)


def _event(row: dict[str, Any]) -> AccessEvent:
    """A simulated read as the access event the reading system records."""
    return AccessEvent(
        actor_id=row["actor_id"],
        actor_kind=row["actor_kind"],
        actor_role=row["actor_role"],
        action=row["action"],
        channel=row["channel"],
        outcome=row["outcome"],
        customer_id=row["customer_id"],
        order_id=row["order_id"],
        fields=tuple(row["fields"].split("|")) if row["fields"] else (),
        source_ip=row["source_ip"],
        purpose=row["purpose"],
        ticket_id=row["ticket_id"],
        reason=row["reason"],
    )


def _insider_read(vault: Vault, tx: Tx, insider: Caller, row: dict[str, Any]) -> None:
    """The insider opens the customer and the returned order in the console, with no ticket: real
    reads through the vault, shown and recorded as the agent's role allows."""
    caller = replace(insider, source_ip=row["source_ip"])
    vault_service.view_customer(vault=vault, tx=tx, caller=caller, customer_id=row["customer_id"])
    vault_service.view_order(vault=vault, tx=tx, caller=caller, order_id=row["order_id"])


def _take_reports(
    instance: Instance, world: World, leak: Plan, taker: Principal, seed: int, now: datetime
) -> list[ScamReport]:
    """The victims' reports, as customer service takes them in (a report not yet made by now, its
    call still to come, is left out)."""
    drawn = build_reports(world, leak, _stream(seed, _REPORTS))
    reports = [parse_report(r, now=now) for r in drawn if datetime.fromisoformat(str(r["reported_at"])) <= now]
    with unit_of_work(instance.sessions) as session:
        scams.store(session=session, reports=reports, received_by=taker.principal_id, now=now)
    return reports


def _official_channels(instance: Instance, admin: Principal, now: datetime) -> int:
    caller = Caller(admin, channel="cli")
    with transaction(instance.engine) as tx:
        for kind, value, label in OFFICIAL_CHANNELS:
            channels.add_channel(tx, caller=caller, channel=ChannelIn(kind=kind, value=value, label=label), now=now)
    return len(OFFICIAL_CHANNELS)


def _login_wave(guard: Guard, config: DemoConfig, out: Path, steps: Steps) -> LoginWave:
    """Yesterday's logins with a credential-stuffing wave (and the simulator's other attacks), each
    decided by ``Guard.assess`` and its outcome reported, as the store's login service would."""
    private_dir(out)
    sim = generate_logins(
        LoginSimConfig(
            seed=config.seed,
            customers=config.customers,
            days=1,
            leaked=config.leaked_pairs,
            start=config.today - timedelta(days=1),
        ),
        out / "logins.jsonl",
    )
    decisions: dict[str, Counter[str]] = {}
    during_attack = 0
    steps.begin("logins through the guard", sim.attempts)
    with sim.paths.truth.open("rb") as truths:
        # The truth file says which attack each attempt belongs to, for counting only: the guard
        # never sees it.
        for (attempt, truth), line in zip(read_attempts(sim.paths.attempts), truths, strict=True):
            decision = guard.assess(attempt)
            feed(guard, attempt.id, decision.verdict, truth)
            actor = str(orjson.loads(line)["actor"])
            decisions.setdefault(actor, Counter())[decision.verdict.value] += 1
            during_attack += decision.attack_mode
            steps.advance()
    return LoginWave(
        decisions={actor: dict(counts) for actor, counts in decisions.items()},
        attack_mode_decisions=during_attack,
        attack_mode_now=guard.attack.on,
    )


def _investigate(instance: Instance, reports: list[ScamReport], out: Path, steps: Steps) -> Investigation:
    """Leak attribution and insider detection over the instance's own access log, their results
    written beside the reports they were run on (the command to run them again is in docs/demo.md)."""
    private_dir(out)
    steps.begin("investigating", 3)
    files = {name: out / name for name in ("reports.csv", "attribution.json", "insiders.json")}
    with tempfile.TemporaryDirectory(prefix="shopshield-demo-") as tmp:
        log = Path(tmp) / "events.parquet"
        export_parquet(instance.sessions, log)
        steps.advance()
        con = event_files.connect()
        try:
            event_files.open_events(con, [log])
            result = attribute(DuckDBEngine(con), victims_from_reports(reports), AttributionConfig())
            steps.advance()
            insiders.load_metadata(con)
            detection = insiders.Config()
            raised = insiders.alerts(insiders.detect(con, config=detection), detection)
            steps.advance()
        finally:
            con.close()
    write_reports(files["reports.csv"], reports)
    with open_private(files["attribution.json"], "wb") as handle:
        handle.write(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    document = {"threshold": detection.threshold, "alerts": [d.to_json() for d in raised]}
    with open_private(files["insiders.json"], "wb") as handle:
        handle.write(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return Investigation(attribution=result, insider_alerts=len(raised), files=files)


def _console_logins(session: Session, logins: list[Login]) -> list[Login]:
    """A console password for each person among ``logins`` (not the backend, a machine)."""
    out: list[Login] = []
    for login in logins:
        if login.role == "service":
            out.append(login)
            continue
        password = secrets.token_urlsafe(12)
        principals.set_password(session, principal_id=login.principal_id, password=password)
        out.append(replace(login, password=password))
    return out
