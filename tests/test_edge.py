"""The edge in front of the app (issue 11, items 5 and 6): which client address access events
record, and when a request's body is read.

Item 5: uvicorn believed X-Forwarded-For from any local client, so anyone on the host set the
``source_ip`` of their own events, to any string of any length. Only configured proxies may name the
client now, and only a valid IP address is ever recorded.

Item 6: bodies were read before the token was checked, with no size limit (four 100 MB bodies
without a token took the server from 920 MB to 1.6 GB). The token is checked first, and bodies are
capped.

Each attack runs against the real server (``shopshield serve`` on a free port, on SQLite and on
PostgreSQL) and through the ASGI client.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from shopshield.app import create_app
from shopshield.bootstrap import Container, build
from shopshield.settings import Settings
from testkit import factories
from tests.support.environment import cli_env
from tests.support.events import stored_events
from tests.support.server import EXECUTABLE, STARTUP_SECONDS, ensure_stopped, free_port, printed_token, run_cli
from tests.support.world import CLIENT_ADDRESS, World, make_world

LIMIT = 64 * 1024
CHUNK = 16 * 1024


@contextmanager
def _world(settings: Settings, **overrides: Any) -> Iterator[World]:
    container = build(settings.model_copy(update=overrides), migrate=False)
    world = make_world(container)
    try:
        yield world
    finally:
        world.client.close()
        container.close()


def _store_customer_and_order(world: World) -> str:
    """A customer the courier has no order for (so the courier's read is a recorded refusal)."""
    body = factories.customer(1)
    assert world.post("service", "/v1/customers", body).status_code == 201
    placed = factories.order(1, body["customer_id"], body["addresses"][0]["address_id"], courier="k-999")
    assert world.post("service", "/v1/orders", placed).status_code == 201
    return str(body["customer_id"])


# -- item 5 over the ASGI client ------------------------------------------------------------------

LONG_GARBAGE = "x" * 60
# (X-Forwarded-For values, the address recorded) when the test client's address is a trusted proxy.
FORWARDED = [
    (["198.51.100.7"], "198.51.100.7"),
    (["  198.51.100.8 "], "198.51.100.8"),
    (["::ffff:198.51.100.9"], "198.51.100.9"),
    (["2001:DB8:0:0::1"], "2001:db8::1"),
    (["[2001:db8::2]:4711"], "2001:db8::2"),
    (["198.51.100.10:4711"], "198.51.100.10"),
    # A client's own claim left of the address the proxy saw is not believed.
    (["6.6.6.6, 198.51.100.11"], "198.51.100.11"),
    # The proxy itself in the chain is walked past.
    ([f"198.51.100.12, {CLIENT_ADDRESS}"], "198.51.100.12"),
    (["1.1.1.1", "198.51.100.13"], "198.51.100.13"),
    # Whatever is no IP address records the proxy's own address, never the header.
    ([LONG_GARBAGE], CLIENT_ADDRESS),
    (["13812345678"], CLIENT_ADDRESS),
    (["fe80::1%eth0"], CLIENT_ADDRESS),
    (["198.51.100.14:http"], CLIENT_ADDRESS),
    ([""], CLIENT_ADDRESS),
]


def _forwarded_headers(world: World, who: str, values: list[str]) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {world.tokens[who]}"), *(("X-Forwarded-For", v) for v in values)]


def test_a_trusted_proxy_names_the_client_and_only_an_ip_address_is_recorded(settings: Settings) -> None:
    proxy = ipaddress.ip_network(CLIENT_ADDRESS)
    with _world(settings, trusted_proxies=(proxy,)) as world:
        cid = _store_customer_and_order(world)
        for values, _expected in FORWARDED:
            viewed = world.client.get(f"/v1/customers/{cid}", headers=_forwarded_headers(world, "agent", values))
            assert viewed.status_code == 200, viewed.text
            # The red team's case: a refusal, whose event must be appended as the view's is.
            refused = world.client.get(f"/v1/customers/{cid}", headers=_forwarded_headers(world, "courier", values))
            assert refused.status_code == 403, refused.text
        views = stored_events(world.container, actor_id=world.ids["agent"], action="view")
        refusals = stored_events(world.container, actor_id=world.ids["courier"])
        expected = [address for _values, address in FORWARDED]
        assert [e.source_ip for e in views] == expected
        assert [e.source_ip for e in refusals] == expected


def test_forwarded_for_from_anyone_else_is_ignored(container: Container) -> None:
    world = make_world(container)
    cid = _store_customer_and_order(world)
    for values, _expected in FORWARDED:
        assert (
            world.client.get(f"/v1/customers/{cid}", headers=_forwarded_headers(world, "courier", values)).status_code
            == 403
        )
    assert {e.source_ip for e in stored_events(container)} == {CLIENT_ADDRESS}
    # A peer that has no IP address (here the ASGI client's own name for itself) records none.
    unnamed = TestClient(create_app(container), raise_server_exceptions=False)
    assert unnamed.get(f"/v1/customers/{cid}", headers=world.headers("agent")).status_code == 200
    assert stored_events(container)[-1].source_ip is None
    world.client.close()


# -- item 6 over the ASGI client ------------------------------------------------------------------


class CountedBody:
    """A streamed (chunked) request body that counts how much of it the server pulled."""

    def __init__(self, chunks: int, chunk: bytes = b"x" * CHUNK) -> None:
        self.chunks = chunks
        self.chunk = chunk
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.chunk


def test_a_body_without_a_valid_token_is_never_read(container: Container) -> None:
    world = make_world(container)
    for path in ("/v1/customers", "/v1/scam-reports", "/v1/customers/c0000001/reveal", "/v1/no-such-route"):
        for headers in ({}, {"Authorization": "Bearer ss_not-a-token"}, {"Authorization": "Basic dXNlcg=="}):
            body = CountedBody(chunks=1024)  # 16 MiB
            response = world.client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
            assert response.status_code == 401, (path, headers, response.text)
            assert response.json()["error"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"
            assert body.pulled == 0, (path, headers, body.pulled)
    # Public routes need no token and read no body either.
    body = CountedBody(chunks=1024)
    assert world.client.request("GET", "/healthz", content=body).status_code == 200
    assert body.pulled == 0
    assert stored_events(container) == []
    world.client.close()


def test_a_body_over_the_limit_is_refused_with_413_and_nothing_written(settings: Settings) -> None:
    with _world(settings, max_body_bytes=LIMIT) as world:
        service = {**world.headers("service"), "Content-Type": "application/json"}
        big = factories.customer(2)
        big["addresses"] = [{**big["addresses"][0], "address_id": f"a-{n}", "street": "x" * 190} for n in range(20)]
        big["padding"] = "x" * LIMIT  # over the limit however it is sent; refused before parsing
        encoded = json.dumps(big).encode()
        declared = world.client.post("/v1/customers", content=encoded, headers=service)
        assert declared.status_code == 413, declared.text
        assert declared.json() == {
            "error": "body_too_large",
            "message": f"the request body is larger than the limit of {LIMIT} bytes",
        }
        assert declared.headers["connection"] == "close"

        streamed = CountedBody(chunks=len(encoded) // CHUNK + 1)
        chunked = world.client.post("/v1/customers", content=streamed, headers=service)
        assert chunked.status_code == 413, chunked.text
        # It stopped at the limit instead of reading the rest.
        assert streamed.pulled <= LIMIT // CHUNK + 1

        # Within the limit, both ways still work, and the body arrives whole.
        small = factories.customer(3)
        assert (
            world.client.post("/v1/customers", content=json.dumps(small).encode(), headers=service).status_code == 201
        )
        small = factories.customer(4)
        whole = json.dumps(small).encode()
        pieces = iter([whole[: len(whole) // 2], whole[len(whole) // 2 :]])
        assert world.client.post("/v1/customers", content=pieces, headers=service).status_code == 201
        stored = {e.customer_id for e in stored_events(world.container, action="write")}
        assert stored == {"c0000003", "c0000004"}


def test_the_default_limit_takes_the_largest_batch_of_scam_reports(container: Container) -> None:
    """1,000 reports with every field at its longest, non-ASCII text escaped: about 5.9 MB."""
    world = make_world(container)
    report = {
        "reported_at": "2016-07-16T09:12:00.123456+08:00",
        "customer_id": "c" + "0" * 63,
        "contacted_at": "2016-07-15T14:03:00.123456+08:00",
        "channel": "other",
        "contact_from": "客" * 128,
        "claimed_identity": "客" * 200,
        "knew": "|".join(f"item{n:02d}" + "a" * 26 for n in range(20)),
        "url": "https://example.com/" + "a" * 2028,
        "payee_account": "客" * 128,
        "loss_amount": "999999999999.99",
        "currency": "CNY",
    }
    batch = {"reports": [{**report, "report_id": f"r-{n:06d}" + "9" * 56} for n in range(1000)]}
    encoded = json.dumps(batch).encode()  # ensure_ascii: every 客 is six bytes
    assert 5_000_000 < len(encoded) < container.settings.max_body_bytes
    headers = {**world.headers("service"), "Content-Type": "application/json"}
    response = world.client.post("/v1/scam-reports", content=encoded, headers=headers)
    assert response.status_code == 201, response.text[:300]
    assert len(response.json()["stored"]) == 1000
    world.client.close()


# -- the real server ------------------------------------------------------------------------------


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str
    port: int
    log: Path
    tokens: dict[str, dict[str, str]]


@contextmanager
def _serve(settings: Settings, tmp_path: Path, **extra: str) -> Iterator[Running]:
    """``shopshield serve`` on ``settings``' databases, with principals for service, agent and courier."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPSHIELD_")}
    env.update({k: v for k, v in cli_env(settings, **extra).items() if v is not None})
    created = run_cli(env, "principals", "create", "first-admin", "--role", "admin")
    admin = printed_token(created)
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(EXECUTABLE), "serve", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)  # polling interval while the process starts
        tokens = {}
        with httpx.Client(base_url=url, timeout=10.0) as http:
            for name, role, link in (
                ("backend", "service", None),
                ("agent", "cs_agent", None),
                ("courier", "courier", "k-001"),
            ):
                made = http.post(
                    "/v1/principals",
                    json={"name": name, "role": role, "link_id": link},
                    headers={"Authorization": f"Bearer {admin}"},
                )
                assert made.status_code == 201, made.text
                tokens[role] = {"Authorization": f"Bearer {made.json()['token']}"}
        yield Running(process, url, port, log, tokens)
    finally:
        ensure_stopped(process)


def _events_by_actor_kind(settings: Settings) -> dict[str, list[str | None]]:
    container = build(settings, migrate=False)
    try:
        found: dict[str, list[str | None]] = {}
        for event in stored_events(container):
            if event.action in ("view",):
                found.setdefault(event.actor_kind, []).append(event.source_ip)
        return found
    finally:
        container.close()


def _setup_over_http(running: Running) -> str:
    body = factories.customer(1)
    with httpx.Client(base_url=running.url, timeout=10.0) as http:
        assert http.post("/v1/customers", json=body, headers=running.tokens["service"]).status_code == 201
    return str(body["customer_id"])


def test_the_real_server_ignores_forwarded_for_from_local_clients(settings: Settings, tmp_path: Path) -> None:
    """The red team's attack on the real server: any local client set source_ip, and on PostgreSQL
    a 60-character value failed the refusal's event and poisoned the pool."""
    with _serve(settings, tmp_path) as running:
        cid = _setup_over_http(running)
        with httpx.Client(base_url=running.url, timeout=10.0) as http:
            for value in ("10.66.66.66", LONG_GARBAGE, "13812345678"):
                forwarded = {"X-Forwarded-For": value}
                refused = http.get(f"/v1/customers/{cid}", headers={**running.tokens["courier"], **forwarded})
                assert refused.status_code == 403, refused.text
                viewed = http.get(f"/v1/customers/{cid}", headers={**running.tokens["cs_agent"], **forwarded})
                assert viewed.status_code == 200, viewed.text
    recorded = _events_by_actor_kind(settings)
    assert recorded == {"courier": ["127.0.0.1"] * 3, "staff": ["127.0.0.1"] * 3}


def test_the_real_server_believes_a_configured_proxy(settings: Settings, tmp_path: Path) -> None:
    with _serve(settings, tmp_path, trusted_proxies="127.0.0.1") as running:
        cid = _setup_over_http(running)
        with httpx.Client(base_url=running.url, timeout=10.0) as http:
            for value in ("198.51.100.7", LONG_GARBAGE):
                headers = {**running.tokens["courier"], "X-Forwarded-For": value}
                assert http.get(f"/v1/customers/{cid}", headers=headers).status_code == 403
    assert _events_by_actor_kind(settings) == {"courier": ["198.51.100.7", "127.0.0.1"]}


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


HUGE = 100 * 1024 * 1024


def _request_head(path: str, length: int, *extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", f"Content-Length: {length}"]
    return ("\r\n".join([*lines, *extra]) + "\r\n\r\n").encode()


def _send_until_answered(port: int, head: bytes) -> tuple[bytes, int]:
    """Send ``head`` and then up to HUGE bytes of body, while another thread reads; return the
    answer's first bytes and how much of the body had been sent when it came."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    answer = bytearray()
    answered = threading.Event()
    sent = 0

    def read() -> None:
        try:
            while not answered.is_set():
                data = sock.recv(65536)
                if not data:
                    break
                answer.extend(data)
                if b"\r\n\r\n" in answer:
                    break
        except OSError:
            pass  # reset by the server once it has answered
        finally:
            answered.set()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        sock.sendall(head)
        chunk = b"x" * (1024 * 1024)
        while sent < HUGE and not answered.is_set():
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: it will not read the rest
    finally:
        answered.wait(timeout=30)
        reader.join(timeout=30)
        sock.close()
    return bytes(answer), sent


def test_the_real_server_answers_401_without_reading_a_huge_body(settings: Settings, tmp_path: Path) -> None:
    with _serve(settings, tmp_path) as running:
        # With Expect: 100-continue the client waits for leave to send: the server answers at once
        # instead of asking for the body.
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.sendall(_request_head("/v1/customers", HUGE, "Expect: 100-continue"))
            first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 401 "), first[:200]

        # The red team's attack: four 100 MB bodies without a token, sent as fast as the server
        # takes them. Each is answered after a small part and the server's memory stays flat.
        before = _rss_kib(running.process.pid)
        for _ in range(4):
            answer, sent = _send_until_answered(running.port, _request_head("/v1/customers", HUGE))
            assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
            assert b"www-authenticate: bearer" in answer.lower()
            assert sent < HUGE // 4, sent
        grown = _rss_kib(running.process.pid) - before
        assert grown < 32 * 1024, f"the server grew by {grown} KiB"

        # With a token, a declared length over the limit is refused at once.
        token = running.tokens["service"]["Authorization"]
        answer, sent = _send_until_answered(
            running.port, _request_head("/v1/customers", HUGE, f"Authorization: {token}")
        )
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert sent < HUGE // 4, sent


@pytest.mark.parametrize("length", [LIMIT + 1])
def test_the_real_server_refuses_a_body_over_the_limit(settings: Settings, tmp_path: Path, length: int) -> None:
    with (
        _serve(settings, tmp_path, max_body_bytes=str(LIMIT)) as running,
        httpx.Client(base_url=running.url, timeout=10.0) as http,
    ):
        declared = http.post("/v1/customers", content=b"x" * length, headers=running.tokens["service"])
        assert declared.status_code == 413, declared.text
        assert declared.json()["error"] == "body_too_large"
        streamed = http.post(
            "/v1/customers", content=iter([b"x" * CHUNK] * (length // CHUNK + 2)), headers=running.tokens["service"]
        )
        assert streamed.status_code == 413, streamed.text
        fine = http.post("/v1/customers", json=factories.customer(5), headers=running.tokens["service"])
        assert fine.status_code == 201, fine.text
