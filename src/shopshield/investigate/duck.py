"""The attribution's scans on DuckDB, over the view ``events`` (``investigate.events``).

Three queries, each one pass over the period's events: distinct customers per actor (and in
all), the victims' accesses in their windows, and the customers' own logins from new networks.
They return the small ``Gathered`` tables; ``attribution.conclude`` does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from shopshield.investigate.attribution import (
    Config,
    Gathered,
    Logins,
    Victim,
    analysis_period,
    gathered,
    reference_moment,
)

# An IPv4 address's /24, or an IPv6 address's first three groups (a /48 as written; compressed
# forms such as "2001:db8::1" keep what precedes "::"), or the address itself.
NETWORK = (
    "CASE WHEN regexp_matches(source_ip, '^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$') "
    "THEN regexp_extract(source_ip, '^([0-9]+\\.[0-9]+\\.[0-9]+)\\.', 1) "
    "WHEN contains(source_ip, ':') THEN lower(array_to_string(list_slice(string_split(source_ip, ':'), 1, 3), ':')) "
    "ELSE source_ip END"
)

_ACTORS = """
SELECT actor_id, min(actor_kind) AS actor_kind, count(DISTINCT customer_id) AS customers
FROM events
WHERE ts >= $start AND ts < $end AND actor_kind <> 'customer' AND customer_id IS NOT NULL
GROUP BY GROUPING SETS ((actor_id), ())
"""

_ACCESSES = """
SELECT e.actor_id, min(e.actor_kind), v.customer_id, min(e.ts), max(e.ts),
       string_agg(DISTINCT e.fields, '|'), bool_or(e.order_id IS NOT NULL)
FROM events e JOIN victims v ON e.customer_id = v.customer_id
WHERE e.ts >= v.window_start AND e.ts < v.contacted_at
  AND e.actor_kind <> 'customer'
GROUP BY e.actor_id, v.customer_id
"""

# A login is from a new network when it is the account's first login from that network and not
# the account's first login at all (a new account's first network is not suspicious).
_NEW_NETWORKS = f"""
CREATE TEMP TABLE new_networks AS
WITH logins AS (
    SELECT customer_id, {NETWORK} AS network, ts FROM events
    WHERE actor_kind = 'customer' AND action = 'login' AND customer_id IS NOT NULL AND ts < $end
),
firsts AS (SELECT customer_id, network, min(ts) AS first_ts FROM logins GROUP BY ALL),
accounts AS (SELECT customer_id, min(first_ts) AS since FROM firsts GROUP BY ALL)
SELECT f.customer_id, f.first_ts FROM firsts f JOIN accounts a USING (customer_id) WHERE f.first_ts > a.since
"""  # noqa: S608 - NETWORK is a constant

_VICTIMS_NEW = """
SELECT DISTINCT v.customer_id FROM victims v JOIN new_networks n USING (customer_id)
WHERE n.first_ts >= v.window_start AND n.first_ts < v.contacted_at
"""

_REFERENCE = """
SELECT
    (SELECT count(DISTINCT customer_id) FROM events
     WHERE actor_kind = 'customer' AND action = 'login' AND ts >= $start AND ts < $end),
    (SELECT count(DISTINCT customer_id) FROM new_networks WHERE first_ts >= $start AND first_ts < $end)
"""


class DuckDBEngine:
    """Gathers from the ``events`` view of ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def gather(self, victims: Sequence[Victim], config: Config) -> Gathered:
        con = self.con
        start, end = analysis_period(victims, config)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE victims "
            "(customer_id VARCHAR, contacted_at TIMESTAMPTZ, window_start TIMESTAMPTZ)"
        )
        con.executemany(
            "INSERT INTO victims VALUES (?, ?, ?)",
            [(v.customer_id, v.contacted_at, v.contacted_at - config.window) for v in victims],
        )

        actor_rows = con.execute(_ACTORS, {"start": start, "end": end}).fetchall()
        access_rows = con.execute(_ACCESSES).fetchall()

        con.execute("DROP TABLE IF EXISTS new_networks")
        con.execute(_NEW_NETWORKS, {"end": end})
        hit = frozenset(str(r[0]) for r in con.execute(_VICTIMS_NEW).fetchall())
        moment = reference_moment(victims)
        row = con.execute(_REFERENCE, {"start": moment - config.window, "end": moment}).fetchone()
        assert row is not None
        logins = Logins(hit, int(row[0]), int(row[1]))
        return gathered((start, end), actor_rows, access_rows, logins)
