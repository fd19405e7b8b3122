"""The vault's search calls this with the customers it found: finding a canary is a canary hit.

Kept apart from ``canary/service.py``, which builds on the vault, so the vault can call it without
an import cycle. It runs on the search's own transaction, on the hot read path: one pre-written
statement per customer found, the same for a canary and for anyone else, which inserts the hit
only when the customer is a canary. The searcher is not told; the answer is the usual one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from shopshield.db import Statement, Tx

log = logging.getLogger(__name__)

SOURCE: Final = "search"

_HIT = Statement(
    "INSERT INTO canary_hits (hit_id, customer_id, recipient, source, report_id, contacted_at, channel, note_ct, "
    "recorded_at, recorded_by) "
    "SELECT :hit_id, customer_id, recipient, :source, NULL, NULL, NULL, NULL, :now, :searcher "
    "FROM canaries WHERE customer_id = :customer_id RETURNING recipient"
)


def found_by_search(tx: Tx, *, customer_ids: Iterable[str], searcher: str, now: datetime) -> None:
    """Record a hit naming ``searcher`` for each of ``customer_ids`` that is a canary."""
    stamp = tx.timestamp(now)
    for customer_id in customer_ids:
        hit_id = str(uuid.uuid4())
        params = {"hit_id": hit_id, "source": SOURCE, "now": stamp, "searcher": searcher, "customer_id": customer_id}
        # all(), not one(): SQLite finishes an INSERT ... RETURNING only once its rows are read.
        for (recipient,) in tx.all(_HIT, params):
            log.warning(
                "canary hit %s: a search by %s found canary %s of recipient %s",
                hit_id,
                searcher,
                customer_id,
                recipient,
            )
