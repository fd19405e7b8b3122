"""The planted leaks: who leaked, the accesses that leaked (when the ordinary traffic does not
already hold them), the victims and what the scammers knew of each.

What a scammer knew is never made up: it is what the leaking access revealed, in the scam
reports' vocabulary (``investigate.knowledge.revealed``), of which each victim remembers a part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray

from shopshield.core.errors import InvalidInput
from shopshield.investigate.knowledge import revealed
from shopshield.scams.formats import KNEW_VOCABULARY
from shopshield.simulate.events import (
    CS_CONSOLE,
    DAY,
    EXPORT,
    EXPORT_CHANNEL,
    F_FULL_ORDER,
    F_LABEL,
    F_ORDER,
    F_RETURN,
    FIELDSETS,
    HOUR,
    I32,
    I64,
    LOGIN,
    MINUTE,
    NEVER,
    PARTNER_API,
    R_ADMIN,
    R_AGENT,
    R_COURIER,
    R_PARTNER,
    R_SUPERVISOR,
    US,
    VIEW,
    WEB,
    Events,
    empty,
    make,
)
from shopshield.simulate.world import CITY_PROVINCE, HOSTING_OCTETS, PROVINCES, World

SCENARIOS: Final = ("insider", "courier", "partner", "export", "stuffing", "none")
# What each scenario tells an investigator to look for (truth.json's likely_source).
LIKELY_SOURCE: Final = {
    "insider": "insider",
    "courier": "insider",
    "partner": "insider",
    "export": "insider",
    "stuffing": "credential_stuffing",
    "none": "unknown",
}
KNEW_ORDER: Final = KNEW_VOCABULARY


class ScenarioError(InvalidInput, ValueError):
    """The store is too small (or too short) to plant this scenario with this many victims."""


@dataclass
class Plan:
    scenario: str
    source: int | None  # actor index of the leak, None when no actor leaked
    events: Events  # the planted accesses, in time order (empty when ordinary traffic holds them)
    victims: I32  # customer indexes
    contacted: I64  # per victim: when the scammers called or texted
    knew: list[str]  # per victim, |-joined
    leak_window: tuple[int, int] | None
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def likely_source(self) -> str:
        return LIKELY_SOURCE[self.scenario]


def plan(world: World, scenario: str, victims: int, rng: np.random.Generator) -> Plan:
    if scenario not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    planner = {
        "insider": _insider,
        "courier": _courier,
        "partner": _partner,
        "export": _export,
        "stuffing": _stuffing,
        "none": _none,
    }[scenario]
    return planner(world, victims, rng)


def _window(world: World, rng: np.random.Generator, low: int, high: int, earliest: int = 3) -> tuple[int, int]:
    """Log days [first, last) of a leak: not before ``earliest``, and early enough that the calls
    and reports it causes (up to about a week later) still fall inside the log when it is long
    enough for that."""
    length = min(int(rng.integers(low, high + 1)), world.days)
    latest = world.days - length - 7
    if latest < earliest:
        latest = world.days - length
    first = int(rng.integers(min(earliest, latest), latest + 1))
    return first, first + length


def _some(rng: np.random.Generator, candidates: NDArray[np.int64], share: float, least: int) -> NDArray[np.int64]:
    """About ``share`` of the candidates, but at least ``least`` of them (small stores), in order."""
    count = min(candidates.size, max(round(share * candidates.size), least))
    return np.sort(rng.choice(candidates, size=count, replace=False))


def _contacts(world: World, rng: np.random.Generator, leaked_at: I64, weights: list[float]) -> I64:
    """Calls on a later day than the leak (``weights[k-1]``: k days later), in the daytime when
    fake customer service calls."""
    day = (leaked_at - world.origin) // DAY
    later = rng.choice(np.arange(1, len(weights) + 1), size=leaked_at.shape[0], p=np.array(weights) / sum(weights))
    return np.asarray(
        world.origin + (day + later) * DAY + rng.integers(9 * HOUR, 21 * HOUR, leaked_at.shape[0]), dtype=np.int64
    )


def shown(fieldset: int, order_access: bool) -> frozenset[str]:
    """What an access with this field set reveals, in the reports' vocabulary."""
    return revealed(FIELDSETS[fieldset].split("|") if FIELDSETS[fieldset] else [], order_access=order_access)


