"""Daily quotas, enforced inside the caller's transaction. Access events go to ``audit.service.AuditLog``."""

from __future__ import annotations

from datetime import datetime, tzinfo

from shopshield.db import Statement, Tx

# One statement, atomic on SQLite and PostgreSQL: the counter only moves while the request fits
# under the limit, so concurrent requests cannot overshoot it and a refused one writes nothing.
_CONSUME_QUOTA = Statement(
    "INSERT INTO quota_usage (principal_id, day, kind, used) "
    "SELECT :p, :d, :k, :n WHERE :n <= :limit "
    "ON CONFLICT (principal_id, day, kind) DO UPDATE SET used = quota_usage.used + :n "
    "WHERE quota_usage.used + :n <= :limit RETURNING used"
)


def consume_quota(
    tx: Tx,
    *,
    principal_id: str,
    kind: str,
    limit: int,
    now: datetime,
    tz: tzinfo,
    amount: int = 1,
) -> bool:
    """Count ``amount`` uses against today's quota; False (and nothing written) if that exceeds it."""
    if amount > limit:
        return False
    day = now.astimezone(tz).date().isoformat()
    row = tx.one(_CONSUME_QUOTA, {"p": principal_id, "d": day, "k": kind, "n": amount, "limit": limit})
    return row is not None
