"""Vault benchmark: stores, masked views, reveals and key rotation, with the baselines that judge them.

Everything runs on the embedded defaults (SQLite and the local key file) wired by
``shopshield.bootstrap.build(Settings(data_dir=tmpdir))`` in a temporary directory:

1. customers stored per second through ``vault.service.store_customer`` (one customer with one address
   per ``unit_of_work``) and over HTTP (``POST /v1/customers``);
2. masked views per second in-process (``view_customer`` in ``db.transaction``, as the route runs it,
   as a cs_agent, random customers of the pre-filled store) and 3. reveals per second (an open ticket
   per customer);
4. the same views and reveals over HTTP (bench/serve_app.py in a uvicorn subprocess, wrk or Python
   clients, requests/s and p99);
5. baselines from the same run: the "direct" masked view (bench/vault_direct.py), a bare FastAPI
   endpoint (bench/bare_app.py), and raw AES-GCM unwrap+wrap next to key rotation of 100,000 keys;
6. the ratios against their targets.

``python -m bench vault --profile`` profiles the in-process masked view instead.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import loadgen
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
from bench.serve_app import warm_keys
from bench.vault_direct import DirectStore
from shopshield.bootstrap import Container, build
from shopshield.core.callers import Caller
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.policy import load_policies
from shopshield.keys.rotation import rotate
from shopshield.principals import service as principals
from shopshield.settings import Settings
from shopshield.tickets.schemas import TicketIn
from shopshield.tickets.service import open_ticket
from shopshield.vault import service
from shopshield.vault.schemas import CustomerIn, RevealIn
from testkit.factories import customer as synthetic_customer

NAME = "vault"
BIG_QUOTA = 1_000_000_000
REVEAL_FIELDS = ["mobile", "phone", "street"]  # what a cs_agent may reveal
PURPOSE = "refund_dispute"
DIRECT_CLAIM = 29_000  # masked views/s the issue quotes for the direct baseline on this machine
VIEW_TARGET = 1 / 3
HTTP_TARGET = 1 / 2


@dataclass(frozen=True)
class Scale:
    customers: int  # pre-filled store for views and reveals
    timed_stores: int  # of which stored one per transaction and timed
    fill_batch: int  # customers per transaction for the rest of the fill
    seconds: float  # each in-process timed loop
    cold_seconds: float
    http_seconds: float  # each HTTP measurement (wrk takes whole seconds)
    http_warmup: float
    connections: int
    rotation_keys: int


# Rounds of alternating ShopShield and the bare endpoint; each gets http_seconds in all.
HTTP_ROUNDS = 4

FULL = Scale(
    customers=20_000,
    timed_stores=3_000,
    fill_batch=500,
    seconds=8.0,
    cold_seconds=4.0,
    http_seconds=8.0,
    http_warmup=2.0,
    connections=8,
    rotation_keys=100_000,
)
QUICK = Scale(
    customers=1_000,
    timed_stores=200,
    fill_batch=200,
    seconds=1.5,
    cold_seconds=1.0,
    http_seconds=2.0,
    http_warmup=1.0,
    connections=8,
    rotation_keys=5_000,
)


@dataclass
class World:
    """The pre-filled store: where it is, who calls it, which customers it holds."""

    root: Path
    settings: Settings
    agent_token: str
    agent_caller: Caller
    customer_ids: list[str]


# -- setup ----------------------------------------------------------------------------------------


def write_policy(path: Path) -> Path:
    """The shipped policy file with every role's daily view and reveal quotas raised to BIG_QUOTA."""
    text = resources.files("shopshield.core").joinpath("policies.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(views_per_day|reveals_per_day) = \d+$", rf"\1 = {BIG_QUOTA}", text)
    path.write_text(text, encoding="utf-8")
    agent = load_policies(path).role("cs_agent")
    if (agent.views_per_day, agent.reveals_per_day) != (BIG_QUOTA, BIG_QUOTA):
        raise RuntimeError(f"could not raise the quotas in {path}")
    return path


def make_customers(count: int, *, prefix: str = "") -> list[dict[str, Any]]:
    customers = []
    for n in range(count):
        customer = synthetic_customer(n, random.Random(n))
        if prefix:
            customer["customer_id"] = prefix + customer["customer_id"]
            for address in customer["addresses"]:
                address["address_id"] = prefix + address["address_id"]
        customers.append(customer)
    return customers


