"""``shopshield serve`` as a real process on its embedded defaults (SQLite and a local key file)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from testkit import factories
from tests.support.server import EXECUTABLE, Server, ensure_stopped, free_port, printed_token, run_cli, wait_until_up


@contextmanager
def _serving(tmp_path: Path, **extra_env: str) -> Iterator[Server]:
    assert EXECUTABLE.exists(), f"{EXECUTABLE} is missing: install the package into the venv"
    data_dir = tmp_path / "instance" / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPSHIELD_")}
    env["SHOPSHIELD_DATA_DIR"] = str(data_dir)
    port = free_port()
    log = tmp_path / "server.log"
    run_cli(env, "migrate")  # a fresh instance: the first command an operator runs
    admin = run_cli(env, "principals", "create", "first-admin", "--role", "admin")
    env["TEST_ADMIN_TOKEN"] = printed_token(admin)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(EXECUTABLE), "serve", "--port", str(port)],
            env={**env, **extra_env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    running = Server(process, f"http://127.0.0.1:{port}", log, env, data_dir)
    try:
        wait_until_up(running)
        yield running
    finally:
        ensure_stopped(process)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with _serving(tmp_path) as running:
        yield running


def _stop(server: Server) -> str:
    server.process.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.process.wait(timeout=10) in (0, -signal.SIGTERM)
    output = server.output()
    assert "Finished server process" in output
    return output


def _principal(http: httpx.Client, server: Server, name: str, role: str) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {server.env['TEST_ADMIN_TOKEN']}"}
    created = http.post("/v1/principals", json={"name": name, "role": role}, headers=admin)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


def test_serve_on_embedded_defaults(server: Server) -> None:
    customer = factories.customer(42)
    cid = customer["customer_id"]
    with httpx.Client(base_url=server.url, timeout=10.0) as http:
        health = http.get("/healthz")
        assert health.json()["status"] == "ok"

        paths = http.get("/openapi.json").json()["paths"]
        assert "/v1/customers" in paths
        assert "/v1/customers/{customer_id}/reveal" in paths
        assert "post" in paths["/v1/customers/{customer_id}/reveal"]

        tokens = {
            role: _principal(http, server, name, role)
            for name, role in (("store-backend", "service"), ("agent-1", "cs_agent"))
        }

        stored = http.post("/v1/customers", json=customer, headers=tokens["service"])
        assert stored.status_code == 201, stored.text
        assert http.post("/v1/customers", json=customer, headers=tokens["service"]).status_code == 409

        viewed = http.get(f"/v1/customers/{cid}", headers=tokens["cs_agent"])
        assert viewed.status_code == 200, viewed.text
        body = viewed.json()
        assert body["customer_id"] == cid
        assert body["mobile"] != customer["mobile"]
        assert body["mobile"][:3] == customer["mobile"][:3] and body["mobile"][-4:] == customer["mobile"][-4:]
        assert body["name"] != customer["name"] and body["name"][0] == customer["name"][0]
        assert "id_number" not in body

        # A search whose value sits in the query string, and requests that fail.
        found = http.get("/v1/customers", params={"mobile": customer["mobile"]}, headers=tokens["service"])
        assert [c["customer_id"] for c in found.json()["customers"]] == [cid]
        refused = http.get("/v1/customers", params={"id_number": customer["id_number"]}, headers=tokens["cs_agent"])
        assert refused.status_code == 403
        bad = {**customer, "customer_id": "c-other", "id_number": customer["mobile"]}
        assert http.post("/v1/customers", json=bad, headers=tokens["service"]).status_code == 422
        assert http.get(f"/v1/customers/{cid}").status_code == 401

    assert stat.S_IMODE(server.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((server.data_dir / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((server.data_dir / "keys" / "master-keys.json").stat().st_mode) == 0o600
    assert (server.data_dir / "shopshield.db").is_file()

    output = _stop(server)
    # The server did log: startup, and one line per request (method, path, status; never a query).
    assert "ShopShield on http://" in output
    # The request log names the route, not the raw path: an id slot may hold a phone number.
    assert "GET /v1/customers/{customer_id} 200" in output
    assert cid not in output
    assert "GET /v1/customers 200" in output
    for value in (customer["name"], customer["mobile"], customer["id_number"], customer["email"]):
        assert value not in output, f"{value!r} leaked into the server's output:\n{output}"


FAULT = """\
import os

import shopshield.vault.service as service

_view_customer = service.view_customer


def view_customer(**kw):
    if kw.get("customer_id") == os.environ["TEST_FAULT_CUSTOMER"]:
        raise RuntimeError(os.environ["TEST_FAULT_MESSAGE"])
    return _view_customer(**kw)


service.view_customer = view_customer
"""


def test_an_unexpected_error_keeps_personal_values_out_of_the_server_log(tmp_path: Path) -> None:
    """A bug deep in a request can raise with the values it failed on in its message; the 500 handler
    promises type and frames only. The fault is injected at interpreter start (sitecustomize)."""
    customer = factories.customer(7)
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(FAULT)
    message = f"could not render {customer['name']} {customer['mobile']} {customer['id_number']}"
    with _serving(
        tmp_path,
        PYTHONPATH=str(inject),
        TEST_FAULT_CUSTOMER=customer["customer_id"],
        TEST_FAULT_MESSAGE=message,
    ) as server:
        with httpx.Client(base_url=server.url, timeout=10.0) as http:
            service = _principal(http, server, "store-backend", "service")
            assert http.post("/v1/customers", json=customer, headers=service).status_code == 201
            failed = http.get(f"/v1/customers/{customer['customer_id']}", headers=service)
            assert failed.status_code == 500
            assert failed.json()["error"] == "internal_error"
            assert customer["mobile"] not in failed.text
        output = _stop(server)
    assert "unhandled RuntimeError on GET /v1/customers/{customer_id}" in output
    for value in (customer["name"], customer["mobile"], customer["id_number"]):
        assert value not in output, f"{value!r} leaked into the server's output:\n{output}"
