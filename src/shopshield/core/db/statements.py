"""Pre-written SQL that runs on either backend's driver, and the named rows it returns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar, overload

# What a statement's rows come back as: a NamedTuple naming its columns, or a plain tuple for
# statements that return nothing worth naming (writes).
R = TypeVar("R", bound=tuple[Any, ...])


class Statement(Generic[R]):
    """SQL written once with ``:name`` placeholders, turned into each driver's style on first use.

    The hot read path (masked views, reveals, searches) runs a handful of these on the driver
    connection: going through the ORM costs several times the SQL itself (see docs/benchmarks.md).

    ``row``: a NamedTuple whose fields are the statement's columns, in order; ``Tx.one`` and
    ``Tx.all`` return rows of that type (``found.disabled_at``, not ``found[2]``), so a column
    added to the SELECT cannot silently shift what later code reads. The driver's tuple becomes
    the named row through ``_make``, which costs a fraction of a microsecond and checks the
    column count.
    """

    __slots__ = ("_by_dialect", "make", "positional", "sql")
    _PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")

    @overload
    def __init__(self: Statement[tuple[Any, ...]], sql: str, *, positional: bool = False) -> None: ...

    @overload
    def __init__(self, sql: str, *, row: type[R], positional: bool = False) -> None: ...

    def __init__(self, sql: str, *, row: type[R] | None = None, positional: bool = False) -> None:
        """``positional``: the SQL uses ``?`` and takes tuples, which bind faster than dicts
        (worth it only where rows are bound by the thousand, as in audit appends)."""
        self.sql = sql
        self.positional = positional
        self._by_dialect: dict[str, str] = {}
        self.make: Callable[[Iterable[Any]], R] | None = None
        if row is not None:
            if not hasattr(row, "_fields"):
                raise TypeError(f"a statement's row type must be a NamedTuple, not {row.__name__}")
            self.make = row._make  # type: ignore[attr-defined]

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
