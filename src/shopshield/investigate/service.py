"""The investigation over ShopShield's own access log, for callers that hold the running instance
(the console): the log exported to Parquet and opened in DuckDB as the commands open it, the
attribution and the insider detection run on it unchanged, and the one actor's accesses to the
victims that a timeline draws.

The command line reads the log through ``access.cli.export_log`` (its own container); this module
takes the instance's ``sessionmaker`` instead. Nothing here decides anything: ``attribution`` and
``insiders`` do.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shopshield.access.export import export_parquet
from shopshield.access.models import AccessEventRow
from shopshield.core import times
from shopshield.investigate import events, insiders
from shopshield.investigate.attribution import Attribution, Config, Victim, attribute
from shopshield.investigate.duck import DuckDBEngine


@contextmanager
def own_log(sessions: sessionmaker[Session]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection whose ``events`` view reads the instance's access log as it is now
    (exported to a private temporary Parquet file, removed on leaving)."""
    with tempfile.TemporaryDirectory(prefix="shopshield-investigate-") as tmp:
        path = Path(tmp) / "events.parquet"
        export_parquet(sessions, path)
        con = events.connect()
        try:
            events.open_events(con, [path])
            yield con
        finally:
            con.close()


def attribute_log(con: duckdb.DuckDBPyConnection, victims: Sequence[Victim], config: Config) -> Attribution:
    """The leak-source attribution (``attribution.attribute``) over the opened log."""
    return attribute(DuckDBEngine(con), victims, config)


def insider_days(con: duckdb.DuckDBPyConnection, config: insiders.Config) -> list[insiders.ActorDay]:
    """The actor-days at or above the threshold (``insiders.alerts``), highest score first."""
    insiders.load_metadata(con)
    return insiders.alerts(insiders.detect(con, config=config), config)


@dataclass(frozen=True, slots=True)
class Access:
    """One access of an actor to a victim, as the log holds it (ids and field names, no values)."""

    ts: datetime
    customer_id: str
    action: str
    order_id: str | None
    fields: str
    outcome: str | None


_VICTIM_ACCESSES = """
SELECT ts, customer_id, action, order_id, coalesce(fields, ''), outcome FROM events
WHERE actor_id = $actor AND customer_id IN (SELECT unnest($customers)) AND ts >= $start AND ts < $end
ORDER BY ts, customer_id
LIMIT $limit
"""


def accesses_to_victims(
    con: duckdb.DuckDBPyConnection,
    *,
    actor_id: str,
    victims: Sequence[Victim],
    window: timedelta,
    after: timedelta = timedelta(days=7),
    limit: int = 2_000,
) -> list[Access]:
    """``actor_id``'s accesses to ``victims`` from one window before the first contact until
    ``after`` the last one, oldest first (at most ``limit``): what a timeline against the contact
    times draws, the accesses after a contact included (complaint handling shows there)."""
    if not victims:
        return []
    start = min(v.contacted_at for v in victims) - window
    end = max(v.contacted_at for v in victims) + after
    rows = con.execute(
        _VICTIM_ACCESSES,
        {
            "actor": actor_id,
            "customers": [v.customer_id for v in victims],
            "start": start,
            "end": end,
            "limit": limit,
        },
    ).fetchall()
    return [
        Access(ts=ts, customer_id=str(cid), action=str(action), order_id=order, fields=str(fields), outcome=outcome)
        for ts, cid, action, order, fields, outcome in rows
    ]


@dataclass(frozen=True, slots=True)
class Event:
    """One of an actor's access events, with its place in the tamper-evident log."""

    leaf_index: int
    ts: datetime
    action: str
    outcome: str
    customer_id: str | None
    order_id: str | None
    fields: str
    channel: str
    purpose: str | None
    ticket_id: str | None


def actor_events(session: Session, *, actor_id: str, before: int | None, limit: int) -> tuple[list[Event], int | None]:
    """``actor_id``'s events in the database, newest first, ``limit`` at a time: the page before
    leaf ``before`` (the newest when None), and the cursor of the next page (None at the end).

    The log has no index by actor (decision 0007), so this walks it backwards from the cursor by
    its primary key: a page of an active actor is cheap, a rare actor's costs a scan of the log.
    The analyses over many actors read the exported Parquet instead (``own_log``)."""
    query = select(AccessEventRow).where(AccessEventRow.actor_id == actor_id)
    if before is not None:
        query = query.where(AccessEventRow.leaf_index < before)
    rows = list(session.scalars(query.order_by(AccessEventRow.leaf_index.desc()).limit(limit + 1)))
    found = [
        Event(
            leaf_index=row.leaf_index,
            ts=times.utc(row.ts),
            action=row.action,
            outcome=row.outcome,
            customer_id=row.customer_id,
            order_id=row.order_id,
            fields=row.fields,
            channel=row.channel,
            purpose=row.purpose,
            ticket_id=row.ticket_id,
        )
        for row in rows[:limit]
    ]
    return found, (found[-1].leaf_index if len(rows) > limit else None)
