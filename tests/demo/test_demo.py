"""The demo's fill on a small store, through the real services, on SQLite and PostgreSQL: who
exists and can log in, what the log and the reports hold, what the guard and the investigation
made of the waves; and that no personal value lands in the database file in plaintext."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select

from shopshield.audit.verify import verify_log
from shopshield.bootstrap import Container, build
from shopshield.core.db import transaction, unit_of_work
from shopshield.demo.service import PRINTED_ROLES, DemoConfig, Filled, draw_world, emails, fill
from shopshield.principals import service as principals
from shopshield.principals.models import PrincipalRow
from shopshield.scams.models import ScamReportRow
from shopshield.settings import Settings

# A fixed day, so that every run draws the same store at the same dates.
CONFIG = DemoConfig(seed=3, customers=200, today=date(2026, 11, 20))


@dataclass
class Demo:
    container: Container
    filled: Filled
    work_dir: Path


def _fill(container: Container, work_dir: Path) -> Demo:
    work_dir.mkdir(exist_ok=True)
    return Demo(container, fill(container, CONFIG, work_dir), work_dir)


@pytest.fixture
def demo(container: Container, tmp_path: Path) -> Demo:
    return _fill(container, tmp_path / "demo")


def test_principals_of_every_role_exist_and_the_printed_tokens_authenticate(demo: Demo) -> None:
    with unit_of_work(demo.container.sessions) as session:
        rows = session.execute(select(PrincipalRow.role, func.count()).group_by(PrincipalRow.role)).all()
        roles = {str(role): int(count) for role, count in rows}
    assert set(PRINTED_ROLES) <= set(roles), roles
    assert sum(roles.values()) == demo.filled.principals
    printed = {login.role: login for login in demo.filled.logins}
    assert sorted(printed) == sorted(PRINTED_ROLES)
    for role, login in printed.items():
        principal = demo.container.authenticator.authenticate(login.token)
        assert (principal.principal_id, principal.role) == (login.principal_id, role)
    # Each person's printed console password opens the console; the backend (a machine) has none.
    with unit_of_work(demo.container.sessions) as session:
        for role, login in printed.items():
            if role == "service":
                assert login.password is None
                continue
            assert login.password is not None
            found = principals.check_password(
                session, policies=demo.container.policies, name=login.principal_id, password=login.password
            )
            assert found is not None and found.principal_id == login.principal_id
    # Couriers and merchants are linked to their own id, which their orders carry.
    assert printed["courier"].principal_id.startswith("courier-")
    assert demo.container.authenticator.authenticate(printed["courier"].token).link_id == "courier-00001"


def test_the_log_verifies_the_reports_are_stored_and_the_investigation_names_the_insider(demo: Demo) -> None:
    container, filled = demo.container, demo.filled
    assert filled.customers == 200 and filled.orders > 0 and filled.returns > 0
    assert filled.insider_reads > 0 and filled.events_recorded > 1000

    assert container.checkpointer().tick() is not None
    with transaction(container.engine, read_only=True) as tx:
        report = verify_log(tx, verifier=container.audit.signer.verifier, witness=container.witness)
        size = container.audit.size(tx)
    assert report.ok, report.problems
    # Every write (a customer, an order, a return) and every read is a leaf.
    assert report.events_checked == size
    assert size == filled.customers + filled.orders + filled.returns + filled.events_recorded + 2 * filled.insider_reads

    with unit_of_work(container.sessions) as session:
        stored = set(session.scalars(select(ScamReportRow.report_id)))
    assert len(filled.reports) >= 3
    assert stored == set(filled.reports)

    attribution = filled.investigation.attribution
    assert attribution.conclusive and attribution.likely_source == "insider"
    assert attribution.suspects[0].actor_id == filled.insider
    assert filled.insider.startswith("agent-")
    written = orjson.loads(filled.investigation.files["attribution.json"].read_bytes())
    assert written["suspects"][0]["actor_id"] == filled.insider
    assert filled.investigation.files["reports.csv"].read_text().count("\n") == len(filled.reports) + 1

    # The guard saw the stuffing wave: attack mode came on, and most of the wave was stopped.
    wave = filled.logins_wave
    assert wave.attack_mode_decisions > 0
    stuffing = wave.decisions["stuffing"]
    assert stuffing.get("challenge", 0) + stuffing.get("deny", 0) > 0
    assert wave.decisions["brute_force"].get("deny", 0) > 0


@pytest.fixture
def sqlite_demo(tmp_path: Path) -> Iterator[Demo]:
    """The demo on its embedded defaults: a SQLite file whose bytes the test reads."""
    built = build(Settings(data_dir=tmp_path / "var"), migrate=True)
    try:
        yield _fill(built, tmp_path / "demo")
    finally:
        built.close()


def test_no_personal_value_is_in_the_database_file_in_plaintext(sqlite_demo: Demo) -> None:
    data_dir = sqlite_demo.container.settings.resolved_data_dir()
    sqlite_demo.container.close()  # checkpoints the WAL into the file; its bytes are read below too
    stored = b"".join(path.read_bytes() for path in data_dir.rglob("*") if path.is_file())
    world = draw_world(CONFIG)
    customers = world.customers
    mail = emails(CONFIG.seed, len(customers))
    assert len(stored) > 100_000
    for i in range(0, len(customers), 20):
        for value in (str(int(customers.mobiles[i])), mail[i], customers.names[i], customers.streets[i]):
            assert value.encode() not in stored, f"customer {customers.ids[i]}: a value is stored in plaintext"
        # The ids are there, so the file holds the customers (the check above is not vacuous).
        assert customers.ids[i].encode() in stored
