"""How a domain below the notify domain asks for a customer to be told something.

The vault, access, guard and breach domains raise notifications (a reveal, a changed contact, a
risky login, a breach), but notify builds on the vault (it reads contacts and data keys), so they
cannot import it without a loop in the package graph (decision 0020). They call a ``Notices``
instead, which ``bootstrap`` wires to ``notify.service.enqueue``; event codes are the catalogue's
strings (``notify.catalogue.Event``), which are a released contract and never change.

The call queues in the caller's transaction: the notification commits with its cause or not at
all (decision 0028).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple, Protocol

from shopshield.core.db import Tx

__all__ = ["NO_NOTICES", "NoNotices", "Notices", "PreviousAddress"]


class PreviousAddress(NamedTuple):
    """Where one more message of a ``contact.changed`` goes: the mobile (channel ``sms``) or e-mail
    (``email``) the customer had before the change, as the vault sealed it under their data key.
    Someone taking over an account changes the contact to their own; the message to the new one
    reaches them, and only the old one reaches the customer."""

    channel: str
    sealed: bytes


class Notices(Protocol):
    """Queue ``event`` for ``customer_id`` in ``tx``; the ids of the outbox rows it wrote (none for
    a repeat of the same ``source``/``source_ref``). ``details`` holds masked references and codes
    only; a bad one raises ``InvalidInput`` and the caller's transaction rolls back. A hot path
    passes ``expand_later``: one row for the event, which the delivery worker expands into a row per
    channel, instead of reading the customer's choices and the digest window in the request. A
    contact change passes ``previous_address``: one more row, to the contact it replaced, whatever
    the customer chose."""

    def __call__(
        self,
        tx: Tx,
        *,
        customer_id: str,
        event: str,
        details: Mapping[str, object],
        source: str,
        source_ref: str,
        occurred_at: datetime,
        now: datetime,
        expand_later: bool = False,
        previous_address: PreviousAddress | None = None,
    ) -> list[str]: ...


class NoNotices:
    """Tells nobody: for parts built without the notify domain (a bench's bare vault, a tool)."""

    def __call__(
        self,
        tx: Tx,
        *,
        customer_id: str,
        event: str,
        details: Mapping[str, object],
        source: str,
        source_ref: str,
        occurred_at: datetime,
        now: datetime,
        expand_later: bool = False,
        previous_address: PreviousAddress | None = None,
    ) -> list[str]:
        return []


NO_NOTICES = NoNotices()
