"""Personal values typed where an id belongs are refused everywhere ids come in (issue 11, item 8).

Ids are stored, logged and hashed into the append-only access log in plaintext. The red team gave a
mobile as a customer id, ticket id, actor id and scam-report customer id, and 9 of 14 planted values
were stored. Here every planted shape goes into every id place of the API and the command line;
each is refused with a 422 (exit 2 on the command line) naming the field and never the value, and
afterwards the database (its files, or a dump) and the logs hold none of them.
"""

from __future__ import annotations

import json
import logging
import random
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from shopshield.cli import app
from shopshield.core import ids
from shopshield.core.normalize import id_number_check_char
from shopshield.settings import Settings
from testkit import factories
from tests.support.environment import cli_env as _env
from tests.support.plaintext_scan import pg_dump, read_dir
from tests.support.world import World


def _id_number(rng: random.Random, check: str | None = None) -> str:
    """An 18-character resident ID number with a valid check character (``check`` when given)."""
    while True:
        first17 = factories.id_number(rng)[:17]
        last = id_number_check_char(first17)
        if check is None or last == check:
            return first17 + last


def _card(prefix: str, length: int, rng: random.Random) -> str:
    """A card number that passes the Luhn check."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        candidate = body + check
        total = sum(
            (n * 2 - 9 if n > 4 else n * 2) if i % 2 else n for i, n in enumerate(int(c) for c in reversed(candidate))
        )
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def _planted() -> dict[str, str]:
    rng = random.Random(11)
    mobile = factories.mobile(rng)
    return {
        "mobile": mobile,
        "mobile with 86": "86" + mobile,
        "mobile with 0086": "0086" + mobile,
        "mobile with +86": "+86" + mobile,
        "mobile with dashes": f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
        "mobile with dots": f"{mobile[:3]}.{mobile[3:7]}.{mobile[7:]}",
        "mobile with 86 and dashes": f"86-{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}",
        "mobile with spaces": f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}",
        "mobile inside an id": "c" + factories.mobile(rng),
        "ID number": _id_number(rng, check="7"),
        "ID number ending in X": _id_number(rng, check="X"),
        "15-digit ID number": "440106" + "650829" + "261",
        "UnionPay card, 16 digits": _card("622202", 16, rng),
        "UnionPay card, 19 digits": _card("621700", 19, rng),
        "Visa card": _card("4", 16, rng),
        "e-mail": "zhang.wei88@example.cn",
    }


PLANTED = _planted()


def test_the_planted_values_are_what_they_claim_to_be() -> None:
    """Positive control: the values are personal by the check's own rules or by shape."""
    for label, value in PLANTED.items():
        assert ids.problem(value) is not None, label
    assert ids.personal_kind(PLANTED["ID number ending in X"]) == ids.ID_NUMBER
    assert ids.personal_kind(PLANTED["UnionPay card, 19 digits"]) == ids.BANK_CARD
    assert ids.personal_kind(PLANTED["e-mail"]) == ids.EMAIL
    # The store's own ids of every shape the project uses pass.
    for good in ("c0000001", "a0000001-0", "o00000001", "tk-1f3a9c0d2b7e4f60", "r-20160715-001", "k-001", "store"):
        assert ids.problem(good) is None, good


def _needles() -> set[str]:
    """Each planted value as typed, and its digits alone (a store may drop the separators)."""
    found = set(PLANTED.values())
    for value in PLANTED.values():
        digits = re.sub(r"[^0-9X]", "", value)
        if len(digits) >= 11:
            found.add(digits)
    return found


Attempt = tuple[str, Callable[[str], Any]]


