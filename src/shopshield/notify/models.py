"""The notify domain's tables: what each customer chose, and the outbox of messages to send.

Neither holds a personal value in the clear. The anti-phishing code is sealed with the customer's
data key like any vault field (so erasing the customer shreds it too); an outbox row holds ids,
codes and the event's checked details (masked references only, ``catalogue.parse_details``); the
worker looks the customer's address up when it sends and renders the message then.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base

# Outbox states. A row is written QUEUED in the transaction of the event that caused it; a worker
# claims it (SENDING, with a lease), then marks it SENT, puts it back QUEUED with its next attempt
# time, or DEAD after the last attempt. DIGESTED rows were folded into another row's digest.
QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"
DIGESTED = "digested"
STATES = (QUEUED, SENDING, SENT, DEAD, DIGESTED)


class NotificationSettingsRow(Base):
    """One customer's choices: channels per event (only what they set; defaults fill the rest),
    language, time zone, and the sealed anti-phishing code."""

    __tablename__ = "notification_settings"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # JSON object {event code: [channel, ...]}: the customer's own choices, checked by
    # ``preferences.parse_put``; an event absent here takes its default.
    events: Mapped[str] = mapped_column(Text, nullable=False)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # AES-256-GCM under the customer's data key, associated data ``customer_id|anti_phishing_code``.
    anti_phishing_code_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class NotificationRow(Base):
    """The outbox: one message to one customer on one channel."""

    __tablename__ = "notifications"

    notification_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    # JSON object of the event's checked details: codes, ids and masked references, never a value.
    details: Mapped[str] = mapped_column(Text, nullable=False)
    # What raised it (``reveal``, ``api``, ``breach``, ``guard``, ...) and that source's own id (a
    # breach case, a warning, an access event), so a producer never queues the same message twice.
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    source_ref: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False)
    # When it may next be tried: after quiet hours, a rate limit, or a failed attempt's backoff.
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    # The worker holding it while SENDING, and until when: a worker killed mid-send loses the row
    # back to the queue when the lease runs out (at most a duplicate, same idempotency key).
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Why the last attempt failed, in words and codes from the adapter (never a personal value).
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # For digests: rows of one customer, event and channel within a window share it.
    digest_key: Mapped[str | None] = mapped_column(String(160), nullable=True)
    # Set when the message goes to a contact other than the customer's current one: the mobile or
    # e-mail a change replaced, as the vault sealed it (under the customer's data key, so erasing
    # the customer shreds it too). NULL: the worker looks the current address up when it sends.
    address_ct: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # How many rows of its digest this one stands for, once others were folded into it (NULL: 1).
    digest_count: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        UniqueConstraint("source", "source_ref", "customer_id", "event", "channel", name="uq_notifications_source"),
        # What a worker claims: the due rows of a state, oldest first.
        Index("ix_notifications_state_due_at", "state", "due_at"),
        Index("ix_notifications_customer_id", "customer_id", "created_at"),
        Index("ix_notifications_digest_key", "digest_key"),
    )


class NotificationIntentRow(Base):
    """An event a hot path (a reveal) raised, before its channels are known: one row per event,
    appended in the transaction of its cause. The worker turns each into outbox rows, one per
    channel the customer chose (``service.expand_pending``), and deletes it, in one transaction.

    A table of its own rather than outbox rows with a placeholder channel: an insert here touches
    one page at the end of one b-tree (an integer key, no other index), where an outbox row lands
    at random places in five indexes (its id, the source key, the customer); on SQLite each page a
    commit dirties is a page written, and that was most of what telling the customer cost a reveal
    (decision 0032).
    """

    __tablename__ = "notification_intents"

    intent_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    # The event's details, checked (``catalogue.parse_details``) before the row was written.
    details: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(32), nullable=False)
    source_ref: Mapped[str] = mapped_column(String(64), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
