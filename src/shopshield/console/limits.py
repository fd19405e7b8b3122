"""Failed console logins, limited per principal and per client address on the login guard's
counters (in process, or Redis shared by every instance; ``bootstrap.build_guard`` chooses).

A login is refused before its password is checked once the sliding window holds too many failures
for the name tried or for the address it comes from; only failures count, so a person who types
the password right is never slowed down by their own successes. Keys are digests, as every key the
guard's counters hold.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Final

from shopshield.core.errors import RateLimited
from shopshield.guard.counters import Add, Count, CounterStore

WINDOW_SECONDS: Final = 15 * 60
PER_PRINCIPAL: Final = 5
PER_ADDRESS: Final = 20
NAME: Final = "console_login"


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{NAME}|{kind}|{value}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class LoginLimit:
    counters: CounterStore
    per_principal: int = PER_PRINCIPAL
    per_address: int = PER_ADDRESS

    def _keys(self, who: str, address: str | None) -> list[tuple[str, int]]:
        keys = [(_key("who", who), self.per_principal)]
        if address is not None:
            keys.append((_key("ip", address), self.per_address))
        return keys

    def check(self, who: str, address: str | None, *, now: float) -> None:
        """``RateLimited`` if ``who`` (a principal id, or the name tried when no principal has it)
        or ``address`` has failed too often in the last 15 minutes."""
        keys = self._keys(who, address)
        counts = self.counters.run([Count(NAME, key, WINDOW_SECONDS) for key, _ in keys], now)
        for (_, limit), count in zip(keys, counts, strict=True):
            if isinstance(count, int | float) and count >= limit:
                retry_after = max(1, math.ceil(WINDOW_SECONDS - now % WINDOW_SECONDS))
                raise RateLimited("too many failed logins; try again later", retry_after=retry_after)

    def failed(self, who: str, address: str | None, *, now: float) -> None:
        """Count one failed login for ``who`` and ``address``."""
        self.counters.run([Add(NAME, key, WINDOW_SECONDS) for key, _ in self._keys(who, address)], now)
