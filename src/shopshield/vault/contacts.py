"""A customer's mobile or e-mail, opened for a system service to deliver a message to them.

Notify does not import the vault (the vault raises notifications through ``core.notices``), so the
delivery worker names what it needs as a Protocol (``notify.worker.Contacts``) and ``bootstrap``
hands it this. Each address opened is a read of personal data like any other: an access event of
the reading service's principal, with its purpose, in the same transaction as the read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopshield.core.callers import Caller
from shopshield.core.db import Tx
from shopshield.core.errors import StoredDataTampered
from shopshield.core.events import OK
from shopshield.keys.service import DataKeyMissing
from shopshield.vault import queries as q
from shopshield.vault.service import Vault, _customer_record, _open

# The fields that are addresses a message can go to.
ADDRESS_FIELDS: Final = frozenset({"mobile", "email"})


@dataclass(frozen=True)
class VaultContacts:
    """Opens addresses for ``caller`` (the delivery worker's principal), recorded with ``purpose``."""

    vault: Vault
    caller: Caller
    purpose: str
    action: str

    def data_key(self, tx: Tx, *, customer_id: str) -> AESGCM | None:
        """The customer's data key; None for a customer unknown, erased, or whose key is shredded."""
        row = tx.one(q.CUSTOMER, {"customer_id": customer_id})
        if row is None or row.erased_at is not None:
            return None
        try:
            return self.vault.keys.get(row.key_id)
        except DataKeyMissing:
            return None

    def address(self, tx: Tx, *, customer_id: str, field: str, data_key: AESGCM, now: datetime) -> str | None:
        """The customer's ``field`` (mobile or email) in the clear, the read recorded; None when
        they have none (nothing was read, so nothing is recorded)."""
        if field not in ADDRESS_FIELDS:
            raise ValueError(f"not an address field: {field}")
        row = tx.one(q.CUSTOMER, {"customer_id": customer_id})
        if row is None or row.erased_at is not None:
            return None
        sealed = getattr(row, f"{field}_ct")
        if sealed is None:
            return None
        return self._opened(tx, customer_id=customer_id, field=field, sealed=bytes(sealed), data_key=data_key, now=now)

    def previous_address(
        self, tx: Tx, *, customer_id: str, field: str, sealed: bytes, data_key: AESGCM, now: datetime
    ) -> str | None:
        """A mobile or e-mail the customer had before a change, kept sealed on the message that
        tells them of it; None when it does not open under their key (nothing is recorded)."""
        if field not in ADDRESS_FIELDS:
            raise ValueError(f"not an address field: {field}")
        try:
            return self._opened(tx, customer_id=customer_id, field=field, sealed=sealed, data_key=data_key, now=now)
        except StoredDataTampered:
            return None

    def _opened(
        self, tx: Tx, *, customer_id: str, field: str, sealed: bytes, data_key: AESGCM, now: datetime
    ) -> str | None:
        value = _open(data_key, _customer_record(customer_id), field, sealed)
        self.vault.audit.append(
            tx,
            self.caller.event(self.action, OK, customer_id=customer_id, fields=(field,), purpose=self.purpose),
            now=now,
        )
        return value
