"""The verification's per-customer rate limit, on the login guard's counters (in process, or Redis
shared by every instance, chosen in ``bootstrap.build_guard``).

Per customer, not per caller: the store's app backend is one principal for every customer, and
what must not happen is one customer's contacts being probed number by number. The key is a hash
of the customer id, as every key the guard's counters hold is a digest.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Final

from shopshield.core.errors import RateLimited
from shopshield.guard.counters import Add, Count, CounterStore

WINDOW_SECONDS: Final = 3600


@dataclass(frozen=True, slots=True)
class PerCustomerLimit:
    counters: CounterStore
    per_hour: int
    name: str = "verify_contact"

    def take(self, customer_id: str, *, now: float) -> None:
        """Count one request about ``customer_id``; ``RateLimited`` past ``per_hour`` in the
        sliding hour. One batch: one Redis round trip."""
        key = hashlib.sha256(f"{self.name}|{customer_id}".encode()).hexdigest()[:32]
        before, _added = self.counters.run(
            [Count(self.name, key, WINDOW_SECONDS), Add(self.name, key, WINDOW_SECONDS)], now
        )
        if not isinstance(before, int | float) or before + 1 <= self.per_hour:
            return
        # The sliding estimate falls as the current hour ends; that is when asking again helps.
        retry_after = max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))
        raise RateLimited(
            f"too many verifications for this customer: at most {self.per_hour} an hour; try again later",
            retry_after=retry_after,
        )
