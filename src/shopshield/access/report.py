"""The PIPL "right to know" access report: who accessed a customer's data, when, which fields, why.

Read straight from ``access_events`` with pre-written SQL on the caller's ``Tx`` (the same driver
path as ``vault/queries.py``), newest first, one page at a time. Actors appear by role, kind and
id only: a report goes to the customer, and staff names stay in ``principals``.

Producing a report is itself an access event (action ``report``), recorded in the report's own
transaction through the audit log, so the customer's next report shows who asked for this one.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from shopshield.access.models import BUCKET_BITS, BUCKET_EXPRESSION, split_fields
from shopshield.core import ids, times
from shopshield.core.callers import Caller
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import AccessDenied, Forbidden, InvalidInput
from shopshield.core.events import DENIED, OK, EventLog
from shopshield.core.permissions import Permission, require
from shopshield.core.policy import PolicySet
from shopshield.core.times import format_ts

Json = dict[str, Any]

ACTION = "report"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# The same shape of id the HTTP paths accept (shopshield.core.ids), checked here too so the
# command line rejects the same inputs with the same messages.
# A cursor is a leaf index; 18 digits stay within a signed 64-bit column on every backend.
_CURSOR = re.compile(r"^[0-9]{1,18}$")
_MOMENT_HINT = "expected an ISO 8601 date or time such as 2026-11-28 or 2026-11-28T08:00+08:00"


class ReportRow(NamedTuple):
    leaf_index: int
    ts: Any
    actor_id: str
    actor_role: str
    actor_kind: str
    action: str
    fields: str
    purpose: str | None
    ticket_id: str | None
    channel: str
    outcome: str


def _buckets(before: bool) -> str:
    # The customer index is bucketed by leaf index (decision 0007), so a customer's entries are
    # found bucket by bucket: this lists the buckets from the newest one the page can reach down
    # to 0, and each becomes one seek into ix_access_events_bucket_customer. MAX under the
    # primary key is one seek as well.
    top = f"SELECT MAX(leaf_index) >> {BUCKET_BITS} FROM access_events"  # noqa: S608 - constants only
    top += " WHERE leaf_index < :before" if before else ""
    return f"WITH RECURSIVE buckets(b) AS ({top} UNION ALL SELECT b - 1 FROM buckets WHERE b > 0)"  # noqa: S608


def _where(since: bool, until: bool, before: bool) -> str:
    # CROSS JOIN makes SQLite's planner take the buckets first, one index seek per bucket, and
    # PostgreSQL reads the index the same way; ts is then checked on each entry's row.
    return (
        f"FROM buckets CROSS JOIN access_events WHERE {BUCKET_EXPRESSION} = buckets.b "
        "AND customer_id = :customer_id"
        + (" AND ts >= :since" if since else "")
        + (" AND ts < :until" if until else "")
        + (" AND leaf_index < :before" if before else "")
    )


# One statement per combination of filters, rather than "(:since IS NULL OR ts >= :since)", which a
# generic plan (psycopg prepares statements it sees repeatedly) cannot turn into an index range.
# Assembled from the constant fragments above only, never from input.
#
# The page's leaf indexes are picked first and only those rows are read: on SQLite the pick needs
# the customer index alone (the rowid is in every entry) unless a time window is given. "leaf_index
# + 0" keeps the planner off the primary key: walking it backwards and filtering by customer looks
# cheap with a LIMIT, but for an old window it reads the whole log back to that window.
_PAGE = {
    (since, until, before): Statement(
        f"{_buckets(before)}, page AS (SELECT leaf_index {_where(since, until, before)} "  # noqa: S608
        "ORDER BY leaf_index + 0 DESC LIMIT :limit) "
        f"SELECT {', '.join(ReportRow._fields)} FROM access_events "
        "WHERE leaf_index IN (SELECT leaf_index FROM page) ORDER BY leaf_index DESC",
        row=ReportRow,
    )
    for since, until, before in itertools.product((False, True), repeat=3)
}
# Total and roles in one pass over the customer's window. It ignores the cursor: it describes the
# whole window as committed when the page is made (reports made while paging count on later pages).
_ROLES = {
    (since, until): Statement(
        f"{_buckets(False)} SELECT actor_role, COUNT(*) {_where(since, until, False)} "
        "GROUP BY actor_role ORDER BY actor_role"
    )
    for since, until in itertools.product((False, True), repeat=2)
}


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """One page of one customer's report: events in ``[since, until)`` with a leaf index below
    ``before`` (the previous page's cursor), at most ``limit`` of them."""

    customer_id: str
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    before: int | None = None


def parse_moment(text: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or timestamp in UTC; a naive one is taken as UTC. Errors never echo ``text``."""
    if text is None:
        return None
    try:
        found = datetime.fromisoformat(text)
        # astimezone can overflow at the ends of the calendar (0001-01-01T00:00+01:00).
        return times.utc(found)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{name}: {_MOMENT_HINT}", field=name.lstrip("-")) from None


def parse_query(
    customer_id: str,
    *,
    since: str | None = None,
    until: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    prefix: str = "",
) -> ReportQuery:
    """Check a report request as the HTTP API and the command line receive it.

    Messages name the parameter (after ``prefix``: "--" names the command line's options) and
    what it must be, never the value: a caller may paste a phone number where an id belongs.
    """
    ids.check(customer_id, "customer_id")
    start, end = parse_moment(since, f"{prefix}since"), parse_moment(until, f"{prefix}until")
    if start is not None and end is not None and start >= end:
        raise InvalidInput(f"{prefix}since must be before {prefix}until", field="since")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"{prefix}limit: must be between 1 and {MAX_LIMIT}", field="limit")
    before = None
    if cursor is not None:
        if not _CURSOR.match(cursor):
            raise InvalidInput(f"{prefix}cursor: must be the next cursor of a previous page", field="cursor")
        before = int(cursor)
    return ReportQuery(customer_id, start, end, limit, before)


def authorize(*, policies: PolicySet, audit: EventLog, tx: Tx, caller: Caller, customer_id: str, now: datetime) -> None:
    """Refuse, and record the refusal, unless the caller's role holds ``access_reports.read``.

    A refused attempt is recorded like a refused read: who tried to learn about this customer's
    accesses belongs in the log too. ``AccessDenied`` makes the transaction commit that event.
    """
    try:
        require(policies, caller.principal, Permission.ACCESS_REPORTS_READ)
    except Forbidden as refused:
        event = caller.event(ACTION, DENIED, customer_id=customer_id, reason=refused.message)
        audit.append(tx, event, now=now)
        raise AccessDenied(refused.message) from None


def access_report(*, audit: EventLog, tx: Tx, caller: Caller, query: ReportQuery, now: datetime) -> Json:
    """One page of the customer's access report, newest first, and the record that it was made.

    The caller must have passed ``authorize`` (the HTTP route does; the command line needs no
    permission, as it holds the database itself). The customer need not exist any more: an erased
    customer's accesses are still theirs to know, and an unknown id simply has none.
    "Newest first" is commit order (``leaf_index``), which is also what the cursor counts down.
    """
    since, until = query.since is not None, query.until is not None
    params: dict[str, Any] = {"customer_id": query.customer_id}
    if query.since is not None:
        params["since"] = tx.timestamp(query.since)
    if query.until is not None:
        params["until"] = tx.timestamp(query.until)
    roles = tx.all(_ROLES[(since, until)], params)
    # One row beyond the page says whether another page follows, without a second query.
    page_params = params | {"limit": query.limit + 1}
    if query.before is not None:
        page_params["before"] = query.before
    rows = tx.all(_PAGE[(since, until, query.before is not None)], page_params)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    # Queued now, appended at commit: it is not in this page or its total, but in the next report.
    audit.append(tx, caller.event(ACTION, OK, customer_id=query.customer_id), now=now)
    return {
        "customer_id": query.customer_id,
        "summary": {"total": sum(int(n) for _role, n in roles), "actor_roles": [str(r) for r, _n in roles]},
        "items": [_item(row) for row in rows],
        "next_cursor": str(rows[-1].leaf_index) if more else None,
    }


def _item(row: ReportRow) -> Json:
    return {
        # The same text as the ``ts`` in the event's canonical bytes, so the item can be checked
        # against an inclusion proof for its leaf_index.
        "at": format_ts(times.stored(row.ts)),
        "actor": {"id": row.actor_id, "role": row.actor_role, "kind": row.actor_kind},
        "action": row.action,
        "fields": list(split_fields(row.fields)),
        "purpose": row.purpose,
        "ticket_id": row.ticket_id,
        "channel": row.channel,
        "outcome": row.outcome,
        "leaf_index": int(row.leaf_index),
    }
