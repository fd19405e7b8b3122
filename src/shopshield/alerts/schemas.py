"""What the alert list accepts; its messages never echo the value given."""

from __future__ import annotations

from datetime import datetime

from shopshield.core import times
from shopshield.core.errors import InvalidInput

CODE_PATTERN = r"^[a-z_]{1,32}$"


def parse_since(text: str | None) -> datetime | None:
    """An ISO 8601 date or time; a naive one is UTC, as in the access report."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("since: expected an ISO 8601 date or time such as 2026-12-01", field="since") from None
    return times.utc(moment)