def create_principals(container: Container) -> tuple[principals.NewPrincipal, principals.NewPrincipal]:
    with unit_of_work(container.sessions) as session:
        svc = principals.create(session=session, policies=container.policies, name="bench-service", role="service")
        agent = principals.create(session=session, policies=container.policies, name="bench-agent", role="cs_agent")
    return svc, agent


def store_timed(container: Container, caller: Caller, customers: Sequence[CustomerIn]) -> Timing:
    """Store each customer in its own transaction, timing each."""

    def store(i: int) -> None:
        with unit_of_work(container.sessions) as session:
            service.store_customer(vault=container.vault, session=session, caller=caller, customer=customers[i])

    return run_for(store, seconds=float("inf"), max_count=len(customers))


def store_batched(container: Container, caller: Caller, customers: Sequence[CustomerIn], batch: int) -> Timing:
    started = time.perf_counter()
    for first in range(0, len(customers), batch):
        with unit_of_work(container.sessions) as session:
            for customer in customers[first : first + batch]:
                service.store_customer(vault=container.vault, session=session, caller=caller, customer=customer)
    return Timing(len(customers), time.perf_counter() - started)


def open_tickets(container: Container, svc: Caller, agent_id: str, customer_ids: Sequence[str]) -> None:
    """One open ticket per customer, ``tk-<customer_id>``, opened by the service, assigned to the agent."""
    for first in range(0, len(customer_ids), 1000):
        with unit_of_work(container.sessions) as session:
            for cid in customer_ids[first : first + 1000]:
                open_ticket(
                    session=session,
                    policies=container.policies,
                    audit=container.audit,
                    caller=svc,
                    ticket=TicketIn(ticket_id=f"tk-{cid}", customer_id=cid, category="refund", assignee_id=agent_id),
                    now=container.vault.clock(),
                )


def prepare(root: Path, scale: Scale) -> tuple[World, list[Measurement]]:
    """Fill the store (timing the stores) and open the tickets."""
    settings = Settings(data_dir=root / "data", policy_file=write_policy(root / "policies.toml"))
    container = build(settings, migrate=True)
    try:
        svc, agent = create_principals(container)
        service_caller, agent_caller = Caller(svc.principal), Caller(agent.principal)
        customers = [CustomerIn.model_validate(c) for c in make_customers(scale.customers)]
        with phase(f"storing {scale.timed_stores:,} customers one per transaction (timed)"):
            timed = store_timed(container, service_caller, customers[: scale.timed_stores])
        rest = customers[scale.timed_stores :]
        with phase(f"storing {len(rest):,} more in transactions of {scale.fill_batch}"):
            batched = store_batched(container, service_caller, rest, scale.fill_batch)
        ids = [c.customer_id for c in customers]
        with phase(f"opening {len(ids):,} tickets"):
            open_tickets(container, service_caller, agent.principal.principal_id, ids)
    finally:
        container.close()
    world = World(
        root=root,
        settings=settings,
        agent_token=agent.token,
        agent_caller=agent_caller,
        customer_ids=ids,
    )
    rows = [
        Measurement.from_timing(
            "customers stored, service layer",
            timed,
            "store_customer, 1 customer + 1 address per unit_of_work",
        ),
        Measurement(
            "customers stored, service layer, batched (fill)",
            batched.rate,
            "/s",
            count=batched.count,
            note=f"{scale.fill_batch} customers per unit_of_work; how the rest of the store was filled",
        ),
    ]
    return world, rows


@contextmanager
def container_for(settings: Settings, *, warm: bool) -> Iterator[Container]:
    """A fresh container (empty key cache), optionally with every data key unwrapped into the cache."""
    container = build(settings, migrate=True)
    try:
        if warm:
            warm_keys(container)
        yield container
    finally:
        container.close()


# -- in-process -----------------------------------------------------------------------------------


def view_op(container: Container, caller: Caller, ids: Sequence[str], seed: int) -> Callable[[int], None]:
    rng = random.Random(seed)

    def view(_i: int) -> None:
        with transaction(container.engine) as tx:
            out = service.view_customer(vault=container.vault, tx=tx, caller=caller, customer_id=rng.choice(ids))
        orjson.dumps(out)

    return view


