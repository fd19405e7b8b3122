"""Login guard speed: decisions per second and p99, in-process and over HTTP, memory and Redis.

Each figure stands beside a baseline from the same run:

1. in-process, in-memory counters: ``Guard.assess`` and ``Guard.report`` over a stream of
   attempts (customers on their own phones, typos, and strangers failing from many addresses);
   baseline: the same counter operations run straight on ``MemoryCounters``, one batch per attempt,
   so the ratio is what the engine's own logic costs;
2. in-process, Redis counters (the real server at 127.0.0.1:6379); baseline: the very commands the
   engine sent for each attempt (captured in a separate pass), sent as ONE pipelined round trip;
3. Redis round trips per assessment and per outcome, counted on the client (aim: at most two per
   assessment);
4. over HTTP, ``POST /v1/logins/assess`` on ``shopshield serve``'s app with memory counters and with
   Redis counters, beside a bare FastAPI endpoint that parses the same body and returns a constant
   answer; the three are loaded in alternating rounds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from bench import loadgen
from bench.common import (
    Measurement,
    Options,
    Timing,
    console,
    markdown_results,
    phase,
    print_results,
    run_stamp,
    write_section,
)
from shopshield.bootstrap import build
from shopshield.core.db import unit_of_work
from shopshield.guard.config import load_config
from shopshield.guard.counters import CounterStore, MemoryCounters, Nothing, Op, RedisCounters, Result
from shopshield.guard.engine import Guard, Hasher
from shopshield.guard.models import Attempt, Truth, Verdict
from shopshield.guard.replay import feed
from shopshield.principals import service as principals
from shopshield.settings import Settings
from testkit.counting_redis import CountingRedis

NAME = "guard-speed"
REDIS_URL = os.environ.get("SHOPSHIELD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
HTTP_ROUNDS = 4


@dataclass(frozen=True)
class Scale:
    attempts: int
    customers: int
    http_seconds: float
    http_warmup: float
    connections: int


FULL = Scale(attempts=60_000, customers=20_000, http_seconds=8.0, http_warmup=2.0, connections=8)
QUICK = Scale(attempts=4_000, customers=2_000, http_seconds=2.0, http_warmup=1.0, connections=8)
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def stream(scale: Scale, seed: int = 7) -> list[tuple[Attempt, Truth]]:
    """85% customers from their own phone and network (1 in 20 mistyping), 15% strangers failing
    from addresses all over (a tenth of them brute-forcing one account from one address), at 100
    attempts a second store-wide."""
    rng = random.Random(seed)
    items: list[tuple[Attempt, Truth]] = []
    for n in range(scale.attempts):
        ts = START + timedelta(seconds=n / 100)
        if rng.random() < 0.85:
            c = rng.randrange(scale.customers)
            ip, device = f"10.{c // 65536 % 256}.{c // 256 % 256}.{c % 256}", f"phone-{c}"
            user = f"u{c}@example.cn"
            ok = rng.random() >= 0.05
            truth = Truth(user_exists=True, password_ok=ok, challenge_passed=True)
        else:
            c = rng.randrange(scale.customers * 2)
            ip, device = f"100.{rng.randrange(64, 128)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", None
            user = f"u{c}@example.cn"
            if rng.random() < 0.1:  # a brute force on one account from one address: denials too
                c, ip = 0, "203.0.113.66"
                user = "u0@example.cn"
            truth = Truth(user_exists=c < scale.customers, password_ok=False, challenge_passed=False)
        sha = hashlib.sha1(f"{user}:{truth.password_ok}".encode()).hexdigest()  # noqa: S324 - HIBP-style input
        items.append((Attempt(f"a{n}", ts, user, ip, "Mozilla/5.0", device, sha), truth))
    return items


def play(guard: Guard, items: Sequence[tuple[Attempt, Truth]]) -> tuple[Timing, Timing]:
    """Decide each attempt, then report its outcome as the store would. Returns the decisions'
    timing (latency of ``assess`` alone) and the whole cycles' timing."""
    clock = time.perf_counter
    latencies: list[float] = []
    started = clock()
    for attempt, truth in items:
        before = clock()
        verdict = guard.assess(attempt).verdict
        latencies.append(clock() - before)
        feed(guard, attempt.id, verdict, truth)
    total = clock() - started
    return Timing(len(items), sum(latencies), latencies), Timing(len(items), total)


class Recording:
    """A counter store that remembers each batch it ran (to replay them as a baseline), without the
    placeholders of slots that do not apply: they ask nothing of the store."""

    def __init__(self, inner: CounterStore) -> None:
        self.inner = inner
        self.batches: list[tuple[list[Op], float]] = []

    @property
    def backend(self) -> str:
        return self.inner.backend

    def run(self, ops: Sequence[Op], now: float) -> list[Result]:
        self.batches.append(([op for op in ops if not isinstance(op, Nothing)], now))
        return self.inner.run(ops, now)


