"""Searches that find a canary: each is a canary hit naming the searcher, who is not told.

The vault's search calls ``CanaryWatch.found`` with the customers it found, on its own
transaction: one pre-written look-up per customer, the same for a canary and for anyone else. The
hit itself is written by ``flush``, in a transaction of its own once the search's answer has gone
out (the HTTP route runs it as a background task), and only then logged. A hit written inside the
search would make finding a canary measurably slower than finding a customer (decision 0016).

If the process dies between a search's commit and the flush, that hit row is lost; the search's
access event, which names the searcher and the canary, is committed with the search and stays.

The vault holds one as its ``SearchWatch`` (wired in ``bootstrap``) and never imports the canary
domain, which builds on the vault.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NamedTuple

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from shopshield.core import ids
from shopshield.core.db import Statement, Tx, transaction

log = logging.getLogger(__name__)

SOURCE: Final = "search"


class _Recipient(NamedTuple):
    recipient: str


_CANARY = Statement("SELECT recipient FROM canaries WHERE customer_id = :customer_id", row=_Recipient)
_INSERT_HIT = Statement(
    "INSERT INTO canary_hits (hit_id, customer_id, recipient, source, report_id, contacted_at, channel, note_ct, "
    "recorded_at, recorded_by) VALUES (:hit_id, :customer_id, :recipient, :source, NULL, NULL, NULL, NULL, :now, "
    ":searcher)"
)


@dataclass(frozen=True, slots=True)
class _Found:
    customer_id: str
    recipient: str
    searcher: str
    at: datetime


class CanaryWatch:
    """Canaries found by committed searches whose hits are not written yet; one per ``Vault``."""

    def __init__(self) -> None:
        # deque's append and popleft are atomic: searches on worker threads add, a flush takes.
        self._pending: collections.deque[_Found] = collections.deque()

    def found(self, tx: Tx, *, customer_ids: Iterable[str], searcher: str, now: datetime) -> None:
        """Note the canaries among ``customer_ids``, found by ``searcher``'s search on ``tx``."""
        for customer_id in customer_ids:
            row = tx.one(_CANARY, {"customer_id": customer_id})
            if row is not None:
                # Queued when the search commits: a search that fails to commit found nothing.
                tx.defer(self._queue, _Found(customer_id, row.recipient, searcher, now))

    def _queue(self, _tx: Tx, found: list[_Found]) -> None:
        self._pending.extend(found)

    def flush(self, engine: Engine) -> None:
        """Write the hits of every search committed so far, then log them (ids only)."""
        found: list[_Found] = []
        while self._pending:
            found.append(self._pending.popleft())
        if not found:
            return
        hits = [(ids.new_uuid(), f) for f in found]
        try:
            with transaction(engine) as tx:
                tx.many(
                    _INSERT_HIT,
                    [
                        {
                            "hit_id": hit_id,
                            "customer_id": f.customer_id,
                            "recipient": f.recipient,
                            "source": SOURCE,
                            "now": tx.timestamp(f.at),
                            "searcher": f.searcher,
                        }
                        for hit_id, f in hits
                    ],
                )
        except Exception:
            # Kept for the next flush: a database that is down now may be back for the next search.
            self._pending.extendleft(reversed(found))
            log.error(
                "canary hits of searches for %s could not be written yet", ", ".join(f.customer_id for f in found)
            )
            raise
        for hit_id, f in hits:
            log.warning(
                "canary hit %s: a search by %s found canary %s of recipient %s",
                hit_id,
                f.searcher,
                f.customer_id,
                f.recipient,
            )

    async def flush_after(self, engine: Engine) -> None:
        """``flush`` for a route's background task: nothing to do costs no thread hop."""
        if self._pending:
            await run_in_threadpool(self.flush, engine)
