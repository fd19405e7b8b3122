"""An answered read has a durable event: ``kill -9`` of ``shopshield serve`` in the middle of a burst
of reads loses no event of a read that got its answer, and the log still verifies afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from testkit import factories
from tests.support.backends import schema_url, truncate_postgres
from tests.support.server import EXECUTABLE, Server, free_port, printed_token, run_cli, wait_until_up

BURST_SECONDS = 1.0
READERS = 6


def _env(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPSHIELD_")}
    env["SHOPSHIELD_DATA_DIR"] = str(tmp_path / "var")
    if backend == "postgresql":
        schema: str = request.getfixturevalue("postgres_schema")
        truncate_postgres(schema)
        env["SHOPSHIELD_DATABASE_URL"] = env["SHOPSHIELD_KEYSTORE_URL"] = schema_url(schema)
    return env


def _start(env: dict[str, str], tmp_path: Path, name: str) -> Server:
    port = free_port()
    log = tmp_path / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(EXECUTABLE), "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log, env, Path(env["SHOPSHIELD_DATA_DIR"]))
    wait_until_up(server)
    return server


def test_kill_9_during_a_burst_of_reads_loses_no_answered_event(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    env = _env(tmp_path, backend, request)
    run_cli(env, "migrate")  # a fresh instance: the first command an operator runs
    service = printed_token(run_cli(env, "principals", "create", "backend", "--role", "service"))
    reader = printed_token(run_cli(env, "principals", "create", "analyst-1", "--role", "security_analyst"))
    server = _start(env, tmp_path, "first")
    ids = []
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {service}"}) as http:
            for n in range(1, 6):
                body = factories.customer(n)
                assert http.post("/v1/customers", json=body).status_code == 201
                ids.append(body["customer_id"])

        answered: Counter[str] = Counter()
        lock = threading.Lock()
        stop = threading.Event()

        def read(worker: int) -> None:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {reader}"}, timeout=5) as http:
                n = worker
                while not stop.is_set():
                    customer_id = ids[n % len(ids)]
                    n += 1
                    try:
                        response = http.get(f"/v1/customers/{customer_id}")
                    except httpx.TransportError:
                        return
                    if response.status_code == 200:
                        with lock:
                            answered[customer_id] += 1

        threads = [threading.Thread(target=read, args=(w,)) for w in range(READERS)]
        for thread in threads:
            thread.start()
        time.sleep(BURST_SECONDS)  # let the burst run; the kill must land while reads are in flight
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert sum(answered.values()) > 20, "the burst was too short to mean anything"

    url = env.get("SHOPSHIELD_DATABASE_URL") or f"sqlite:///{tmp_path / 'var' / 'shopshield.db'}"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            logged: dict[str, int] = dict(
                conn.execute(
                    text(
                        "SELECT customer_id, COUNT(*) FROM access_events "
                        "WHERE action = 'view' AND outcome = 'ok' GROUP BY customer_id"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    for customer_id, count in answered.items():
        assert logged.get(customer_id, 0) >= count, (customer_id, count, logged)

    # After the crash: a new checkpoint covers the events, and the whole log verifies.
    signed = subprocess.run([str(EXECUTABLE), "audit", "checkpoint"], env=env, capture_output=True, timeout=60)
    assert signed.returncode == 0, signed.stderr.decode()
    verified = subprocess.run([str(EXECUTABLE), "audit", "verify"], env=env, capture_output=True, timeout=120)
    assert verified.returncode == 0, verified.stdout.decode() + verified.stderr.decode()
    assert b"intact" in verified.stdout
