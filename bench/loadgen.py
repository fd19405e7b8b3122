"""HTTP load for benchmarks: run an app in a uvicorn subprocess and drive it with a concurrent client.

The client is ``wrk`` when it is installed (with a generated Lua script that sets the headers, picks
random ids from a file and numbers unique ids per request), otherwise several Python processes, each
with a few threads holding keep-alive ``httpx`` clients. Both read the same :class:`LoadSpec`, whose
path and body may contain ``{id}`` (a random pick from ``ids``) and ``{uid}`` (unique per request).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import IO

import httpx

from bench.common import ROOT, console, percentile

WRK_THREADS = 1  # on 2 cores one wrk thread saturates a one-process Python server and leaves it a core
PY_PROCESSES = 2
_run_numbers = itertools.count(1)
_wrk_install_tried = False


@dataclass(frozen=True)
class LoadSpec:
    """One kind of request: ``{id}`` in path or body is a random pick from ``ids``, ``{uid}`` is unique."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    ids: Sequence[str] = ()


@dataclass(frozen=True)
class LoadResult:
    client: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # connect/read/write errors and timeouts
    non_2xx: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


# -- servers --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server(module: str, args: Sequence[str] = (), *, ready_path: str = "/healthz") -> Iterator[str]:
    """Run ``python -m module --port N *args`` on 127.0.0.1 and yield its base URL once it answers."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(port), *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(proc, base + ready_path, log)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: IO[str], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet: poll again
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url} within {timeout:.0f}s:\n{_tail(log)}")


def _tail(log: IO[str]) -> str:
    log.seek(0)
    return "".join(log.readlines()[-30:])


# -- clients --------------------------------------------------------------------------------------


def find_wrk() -> str | None:
    """Path of wrk; if missing, try ``apt-get install -y wrk`` once per process (root only)."""
    global _wrk_install_tried
    found = shutil.which("wrk")
    if found or _wrk_install_tried:
        return found
    _wrk_install_tried = True
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return None
    console.print("[yellow]wrk not found; trying apt-get install -y wrk once[/yellow]")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], env=env, capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        console.print(
            f"[yellow]apt-get install wrk failed ({done.returncode}); using the Python client. "
            "Try `apt-get update && apt-get install -y wrk`.[/yellow]"
        )
    return shutil.which("wrk")


def choose_client(preference: str) -> str:
    """``wrk`` or ``python`` for the preference ``auto``, ``wrk`` or ``python``."""
    if preference == "python":
        return "python"
    if find_wrk() is not None:
        return "wrk"
    if preference == "wrk":
        raise RuntimeError("--http-client wrk was asked for but wrk is not installed")
    return "python"


def smoke(base: str, spec: LoadSpec, *, expect: int = 200) -> dict[str, object]:
    """Send one request of ``spec`` and fail loudly unless it returns ``expect``; returns its JSON."""
    rng = random.Random(0)
    path, body = _fill(spec, rng, f"smoke{next(_run_numbers)}")
    response = httpx.request(
        spec.method, base + path, headers=spec.headers, content=body.encode() if body else None, timeout=30
    )
    if response.status_code != expect:
        raise RuntimeError(f"{spec.method} {spec.path}: expected {expect}, got {response.status_code}")
    data: dict[str, object] = response.json()
    return data


def combine(parts: Sequence[LoadResult]) -> LoadResult:
    """Rounds of one measurement as one: requests and seconds add up; the latency figures are the
    medians of the rounds' (a round's percentiles cannot be merged exactly without its samples)."""
    return LoadResult(
        client=parts[0].client,
        connections=parts[0].connections,
        requests=sum(p.requests for p in parts),
        seconds=sum(p.seconds for p in parts),
        p50_ms=statistics.median(p.p50_ms for p in parts),
        p99_ms=statistics.median(p.p99_ms for p in parts),
        errors=sum(p.errors for p in parts),
        non_2xx=sum(p.non_2xx for p in parts),
    )


def alternate(
    targets: Sequence[tuple[str, LoadSpec]],
    *,
    client: str,
    seconds: float,
    warmup: float,
    connections: int,
    rounds: int,
) -> list[LoadResult]:
    """Load each (base, spec) in turn, ``rounds`` times, ``seconds / rounds`` each time.

    On a shared machine the load from elsewhere changes within seconds; measuring two servers in
    alternating rounds lets such changes fall on both, so their ratio means something.
    """
    for base, spec in targets:
        if warmup > 0:
            load(base, spec, client=client, seconds=warmup, warmup=0, connections=connections)
    parts: list[list[LoadResult]] = [[] for _ in targets]
    for _ in range(rounds):
        for n, (base, spec) in enumerate(targets):
            parts[n].append(
                load(base, spec, client=client, seconds=seconds / rounds, warmup=0, connections=connections)
            )
    return [combine(p) for p in parts]


def load(base: str, spec: LoadSpec, *, client: str, seconds: float, warmup: float, connections: int) -> LoadResult:
    """Warm up for ``warmup`` seconds (discarded), then measure for ``seconds``."""
    runner = _wrk if client == "wrk" else _python
    if warmup > 0:
        runner(base, spec, seconds=warmup, connections=connections)
    return runner(base, spec, seconds=seconds, connections=connections)


def _fill(spec: LoadSpec, rng: random.Random, uid: str) -> tuple[str, str | None]:
    picked = rng.choice(spec.ids) if spec.ids else ""
    path = spec.path.replace("{id}", picked).replace("{uid}", uid)
    body = None if spec.body is None else spec.body.replace("{id}", picked).replace("{uid}", uid)
    return path, body


# -- wrk ------------------------------------------------------------------------------------------

_LUA = """\
local method = [==[{method}]==]
local path_template = [==[{path}]==]
local body_template = {body}
local ids_file = [==[{ids_file}]==]
local run_tag = [==[{run_tag}]==]
local headers = {{ {headers} }}
local ids = {{}}
local counter = 0
local next_thread = 1