def reveal_op(container: Container, caller: Caller, ids: Sequence[str], seed: int) -> Callable[[int], None]:
    rng = random.Random(seed)
    requests = {
        cid: RevealIn.model_validate({"fields": REVEAL_FIELDS, "purpose": PURPOSE, "ticket_id": f"tk-{cid}"})
        for cid in ids
    }

    def reveal(_i: int) -> None:
        cid = rng.choice(ids)
        with transaction(container.engine) as tx:
            out = service.reveal(vault=container.vault, tx=tx, caller=caller, customer_id=cid, request=requests[cid])
        orjson.dumps(out)

    return reveal


def in_process(world: World, scale: Scale) -> dict[str, Timing]:
    ids = world.customer_ids
    results: dict[str, Timing] = {}
    with phase(f"in-process masked views for {scale.seconds:.0f}s"), container_for(world.settings, warm=True) as c:
        sample = view_op(c, world.agent_caller, ids, 1)
        sample(0)  # the first call pays one-off setup
        results["views"] = run_for(view_op(c, world.agent_caller, ids, 2), seconds=scale.seconds)
    with phase(f"in-process reveals for {scale.seconds:.0f}s"), container_for(world.settings, warm=True) as c:
        reveal_op(c, world.agent_caller, ids[:1], 3)(0)
        results["reveals"] = run_for(reveal_op(c, world.agent_caller, ids, 4), seconds=scale.seconds)
    cold = world.settings.model_copy(update={"data_key_cache_seconds": 0.0})
    cold_phase = phase(f"in-process masked views, key cache off, for {scale.cold_seconds:.0f}s")
    with cold_phase, container_for(cold, warm=False) as c:
        view_op(c, world.agent_caller, ids, 5)(0)
        results["views_cold"] = run_for(view_op(c, world.agent_caller, ids, 6), seconds=scale.cold_seconds)
    return results


def direct_baseline(world: World, scale: Scale, *, event_indexes: bool, seconds: float) -> Timing:
    kind = "same access-event indexes as ShopShield" if event_indexes else "access events without indexes"
    with phase(f"direct baseline ({kind}): fill {scale.customers:,} rows, then views for {seconds:.0f}s"):
        path = world.root / f"direct-{'indexed' if event_indexes else 'bare'}.db"
        store = DirectStore(path, event_indexes=event_indexes)
        try:
            store.fill(make_customers(scale.customers))
            ids = world.customer_ids
            rng = random.Random(7)
            store.view(ids[0])
            return run_for(lambda _i: store.view(rng.choice(ids)), seconds=seconds)
        finally:
            store.close()


# -- HTTP -----------------------------------------------------------------------------------------


def _serve_args(settings: Settings, *, warm: bool) -> list[str]:
    args = ["--data-dir", str(settings.data_dir), "--policy-file", str(settings.policy_file)]
    return [*args, "--warm-keys"] if warm else args


