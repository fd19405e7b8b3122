"""Pre-written SQL that runs on either backend's driver."""

from __future__ import annotations

import re


class Statement:
    """SQL written once with ``:name`` placeholders, turned into each driver's style on first use.

    The hot read path (masked views, reveals, searches) runs a handful of these on the driver
    connection: going through the ORM costs several times the SQL itself (see docs/benchmarks.md).
    """

    __slots__ = ("_by_dialect", "positional", "sql")
    _PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

    def __init__(self, sql: str, *, positional: bool = False) -> None:
        """``positional``: the SQL uses ``?`` and takes tuples, which bind faster than dicts
        (worth it only where rows are bound by the thousand, as in audit appends)."""
        self.sql = sql
        self.positional = positional
        self._by_dialect: dict[str, str] = {}

    def text(self, dialect: str) -> str:
        found = self._by_dialect.get(dialect)
        if found is None:
            if dialect == "sqlite":
                found = self.sql
            elif self.positional:
                found = self.sql.replace("?", "%s")
            else:
                found = self._PLACEHOLDER.sub(r"%(\1)s", self.sql)
            self._by_dialect[dialect] = found
        return found
