"""Per-customer data keys: creation, cached unwrapping, crypto-shredding and master key rotation."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shopshield.core import ids
from shopshield.core.db import unit_of_work
from shopshield.core.errors import NotFound
from shopshield.keys.envelope import data_key_aad, new_key, open_sealed, seal
from shopshield.keys.keyring import MasterKeyProvider
from shopshield.keys.models import DataKey
from shopshield.keys.purge import KeyStorePurger, PurgeResult

log = logging.getLogger(__name__)

ROTATE_BATCH = 2000
# Grace for services that wrapped a key with the previous version just before they noticed the
# new one (they look at the key file at least once a second).
ROTATE_GRACE_SECONDS = 2.5
CACHE_MAX_ENTRIES = 200_000


class DataKeyMissing(NotFound):
    """The customer's data key is gone: the customer was erased (crypto-shredded)."""


@dataclass(frozen=True)
class RotationReport:
    new_version: int
    rewrapped: int
    dropped_versions: list[int]
    seconds: float


@dataclass(frozen=True)
class VersionUsage:
    version: int
    state: str
    data_keys: int


class DataKeys:
    """Data keys live in their own store so database backups never hold a readable key.

    Unwrapped keys are cached briefly: unwrapping is cheap, the key store round trip is not.
    """

    def __init__(
        self,
        *,
        keystore: sessionmaker[Session],
        master: MasterKeyProvider,
        cache_seconds: float,
        purger: KeyStorePurger,
        refresh_master: Callable[[], None] | None = None,
    ) -> None:
        self._keystore = keystore
        self._purger = purger
        self._master = master
        self._cache_seconds = cache_seconds
        self._refresh_master = refresh_master or (lambda: None)
        self._cache: dict[str, tuple[AESGCM, float]] = {}
        self._lock = threading.Lock()

    def create(self) -> tuple[str, AESGCM]:
        """Make, wrap and durably store a new data key; returns its id and cipher."""
        self._refresh_master()
        key_id = ids.new_uuid()
        raw = new_key()
        version = self._master.active_version()
        wrapped = seal(self._master.aead(version), raw, data_key_aad(key_id, version))
        with unit_of_work(self._keystore) as ks:
            ks.add(DataKey(key_id=key_id, master_version=version, wrapped=wrapped, created_at=_now()))
        aead = AESGCM(raw)
        self._remember(key_id, aead)
        return key_id, aead

    def get(self, key_id: str) -> AESGCM:
        cached = self._cache.get(key_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        with unit_of_work(self._keystore) as ks:
            row = ks.get(DataKey, key_id)
            if row is None:
                raise DataKeyMissing(key_id)
            version, wrapped = row.master_version, row.wrapped
        raw = open_sealed(self._master.aead(version), wrapped, data_key_aad(key_id, version))
        aead = AESGCM(raw)
        self._remember(key_id, aead)
        return aead

    def discard(self, key_id: str) -> None:
        """Forget a key that was created for a write that did not commit."""
        self.shred(key_id)

    def shred(self, key_id: str) -> bool:
        """Delete a data key for good. Returns False if it was already gone.

        The row is gone when this returns, but its bytes may still be in the key store's storage
        until ``purge`` runs: an erasure calls both.
        """
        with self._lock:
            self._cache.pop(key_id, None)
        with unit_of_work(self._keystore) as ks:
            result = ks.execute(delete(DataKey).where(DataKey.key_id == key_id))
        return bool(getattr(result, "rowcount", 0))

    def purge(self, *, compact: bool = False) -> PurgeResult:
        """Remove the bytes of every deleted key from the key store's storage (see ``keys.purge``).

        Run it after the transaction that decided the erasure has ended: on PostgreSQL an open
        transaction that began before the delete keeps the deleted row version alive.
        """
        return self._purger.purge(compact=compact)

    def _remember(self, key_id: str, aead: AESGCM) -> None:
        if self._cache_seconds <= 0:
            return
        with self._lock:
            if len(self._cache) >= CACHE_MAX_ENTRIES:
                self._cache.clear()
            self._cache[key_id] = (aead, time.monotonic() + self._cache_seconds)

    # -- rotation ----------------------------------------------------------------------------

    def usage(self) -> list[VersionUsage]:
        with unit_of_work(self._keystore) as ks:
            rows = ks.execute(select(DataKey.master_version, func.count()).group_by(DataKey.master_version))
            counts = {int(version): int(n) for version, n in rows}
        return [VersionUsage(v.version, v.state, int(counts.get(v.version, 0))) for v in self._master.versions()]

    def rewrap_all(
        self,
        new_version: int,
        *,
        progress: Callable[[int, int], None] | None = None,
        grace_seconds: float = ROTATE_GRACE_SECONDS,
    ) -> int:
        """Rewrap every data key not under ``new_version``, in short batches, while others serve.

        Each batch is its own transaction and each row update is conditional on the version it
        was read with, so a key created or shredded concurrently is never clobbered. A second sweep
        after a grace period catches keys wrapped by a service that had not yet seen the new version.
        """
        done = 0
        for sweep in range(2):
            while (left := self._count_not_under(new_version)) > 0:
                done += self._rewrap_pass(new_version, done=done, total=done + left, progress=progress)
            if sweep == 0 and grace_seconds > 0:
                time.sleep(grace_seconds)
        return done

    def _count_not_under(self, version: int) -> int:
        with unit_of_work(self._keystore) as ks:
            count = ks.scalar(select(func.count()).select_from(DataKey).where(DataKey.master_version != version))
        return int(count or 0)

    def _rewrap_pass(
        self, new_version: int, *, done: int, total: int, progress: Callable[[int, int], None] | None
    ) -> int:
        new_aead = self._master.aead(new_version)
        statement = (
            update(cast(Table, DataKey.__table__))
            .where(DataKey.key_id == bindparam("k"), DataKey.master_version == bindparam("old"))
            .values(master_version=bindparam("v"), wrapped=bindparam("w"))
        )
        rewrapped, last_key = 0, ""
        while True:
            with unit_of_work(self._keystore) as ks:
                rows = ks.execute(
                    select(DataKey.key_id, DataKey.master_version, DataKey.wrapped)
                    .where(DataKey.master_version != new_version, DataKey.key_id > last_key)
                    .order_by(DataKey.key_id)
                    .limit(ROTATE_BATCH)
                ).all()
                if not rows:
                    return rewrapped
                params = []
                for key_id, version, wrapped in rows:
                    raw = open_sealed(self._master.aead(version), wrapped, data_key_aad(key_id, version))
                    sealed = seal(new_aead, raw, data_key_aad(key_id, new_version))
                    params.append({"k": key_id, "old": version, "v": new_version, "w": sealed})
                ks.connection().execute(statement, params)
            last_key = rows[-1].key_id
            rewrapped += len(rows)
            if progress is not None:
                progress(done + rewrapped, total)


def _now() -> datetime:
    return datetime.now(UTC)