def make_guard(store: CounterStore, *, shared: bool) -> Guard:
    return Guard(config=load_config(), counters=store, hasher=Hasher.ephemeral(), shared=shared)


@contextlib.contextmanager
def redis_prefix(client: redis.Redis) -> Iterator[str]:  # type: ignore[type-arg]
    prefix = f"bench:{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=5000))
        for i in range(0, len(keys), 5000):
            client.delete(*keys[i : i + 5000])


def per_attempt_batches(
    items: Sequence[tuple[Attempt, Truth]], client: CountingRedis
) -> tuple[list[list[Op]], dict[str, float]]:
    """One pass with a recording store: the ops each attempt sent, and round trips per step."""
    with redis_prefix(client) as prefix:
        recording = Recording(RedisCounters(client, prefix=prefix))
        guard = make_guard(recording, shared=True)
        per_attempt: list[list[Op]] = []
        assess_trips: list[int] = []
        outcome_trips: list[int] = []
        for attempt, truth in items:
            mark, trips = len(recording.batches), client.trips
            verdict = guard.assess(attempt).verdict
            assess_trips.append(client.trips - trips)
            if verdict is not Verdict.DENY:
                trips = client.trips
                feed(guard, attempt.id, verdict, truth)
                outcome_trips.append(client.trips - trips)
            per_attempt.append([op for ops, _ in recording.batches[mark:] for op in ops])
    counted = {
        "assess_max": float(max(assess_trips)),
        "assess_mean": sum(assess_trips) / len(assess_trips),
        "outcome_max": float(max(outcome_trips, default=0)),
        "outcome_mean": sum(outcome_trips) / max(1, len(outcome_trips)),
    }
    return per_attempt, counted


def batches_alone(store: CounterStore, items: Sequence[tuple[Attempt, Truth]], batches: Sequence[list[Op]]) -> Timing:
    """A baseline: each attempt's counter operations as one batch on ``store``, no engine around
    them. On Redis that is one pipelined round trip per attempt."""
    clock = time.perf_counter
    latencies = []
    started = clock()
    for (attempt, _), ops in zip(items, batches, strict=True):
        before = clock()
        store.run(ops, attempt.ts.timestamp())
        latencies.append(clock() - before)
    return Timing(len(items), clock() - started, latencies)


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def http(root: Path, scale: Scale, client: str) -> dict[str, loadgen.LoadResult]:
    settings = Settings(data_dir=root / "http")
    container = build(settings, migrate=True)
    with unit_of_work(container.sessions) as session:
        token = principals.create(session=session, policies=container.policies, name="login-svc", role="service").token
    container.close()
    rng = random.Random(3)
    # {id} fills the username and, through the same substitution, the address: wrk's Lua script
    # knows one placeholder, so each pick carries both.
    picks = []
    for _ in range(5_000):
        address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        picks.append(f'u{rng.randrange(scale.customers)}@example.cn", "ip": "{address}')
    body = '{"username": "{id}", "user_agent": "Mozilla/5.0", "password_sha1": "' + "ab" * 20 + '"}'
    spec = loadgen.LoadSpec(
        "POST",
        "/v1/logins/assess",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=body,
        ids=picks,
    )
    args = ["--data-dir", str(settings.data_dir)]
    with (
        phase("HTTP assessments: memory and Redis counters beside the bare endpoint"),
        loadgen.server("bench.serve_app", args) as memory_base,
        environment(SHOPSHIELD_REDIS_URL=REDIS_URL),
        loadgen.server("bench.serve_app", args) as redis_base,
        loadgen.server("bench.bare_login_app") as bare,
    ):
        for base in (memory_base, redis_base, bare):
            answer = loadgen.smoke(base, spec)
            if "decision" not in answer:
                raise RuntimeError(f"unexpected answer from {base}: {sorted(answer)}")
        memory, shared, baseline = loadgen.alternate(
            [(memory_base, spec), (redis_base, spec), (bare, spec)],
            client=client,
            seconds=scale.http_seconds,
            warmup=scale.http_warmup,
            connections=scale.connections,
            rounds=HTTP_ROUNDS,
        )
    return {"memory": memory, "redis": shared, "bare": baseline}


def http_row(name: str, result: loadgen.LoadResult, note: str) -> Measurement:
    problems = f"; {result.non_2xx:,} non-2xx, {result.errors:,} errors" if result.non_2xx or result.errors else ""
    return Measurement(
        name, result.rps, "/s", count=result.requests, p50_ms=result.p50_ms, p99_ms=result.p99_ms, note=note + problems
    )