def _knew(rng: np.random.Generator, what: frozenset[str], always: tuple[str, ...], sometimes: dict[str, float]) -> str:
    """What one victim reports the caller knew: the items it always mentions, a chance of each
    other one; never anything the leaking access did not reveal."""
    told = {item for item in always if item in what}
    told |= {item for item, chance in sometimes.items() if item in what and rng.random() < chance}
    return "|".join(item for item in KNEW_ORDER if item in told)


def _first_per_customer(customer: I32, at: I64, order: NDArray[np.int64]) -> tuple[I32, I64, NDArray[np.int64]]:
    """Each customer's first access among these (they come in time order)."""
    order_by_time = np.argsort(at, kind="stable")
    customer, at, order = customer[order_by_time], at[order_by_time], order[order_by_time]
    _, first = np.unique(customer, return_index=True)
    first.sort()
    return customer[first], at[first], order[first]


def _choose(rng: np.random.Generator, n: int, victims: int, what: str) -> NDArray[np.intp]:
    if n < victims:
        raise ScenarioError(
            f"the {what} reached only {n} customers, fewer than the {victims} victims asked for: "
            "ask for fewer victims or a larger store (customers, days)"
        )
    return np.sort(rng.choice(n, size=victims, replace=False))


def _insider(world: World, victims: int, rng: np.random.Generator) -> Plan:
    """A customer-service agent who, besides a normal day's tickets, looks up fresh returns with no
    ticket, the way the 2016 fake-refund callers' source must have: name, mobile, item, price,
    purchase and return."""
    a, o = world.actors, world.orders
    agent = int(rng.choice(a.of(R_AGENT)))
    shift = 14 * HOUR if a.late_shift[agent] else 9 * HOUR
    first, last = _window(world, rng, 4, 7)
    share = rng.uniform(0.3, 0.5)
    # A small store has few returns a day: then the agent reads them all, all month if need be.
    for days, least in ((range(first, last), 0), (range(1, world.days), 3 * victims)):
        working = [d for d in days if a.works(np.array([agent], dtype=np.int32), d)[0]] or list(days)
        reads: list[Events] = []
        read: set[int] = set()
        for day in working:
            start = world.origin + day * DAY
            fresh = np.flatnonzero((o.return_requested >= start - 3 * DAY) & (o.return_requested < start))
            fresh = np.array([i for i in fresh.tolist() if i not in read], dtype=np.int64)
            pick = _some(rng, fresh, share, -(-least // len(working)))
            read.update(pick.tolist())
            reads.append(
                make(
                    np.sort(start + shift + rng.integers(0, 9 * HOUR, pick.size)),
                    actor=agent,
                    action=VIEW,
                    fieldset=F_RETURN,
                    channel=CS_CONSOLE,
                    customer=o.customer[pick],
                    order=pick.astype(np.int32),
                    ip=int(a.ip[agent]),
                )
            )
        if np.unique(o.customer[np.array(sorted(read), dtype=np.int64)]).size >= victims:
            break
    events = _sorted(Events.concat(reads))
    customer, at, _ = _first_per_customer(events.customer, events.ts, events.order.astype(np.int64))
    chosen = _choose(rng, customer.size, victims, "insider's reads of return orders")
    what = shown(F_RETURN, order_access=True)
    knew = [
        _knew(rng, what, ("name", "items", "return_request"), {"mobile": 0.8, "price": 0.85, "purchase_time": 0.7})
        for _ in chosen
    ]
    return Plan(
        scenario="insider",
        source=agent,
        events=events,
        victims=customer[chosen],
        contacted=_contacts(world, rng, at[chosen], [0.4, 0.3, 0.15, 0.1, 0.05]),
        knew=knew,
        leak_window=(int(events.ts[0]), int(events.ts[-1])),
        detail={"planted_events": len(events), "customers_read": int(customer.size)},
    )


def _courier(world: World, victims: int, rng: np.random.Generator) -> Plan:
    """A courier who sells the labels of the parcels they deliver: name, mobile, address."""
    o = world.orders
    first, last = _window(world, rng, 7, 10)
    for lo, hi in ((first, last), (0, world.days)):
        start, end = world.origin + lo * DAY, world.origin + hi * DAY
        due = np.flatnonzero((o.out_for_delivery >= start) & (o.out_for_delivery < end))
        pairs = np.unique(o.courier[due].astype(np.int64) * len(world.customers) + o.customer[due])
        reach = np.bincount(pairs // len(world.customers), minlength=world.actors.count[R_COURIER])
        busy = np.flatnonzero(reach >= victims)
        if busy.size:
            break
    else:
        raise ScenarioError(f"no courier delivered to {victims} customers: ask for fewer victims or a larger store")
    # One of the busier couriers (a station's busiest hands the most labels).
    courier = int(busy[np.argsort(-reach[busy], kind="stable")][int(rng.integers(min(5, busy.size)))])
    mine = due[o.courier[due] == courier]
    customer, at, _ = _first_per_customer(o.customer[mine], o.out_for_delivery[mine], mine.astype(np.int64))
    chosen = _choose(rng, customer.size, victims, "courier's deliveries")
    what = shown(F_LABEL, order_access=True)
    knew = [_knew(rng, what, ("name", "mobile"), {"address": 0.5}) for _ in chosen]
    return Plan(
        scenario="courier",
        source=int(world.courier_actor(np.array([courier]))[0]),
        events=empty(),
        victims=customer[chosen],
        contacted=_contacts(world, rng, at[chosen], [0.35, 0.3, 0.15, 0.12, 0.08]),
        knew=knew,
        leak_window=(int(at.min()), int(at.max())),
        detail={"planted_events": 0, "customers_delivered": int(customer.size)},
    )


def _partner(world: World, victims: int, rng: np.random.Generator) -> Plan:
    """A partner's API key that reads orders of merchants it does not serve, a few percent of the
    store's new orders for a week: name, mobile, items, price."""
    o, m = world.orders, world.merchants
    serving = np.unique(m.partner[m.partner >= 0])
    partner = int(rng.choice(serving)) if serving.size else int(rng.integers(world.actors.count[R_PARTNER]))
    actor = int(world.partner_actor(partner))
    first, last = _window(world, rng, 5, 8)
    share = rng.uniform(0.04, 0.08)
    for lo, hi in ((first, last), (0, world.days)):  # the whole log, when a week's orders are too few
        start, end = world.origin + lo * DAY, world.origin + hi * DAY
        new = np.flatnonzero((o.placed >= start) & (o.placed < end) & (o.shipped != NEVER)).astype(np.int64)
        foreign = new[m.partner[o.merchant[new]] != partner]
        pick = _some(rng, foreign, share, 3 * victims)
        if np.unique(o.customer[pick]).size >= victims:
            break
    at = np.minimum(o.placed[pick] + rng.integers(2 * MINUTE, 6 * HOUR, pick.size), world.end - 1)
    events = _sorted(
        make(
            at,
            actor=actor,
            action=VIEW,
            fieldset=F_ORDER,
            channel=PARTNER_API,
            customer=o.customer[pick],
            order=pick.astype(np.int32),
            ip=int(world.actors.ip[actor]),
        )
    )
    customer, leaked, _ = _first_per_customer(events.customer, events.ts, events.order.astype(np.int64))
    chosen = _choose(rng, customer.size, victims, "partner's extra reads")
    what = shown(F_ORDER, order_access=True)
    knew = [_knew(rng, what, ("name", "mobile", "items"), {"price": 0.8, "order_id": 0.3}) for _ in chosen]
    return Plan(
        scenario="partner",
        source=actor,
        events=events,
        victims=customer[chosen],
        contacted=_contacts(world, rng, leaked[chosen], [0.35, 0.3, 0.15, 0.12, 0.08]),
        knew=knew,
        leak_window=(int(events.ts[0]), int(events.ts[-1])),
        detail={"planted_events": len(events), "customers_read": int(customer.size)},
    )


EXPORT_CAP: Final = 3000


def _export(world: World, victims: int, rng: np.random.Generator) -> Plan:
    """A supervisor or admin exports one province's customers with their latest order, one evening."""
    a, c = world.actors, world.customers
    exporter = int(rng.choice(np.concatenate([a.of(R_SUPERVISOR), a.of(R_ADMIN)])))
    day, _ = _window(world, rng, 1, 1)
    at = world.origin + day * DAY + int(rng.integers(int(18.5 * HOUR), 20 * HOUR))
    active = c.first_order < at
    province = CITY_PROVINCE[c.city]
    sizes = np.bincount(province[active], minlength=len(PROVINCES))
    # A province of a few thousand customers when the store has one; the bigger, the likelier.
    fits = np.flatnonzero(sizes >= max(victims, min(1000, int(sizes.max()))))
    if not fits.size:
        raise ScenarioError(f"no province has {victims} customers who ordered: ask for fewer victims or a larger store")
    region = int(rng.choice(fits, p=sizes[fits] / sizes[fits].sum()))
    subset = np.flatnonzero(active & (province == region)).astype(np.int32)
    if subset.size > EXPORT_CAP:
        subset = np.sort(rng.choice(subset, size=EXPORT_CAP, replace=False))
    n = subset.size
    ts = at + np.cumsum(rng.integers(20_000, 50_000, n))  # 20-50 ms a row
    latest = world.order_before(subset, np.full(n, at, dtype=np.int64), None)
    events = make(
        ts.astype(np.int64),
        actor=exporter,
        action=EXPORT,
        fieldset=F_FULL_ORDER,
        channel=EXPORT_CHANNEL,
        customer=subset,
        order=latest.astype(np.int32),
        ip=int(a.ip[exporter]),
    )
    chosen = _choose(rng, n, victims, "export")
    knew = [
        _knew(
            rng,
            shown(F_FULL_ORDER, order_access=bool(latest[i] >= 0)),
            ("name", "mobile"),
            {"address": 0.5, "items": 0.8, "price": 0.7, "purchase_time": 0.5},
        )
        for i in chosen.tolist()
    ]
    weights = [0.25, 0.2, 0.15, 0.12, 0.1, 0.06, 0.05, 0.03, 0.02, 0.02]
    return Plan(
        scenario="export",
        source=exporter,
        events=events,
        victims=subset[chosen],
        contacted=_contacts(world, rng, events.ts[chosen], weights),
        knew=knew,
        leak_window=(int(events.ts[0]), int(events.ts[-1])),
        detail={"planted_events": n, "exported_province": PROVINCES[region]},
    )


def _stuffing(world: World, victims: int, rng: np.random.Generator) -> Plan:
    """Credential stuffing: logins with passwords leaked elsewhere, one or two tries per address
    from hundreds of hosting networks, then a look at each account's orders. Three accounts are
    taken over for each one whose owner is later called."""
    o = world.orders
    first, last = _window(world, rng, 3, 6, earliest=min(3, max(world.days - 3, 1)))
    start, end = world.origin + first * DAY, world.origin + last * DAY
    # Shoppers who ordered (so logged in from their own network) in the log before the attack.
    candidates = np.unique(o.customer[(o.checkout_login >= world.origin) & (o.placed < start)]).astype(np.int32)
    if candidates.size < victims:
        _choose(rng, candidates.size, victims, "credential stuffing")
    taken = candidates[np.sort(rng.choice(candidates.size, size=min(candidates.size, 3 * victims), replace=False))]
    # Each account is logged into once or twice, each time from another address.
    tries = rng.choice([1, 2], size=taken.size, p=[0.7, 0.3])
    account = np.repeat(taken, tries)
    logins = account.size
    at = start + rng.integers(0, max(end - start - 10 * MINUTE, 1), logins)
    addresses = -(-logins * 2 // 3)
    ips = _hosting_ips(rng, addresses)
    ip = ips[rng.permutation(np.repeat(np.arange(addresses), 2))[:logins]]  # at most two tries per address
    actor = world.actor_of_customer(account)
    login_events = make(at, actor=actor, action=LOGIN, fieldset=0, channel=WEB, customer=account, ip=ip)
    looks = np.repeat(np.arange(logins), rng.choice([1, 2], size=logins, p=[0.6, 0.4]))
    seen = at[looks] + rng.integers(30 * US, 5 * MINUTE, looks.size)
    order = world.order_before(account[looks], seen, rng)
    has = order >= 0
    looks, seen, order = looks[has], seen[has], order[has]
    views = make(
        seen,
        actor=actor[looks],
        action=VIEW,
        fieldset=F_FULL_ORDER,
        channel=WEB,
        customer=account[looks],
        order=order.astype(np.int32),
        ip=ip[looks],
    )
    events = _sorted(Events.concat([login_events, views]))
    viewed = np.unique(views.customer)
    chosen = np.sort(rng.choice(viewed, size=victims, replace=False)) if viewed.size >= victims else None
    if chosen is None:
        raise ScenarioError("too few taken-over accounts had orders to look at: ask for fewer victims")
    last_look = np.array([views.ts[views.customer == v].max() for v in chosen.tolist()], dtype=np.int64)
    what = shown(F_FULL_ORDER, order_access=True)
    knew = [
        _knew(
            rng,
            what,
            ("name", "mobile", "items"),
            {"address": 0.7, "price": 0.7, "purchase_time": 0.7, "order_id": 0.7},
        )
        for _ in chosen
    ]
    return Plan(
        scenario="stuffing",
        source=None,
        events=events,
        victims=chosen.astype(np.int32),
        contacted=_contacts(world, rng, last_look, [0.3, 0.3, 0.25, 0.15]),
        knew=knew,
        leak_window=(int(events.ts[0]), int(events.ts[-1])),
        detail={
            "planted_events": len(events),
            "accounts_taken_over": int(taken.size),
            "attacker_addresses": int(np.unique(ip).size),
            "attacker_networks": int(np.unique(ip >> 8).size),
        },
    )


def _hosting_ips(rng: np.random.Generator, n: int) -> NDArray[np.uint32]:
    """``n`` distinct addresses in hosting and proxy networks, mostly one or two per /24."""
    octets = np.array(HOSTING_OCTETS, dtype=np.uint32)
    nets = (rng.choice(octets, size=n) << 24) | (rng.integers(0, 1 << 16, n).astype(np.uint32) << 8)
    ips = nets | rng.integers(2, 255, n).astype(np.uint32)
    ips = np.unique(ips)
    while ips.size < n:
        more = (rng.choice(octets, size=n) << 24) | (rng.integers(0, 1 << 24, n).astype(np.uint32) & 0xFFFFFF)
        ips = np.unique(np.concatenate([ips, more]))
    return np.asarray(rng.permutation(ips)[:n], dtype=np.uint32)


def _none(world: World, victims: int, rng: np.random.Generator) -> Plan:
    """No leak in the log: scam calls to shoppers picked from elsewhere, at random times."""
    c = world.customers
    first_day = (np.maximum(c.first_order, world.origin) - world.origin) // DAY + 1
    candidates = np.flatnonzero(first_day < world.days).astype(np.int32)
    chosen = candidates[_choose(rng, candidates.size, victims, "customers who ordered")]
    day = rng.integers(first_day[chosen], world.days)
    contacted = world.origin + day * DAY + rng.integers(9 * HOUR, 21 * HOUR, chosen.size)
    knew = [
        "|".join(k for k in KNEW_ORDER if k in {"name", "mobile"} | ({"items"} if rng.random() < 0.3 else set()))
        for _ in chosen
    ]
    return Plan(
        scenario="none",
        source=None,
        events=empty(),
        victims=chosen,
        contacted=np.asarray(contacted, dtype=np.int64),
        knew=knew,
        leak_window=None,
        detail={"planted_events": 0},
    )


def _sorted(batch: Events) -> Events:
    return batch.take(np.argsort(batch.ts, kind="stable"))