def _http_places(world: World) -> list[Attempt]:
    """Every id place of the API: (the field the refusal must name, a request with the value there)."""
    body = factories.customer(1)
    assert world.post("service", "/v1/customers", body).status_code == 201
    cid, aid = body["customer_id"], body["addresses"][0]["address_id"]
    placed = factories.order(1, cid, aid)
    assert world.post("service", "/v1/orders", placed).status_code == 201
    oid = placed["order_id"]
    ticket = world.ticket("agent", cid)
    agent = world.ids["agent"]
    new_customer = factories.customer(2)
    new_order = factories.order(2, cid, aid)
    new_ticket = {"customer_id": cid, "category": "refund", "assignee_id": agent}
    reveal = {"fields": ["mobile"], "purpose": "refund_dispute", "ticket_id": ticket}
    report = {
        "report_id": "r-1",
        "reported_at": "2026-01-02T10:00:00+08:00",
        "customer_id": cid,
        "contacted_at": "2026-01-01T10:00:00+08:00",
        "channel": "call",
    }
    plant = {"recipient": "partner-a", "count": 1}
    scope = {"actor_id": agent, "since": "2026-01-01"}

    def q(value: str) -> str:
        return quote(value, safe="")

    def put(base: dict[str, Any], field: str) -> Callable[[str], dict[str, Any]]:
        return lambda value: {**base, field: value}

    return [
        ("customer_id", lambda v: world.post("service", "/v1/customers", put(new_customer, "customer_id")(v))),
        (
            "address_id",
            lambda v: world.post(
                "service",
                "/v1/customers",
                {**new_customer, "addresses": [{**new_customer["addresses"][0], "address_id": v}]},
            ),
        ),
        ("customer_id", lambda v: world.get("agent", f"/v1/customers/{q(v)}")),
        ("customer_id", lambda v: world.post("agent", f"/v1/customers/{q(v)}/reveal", reveal)),
        ("ticket_id", lambda v: world.post("agent", f"/v1/customers/{cid}/reveal", put(reveal, "ticket_id")(v))),
        ("customer_id", lambda v: world.delete("service", f"/v1/customers/{q(v)}")),
        ("customer_id", lambda v: world.get("service", f"/v1/customers/{q(v)}/access-report")),
        *(
            (field, lambda v, field=field: world.post("service", "/v1/orders", put(new_order, field)(v)))
            for field in ("order_id", "customer_id", "merchant_id", "courier_id", "address_id")
        ),
        ("order_id", lambda v: world.get("agent", f"/v1/orders/{q(v)}")),
        ("order_id", lambda v: world.post("service", f"/v1/orders/{q(v)}/returns", {"reason": "size"})),
        ("return_id", lambda v: world.post("service", f"/v1/orders/{oid}/returns", {"return_id": v, "reason": "size"})),
        *(
            (field, lambda v, field=field: world.post("service", "/v1/tickets", put(new_ticket, field)(v)))
            for field in ("ticket_id", "customer_id", "order_id", "assignee_id")
        ),
        ("ticket_id", lambda v: world.post("service", f"/v1/tickets/{q(v)}/close")),
        ("name", lambda v: world.post("admin", "/v1/principals", {"name": v, "role": "cs_agent"})),
        (
            "link_id",
            lambda v: world.post("admin", "/v1/principals", {"name": "courier-x", "role": "courier", "link_id": v}),
        ),
        (
            "principal_id",
            lambda v: world.post("admin", "/v1/principals", {"name": "agent-x", "role": "cs_agent", "principal_id": v}),
        ),
        ("principal_id", lambda v: world.post("admin", f"/v1/principals/{q(v)}/disable")),
        ("actor_id", lambda v: world.get("admin", "/v1/alerts", params={"actor_id": v})),
        ("report_id", lambda v: world.post("service", "/v1/scam-reports", put(report, "report_id")(v))),
        ("customer_id", lambda v: world.post("service", "/v1/scam-reports", put(report, "customer_id")(v))),
        (
            "customer_id",
            lambda v: world.post("service", "/v1/scam-reports", {"reports": [put(report, "customer_id")(v)]}),
        ),
        ("customer_id", lambda v: world.get("service", "/v1/scam-reports", params={"customer_id": v})),
        *(
            (field, lambda v, field=field: world.post("admin", "/v1/canaries", put(plant, field)(v)))
            for field in ("recipient", "merchant_id", "courier_id")
        ),
        ("recipient", lambda v: world.get("admin", "/v1/canaries", params={"recipient": v})),
        ("recipient", lambda v: world.get("admin", "/v1/canaries/export", params={"recipient": v})),
        ("recipient", lambda v: world.get("admin", "/v1/canaries/hits", params={"recipient": v})),
        ("customer_id", lambda v: world.post("service", "/v1/canaries/contacts", {"customer_id": v})),
        ("actor_id", lambda v: world.post("admin", "/v1/breaches/scope", put(scope, "actor_id")(v))),
        ("case_id", lambda v: world.post("admin", "/v1/breaches/scope", put(scope, "case_id")(v))),
        (
            "customer_id",
            lambda v: world.post(
                "service", "/v1/logins/AAAAAAAAAAAAAAAAAAAAAA/outcome", {"outcome": "success", "customer_id": v}
            ),
        ),
    ]


def _cli_places() -> list[Attempt]:
    """Every id the command line takes: (the field the refusal must name, the arguments)."""

    return [
        ("name", lambda v: ["principals", "create", v, "--role", "cs_agent"]),
        ("link_id", lambda v: ["principals", "create", "courier-y", "--role", "courier", "--link", v]),
        ("principal_id", lambda v: ["principals", "create", "agent-y", "--role", "cs_agent", "--id", v]),
        ("principal_id", lambda v: ["principals", "disable", v]),
        ("customer_id", lambda v: ["access-report", v]),
        ("recipient", lambda v: ["canary", "plant", "--recipient", v]),
        ("merchant", lambda v: ["canary", "plant", "--recipient", "partner-a", "--merchant", v]),
        ("courier", lambda v: ["canary", "plant", "--recipient", "partner-a", "--courier", v]),
        ("customer-id", lambda v: ["canary", "contact", "--customer-id", v]),
        ("recipient", lambda v: ["canary", "list", "--recipient", v]),
        ("recipient", lambda v: ["canary", "hits", "--recipient", v]),
        ("actor", lambda v: ["breach", "scope", "--actor", v, "--since", "2026-01-01"]),
        ("case", lambda v: ["breach", "scope", "--actor", "agent-1", "--since", "2026-01-01", "--case", v]),
        ("actor", lambda v: ["alerts", "list", "--actor", v]),
    ]