def http(world: World, scale: Scale, client: str) -> dict[str, loadgen.LoadResult]:
    ids = world.customer_ids
    agent = {"Authorization": f"Bearer {world.agent_token}"}
    json_headers = {"Content-Type": "application/json"}
    results: dict[str, loadgen.LoadResult] = {}

    def measure(key: str, base: str, spec: loadgen.LoadSpec) -> None:
        results[key] = loadgen.load(
            base,
            spec,
            client=client,
            seconds=scale.http_seconds,
            warmup=scale.http_warmup,
            connections=scale.connections,
        )

    # Stores go to a store of their own, so the views' store stays as prepared.
    store_settings = world.settings.model_copy(update={"data_dir": world.root / "http-store"})
    with container_for(store_settings, warm=False) as c:
        svc, _agent = create_principals(c)
    body = make_customers(1)[0]
    body["customer_id"] = "h{uid}"
    body["addresses"][0]["address_id"] = "h{uid}-0"
    store_spec = loadgen.LoadSpec(
        "POST",
        "/v1/customers",
        {"Authorization": f"Bearer {svc.token}", **json_headers},
        body=orjson.dumps(body).decode(),
    )
    with phase("HTTP stores"), loadgen.server("bench.serve_app", _serve_args(store_settings, warm=False)) as base:
        loadgen.smoke(base, store_spec, expect=201)
        measure("stores", base, store_spec)

    view_spec = loadgen.LoadSpec("GET", "/v1/customers/{id}", agent, ids=ids)
    # ShopShield and the bare endpoint run side by side and are loaded in alternating rounds, so
    # that load from elsewhere on the machine falls on both sides of their ratio.
    with (
        phase("HTTP masked views beside the bare endpoint"),
        loadgen.server("bench.serve_app", _serve_args(world.settings, warm=True)) as base,
        loadgen.server("bench.bare_app") as bare,
    ):
        shown = loadgen.smoke(base, view_spec)
        _expect_keys(shown, "name", "masked")
        loadgen.smoke(bare, view_spec)
        results["views"], results["bare"] = loadgen.alternate(
            [(base, view_spec), (bare, view_spec)],
            client=client,
            seconds=scale.http_seconds,
            warmup=scale.http_warmup,
            connections=scale.connections,
            rounds=HTTP_ROUNDS,
        )
        # The same server with one connection: latency without requests queueing for SQLite's lock.
        results["views_c1"] = loadgen.load(
            base, view_spec, client=client, seconds=scale.cold_seconds, warmup=1.0, connections=1
        )

    # A reference, not the aim's baseline: the same JSON from an async route, which never leaves the
    # event loop, beside a fresh ShopShield server in the same alternating rounds.
    with (
        phase("HTTP masked views beside an async bare route"),
        loadgen.server("bench.serve_app", _serve_args(world.settings, warm=True)) as base,
        loadgen.server("bench.bare_app", ["--async-route"]) as bare_async,
    ):
        loadgen.smoke(bare_async, view_spec)
        results["views_again"], results["bare_async"] = loadgen.alternate(
            [(base, view_spec), (bare_async, view_spec)],
            client=client,
            seconds=scale.http_seconds,
            warmup=scale.http_warmup,
            connections=scale.connections,
            rounds=HTTP_ROUNDS,
        )

    reveal_spec = loadgen.LoadSpec(
        "POST",
        "/v1/customers/{id}/reveal",
        {**agent, **json_headers},
        body=orjson.dumps({"fields": REVEAL_FIELDS, "purpose": PURPOSE, "ticket_id": "tk-{id}"}).decode(),
        ids=ids,
    )
    with phase("HTTP reveals"), loadgen.server("bench.serve_app", _serve_args(world.settings, warm=True)) as base:
        shown = loadgen.smoke(base, reveal_spec)
        _expect_keys(shown, "mobile", "addresses")
        measure("reveals", base, reveal_spec)

    return results


def _expect_keys(document: dict[str, object], *keys: str) -> None:
    missing = [k for k in keys if k not in document]
    if missing:
        raise RuntimeError(f"response lacks {missing}: {sorted(document)}")


def http_row(name: str, result: loadgen.LoadResult, note: str) -> Measurement:
    problems = []
    if result.non_2xx:
        problems.append(f"{result.non_2xx:,} non-2xx responses")
    if result.errors:
        problems.append(f"{result.errors:,} socket errors/timeouts")
    suffix = f"; **{', '.join(problems)}**" if problems else ""
    return Measurement(
        name,
        result.rps,
        "/s",
        count=result.requests,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        note=f"{note} ({result.client}){suffix}",
    )


# -- rotation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationResult:
    keys: int
    added_keys: int
    add_seconds: float
    rotate_seconds: float
    rewrapped: int
    raw_seconds: float


def rotation(world: World, scale: Scale) -> RotationResult:
    with container_for(world.settings, warm=False) as c:
        existing = sum(u.data_keys for u in c.data_keys.usage())
        added = max(0, scale.rotation_keys - existing)
        with phase(f"adding {added:,} data keys with DataKeys.create (key store at {existing:,})") as adding:
            for _ in range(added):
                c.data_keys.create()
        total = sum(u.data_keys for u in c.data_keys.usage())
        with phase(f"rotating the master key over {total:,} data keys"):
            report = rotate(c.master, c.data_keys, grace_seconds=0)
        if report.rewrapped != total:
            raise RuntimeError(f"rotation rewrapped {report.rewrapped} of {total} data keys")
    # Customers are still readable under the new master key version.
    with container_for(world.settings, warm=False) as c, transaction(c.engine) as tx:
        service.view_customer(vault=c.vault, tx=tx, caller=world.agent_caller, customer_id=world.customer_ids[0])
    with phase(f"raw AES-GCM unwrap+wrap of {total:,} keys"):
        raw_seconds = raw_rewrap(total)
    return RotationResult(total, added, adding.seconds, report.seconds, report.rewrapped, raw_seconds)


