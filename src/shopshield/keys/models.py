"""Tables of the data-key store: one wrapped data key per customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import KeystoreBase


class DataKey(KeystoreBase):
    """A customer's AES-256 data key, wrapped by a master key version.

    Holds no customer identifier: ``key_id`` is random, and only the main database knows whose
    it is. Deleting the row is the erasure (crypto-shredding).
    """

    __tablename__ = "vault_data_keys"

    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    master_version: Mapped[int] = mapped_column(Integer, nullable=False)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_vault_data_keys_master_version", "master_version"),)
