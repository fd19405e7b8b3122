"""The principals table: who may call ShopShield, in which role, with which token. The principal
as the services see it is ``core.callers.Principal``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base


class PrincipalRow(Base):
    __tablename__ = "principals"

    principal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    # The store's courier or merchant id whose orders this principal may see.
    link_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # SHA-256 of the token: tokens are 256-bit random, so a slow hash would add nothing.
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # A person's console password as scrypt text (``principals.hashing``); None: no password login.
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
