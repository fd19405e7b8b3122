"""The scam_reports table: one row per customer's report of a scam, in the shared format's terms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shopshield.core.db import Base


class ScamReportRow(Base):
    """A scam as the victim reported it: when, how, who the scammer claimed to be, what they knew,
    where the money went.

    It holds scammer indicators (the number that called, the link, the payee account) and the
    victim's customer id, and no personal data of the customer: their name and number stay in the
    vault. ``knew`` is the format's ``|``-separated items, in ``formats.ordered_items`` order.

    ``loss_hundredths`` is the amount lost times 100, an exact integer on every backend (SQLite has
    no decimal type; the format allows two decimal places). ``received_at`` and ``received_by``
    say when ShopShield took the report in and from whom (a principal id, or ``cli`` for imports):
    a case file has to say where its data came from.
    """

    __tablename__ = "scam_reports"

    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    customer_id: Mapped[str] = mapped_column(String(64), nullable=False)
    contacted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    contact_from: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_identity: Mapped[str | None] = mapped_column(String(200), nullable=True)
    knew: Mapped[str] = mapped_column(String(800), nullable=False, default="")
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    payee_account: Mapped[str | None] = mapped_column(String(128), nullable=True)
    loss_hundredths: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_by: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        # Windows, summaries and pages read reports in contact order; the report id breaks ties so
        # the page cursor is exact.
        Index("ix_scam_reports_contacted_at", "contacted_at", "report_id"),
        Index("ix_scam_reports_customer_id", "customer_id"),
    )