function setup(thread)
  thread:set("thread_no", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  if ids_file ~= "" then
    for line in io.lines(ids_file) do ids[#ids + 1] = line end
  end
  math.randomseed(os.time() * 1000 + (thread_no or 0))
  for name, value in pairs(headers) do wrk.headers[name] = value end
end

local function fill(text, id, uid)
  text = text:gsub("{{id}}", id)
  return (text:gsub("{{uid}}", uid))
end

function request()
  counter = counter + 1
  local id = ""
  if #ids > 0 then id = ids[math.random(#ids)] end
  local uid = run_tag .. "t" .. (thread_no or 0) .. "n" .. counter
  local body = nil
  if body_template then body = fill(body_template, id, uid) end
  return wrk.format(method, fill(path_template, id, uid), nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %d %d %.1f %.1f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    if "]==]" in text:
        raise ValueError("template may not contain ]==]")
    return f"[==[{text}]==]"


def _wrk(base: str, spec: LoadSpec, *, seconds: float, connections: int) -> LoadResult:
    wrk = find_wrk()
    assert wrk is not None
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        ids_file = ""
        if spec.ids:
            ids_path = Path(tmp) / "ids.txt"
            ids_path.write_text("\n".join(spec.ids) + "\n")
            ids_file = str(ids_path)
        headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in spec.headers.items())
        script = Path(tmp) / "load.lua"
        script.write_text(
            _LUA.format(
                method=spec.method,
                path=spec.path,
                body="nil" if spec.body is None else _lua_string(spec.body),
                ids_file=ids_file,
                run_tag=f"r{os.getpid()}x{next(_run_numbers)}",
                headers=headers,
            )
        )
        threads = min(WRK_THREADS, connections)
        command = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    match = re.search(r"^BENCH_RESULT (\d+) (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    requests, duration_us, errors, non_2xx = (int(match.group(i)) for i in range(1, 5))
    return LoadResult(
        client=f"wrk -t{threads} -c{connections}",
        connections=connections,
        requests=requests,
        seconds=duration_us / 1e6,
        p50_ms=float(match.group(5)) / 1000,
        p99_ms=float(match.group(6)) / 1000,
        errors=errors,
        non_2xx=non_2xx,
    )


# -- Python client --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _WorkerResult:
    latencies: list[float]
    non_2xx: int
    errors: int
    seconds: float


def _python_worker(
    base: str, spec: LoadSpec, seconds: float, threads: int, worker_no: int, run_tag: str
) -> _WorkerResult:
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    lock = threading.Lock()
    start_gate = threading.Barrier(threads + 1)
    deadline_box: list[float] = []

    def loop(thread_no: int) -> None:
        rng = random.Random(worker_no * 1000 + thread_no)
        local: list[float] = []
        non_2xx = errors = 0
        with httpx.Client(base_url=base, headers=spec.headers, timeout=30.0) as client:
            start_gate.wait()
            deadline = deadline_box[0]
            for n in itertools.count():
                uid = f"{run_tag}p{worker_no}t{thread_no}n{n}"
                path, body = _fill(spec, rng, uid)
                before = time.perf_counter()
                if before >= deadline:
                    break
                try:
                    response = client.request(spec.method, path, content=body.encode() if body else None)
                    if not 200 <= response.status_code < 300:
                        non_2xx += 1
                except httpx.HTTPError:
                    errors += 1
                local.append(time.perf_counter() - before)
        with lock:
            latencies.extend(local)
            counts["non_2xx"] += non_2xx
            counts["errors"] += errors

    workers = [threading.Thread(target=loop, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    started = time.perf_counter()
    deadline_box.append(started + seconds)
    start_gate.wait()
    for worker in workers:
        worker.join()
    return _WorkerResult(latencies, counts["non_2xx"], counts["errors"], time.perf_counter() - started)


def _python(base: str, spec: LoadSpec, *, seconds: float, connections: int) -> LoadResult:
    processes = min(PY_PROCESSES, connections)
    threads = max(1, connections // processes)
    run_tag = f"r{os.getpid()}x{next(_run_numbers)}"
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_python_worker, base, spec, seconds, threads, p, run_tag) for p in range(processes)]
        results = [f.result() for f in futures]
    latencies = [lat for r in results for lat in r.latencies]
    return LoadResult(
        client=f"python: {processes} processes x {threads} httpx clients",
        connections=processes * threads,
        requests=len(latencies),
        seconds=max(r.seconds for r in results),
        p50_ms=percentile(latencies, 50) * 1000 if latencies else 0.0,
        p99_ms=percentile(latencies, 99) * 1000 if latencies else 0.0,
        errors=sum(r.errors for r in results),
        non_2xx=sum(r.non_2xx for r in results),
    )
