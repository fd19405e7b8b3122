"""The registry of official channels, its change history, the contact log and report tokens.

None of these tables holds a personal value in plaintext: channel values are the store's own
(numbers, sender ids, domains, payee accounts, brand names); a contact names its customer, agent
and ticket by id and its ``from`` is the store's number; a report token is stored as its SHA-256
only, and what the customer typed when they checked (a number, a link, an account) is sealed
with the customer's data key, so an erasure shreds it with the rest of them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base

ADDED = "added"
REMOVED = "removed"


class OfficialChannelRow(Base):
    """One of the store's official channels, in its normalised form (``numbers.normalize``)."""

    __tablename__ = "official_channels"

    channel_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(String(255), nullable=False)
    label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    added_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (UniqueConstraint("kind", "value"),)


class ChannelChangeRow(Base):
    """Who added or removed which official channel, and when. Rows are never updated or deleted:
    the registry decides what customers are told is genuine, so its history is evidence."""

    __tablename__ = "official_channel_changes"

    change_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(40), nullable=False)
    action: Mapped[str] = mapped_column(String(8), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(String(255), nullable=False)
    label: Mapped[str | None] = mapped_column(String(100), nullable=True)
    actor_id: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_official_channel_changes_changed_at", "changed_at"),)


class ContactRow(Base):
    """One outbound contact of the store with a customer, as its customer-service or telephony
    system logged it. ``from_value`` is the official channel's normalised value; ``order_id`` is
    the ticket's order, kept so the customer can be told "about your order ending 1234"."""

    __tablename__ = "contacts"

    contact_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    from_value: Mapped[str] = mapped_column(String(255), nullable=False)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("principals.principal_id"), nullable=False)
    # The agent's role when the contact was logged: what the customer is told ("customer service").
    agent_role: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)
    ticket_id: Mapped[str] = mapped_column(String(64), nullable=False)
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    logged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    logged_by: Mapped[str] = mapped_column(String(64), nullable=False)

    # The verification's and the status banner's one look-up: a customer's contacts around a time.
    __table_args__ = (Index("ix_contacts_customer_started", "customer_id", "started_at"),)


class ReportTokenRow(Base):
    """A one-click report offered with a ``not_verified`` answer: single use, expiring.

    ``token_digest`` is the SHA-256 of the token (hex), never the token; ``checked_ct`` is what was
    checked (channel, the number or sender as typed, the time, a link, an account), sealed with the
    customer's data key (``tokens.seal_checked``)."""

    __tablename__ = "contact_report_tokens"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    checked_ct: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    report_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (Index("ix_contact_report_tokens_expires_at", "expires_at"),)
