"""The one shape of a record id that the API and the command line accept: customers, orders,
addresses, tickets, principals, scam reports. Ids are the store's own, so they are not secret,
but a caller may paste a phone number where an id belongs; checking the shape first keeps such a
value out of queries, logs and messages."""

from __future__ import annotations

import re
from typing import Final

ID_BODY: Final = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}"
ID_PATTERN: Final = rf"^{ID_BODY}$"
ID: Final = re.compile(ID_PATTERN)
