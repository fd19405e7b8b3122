"""Every file ShopShield creates is readable by its owner only: 0600 files, 0700 directories.

The attack: another local account (or whoever gets a backup copied with its modes) reads
``shopshield.db``, ``keystore.db`` and their WAL files, exports and case files, because they were
created 0644. The tests run a realistic day under the common umask 0o022 and walk the data
directory and the witness directory for any group or other permission bit: once in this process
(the library's explicit modes, as an embedding application would get them) and once through the
real ``shopshield`` executable (its entry points set the umask for everything else).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from shopshield.bootstrap import Container, build
from shopshield.cli import app
from shopshield.settings import Settings
from testkit.factories import customer
from tests.support.environment import cli_env
from tests.support.server import EXECUTABLE, free_port, printed_token
from tests.support.world import World, make_world

LOOSE_UMASK = 0o022  # the usual default: new files 0644, new directories 0755
REPORT = {
    "report_id": "r-001",
    "reported_at": "2016-07-16T09:12:00+08:00",
    "customer_id": "c0000001",
    "contacted_at": "2016-07-15T14:03:00+08:00",
    "channel": "call",
    "contact_from": "020-3712 8846",
    "knew": "name|items",
    "loss_amount": "47200",
}


@pytest.fixture
def loose_umask() -> Iterator[None]:
    before = os.umask(LOOSE_UMASK)
    try:
        yield
    finally:
        os.umask(before)


def readable_by_others(*roots: Path) -> list[str]:
    """Every path under ``roots`` (the roots included) with a group or other permission bit."""
    found = []
    for root in roots:
        assert root.is_dir(), f"{root} was never created: the walk would prove nothing"
        for path in (root, *root.rglob("*")):
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077:
                found.append(f"{oct(mode)} {path}")
    return sorted(found)


def _tiny_corpus(directory: Path) -> Path:
    corpus = directory / "tiny-passwords.txt"
    corpus.write_text("123456\npassword\n123456789\nqwerty\n", encoding="utf-8")
    return corpus


def _a_day_at_the_store(world: World) -> None:
    """Store, view, reveal on a ticket, report a scam, erase: what a serving instance writes."""
    for n in (1, 2):
        assert world.post("service", "/v1/customers", customer(n)).status_code == 201
    assert world.get("agent", "/v1/customers/c0000001").status_code == 200
    ticket = world.ticket("agent", "c0000001")
    revealed = world.post(
        "agent",
        "/v1/customers/c0000001/reveal",
        {"fields": ["mobile"], "purpose": "refund_dispute", "ticket_id": ticket},
    )
    assert revealed.status_code == 200, revealed.text
    assert world.post("agent", "/v1/scam-reports", REPORT).status_code == 201
    assert world.delete("service", "/v1/customers/c0000002").status_code == 200


def test_files_made_in_process_are_owner_only_whatever_the_umask(
    settings: Settings, backend: str, loose_umask: None, tmp_path: Path
) -> None:
    container: Container = build(settings, migrate=True)
    try:
        world = make_world(container)
        _a_day_at_the_store(world)
        assert container.checkpointer().tick() is not None
        data_dir = settings.resolved_data_dir()
        witness = settings.effective_witness_file()
        env = cli_env(settings)
        runner = CliRunner()
        for args in (
            ["passwords", "build", str(_tiny_corpus(tmp_path))],
            ["export", "accesses", "--out", str(data_dir / "accesses.parquet")],
            ["reports", "casefile", "--out", str(data_dir / "case-2016-07")],
            ["breach", "scope", "--actor", world.ids["agent"], "--since", "2000-01-01", "--out", str(data_dir / "b-1")],
        ):
            result = runner.invoke(app, args, env=env)
            assert result.exit_code == 0, (args, result.output)
        made = {p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*")}
        expected = {"keys/master-keys.json", "keys/audit-checkpoint.pem", "accesses.parquet"}
        expected |= {"case-2016-07/index.html", "case-2016-07/reports.csv", "b-1/customers.csv"}
        if backend == "sqlite":
            expected |= {"shopshield.db", "shopshield.db-wal", "shopshield.db-shm", "keys/keystore.db"}
        assert expected <= made, sorted(made)
        assert any(name.startswith("passwords/") for name in made), sorted(made)
        assert witness.exists()

        assert readable_by_others(data_dir, witness.parent) == []
    finally:
        container.close()


def test_a_new_sqlite_database_and_its_wal_are_created_owner_only(loose_umask: None, tmp_path: Path) -> None:
    """Not only tightened when found: created 0600 from the start, before SQLite writes a byte."""
    settings = Settings(data_dir=tmp_path / "fresh")
    container = build(settings, migrate=True)
    try:
        make_world(container)
        data_dir = settings.resolved_data_dir()
        for name in ("shopshield.db", "shopshield.db-wal", "shopshield.db-shm", "keys/keystore.db"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
        assert readable_by_others(data_dir) == []
    finally:
        container.close()


def test_files_an_older_version_left_readable_are_tightened_at_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    build(settings, migrate=True).close()
    database = settings.resolved_data_dir() / "shopshield.db"
    for path in (database, database.with_name("shopshield.db-wal")):
        path.touch()
        os.chmod(path, 0o644)
    build(settings, migrate=False).close()
    assert readable_by_others(settings.resolved_data_dir()) == []


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(EXECUTABLE), *args], env=env, capture_output=True, timeout=120, check=False, umask=LOOSE_UMASK
    )
    assert done.returncode == 0, (args, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    return done.stdout.decode()


def test_the_shopshield_command_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    """The real executable, started with umask 0o022 as a shell would: serve, then the commands
    an operator runs beside it, all on the embedded defaults."""
    assert EXECUTABLE.exists(), f"{EXECUTABLE} is missing: install the package into the venv"
    data_dir = tmp_path / "instance" / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPSHIELD_")}
    env["SHOPSHIELD_DATA_DIR"] = str(data_dir)
    _run(env, "migrate")  # creates the databases and keys, as the first command on a fresh instance
    service_out = _run(env, "principals", "create", "backend", "--role", "service")
    service = {"Authorization": f"Bearer {printed_token(service_out)}"}
    agent_out = _run(env, "principals", "create", "agent-1", "--role", "cs_agent")
    agent = {"Authorization": f"Bearer {printed_token(agent_out)}"}
    agent_id = next(line.split(": ", 1)[1] for line in agent_out.splitlines() if line.startswith("principal_id: "))

    port = free_port()
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [str(EXECUTABLE), "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            umask=LOOSE_UMASK,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
            deadline = time.monotonic() + 20
            while True:
                assert process.poll() is None, (tmp_path / "server.log").read_text(errors="replace")
                try:
                    if http.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.1)  # polling interval while the process starts
            for n in (1, 2):
                assert http.post("/v1/customers", json=customer(n), headers=service).status_code == 201
            assert http.get("/v1/customers/c0000001", headers=agent).status_code == 200
            ticket = http.post(
                "/v1/tickets",
                json={"customer_id": "c0000001", "category": "refund", "assignee_id": agent_id},
                headers=service,
            )
            assert ticket.status_code == 201, ticket.text
            assert http.post("/v1/scam-reports", json=REPORT, headers=agent).status_code == 201
            assert http.delete("/v1/customers/c0000002", headers=service).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)  # the server signs a last checkpoint as it stops
        process.wait(timeout=20)

    _run(env, "passwords", "build", str(_tiny_corpus(tmp_path)))
    _run(env, "export", "accesses", "--out", str(data_dir / "accesses.parquet"))
    _run(env, "reports", "casefile", "--out", str(data_dir / "case-2016-07"))
    small = ("--customers", "2000", "--actors", "200", "--days", "15", "--victims", "4")
    _run(env, "simulate", "store", "--seed", "1", *small, "--out", str(data_dir / "sim"))
    assert "intact" in _run(env, "audit", "verify")  # the witness serve wrote as it stopped

    witness = data_dir.parent / "var-witness"
    assert (witness / "checkpoints.jsonl").exists()
    for name in ("shopshield.db", "keys/keystore.db", "keys/master-keys.json", "accesses.parquet", "sim"):
        assert (data_dir / name).exists(), name
    assert readable_by_others(data_dir, witness) == []
