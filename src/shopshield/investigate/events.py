"""Access events in the shared format, opened in DuckDB as one normalised view.

Stores hand over their logs as CSV or Parquet (PRODUCT.md, "Access events"), with ``ts`` as an
ISO 8601 timestamp with offset or as epoch milliseconds, and with the optional columns present or
not. Everything downstream reads the view ``events`` with fixed columns and types, so the
attribution's SQL is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

import duckdb

from shopshield.core.errors import InvalidInput

REQUIRED: Final = ("ts", "actor_id", "actor_kind", "action", "customer_id")
OPTIONAL: Final = ("order_id", "fields", "channel", "source_ip")
# Not in the shared format, but in ShopShield's own export and the simulator's files: the
# insider features use them when present (a store's own CSV may lack them).
EXTRA: Final = ("actor_role", "purpose", "ticket_id", "outcome")
SUFFIXES: Final = {".parquet": "parquet", ".csv": "csv"}


def connect(memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection in UTC (results must not depend on the machine's zone)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    return con


def open_events(con: duckdb.DuckDBPyConnection, sources: Sequence[Path]) -> int:
    """Create the view ``events`` over ``sources`` (all Parquet or all CSV) and return how many
    files it reads. Raises InvalidInput naming what is wrong with them."""
    if not sources:
        raise InvalidInput("no access event files given")
    kinds = {SUFFIXES.get(p.suffix.lower()) for p in sources}
    if None in kinds or len(kinds) != 1:
        raise InvalidInput("access events: give .parquet files or .csv files (one kind at a time)")
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise InvalidInput(f"access events: no such file: {missing[0]}")
    kind = kinds.pop()
    files = [str(p) for p in sources]
    if kind == "parquet":
        reader = "read_parquet(?, union_by_name = true)"
    else:
        # Every column as text: ts may be epoch milliseconds in one file and ISO in another.
        reader = "read_csv(?, header = true, all_varchar = true, union_by_name = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}", [files]).fetchall()  # noqa: S608 - constant reader
    except duckdb.Error as exc:
        raise InvalidInput(f"access events: cannot read the files ({type(exc).__name__})") from None
    types = {str(row[0]).lower(): str(row[1]).upper() for row in described}
    absent = [c for c in REQUIRED if c not in types]
    if absent:
        raise InvalidInput(f"access events: missing column(s) {', '.join(absent)}")
    columns = [f"{_ts_expression(types['ts'])} AS ts"]
    columns += [f"CAST({c} AS VARCHAR) AS {c}" for c in REQUIRED[1:]]
    columns += [
        f"CAST({c} AS VARCHAR) AS {c}" if c in types else f"CAST(NULL AS VARCHAR) AS {c}" for c in OPTIONAL + EXTRA
    ]
    # A view over a parameterised reader cannot keep the parameter, so the file list is inlined
    # as a literal list of quoted strings (quotes doubled: file names are data, not SQL).
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    con.execute(
        f"CREATE OR REPLACE VIEW events AS SELECT {', '.join(columns)} FROM {reader.replace('?', listed)}"  # noqa: S608
    )
    return len(files)


def _ts_expression(kind: str) -> str:
    """``ts`` as TIMESTAMPTZ from whatever the file holds."""
    if kind.startswith("TIMESTAMP"):
        return "CAST(ts AS TIMESTAMPTZ)"
    if kind in {"BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "DOUBLE"}:
        return "CAST(epoch_ms(CAST(ts AS BIGINT)) AS TIMESTAMPTZ)"
    # Text: all digits is epoch milliseconds, anything else ISO 8601 (with its offset).
    return (
        "CASE WHEN regexp_full_match(ts, '[0-9]{1,15}') THEN CAST(epoch_ms(CAST(ts AS BIGINT)) AS TIMESTAMPTZ) "
        "ELSE CAST(ts AS TIMESTAMPTZ) END"
    )