def run(options: Options) -> None:
    scale = QUICK if options.quick else FULL
    stamp = run_stamp(options)
    client = loadgen.choose_client(options.http_client)
    items = stream(scale)
    rows: list[Measurement] = []
    aims: list[str] = []
    with phase(f"in-process, memory counters ({len(items):,} attempts)"):
        memory_decisions, memory_cycles = play(make_guard(MemoryCounters(), shared=False), items)
        recording = Recording(MemoryCounters())
        play(make_guard(recording, shared=False), items)
    # Group the recorded batches by attempt for the memory baseline (the assessment's batch, then any outcome's).
    memory_batches = _group(recording.batches, items)
    memory_base = batches_alone(MemoryCounters(), items, memory_batches)
    redis_client = CountingRedis(connection_pool=redis.ConnectionPool.from_url(REDIS_URL))
    redis_client.ping()
    with phase("in-process, Redis counters"):
        batches, trips = per_attempt_batches(items, redis_client)
        with redis_prefix(redis_client) as prefix:
            redis_decisions, redis_cycles = play(
                make_guard(RedisCounters(redis_client, prefix=prefix), shared=True), items
            )
        with redis_prefix(redis_client) as prefix:
            redis_base = batches_alone(RedisCounters(redis_client, prefix=prefix), items, batches)
    over_http = http(Path(tempfile.mkdtemp(prefix="bench-guard-")), scale, client)

    rows += [
        Measurement.from_timing(
            "decisions, in-process, memory", memory_decisions, "Guard.assess alone; p50/p99 per decision"
        ),
        Measurement.from_timing(
            "decide + outcome, in-process, memory", memory_cycles, "each attempt decided, then its outcome reported"
        ),
        Measurement.from_timing(
            "baseline: the same counter batches on MemoryCounters",
            memory_base,
            "what the engine asks of the store, without the engine",
        ),
        Measurement.from_timing(
            "decisions, in-process, Redis", redis_decisions, "Guard.assess alone (includes its round trips)"
        ),
        Measurement.from_timing(
            "decide + outcome, in-process, Redis", redis_cycles, "each attempt decided, then its outcome"
        ),
        Measurement.from_timing(
            "baseline: one pipelined Redis round trip per attempt",
            redis_base,
            f"the engine's commands for the attempt in one pipeline ({sum(map(len, batches)) / len(batches):.0f} ops)",
        ),
        http_row("assessments, HTTP, memory counters", over_http["memory"], "POST /v1/logins/assess"),
        http_row("assessments, HTTP, Redis counters", over_http["redis"], "the same with SHOPSHIELD_REDIS_URL"),
        http_row("baseline: bare endpoint, HTTP", over_http["bare"], "same body parsed, constant answer"),
    ]
    ratios = {
        "decide + outcome, memory / counter batches alone": memory_cycles.rate / memory_base.rate,
        "decide + outcome, Redis / one round trip per attempt": redis_cycles.rate / redis_base.rate,
        "HTTP assessments, memory counters / bare endpoint": over_http["memory"].rps / over_http["bare"].rps,
        "HTTP assessments, Redis counters / bare endpoint": over_http["redis"].rps / over_http["bare"].rps,
    }
    aims.append(
        f"Redis round trips per assessment: at most {trips['assess_max']:.0f} (mean {trips['assess_mean']:.2f}); "
        f"aim at most 2: {'met' if trips['assess_max'] <= 2 else '**not met**'}. Per outcome: at most "
        f"{trips['outcome_max']:.0f} (mean {trips['outcome_mean']:.2f})."
    )
    print_results("Login guard speed" + (" (quick)" if options.quick else ""), rows)
    for name, value in ratios.items():
        console.print(f"{name}: {value:.2f}")
    for line in aims:
        console.print(line)
    if options.write_docs:
        body = "\n\n".join(
            [
                "## Login guard speed",
                f"Run: {stamp}. Command: `.venv/bin/python -m bench guard-speed"
                + (" --quick`." if options.quick else "`."),
                markdown_results(rows),
                "\n".join(f"- {name}: **{value:.2f}**" for name, value in ratios.items()),
                "\n".join(f"- {line}" for line in aims),
                f"Stream: {len(items):,} attempts at 100/s store-wide over {scale.customers:,} customers; 85% from the "
                "customer's own phone and network (1 in 20 mistyped), 15% strangers failing from random addresses "
                "(a tenth of them brute-forcing one account from one address, so denials are measured too). "
                f"HTTP: {client}, {scale.connections} connections, {HTTP_ROUNDS} alternating rounds of "
                f"{scale.http_seconds / HTTP_ROUNDS:.1f} s per server.",
            ]
        )
        path = write_section(NAME, body, stamp)
        console.print(f"wrote the {NAME} section of {path}")


def _group(batches: Sequence[tuple[list[Op], float]], items: Sequence[tuple[Attempt, Truth]]) -> list[list[Op]]:
    """Recorded batches to one op list per attempt: every batch at an attempt's timestamp belongs
    to it (attempts are 10 ms apart and outcomes are counted at their assessment's time)."""
    by_time: dict[float, list[Op]] = {}
    for ops, now in batches:
        by_time.setdefault(now, []).extend(ops)
    return [by_time.get(attempt.ts.timestamp(), []) for attempt, _ in items]


__all__ = ["run", "stream"]
