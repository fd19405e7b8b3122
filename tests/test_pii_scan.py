"""No personal value in plaintext in the database files, a database dump, logs or error messages."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from shopshield import bootstrap
from shopshield.core.callers import Caller
from shopshield.core.db import unit_of_work
from shopshield.principals import service as principals
from shopshield.settings import Settings
from shopshield.vault import service as vault_service
from shopshield.vault.schemas import CustomerIn
from shopshield.vault.service import store_customer
from testkit import factories
from tests.support.plaintext_scan import Scanner, pg_dump, read_dir
from tests.support.world import World, make_world

CUSTOMERS = 1000
BATCH = 100
# Loggers of the test's own HTTP client (httpx logs every URL it requests, query string included):
# they are not ShopShield's logs, so they are left out of the log scan.
CLIENT_LOGGERS = ("httpx", "httpcore")


def _personal_values(customers: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    values: set[str] = set()
    emails: set[str] = set()
    for c in customers:
        values.update((c["name"], c["mobile"], c["id_number"]))
        emails.add(c["email"])
    return values, emails


def _log_text(records: Iterable[logging.LogRecord]) -> str:
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(r) for r in records if not r.name.startswith(CLIENT_LOGGERS))


def _exercise_http(world: World, customers: list[dict[str, Any]]) -> list[bytes]:
    """Views, searches, a reveal, and many requests that fail; returns every error response body."""
    first, second, third = customers[0], customers[1], customers[2]
    errors: list[bytes] = []

    def expect(response: Any, status: int) -> None:
        assert response.status_code == status, response.text
        if status >= 400:
            body = response.content
            # Also the JSON re-encoded without escapes, in case a value hides behind \\u escapes.
            errors.append(body)
            errors.append(json.dumps(json.loads(body), ensure_ascii=False).encode())

    cid = first["customer_id"]
    expect(world.get("agent", f"/v1/customers/{cid}"), 200)
    expect(world.get("service", "/v1/customers", params={"mobile": first["mobile"]}), 200)
    # A partner may not search by a mobile it sees masked (decision 0015): a recorded refusal.
    expect(world.get("partner", "/v1/customers", params={"mobile": second["mobile"]}), 403)
    expect(world.post("service", "/v1/customers/search", {"id_number": third["id_number"]}), 200)
    ticket = world.ticket("agent", cid)
    reveal = {"fields": ["mobile"], "purpose": "refund_dispute", "ticket_id": ticket}
    revealed = world.post("agent", f"/v1/customers/{cid}/reveal", reveal)
    expect(revealed, 200)
    assert revealed.json()["mobile"] == first["mobile"]

    # Refusals recorded as access events.
    expect(world.get("agent", "/v1/customers", params={"id_number": first["id_number"]}), 403)
    expect(world.get("courier", f"/v1/customers/{cid}"), 403)
    expect(world.get("agent", "/v1/customers/c-none"), 404)
    expect(world.post("agent2", f"/v1/customers/{cid}/reveal", reveal), 403)
    expect(world.post("agent", f"/v1/customers/{cid}/reveal", {**reveal, "fields": ["id_number"]}), 403)
    expect(world.post("agent", f"/v1/customers/{cid}/reveal", {**reveal, "ticket_id": "tk-none"}), 403)
    # Guessing numbers until the search limit refuses a real one: a refusal, an alert and its log line.
    call = {"purpose": "inbound_call"}
    for n in range(world.container.policies.role("cs_agent").search.misses_per_hour):  # type: ignore[union-attr]
        expect(world.post("agent", "/v1/customers/search", {**call, "mobile": f"1590000{n:04d}"}), 200)
    expect(world.post("agent", "/v1/customers/search", {**call, "mobile": third["mobile"]}), 429)
    assert len(world.get("analyst", "/v1/alerts").json()["alerts"]) == 1
    # Conflicts and invalid input carrying personal values.
    expect(world.post("service", "/v1/customers", first), 409)
    expect(world.post("agent", "/v1/customers", factories.customer(CUSTOMERS + 1)), 403)
    swapped = {**factories.customer(CUSTOMERS + 2), "mobile": first["id_number"]}
    expect(world.post("service", "/v1/customers", swapped), 422)
    swapped = {**factories.customer(CUSTOMERS + 3), "id_number": second["mobile"]}
    expect(world.post("service", "/v1/customers", swapped), 422)
    expect(world.post("service", "/v1/customers", {**second, "nickname": second["name"]}), 422)
    bad_email = {**factories.customer(CUSTOMERS + 4), "email": f"{third['name']} {third['mobile']}"}
    expect(world.post("service", "/v1/customers", bad_email), 422)
    typo = third["id_number"][:-1] + ("0" if third["id_number"][-1] != "0" else "1")
    expect(world.get("service", "/v1/customers", params={"id_number": typo}), 422)
    expect(world.get("service", "/v1/customers", params={"mobile": f"{first['name']}{first['mobile']}"}), 422)
    expect(world.post("service", "/v1/customers/search", {"phone": second["mobile"]}), 422)
    expect(
        world.get("service", "/v1/customers", params={"mobile": first["mobile"], "email": first["email"]}),
        422,
    )
    malformed = f'{{"customer_id": "c-x", "name": "{first["name"]}", "mobile": {first["mobile"]}'
    response = world.client.post(
        "/v1/customers",
        content=malformed.encode(),
        headers={**world.headers("service"), "Content-Type": "application/json"},
    )
    expect(response, 400)
    # Authentication failures, one with a personal value where the token should be.
    expect(world.client.get(f"/v1/customers/{cid}"), 401)
    expect(world.client.get(f"/v1/customers/{cid}", headers={"Authorization": f"Bearer {first['mobile']}"}), 401)
    expect(
        world.client.get(f"/v1/customers/{cid}", headers={"Authorization": f"Bearer ss_{first['mobile']}"}),
        401,
    )
    channel = {**world.headers("agent"), "X-ShopShield-Channel": second["mobile"]}
    expect(world.client.get(f"/v1/customers/{cid}", headers=channel), 422)
    return errors


def _unexpected_error(world: World, customers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """A 500 from an exception whose message carries personal values."""
    victim = customers[3]

    def broken(**_kw: Any) -> Any:
        raise RuntimeError(f"failed on {victim['name']} {victim['mobile']} {victim['id_number']}")

    with monkeypatch.context() as patch:
        patch.setattr(vault_service, "view_customer", broken)
        response = world.get("agent", f"/v1/customers/{victim['customer_id']}")
    assert response.status_code == 500, response.text
    assert response.json()["error"] == "internal_error"
    return bytes(response.content)


def test_scanner_catches_a_planted_plaintext(tmp_path: Path) -> None:
    customers = [factories.customer(n) for n in range(50)]
    values, emails = _personal_values(customers)
    scanner = Scanner(values, emails)
    planted = customers[17]
    scratch = tmp_path / "scratch.bin"
    noise = os.urandom(20_000)
    scratch.write_bytes(
        noise[:5000]
        + planted["name"].encode()
        + noise[5000:12_000]
        + planted["mobile"].encode()
        + noise[12_000:]
        + planted["id_number"].encode()
        + b"x"
        + planted["email"].encode()
    )
    assert scanner.find(scratch.read_bytes()) == {
        planted["name"],
        planted["mobile"],
        planted["id_number"],
        planted["email"],
    }
    # Embedded in longer digit runs and in text, as a log line or a dump would carry them.
    line = f"INFO x: [('{planted['name']}', '+86{planted['mobile']}0', 'ID{planted['id_number']}')]"
    assert scanner.find(line.encode()) == {planted["name"], planted["mobile"], planted["id_number"]}
    assert scanner.find(os.urandom(200_000)) == set()


def test_no_personal_value_in_plaintext_anywhere(
    settings: Settings,
    backend: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    customers = [factories.customer(n) for n in range(CUSTOMERS)]
    values, emails = _personal_values(customers)
    scanner = Scanner(values, emails)

    container = bootstrap.build(settings, migrate=False)
    try:
        with unit_of_work(container.sessions) as session:
            loader = principals.create(session=session, policies=container.policies, name="bulk-loader", role="service")
        caller = Caller(principal=loader.principal, channel="api", source_ip="10.0.0.7")
        for start in range(0, CUSTOMERS, BATCH):
            with unit_of_work(container.sessions) as session:
                for raw in customers[start : start + BATCH]:
                    store_customer(
                        vault=container.vault,
                        session=session,
                        caller=caller,
                        customer=CustomerIn.model_validate(raw),
                    )
        world = make_world(container)
        error_bodies = _exercise_http(world, customers)
        error_bodies.append(_unexpected_error(world, customers, monkeypatch))
        world.client.close()

        # The database files while the service still has them open (WAL and shared memory present),
        # and again once it has closed them (SQLite checkpoints the WAL into the database file).
        data_dir = settings.resolved_data_dir()
        scanned = read_dir(data_dir, "open")
    finally:
        container.close()
    scanned.update(read_dir(data_dir, "closed"))

    # Positive control through the same reading and scanning: a plaintext written to a scratch file.
    control_dir = tmp_path / "control"
    (control_dir / "keys").mkdir(parents=True)
    planted = customers[CUSTOMERS // 2]
    (control_dir / "keys" / "scratch.db").write_bytes(
        os.urandom(4096) + planted["mobile"].encode() + os.urandom(4096) + planted["name"].encode()
    )
    control = read_dir(control_dir, "control")
    assert [scanner.find(data) for data in control.values()] == [{planted["mobile"], planted["name"]}]

    if backend == "sqlite":
        names = {name.split(":", 1)[1] for name in scanned}
        assert {"shopshield.db", "keys/keystore.db", "keys/master-keys.json"} <= names, names
        assert "shopshield.db-wal" in names, names
        main_db = b"".join(data for name, data in scanned.items() if "shopshield.db" in name)
        # Non-personal ids are stored in plaintext: finding them shows the scan reads real rows.
        for c in (customers[0], customers[-1]):
            assert c["customer_id"].encode() in main_db
    else:
        dump = pg_dump(settings)
        for c in (customers[0], customers[-1]):
            assert c["customer_id"] in dump
        assert "COPY" in dump and "vault_data_keys" in dump
        scanned["pg_dump"] = dump.encode()

    leaks: dict[str, set[str]] = {}
    for name, data in scanned.items():
        found = scanner.find(data)
        if found:
            leaks[name] = found

    log_text = _log_text(caplog.records)
    # The capture saw the SQL the database was sent (with parameters) and ShopShield's request log.
    assert "INSERT INTO customers" in log_text
    assert "GET /v1/customers 200" in log_text
    assert "unhandled RuntimeError on GET" in log_text
    found = scanner.find(log_text.encode())
    if found:
        leaks["logs"] = found
    for i, body in enumerate(error_bodies):
        found = scanner.find(body)
        if found:
            leaks[f"error response {i}: {body[:300]!r}"] = found

    assert not leaks, {where: sorted(found)[:5] for where, found in leaks.items()}