def raw_rewrap(count: int) -> float:
    """Seconds for ``count`` AES-GCM unwraps under one key and wraps under another, pyca alone."""
    old = AESGCM(AESGCM.generate_key(bit_length=256))
    new = AESGCM(AESGCM.generate_key(bit_length=256))
    wrapped = []
    for n in range(count):
        nonce = os.urandom(12)
        aad = f"shopshield/data-key/v1|{n:036d}|1".encode()
        wrapped.append((nonce, old.encrypt(nonce, os.urandom(32), aad), aad, aad[:-1] + b"2"))
    started = time.perf_counter()
    for nonce, sealed, aad, new_aad in wrapped:
        raw = old.decrypt(nonce, sealed, aad)
        new.encrypt(os.urandom(12), raw, new_aad)
    return time.perf_counter() - started


# -- report ---------------------------------------------------------------------------------------


def _setup_notes(world: World, scale: Scale, client: str, rot: RotationResult) -> str:
    n = len(world.customer_ids)
    return "\n".join(
        [
            "Setup:",
            "",
            "- Embedded defaults: SQLite (WAL, synchronous=NORMAL) and the local key file, wired by "
            "`bootstrap.build(Settings(data_dir=tmpdir, policy_file=...))`; the policy is the shipped "
            f"`policies.toml` with every daily view/reveal quota raised to {BIG_QUOTA:,}.",
            f"- Store: {n:,} synthetic customers (testkit/factories.py, one address each) stored through "
            f"`store_customer`: the first {scale.timed_stores:,} one per transaction (timed), the rest "
            f"{scale.fill_batch} per transaction. One open ticket per customer (`open_ticket` by a service "
            "principal, assigned to the cs_agent).",
            "- Views and reveals: a cs_agent on random customers of that store; in-process figures include "
            "`orjson.dumps` of the result, like the baselines. Each phase starts on a fresh container whose "
            "data-key cache is warmed first (every key unwrapped once), because the direct baseline "
            "holds every key in a dict; the key-cache-off row shows the cost of a cold key.",
            f"- HTTP: bench/serve_app.py (`shopshield serve` wiring, one uvicorn process, access log off, "
            f"log level warning, key cache warmed at start; a fresh server per scenario) driven by {client} "
            f"with {scale.connections} keep-alive connections: {scale.http_warmup:.0f}s warm-up, then "
            f"{scale.http_seconds:.0f}s measured. Stores go to an empty data directory of their own. Masked "
            "views and the bare endpoint run side by side and are measured in "
            f"{HTTP_ROUNDS} alternating rounds of {scale.http_seconds / HTTP_ROUNDS:.0f}s each (latencies: "
            "the median of the rounds'), so that other load on the machine falls on both; the async "
            "reference is measured the same way beside a fresh ShopShield server.",
            "- Direct baseline: bench/vault_direct.py, stdlib sqlite3 + pyca/cryptography, same sealed "
            "format and associated data, keys in a dict; it decrypts and masks id_number too (the "
            "cs_agent view hides it), so it does one decrypt more per view than ShopShield. "
            f"The issue quotes ~{DIRECT_CLAIM:,} views/s for it on this machine.",
            "- Bare endpoint: bench/bare_app.py, a sync FastAPI route returning a constant masked-view "
            "JSON with orjson, served (same uvicorn settings) and loaded exactly like ShopShield; each "
            "request is one hop to Starlette's thread pool, as a route with blocking work needs. "
            "ShopShield's read routes are `async def` and their transactions reach the thread pool "
            "once per batch of overlapping requests (docs/decisions/0014). The reference row serves the "
            "same JSON from an `async def` route, which never leaves the event loop: the fastest a "
            "FastAPI route can answer. ShopShield's routes sit on the app's own route list "
            "(`app.mount`), like the bare app's one route.",
            f"- Rotation: `keys.rotation.rotate(container.master, container.data_keys, grace_seconds=0)` "
            f"over {rot.keys:,} data keys: the {n:,} customers' keys plus {rot.added_keys:,} created "
            f"with `DataKeys.create` (the call `store_customer` makes; rotation reads only the key store) "
            f"in {rot.add_seconds:.0f}s. The baseline is the same number of AES-GCM unwrap+wrap "
            "operations with pyca/cryptography alone.",
            "- Profile the in-process masked view with `.venv/bin/python -m bench vault --profile` (cProfile "
            "over 20,000 views of the same 20,000-customer store).",
        ]
    )


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    stamp = run_stamp(options)
    client = loadgen.choose_client(options.http_client)
    client_text = (
        f"wrk -t{loadgen.WRK_THREADS}" if client == "wrk" else f"{loadgen.PY_PROCESSES} Python processes (httpx)"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-vault-") as tmp:
        world, rows = prepare(Path(tmp), scale)
        local = in_process(world, scale)
        direct = direct_baseline(world, scale, event_indexes=True, seconds=scale.seconds)
        direct_lean = direct_baseline(world, scale, event_indexes=False, seconds=scale.cold_seconds)
        over_http = http(world, scale, client)
        rot = rotation(world, scale)

    views, direct_rate = local["views"].rate, direct.rate
    rows.append(http_row("customers stored, HTTP", over_http["stores"], "POST /v1/customers"))
    rows += [
        Measurement.from_timing(
            "masked views, in-process",
            local["views"],
            "view_customer in db.transaction (as the route does), key cache warm",
        ),
        Measurement.from_timing(
            "masked views, in-process, key cache off",
            local["views_cold"],
            "data_key_cache_seconds=0: every view unwraps its key from the key store",
        ),
        Measurement.from_timing("reveals, in-process", local["reveals"], "mobile, phone, street on a ticket"),
        http_row("masked views, HTTP", over_http["views"], "GET /v1/customers/{id}"),
        http_row(
            "masked views, HTTP, 1 connection",
            over_http["views_c1"],
            "the same server, one request at a time",
        ),
        http_row("reveals, HTTP", over_http["reveals"], "POST /v1/customers/{id}/reveal"),
        Measurement.from_timing(
            "baseline: direct masked view",
            direct,
            "sqlite3 + cryptography + orjson; events keyed by leaf index, ShopShield's bucketed customer "
            "index, a leaf hash each",
        ),
        Measurement.from_timing(
            "baseline: direct masked view, unindexed events",
            direct_lean,
            f"the same with a rowid-only access_events table (issue quotes ~{DIRECT_CLAIM:,}/s for direct)",
        ),
        http_row("baseline: bare endpoint, HTTP", over_http["bare"], "constant JSON, sync FastAPI route"),
        http_row(
            "reference: bare endpoint, async route, HTTP",
            over_http["bare_async"],
            "the same JSON from an async def route (no thread hop), in rounds alternating with a fresh "
            f"ShopShield server, whose masked views did {over_http['views_again'].rps:,.0f} /s there: "
            f"{over_http['views_again'].rps / over_http['bare_async'].rps:.2f} of it",
        ),
        Measurement(
            f"key rotation, {rot.keys:,} data keys",
            rot.rotate_seconds,
            "s",
            count=rot.rewrapped,
            note=f"{rot.rewrapped / rot.rotate_seconds:,.0f} keys/s; rotate(..., grace_seconds=0)",
        ),
        Measurement(
            f"baseline: raw AES-GCM unwrap+wrap x {rot.keys:,}",
            rot.raw_seconds,
            "s",
            count=rot.keys,
            note=f"{rot.keys / rot.raw_seconds:,.0f} keys/s; pyca/cryptography alone",
        ),
    ]
    ratios = [
        Ratio(
            "masked views in-process / direct baseline",
            views / direct_rate,
            VIEW_TARGET,
            "≥ 1/3 (0.33)",
            f"{views:,.0f} / {direct_rate:,.0f} per s; same event indexes on both sides",
        ),
        Ratio(
            "masked views in-process / direct, unindexed events",
            views / direct_lean.rate,
            VIEW_TARGET,
            "≥ 1/3 (0.33)",
            f"{views:,.0f} / {direct_lean.rate:,.0f} per s; stricter: the baseline skips the index update",
        ),
        Ratio(
            "masked views HTTP / bare endpoint",
            over_http["views"].rps / over_http["bare"].rps,
            HTTP_TARGET,
            "≥ 1/2 (0.50)",
            f"{over_http['views'].rps:,.0f} / {over_http['bare'].rps:,.0f} per s",
        ),
    ]
    title = "Vault" + (" (quick)" if options.quick else "")
    print_results(title, rows, ratios)
    console.print(
        f"rotation is {rot.rotate_seconds / rot.raw_seconds:.1f}x the raw crypto time; "
        f"whole benchmark took {time.perf_counter() - started:.0f}s"
    )
    if options.write_docs:
        body = "\n\n".join(
            [
                "## Vault",
                f"Run: {stamp}. Command: `.venv/bin/python -m bench vault" + (" --quick`." if options.quick else "`."),
                markdown_results(rows, ratios),
                f"Key rotation took {rot.rotate_seconds / rot.raw_seconds:.1f}x the raw crypto time "
                f"of the same number of unwrap+wrap operations.",
                _setup_notes(world, scale, client_text, rot),
            ]
        )
        path = write_section(NAME, body, stamp)
        console.print(f"wrote the {NAME} section of {path}")


# -- profile --------------------------------------------------------------------------------------


def profile(options: Options) -> None:
    """cProfile the in-process masked view on a warm store; prints the top costs per view."""
    customers, views = (QUICK.customers, 2_000) if options.quick else (FULL.customers, 20_000)
    with tempfile.TemporaryDirectory(prefix="bench-vault-profile-") as tmp:
        root = Path(tmp)
        settings = Settings(data_dir=root / "data", policy_file=write_policy(root / "policies.toml"))
        with container_for(settings, warm=False) as c:
            svc, agent = create_principals(c)
            batch = [CustomerIn.model_validate(x) for x in make_customers(customers)]
            with phase(f"filling {customers:,} customers"):
                store_batched(c, Caller(svc.principal), batch, FULL.fill_batch)
        ids = [x.customer_id for x in batch]
        with container_for(settings, warm=True) as c:
            caller = Caller(agent.principal)
            op = view_op(c, caller, ids, 11)
            op(0)
            plain = run_for(op, seconds=float("inf"), max_count=views)
            profiler = cProfile.Profile()
            profiler.enable()
            run_for(op, seconds=float("inf"), max_count=views)
            profiler.disable()
    console.print(
        f"{views:,} masked views: {plain.rate:,.0f}/s without the profiler ({1e6 / plain.rate:.0f} µs per view)"
    )
    stats = pstats.Stats(profiler)
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(35)
        console.print(f"[bold]top by {order}[/bold]", highlight=False)
        console.print(out.getvalue(), highlight=False, markup=False)
    console.print(_per_view(stats, views), highlight=False, markup=False)


def _per_view(stats: pstats.Stats, views: int) -> str:
    """Cumulative µs per view of the vault's own functions and the database calls under them."""
    wanted = re.compile(
        r"shopshield/|sqlalchemy/orm/session\.py:\d+\((commit|get|execute|scalars|close)\)|"
        r"sqlalchemy/engine/base\.py:\d+\((execute|_commit_impl|_begin_impl)\)|"
        r"\{method '(execute|commit|decrypt|encrypt)' of"
    )
    rows = []
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, func), (_cc, calls, _tt, cumulative, _callers) in raw.items():
        label = f"{filename}:{line}({func})" if filename != "~" else func
        if wanted.search(label):
            rows.append((cumulative, calls, label.replace(str(Path.cwd()) + "/", "")))
    rows.sort(reverse=True)
    lines = ["cumulative µs per view (profiled; cProfile inflates Python-heavy code):"]
    lines += [
        f"{1e6 * cum / views:9.1f} µs  {calls / views:5.1f} calls/view  {label}" for cum, calls, label in rows[:40]
    ]
    return "\n".join(lines)
