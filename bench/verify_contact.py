"""``POST /v1/verify/contact`` over HTTP at 8 connections, with a contact log of 1,000,000 rows.

The store is prepared outside the API: principals, the official hotline, customers through the
vault (each has a data key: a ``not_verified`` answer seals its report token with it), one ticket
each, and the contact log bulk-loaded in batches of 20,000 rows with ``executemany`` (a year of
contacts spread over the customers). Half the requests ask about a moment a logged call covers
(``verified``), half about a random moment of the year (``official_no_record``, which writes a
report token): the two ways the look-up on ``(customer_id, started_at)`` ends.

The load comes from this process: 8 asyncio workers on one httpx client with 8 connections, each
sending its next request when the last answers, so latencies include queueing at the server. The
baseline is ``bench.bare_app`` (a constant JSON document from a sync route) loaded the same way in
alternating rounds. ``--quick`` loads 100,000 contacts and runs shorter, and says so.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from sqlalchemy import insert

from bench import loadgen
from bench.common import (
    Measurement,
    Options,
    Ratio,
    console,
    markdown_results,
    percentile,
    phase,
    print_results,
    run_stamp,
    write_section,
)
from shopshield.bootstrap import build
from shopshield.channels import service as channels
from shopshield.channels.models import ContactRow
from shopshield.channels.numbers import Kind
from shopshield.channels.schemas import ChannelIn
from shopshield.core.callers import OPERATOR, Caller
from shopshield.core.db import Tx, unit_of_work
from shopshield.principals import service as principals
from shopshield.settings import Settings
from shopshield.tickets.models import TicketRow
from shopshield.vault import service as vault_service
from shopshield.vault.schemas import CustomerIn
from testkit.factories import customer as synthetic_customer

HOTLINE = "4008201234"
CONNECTIONS = 8
ROUNDS = 3
BATCH = 20_000
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Scale:
    customers: int
    contacts: int
    seconds: float
    warmup: float


FULL = Scale(customers=2_000, contacts=1_000_000, seconds=30.0, warmup=3.0)
QUICK = Scale(customers=200, contacts=100_000, seconds=6.0, warmup=1.0)


@dataclass(frozen=True)
class Prepared:
    settings: Settings
    token: str
    customer_ids: list[str]
    # One (customer, moment) per logged call, a sample for the verified half of the requests.
    covered: list[tuple[str, datetime]]
    load_seconds: float


def prepare(root: Path, scale: Scale) -> Prepared:
    settings = Settings(data_dir=root / "data")
    container = build(settings, migrate=True)
    try:
        with unit_of_work(container.sessions) as session:
            policies = container.policies
            svc = principals.create(session=session, policies=policies, name="bench-app", role="service")
            agent = principals.create(session=session, policies=policies, name="bench-agent", role="cs_agent")
            channels.add_channel(
                Tx.of_session(session),
                caller=OPERATOR,
                channel=ChannelIn(kind=Kind.PHONE, value=HOTLINE),
                now=NOW,
            )
        caller = Caller(principal=svc.principal)
        ids = []
        with phase(f"{scale.customers:,} customers through the vault"):
            for first in range(0, scale.customers, 500):
                with unit_of_work(container.sessions) as session:
                    for n in range(first, min(first + 500, scale.customers)):
                        body = CustomerIn.model_validate(synthetic_customer(n, random.Random(n)))
                        vault_service.store_customer(
                            vault=container.vault, session=session, caller=caller, customer=body
                        )
                        ids.append(body.customer_id)
        agent_id = agent.principal.principal_id
        with unit_of_work(container.sessions) as session:
            session.execute(
                insert(TicketRow),
                [
                    {"ticket_id": f"tk-{cid}", "customer_id": cid, "category": "return", "assignee_id": agent_id,
                     "created_by": svc.principal.principal_id, "status": "open", "created_at": NOW}
                    for cid in ids
                ],
            )  # fmt: skip
        rng = random.Random(14)
        covered: list[tuple[str, datetime]] = []
        year = 365 * 24 * 3600
        started = time.perf_counter()
        with phase(f"{scale.contacts:,} contacts in batches of {BATCH:,}"):
            for first in range(0, scale.contacts, BATCH):
                rows = []
                for i in range(first, min(first + BATCH, scale.contacts)):
                    cid = ids[i % len(ids)]
                    start = NOW - timedelta(seconds=rng.randrange(600, year))
                    rows.append(
                        {"contact_id": f"ct-{i:08d}", "customer_id": cid, "channel": "call", "from_value": HOTLINE,
                         "agent_id": agent_id, "agent_role": "cs_agent", "reason": "return", "ticket_id": f"tk-{cid}",
                         "order_id": None, "started_at": start, "ended_at": start + timedelta(minutes=4),
                         "logged_at": NOW, "logged_by": svc.principal.principal_id}
                    )  # fmt: skip
                    if i % 97 == 0:
                        covered.append((cid, start + timedelta(minutes=2)))
                with unit_of_work(container.sessions) as session:
                    session.execute(insert(ContactRow), rows)
        load_seconds = time.perf_counter() - started
    finally:
        container.close()
    return Prepared(settings, svc.token, ids, covered, load_seconds)


def bodies(prepared: Prepared, count: int) -> list[bytes]:
    rng = random.Random(7)
    made = []
    for i in range(count):
        if i % 2 == 0:
            cid, at = rng.choice(prepared.covered)
        else:
            cid, at = rng.choice(prepared.customer_ids), NOW - timedelta(seconds=rng.randrange(3600, 365 * 86400))
        made.append(orjson.dumps({"customer_id": cid, "channel": "call", "from": "400-820-1234", "at": at.isoformat()}))
    return made


@dataclass(frozen=True)
class Run:
    latencies: list[float]
    seconds: float
    failures: int

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


async def _load(
    base: str, method: str, path: str, headers: dict[str, str], payloads: Sequence[bytes], seconds: float
) -> Run:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal failures
            i = offset
            while time.perf_counter() < deadline:
                body = payloads[i % len(payloads)] if payloads else None
                before = time.perf_counter()
                response = await client.request(method, path, content=body)
                latencies.append(time.perf_counter() - before)
                if response.status_code != 200:
                    failures += 1
                i += CONNECTIONS

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(CONNECTIONS)))
        return Run(latencies, time.perf_counter() - started, failures)


def load(base: str, method: str, path: str, headers: dict[str, str], payloads: Sequence[bytes], seconds: float) -> Run:
    return asyncio.run(_load(base, method, path, headers, payloads, seconds))


def merge(runs: Sequence[Run]) -> Run:
    return Run([x for r in runs for x in r.latencies], sum(r.seconds for r in runs), sum(r.failures for r in runs))


def row(name: str, run: Run, note: str) -> Measurement:
    extra = f"; p95 {percentile(run.latencies, 95) * 1000:.1f} ms" if run.latencies else ""
    failed = f"; {run.failures:,} non-200" if run.failures else ""
    return Measurement(
        name,
        run.rps,
        "/s",
        count=len(run.latencies),
        p50_ms=percentile(run.latencies, 50) * 1000 if run.latencies else None,
        p99_ms=percentile(run.latencies, 99) * 1000 if run.latencies else None,
        note=note + extra + failed,
    )


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    # The per-customer limit guards real customers; the benchmark asks about each many times.
    os.environ["SHOPSHIELD_VERIFY_CONTACT_PER_HOUR"] = "100000"
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        prepared = prepare(Path(tmp), scale)
        payloads = bodies(prepared, 20_000)
        headers = {"Authorization": f"Bearer {prepared.token}", "Content-Type": "application/json"}
        args = ["--data-dir", str(prepared.settings.data_dir), "--warm-keys"]
        verify_runs: list[Run] = []
        bare_runs: list[Run] = []
        with (
            phase("HTTP verify/contact beside the bare endpoint"),
            loadgen.server("bench.serve_app", args) as base,
            loadgen.server("bench.bare_app") as bare,
        ):
            load(base, "POST", "/v1/verify/contact", headers, payloads, scale.warmup)
            load(bare, "GET", "/v1/customers/c0000001", {}, [], scale.warmup)
            for _ in range(ROUNDS):
                verify_runs.append(load(base, "POST", "/v1/verify/contact", headers, payloads, scale.seconds / ROUNDS))
                bare_runs.append(load(bare, "GET", "/v1/customers/c0000001", {}, [], scale.seconds / ROUNDS))
        verify, bare_run = merge(verify_runs), merge(bare_runs)
    p95 = percentile(verify.latencies, 95) * 1000
    size = "quick run: " if options.quick else ""
    measurements = [
        Measurement(
            "bulk-load contacts", scale.contacts / prepared.load_seconds, "/s", count=scale.contacts,
            note=f"{size}executemany in batches of {BATCH:,}, {scale.customers:,} customers",
        ),
        row("POST /v1/verify/contact", verify, f"{CONNECTIONS} connections, half verified, half official_no_record"),
        row("bare FastAPI endpoint", bare_run, f"{CONNECTIONS} connections, constant JSON from a sync route"),
    ]  # fmt: skip
    ratios = [
        Ratio("p95 of verify/contact at 8 connections", 300.0 / p95 if p95 else 0.0, 1.0, "p95 <= 300 ms",
              note=f"p95 {p95:.1f} ms"),
        Ratio("verify/contact requests/s vs bare endpoint", verify.rps / bare_run.rps if bare_run.rps else 0.0, 0.0,
              "reported", note="same run, alternating rounds"),
    ]  # fmt: skip
    print_results("Contact verification", measurements, ratios)
    if options.write_docs:
        body = (
            "## Contact verification (`verify-contact`)\n\n"
            f"{size}{scale.contacts:,} logged contacts over {scale.customers:,} customers on SQLite; "
            f"`POST /v1/verify/contact` at {CONNECTIONS} connections from an asyncio httpx client in the "
            "benchmark's own process (on the same 2 shared cores as the server: indicative), in alternating "
            "rounds with the bare endpoint. Latencies include queueing at the server. When the bare "
            "endpoint's requests/s are close to ShopShield's, the one-process client and the machine hold "
            "both, and the ratio says only that a verification adds little per request.\n\n"
            + markdown_results(measurements, ratios)
        )
        path = write_section("verify-contact", body, run_stamp(options))
        console.print(f"wrote {path}")
