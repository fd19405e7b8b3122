"""One day of the store's ordinary access traffic, nobody leaking anything.

Order-driven events (checkout, the merchant's look, the waybill, the courier's scans, the e-invoice,
returns) come from each order's precomputed timeline; people-driven events (customers' visits,
agents' tickets, supervisors' reviews, the batch jobs) are drawn per day. Every event generated for
a day falls inside it, so days can be written one after the other.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from shopshield.simulate.events import (
    ACCOUNT_RECOVERY,
    APP,
    BATCH,
    CALL,
    COURIER_APP,
    CS_CONSOLE,
    DAY,
    DELIVERY_PROBLEM,
    DENIED,
    F_ADDRESS,
    F_CASE,
    F_CONTACT,
    F_FULL_ORDER,
    F_ID_NUMBER,
    F_INVOICE,
    F_LABEL,
    F_MOBILE,
    F_NONE,
    F_ORDER,
    F_OWN_RETURN,
    F_RETURN,
    FRAUD_INVESTIGATION,
    HOUR,
    I32,
    I64,
    IDENTITY_VERIFICATION,
    LOCAL_OFFSET,
    LOGIN,
    MERCHANT_PORTAL,
    MINUTE,
    PARTNER_API,
    PRINT,
    R_ADMIN,
    R_AGENT,
    R_ANALYST,
    R_SUPERVISOR,
    R_TICKET_NOT_ASSIGNED,
    REFUND_DISPUTE,
    REVEAL,
    SEARCH,
    U32,
    US,
    VIEW,
    WEB,
    Events,
    make,
)
from shopshield.simulate.world import CUSTOMER_HOURS, EINVOICE, MARKETING, NIGHTLY, SMS_NOTIFY, World, times_in_day

SESSIONS_PER_CUSTOMER_DAY: Final = 0.1  # visits besides ordering and returning, for activity 1
_ORDER_REACH: Final = 21 * DAY  # no step of an order's life comes later (the last, a return pickup, ~18 days)


def weekday(world: World, day: int) -> int:
    """Monday 0 .. Sunday 6 of log day ``day``."""
    epoch_day = (world.origin + LOCAL_OFFSET) // DAY + day
    return int((epoch_day + 3) % 7)  # 1970-01-01 was a Thursday


def day_events(world: World, day: int, rng: np.random.Generator) -> Events:
    """Every ordinary access on log day ``day`` (unsorted)."""
    start = world.origin + day * DAY
    batch = Events.concat(
        [
            *_order_steps(world, day, start),
            *_sessions(world, start, rng),
            *_staff(world, day, start, rng),
            *_jobs(world, day, start, rng),
        ]
    )
    inside = (batch.ts >= start) & (batch.ts < start + DAY)
    return batch.take(inside)


def _mix(values: NDArray[np.integer], salt: int) -> NDArray[np.uint64]:
    """A fixed pseudo-random number per value (splitmix64's finaliser): lets two events of one
    session (a login and the view after it) agree on device and address without shared state."""
    with np.errstate(over="ignore"):
        x = values.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(
            (salt * 0xBF58476D1CE4E5B9 + 1) % 2**64
        )
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _customer_device(world: World, order: I64, salt: int) -> tuple[NDArray[np.uint8], U32]:
    """Channel and address of a customer's session about an order: home broadband mostly, the
    phone's mobile network one time in four."""
    h = _mix(order, salt)
    customer = world.orders.customer[order]
    mobile = (h % np.uint64(100)) < 25
    channel = np.where(mobile | ((h >> np.uint64(8)) % np.uint64(2) == 0), APP, WEB).astype(np.uint8)
    nets = world.mobile_nets[((h >> np.uint64(16)) % np.uint64(world.mobile_nets.size)).astype(np.intp)]
    mobile_ip = nets | ((h >> np.uint64(40)) % np.uint64(253) + np.uint64(2)).astype(np.uint32)
    ip = np.where(mobile, mobile_ip, world.customers.home_net[customer] | world.customers.home_host[customer])
    return channel, ip.astype(np.uint32)


def _courier_ip(world: World, courier: I32, day: int) -> U32:
    """A courier's phone keeps one carrier address for the day."""
    h = _mix(courier.astype(np.int64) * 1000 + day, 7)
    nets = world.mobile_nets[(h % np.uint64(world.mobile_nets.size)).astype(np.intp)]
    return (nets | ((h >> np.uint64(32)) % np.uint64(253) + np.uint64(2)).astype(np.uint32)).astype(np.uint32)


def _order_steps(world: World, day: int, start: int) -> list[Events]:
    o = world.orders
    lo = int(np.searchsorted(o.placed, start - _ORDER_REACH))
    hi = int(np.searchsorted(o.placed, start + DAY))

    def due(column: I64) -> I64:
        window = column[lo:hi]
        return (lo + np.flatnonzero((window >= start) & (window < start + DAY))).astype(np.int64)

    def by_customer(column: I64, action: int, fieldset: int, salt: int) -> Events:
        order = due(column)
        channel, ip = _customer_device(world, order, salt)
        customer = o.customer[order]
        return make(
            column[order],
            actor=world.actor_of_customer(customer),
            action=action,
            fieldset=fieldset,
            channel=channel,
            customer=customer,
            order=order.astype(np.int32) if action != LOGIN else -1,
            ip=ip,
        )

    def by_merchant(column: I64, action: int, fieldset: int) -> Events:
        order = due(column)
        actor = world.merchant_actor(o.merchant[order])
        return make(
            column[order],
            actor=actor,
            action=action,
            fieldset=fieldset,
            channel=MERCHANT_PORTAL,
            customer=o.customer[order],
            order=order.astype(np.int32),
            ip=world.actors.ip[actor],
        )

    def by_courier(column: I64, action: int, fieldset: int) -> Events:
        order = due(column)
        return make(
            column[order],
            actor=world.courier_actor(o.courier[order]),
            action=action,
            fieldset=fieldset,
            channel=COURIER_APP,
            customer=o.customer[order],
            order=order.astype(np.int32),
            ip=_courier_ip(world, o.courier[order], day),
        )

    def by_job(column: I64, job: int, fieldset: int) -> Events:
        order = due(column)
        actor = world.job_actor(job)
        return make(
            column[order],
            actor=actor,
            action=VIEW,
            fieldset=fieldset,
            channel=BATCH,
            customer=o.customer[order],
            order=order.astype(np.int32),
            ip=int(world.actors.ip[actor]),
        )

    synced = due(o.partner_sync)
    partner = world.partner_actor(world.merchants.partner[o.merchant[synced]])
    partner_reads = make(
        o.partner_sync[synced],
        actor=partner,
        action=VIEW,
        fieldset=F_ORDER,
        channel=PARTNER_API,
        customer=o.customer[synced],
        order=synced.astype(np.int32),
        ip=world.actors.ip[partner],
    )
    return [
        by_customer(o.checkout_login, LOGIN, F_NONE, 1),
        by_customer(o.placed, VIEW, F_FULL_ORDER, 1),
        by_merchant(o.merchant_view, VIEW, F_FULL_ORDER),
        partner_reads,
        by_merchant(o.shipped, PRINT, F_LABEL),
        by_job(o.sms, SMS_NOTIFY, F_MOBILE),
        by_courier(o.out_for_delivery, VIEW, F_LABEL),
        by_courier(o.courier_call, CALL, F_MOBILE),
        by_courier(o.delivered, VIEW, F_LABEL),
        by_customer(o.delivered_login, LOGIN, F_NONE, 2),
        by_customer(o.delivered_view, VIEW, F_FULL_ORDER, 2),
        by_job(o.einvoice, EINVOICE, F_INVOICE),
        by_customer(o.return_login, LOGIN, F_NONE, 3),
        by_customer(o.return_requested, VIEW, F_OWN_RETURN, 3),
        by_merchant(o.merchant_return_view, VIEW, F_RETURN),
        by_courier(o.return_pickup, VIEW, F_LABEL),
    ]


def _sessions(world: World, start: int, rng: np.random.Generator) -> list[Events]:
    """Customers dropping by: a login, then a look at one or two of their orders, if they have any."""
    c = world.customers
    rate = SESSIONS_PER_CUSTOMER_DAY * world.intensity * c.activity
    customer = np.repeat(np.arange(len(c), dtype=np.int32), rng.poisson(rate))
    customer = customer[c.registered[customer] < start]
    n = customer.shape[0]
    at = times_in_day(rng, start, CUSTOMER_HOURS, n)
    mobile = rng.random(n) < 0.25
    ip = np.where(mobile, world.mobile_ips(rng, n), world.home_ips(rng, customer)).astype(np.uint32)
    channel = np.where(mobile | (rng.random(n) < 0.5), APP, WEB).astype(np.uint8)
    actor = world.actor_of_customer(customer)
    logins = make(at, actor=actor, action=LOGIN, fieldset=F_NONE, channel=channel, customer=customer, ip=ip)
    looks = np.repeat(np.arange(n), rng.choice(3, size=n, p=[0.35, 0.45, 0.2]))
    seen = at[looks] + rng.integers(10 * US, 8 * MINUTE, looks.shape[0])
    order = world.order_before(customer[looks], seen, rng)
    has = order >= 0
    looks, seen, order = looks[has], seen[has], order[has]
    views = make(
        seen,
        actor=actor[looks],
        action=VIEW,
        fieldset=np.where(world.orders.return_requested[order] < seen, F_OWN_RETURN, F_FULL_ORDER).astype(np.uint8),
        channel=channel[looks],
        customer=customer[looks],
        order=order.astype(np.int32),
        ip=ip[looks],
    )
    return [logins, views]


def _case_pool(world: World, start: int) -> tuple[I64, NDArray[np.float64]]:
    """Orders customer service works on today: orders of the last ten days, and (four times as
    often each) returns requested in the last five. What the insider hides among."""
    o = world.orders
    lo = int(np.searchsorted(o.placed, start - _ORDER_REACH))
    recent_lo = int(np.searchsorted(o.placed, start - 10 * DAY))
    hi = int(np.searchsorted(o.placed, start))
    recent = np.arange(recent_lo, hi, dtype=np.int64)
    window = o.return_requested[lo:hi]
    returns = lo + np.flatnonzero((window >= start - 5 * DAY) & (window < start)).astype(np.int64)
    pool = np.concatenate([recent, returns])
    weight = np.concatenate([np.ones(recent.size), np.full(returns.size, 4.0)])
    return pool, weight


# (role, share of items from the case pool, share of the other items about an order, share
# under a ticket, share with a reveal): agents and supervisors work cases and inbound calls from
# any customer; analysts investigate customers and their latest order; admins look people up.
_ROLES_AT_WORK: Final = (
    (R_AGENT, 0.5, 0.7, 0.85, 0.06),
    (R_SUPERVISOR, 0.5, 0.7, 0.6, 0.1),
    (R_ANALYST, 0.0, 1.0, 1.0, 0.2),
    (R_ADMIN, 0.0, 0.0, 0.0, 0.0),
)


def _staff(world: World, day: int, start: int, rng: np.random.Generator) -> list[Events]:
    pool, weight = _case_pool(world, start)
    tickets = _Tickets(day)
    callers = world.customers.activity / world.customers.activity.sum()
    return [
        _work(world, day, start, rng, role, pool, weight, callers, tickets, cases, orders, ticketed, reveals)
        for role, cases, orders, ticketed, reveals in _ROLES_AT_WORK
    ]


class _Tickets:
    """Ticket numbers unique across the log: the day, then a running number."""

    def __init__(self, day: int) -> None:
        self.next = (day + 1) * 100_000_000

    def take(self, n: int) -> I64:
        numbers = np.arange(self.next, self.next + n, dtype=np.int64)
        self.next += n
        return numbers


_FIELDS_WITHOUT_ORDER: Final = {R_AGENT: F_LABEL, R_SUPERVISOR: F_LABEL, R_ANALYST: F_CASE, R_ADMIN: F_CONTACT}


def _work(
    world: World,
    day: int,
    start: int,
    rng: np.random.Generator,
    role: int,
    pool: I64,
    weight: NDArray[np.float64],
    callers: NDArray[np.float64],
    tickets: _Tickets,
    cases: float,
    orders: float,
    ticketed: float,
    reveals: float,
) -> Events:
    """A day of one staff role's items: each a customer (and usually an order) looked at, mostly
    under a ticket, sometimes found by a phone search first, sometimes with a reveal."""
    a = world.actors
    working = a.of(role)
    working = working[a.works(working, day)]
    items = rng.poisson(a.volume[working] * world.staff_scale)
    actor = np.repeat(working, items)
    n = actor.shape[0]
    shift = np.where(a.late_shift[actor], 14 * HOUR, 9 * HOUR)
    at = start + shift + rng.integers(0, 9 * HOUR - 45 * MINUTE, n)
    order = np.full(n, -1, dtype=np.int64)
    from_pool = (rng.random(n) < cases) & (pool.size > 0)
    if pool.size:
        order[from_pool] = rng.choice(pool, size=int(from_pool.sum()), p=weight / weight.sum())
    # Everyone else calls in: busy shoppers more often; most calls are about their latest orders.
    customer = np.where(
        from_pool, world.orders.customer[np.maximum(order, 0)], rng.choice(callers.size, size=n, p=callers)
    ).astype(np.int32)
    about_order = ~from_pool & (rng.random(n) < orders)
    order[about_order] = world.order_before(customer[about_order], at[about_order], rng)
    has_order = order >= 0
    returned = has_order & (world.orders.return_requested[np.maximum(order, 0)] < at)
    fieldset = np.where(has_order, np.where(returned, F_RETURN, F_ORDER), _FIELDS_WITHOUT_ORDER[role]).astype(np.uint8)
    if role == R_ANALYST:
        fieldset[:] = F_CASE
    ticket = np.where(rng.random(n) < ticketed, tickets.take(n), -1)
    ip = a.ip[actor]
    order32 = order.astype(np.int32)
    views = make(
        at,
        actor=actor,
        action=VIEW,
        fieldset=fieldset,
        channel=CS_CONSOLE,
        customer=customer,
        order=order32,
        ip=ip,
        ticket=ticket,
    )
    again = np.repeat(np.arange(n), rng.poisson(0.2, n))
    repeat_views = views.take(again)
    repeat_views.ts = repeat_views.ts + rng.integers(MINUTE, 40 * MINUTE, again.shape[0])
    searched = np.flatnonzero(rng.random(n) < 0.2)
    searches = make(
        at[searched] - rng.integers(5 * US, 60 * US, searched.shape[0]),
        actor=actor[searched],
        action=SEARCH,
        fieldset=F_MOBILE,
        channel=CS_CONSOLE,
        customer=customer[searched],
        ip=ip[searched],
        ticket=ticket[searched],
    )
    revealing = np.flatnonzero((ticket >= 0) & (rng.random(n) < reveals))
    k = revealing.shape[0]
    if role == R_ANALYST:
        purpose = np.full(k, FRAUD_INVESTIGATION)
    else:
        purpose = np.where(
            has_order[revealing],
            np.where(returned[revealing], REFUND_DISPUTE, DELIVERY_PROBLEM),
            np.where(rng.random(k) < 0.5, IDENTITY_VERIFICATION, ACCOUNT_RECOVERY),
        )
    refused = rng.random(k) < 0.03  # the ticket was reassigned meanwhile
    reveal = make(
        at[revealing] + rng.integers(MINUTE, 10 * MINUTE, k),
        actor=actor[revealing],
        action=REVEAL,
        fieldset=_revealed_fields(rng, role, k),
        channel=CS_CONSOLE,
        customer=customer[revealing],
        order=order32[revealing],
        ip=ip[revealing],
        purpose=purpose.astype(np.int8),
        ticket=ticket[revealing],
        outcome=np.where(refused, DENIED, 0).astype(np.uint8),
        reason=np.where(refused, R_TICKET_NOT_ASSIGNED, -1).astype(np.int8),
    )
    return Events.concat([views, repeat_views, searches, reveal])


def _revealed_fields(rng: np.random.Generator, role: int, n: int) -> NDArray[np.uint8]:
    """Agents reveal a mobile to call back or an address to fix a delivery; supervisors and
    analysts, whose policy allows it, now and then an ID number to verify who is calling."""
    if role == R_AGENT:
        return rng.choice(np.array([F_MOBILE, F_ADDRESS], dtype=np.uint8), size=n, p=[0.7, 0.3])
    return rng.choice(np.array([F_MOBILE, F_ADDRESS, F_ID_NUMBER], dtype=np.uint8), size=n, p=[0.6, 0.25, 0.15])


def _jobs(world: World, day: int, start: int, rng: np.random.Generator) -> list[Events]:
    c = world.customers
    batches: list[Events] = []
    # The nightly CRM sync reads every customer who has ever ordered, at 02:00, in id order: the
    # one actor that has read every victim, whatever the scenario.
    run = start + 2 * HOUR
    active = np.flatnonzero(c.first_order < run).astype(np.int32)
    batches.append(_sweep(world, NIGHTLY, active, run, 40 * MINUTE, rng))
    if weekday(world, day) in (1, 4):  # campaigns go out on Tuesdays and Fridays at 10:00
        run = start + 10 * HOUR
        chosen = np.flatnonzero((rng.random(len(c)) < 0.33) & (c.registered < run)).astype(np.int32)
        batches.append(_sweep(world, MARKETING, chosen, run, 30 * MINUTE, rng))
    return batches


def _sweep(world: World, job: int, customer: I32, run: int, duration: int, rng: np.random.Generator) -> Events:
    n = customer.shape[0]
    at = run + (np.arange(n, dtype=np.int64) * duration) // max(n, 1) + rng.integers(0, 1000, n)
    actor = world.job_actor(job)
    return make(
        at,
        actor=actor,
        action=VIEW,
        fieldset=F_CONTACT,
        channel=BATCH,
        customer=customer,
        ip=int(world.actors.ip[actor]),
    )
