"""Master key file, data keys, online rotation and crypto-shredding."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select, update

from shopshield.bootstrap import Container, build
from shopshield.core.callers import Caller
from shopshield.core.db import transaction, unit_of_work
from shopshield.keys.envelope import DecryptionError
from shopshield.keys.keyring import KeyFileError, LocalKeyFile
from shopshield.keys.models import DataKey
from shopshield.keys.rotation import drop_unused, rotate
from shopshield.principals import service as principals
from shopshield.settings import Settings
from shopshield.vault import service as vault
from shopshield.vault.schemas import CustomerIn
from testkit.factories import customer


def _fill(container: Any, count: int) -> Caller:
    with unit_of_work(container.sessions) as session:
        created = principals.create(session=session, policies=container.policies, name="backend", role="service")
    caller = Caller(created.principal)
    for n in range(count):
        with unit_of_work(container.sessions) as session:
            vault.store_customer(
                vault=container.vault, session=session, caller=caller, customer=CustomerIn(**customer(n))
            )
    return caller


def _view(container: Any, caller: Caller, n: int) -> dict[str, Any]:
    with transaction(container.engine) as tx:
        return vault.view_customer(vault=container.vault, tx=tx, caller=caller, customer_id=f"c{n:07d}")


@contextmanager
def _uncached(settings: Settings) -> Iterator[Container]:
    """Another instance on the same data that keeps no unwrapped data key: every use reads the
    key store and unwraps, which is what these tests check."""
    fresh = build(settings.model_copy(update={"data_key_cache_seconds": 0.0}), migrate=False)
    try:
        yield fresh
    finally:
        fresh.close()


def test_key_material_is_owner_only(container: Any, settings: Settings) -> None:
    key_file = settings.effective_master_key_file()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(settings.resolved_data_dir()).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key_file.parent).st_mode) == 0o700


def test_damaged_key_file_is_a_clear_error(tmp_path: Any) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"format": 99}')
    with pytest.raises(KeyFileError, match="unknown format"):
        LocalKeyFile.open_or_create(path)
    path.write_text("not json")
    with pytest.raises(KeyFileError, match="JSON"):
        LocalKeyFile.open_or_create(path)


def test_wrapped_key_bound_to_its_id(container: Any, settings: Settings) -> None:
    first_id, _ = container.data_keys.create()
    second_id, _ = container.data_keys.create()
    with unit_of_work(container.keystore_sessions) as ks:
        first = ks.get(DataKey, first_id)
        assert first is not None
        wrapped = first.wrapped
        ks.execute(update(DataKey).where(DataKey.key_id == second_id).values(wrapped=wrapped))
    with _uncached(settings) as other, pytest.raises(DecryptionError):
        other.data_keys.get(second_id)


def test_rotation_rewraps_everything_and_drops_old_version(container: Any, settings: Settings) -> None:
    caller = _fill(container, 30)
    before = _view(container, caller, 7)
    report = rotate(container.master, container.data_keys, grace_seconds=0)
    assert report.new_version == 2
    assert report.rewrapped == 30
    assert report.dropped_versions == [1]
    assert [v.version for v in container.master.versions()] == [2]
    with unit_of_work(container.keystore_sessions) as ks:
        assert set(ks.scalars(select(DataKey.master_version))) == {2}
    with _uncached(settings) as other:
        assert _view(other, caller, 7) == before


def test_retired_version_kept_while_a_key_uses_it(container: Any) -> None:
    _fill(container, 3)
    container.master.add_version()
    assert drop_unused(container.master, container.data_keys) == []
    assert [(u.version, u.state, u.data_keys) for u in container.data_keys.usage()] == [
        (1, "retired", 3),
        (2, "active", 0),
    ]


def test_rotation_while_serving(container: Any, settings: Settings) -> None:
    caller = _fill(container, 60)
    # A second instance on the same data, as a second service process would be.
    # It keeps no unwrapped key, so every view reads the key store while the rewrap runs.
    other = build(settings.model_copy(update={"data_key_cache_seconds": 0.0}), migrate=False)
    other_caller = Caller(caller.principal)
    errors: list[BaseException] = []
    stop = threading.Event()

    def serve() -> None:
        n = 0
        while not stop.is_set():
            try:
                _view(other, other_caller, n % 60)
                with unit_of_work(other.sessions) as session:
                    vault.store_customer(
                        vault=other.vault,
                        session=session,
                        caller=other_caller,
                        customer=CustomerIn(**customer(1000 + n)),
                    )
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)
                return
            n += 1

    worker = threading.Thread(target=serve)
    worker.start()
    try:
        report = rotate(container.master, container.data_keys, grace_seconds=1.2)
    finally:
        stop.set()
        worker.join()
    other.close()
    assert errors == []
    assert report.dropped_versions == [1]
    with unit_of_work(container.keystore_sessions) as ks:
        assert set(ks.scalars(select(DataKey.master_version))) == {2}
    with _uncached(settings) as fresh:
        assert _view(fresh, caller, 59)["customer_id"] == "c0000059"
