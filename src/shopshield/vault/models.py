"""Vault tables: every personal field is an AES-GCM ciphertext; lookups go through blind indexes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base


class CustomerRow(Base):
    __tablename__ = "customers"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Id of the customer's data key in the key store; destroying that key is the erasure.
    key_id: Mapped[str] = mapped_column(String(36), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    name_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    mobile_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    email_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    id_number_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    mobile_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True, index=True)
    email_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True, index=True)
    id_number_bidx: Mapped[bytes | None] = mapped_column(LargeBinary(16), nullable=True, index=True)


class AddressRow(Base):
    __tablename__ = "addresses"

    address_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("customers.customer_id"), nullable=False, index=True
    )
    recipient_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    phone_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Province, city and district are sealed together: together they locate a person.
    region_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    street_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class OrderRow(Base):
    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("customers.customer_id"), nullable=False, index=True
    )
    merchant_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    courier_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    address_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("addresses.address_id"), nullable=True)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    # Titles, models and prices are what the 2016 scammers quoted back to victims: sealed.
    items_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class ReturnRequestRow(Base):
    __tablename__ = "return_requests"

    return_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), ForeignKey("orders.order_id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