def _reports_file(tmp_path: Path, field: str) -> Path:
    """A scam-report file with one row per planted value in ``field``."""
    path = tmp_path / f"reports-{field}.jsonl"
    rows = [
        {
            "report_id": f"r-{n}",
            "reported_at": "2026-01-02T10:00:00+08:00",
            "customer_id": "c0000001",
            "contacted_at": "2026-01-01T10:00:00+08:00",
            "channel": "call",
            field: value,
        }
        for n, value in enumerate(PLANTED.values())
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_personal_values_in_id_places_are_refused_and_stored_nowhere(
    world: World, settings: Settings, backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    needles = _needles()
    places = _http_places(world)
    answers: list[str] = []
    for field, request in places:
        for label, value in PLANTED.items():
            response = request(value)
            where = (field, label, response.status_code, response.text[:300])
            assert response.status_code == 422, where
            answer = response.json()
            assert field in answer["message"] or answer.get("field") == field, where
            answers.append(response.text)

    runner, env = CliRunner(), _env(settings)
    for field, args in _cli_places():
        for label, value in PLANTED.items():
            result = runner.invoke(app, args(value), env=env)
            where = (field, label, result.exit_code, result.output[-300:])
            assert isinstance(result.exception, SystemExit), (*where, repr(result.exception))
            assert result.exit_code == 2, where
            assert field in result.output, where
            answers.append(result.output)
    for field in ("report_id", "customer_id"):
        result = runner.invoke(app, ["reports", "import", str(_reports_file(tmp_path, field))], env=env)
        # Rejected rows are named by line and field; none is stored.
        assert result.exit_code == 1, result.output
        assert result.stdout.startswith(f"0 stored, 0 skipped as identical duplicates, {len(PLANTED)} rejected")
        for line in range(1, len(PLANTED) + 1):
            assert f"line {line}: {field}: " in result.stdout, (field, line, result.stdout)
        answers.append(result.output)

    # The refusals name the rule, and some say which kind of personal value they saw.
    joined = "\n".join(answers)
    for kind in (ids.MOBILE, ids.ID_NUMBER, ids.BANK_CARD, ids.EMAIL):
        assert f"looks like {kind}" in joined, kind

    world.client.close()
    world.container.close()
    if backend == "sqlite":
        scanned = read_dir(settings.resolved_data_dir(), "data")
        assert any(b"c0000001" in data for data in scanned.values())  # the scan reads real rows
    else:
        dump = pg_dump(settings)
        assert "c0000001" in dump
        scanned = {"pg_dump": dump.encode()}
    logs = "\n".join(
        f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "INSERT INTO" in logs  # the capture saw the SQL and its parameters
    scanned["logs"] = logs.encode()
    scanned["answers"] = joined.encode()
    leaks = {where: sorted(n for n in needles if n.encode() in data) for where, data in scanned.items()}
    assert not {where: found for where, found in leaks.items() if found}


def test_store_ids_of_common_shapes_are_not_mistaken_for_personal_data() -> None:
    """The check looks at the structure of digit runs, not at how many digits an id has."""
    for good in (
        "2026112012345678901",  # a date-led numeric order id (19 digits)
        "202611201234567890",  # and 18
        "o2026112000000001",
        "550e8400-e29b-41d4-a716-446655440000",  # a UUID
        "c1234567890",  # a canary decoy's customer id: prefix and 10 digits
        "o123456789012",  # a decoy's order id: 12 digits
        "breach-0f3c5e9a1b2d4c6e",
        "SF1234567890123",  # a courier waybill number
        "k-001",
        "partner@feeds",  # '@' alone does not make an e-mail address
    ):
        assert ids.personal_kind(good) is None, good
    # Generated ids are drawn until they pass, so a later request can always name them.
    assert all(ids.problem(ids.new_id("tk-")) is None for _ in range(1000))


def test_a_generated_uuid_is_never_one_the_id_check_refuses() -> None:
    # About one random UUID in three hundred (0.33% of 100,000 drawn) reads as a card number: this
    # one's first groups are 16 digits, Mastercard-like and Luhn-valid. A dead letter or an alert with such an id could
    # never be named again, so ShopShield draws its UUIDs until the check accepts them.
    assert ids.personal_kind("56740394-7359-4101-aa11-b8a0daa3e450") == ids.BANK_CARD
    drawn = [ids.new_uuid() for _ in range(4000)]
    assert all(ids.problem(u) is None for u in drawn)
    assert all(uuid.UUID(u).version == 4 and str(uuid.UUID(u)) == u for u in drawn)
