"""What the customer-pages API accepts: the store's backend asking for a customer's link."""

from __future__ import annotations

from typing import Literal

from shopshield.core.schemas import Strict

Landing = Literal["home", "access", "contact", "links", "notifications"]


class LinkIn(Strict):
    """Which page the link opens first (``home`` by default)."""

    page: Landing = "home"
