"""Access events as columns of small integer codes, and their conversion to the export's schema.

Generating millions of events a day is only fast if nothing is a Python string until the last
moment: every column is a numpy array of codes or indexes, and strings appear only when a chunk
becomes an Arrow table (``pyarrow.compute.take`` on a dictionary of the distinct values).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from shopshield.access.export import SCHEMA

# The export's schema without the audit tree's columns: simulated events are not leaves of a log.
EVENT_SCHEMA: Final = SCHEMA.remove(SCHEMA.get_field_index("leaf_index")).remove(SCHEMA.get_field_index("leaf_hash"))

I64 = NDArray[np.int64]
I32 = NDArray[np.int32]
U32 = NDArray[np.uint32]
U8 = NDArray[np.uint8]
I8 = NDArray[np.int8]
F64 = NDArray[np.float64]
Bools = NDArray[np.bool_]

US: Final = 1_000_000  # microseconds per second: event times are µs since the epoch, UTC
MINUTE: Final = 60 * US
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR
LOCAL_OFFSET: Final = 8 * HOUR  # the store is in China (UTC+08:00, no daylight saving)
NEVER: Final = np.iinfo(np.int64).max  # a lifecycle step that does not happen

ACTIONS: Final = ("view", "reveal", "search", "export", "print", "call", "login")
VIEW, REVEAL, SEARCH, EXPORT, PRINT, CALL, LOGIN = range(len(ACTIONS))

CHANNELS: Final = ("cs-console", "courier-app", "partner-api", "export", "web", "app", "merchant-portal", "batch")
CS_CONSOLE, COURIER_APP, PARTNER_API, EXPORT_CHANNEL, WEB, APP, MERCHANT_PORTAL, BATCH = range(len(CHANNELS))

# Field sets in the shared format's names, all in investigate.knowledge's vocabulary.
FIELDSETS: Final = (
    "",
    "name|mobile|address",
    "name|mobile|items|price",
    "name|mobile|items|price|returns",
    "name|mobile|address|items|price",
    "mobile",
    "address",
    "name|mobile",
    "name|items|price",
    "name|mobile|address|items",
    "name|mobile|address|items|price|returns",
    "id_number",
)
(
    F_NONE,
    F_LABEL,
    F_ORDER,
    F_RETURN,
    F_FULL_ORDER,
    F_MOBILE,
    F_ADDRESS,
    F_CONTACT,
    F_INVOICE,
    F_CASE,
    F_OWN_RETURN,
    F_ID_NUMBER,
) = range(len(FIELDSETS))

KINDS: Final = ("staff", "courier", "merchant", "partner", "job", "customer")
STAFF, COURIER, MERCHANT, PARTNER, JOB, CUSTOMER = range(len(KINDS))

ROLES: Final = (
    "cs_agent",
    "cs_supervisor",
    "security_analyst",
    "admin",
    "courier",
    "merchant",
    "partner",
    "service",
    "customer",
)
R_AGENT, R_SUPERVISOR, R_ANALYST, R_ADMIN, R_COURIER, R_MERCHANT, R_PARTNER, R_SERVICE, R_CUSTOMER = range(len(ROLES))

# The purpose codes of the shipped role policy (vault/policies.toml).
PURPOSES: Final = (
    "refund_dispute",
    "delivery_problem",
    "identity_verification",
    "account_recovery",
    "fraud_investigation",
    "legal_request",
    "customer_request",
)
REFUND_DISPUTE, DELIVERY_PROBLEM, IDENTITY_VERIFICATION, ACCOUNT_RECOVERY, FRAUD_INVESTIGATION = range(5)

OUTCOMES: Final = ("ok", "denied", "quota_exceeded")
OK, DENIED, QUOTA_EXCEEDED = range(len(OUTCOMES))
REASONS: Final = ("the ticket is not assigned to the caller",)
R_TICKET_NOT_ASSIGNED = 0


def epoch_us(day: date) -> int:
    """Local midnight (UTC+08:00) of ``day`` as µs since the epoch."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(midnight.timestamp()) * US - LOCAL_OFFSET


def iso_local(ts: I64) -> list[str]:
    """ISO 8601 with the store's offset and whole seconds, as the reports and CSV files carry them."""
    local = pa.array(np.asarray(ts, dtype=np.int64) + LOCAL_OFFSET, type=pa.timestamp("us"))
    text = pc.strftime(local.cast(pa.timestamp("s"), safe=False), format="%Y-%m-%dT%H:%M:%S")
    return [str(t) for t in pc.binary_join_element_wise(text, "+08:00", "").to_pylist()]


@dataclass
class Events:
    """A batch of access events, one numpy array per column. -1 (0 for ``ip``) is null."""

    ts: I64
    actor: I32  # index into the actor table (customers follow the other actors)
    action: U8
    customer: I32
    order: I32
    fieldset: U8
    channel: U8
    ip: U32
    purpose: I8
    ticket: I64
    outcome: U8
    reason: I8

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def take(self, index: NDArray[np.intp] | Bools | slice) -> Events:
        return Events(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(batches: list[Events]) -> Events:
        if not batches:
            return empty()
        return Events(**{f.name: np.concatenate([getattr(b, f.name) for b in batches]) for f in fields(Events)})


_DTYPES: Final = {
    "ts": np.int64,
    "actor": np.int32,
    "action": np.uint8,
    "customer": np.int32,
    "order": np.int32,
    "fieldset": np.uint8,
    "channel": np.uint8,
    "ip": np.uint32,
    "purpose": np.int8,
    "ticket": np.int64,
    "outcome": np.uint8,
    "reason": np.int8,
}


def make(
    ts: I64,
    *,
    actor: I32 | int,
    action: U8 | int,
    fieldset: U8 | int,
    channel: U8 | int,
    customer: I32 | int = -1,
    order: I32 | int = -1,
    ip: U32 | int = 0,
    purpose: I8 | int = -1,
    ticket: I64 | int = -1,
    outcome: U8 | int = OK,
    reason: I8 | int = -1,
) -> Events:
    """A batch from per-event arrays or scalars shared by every event."""
    n = int(ts.shape[0])
    given: dict[str, object] = {
        "actor": actor,
        "action": action,
        "customer": customer,
        "order": order,
        "fieldset": fieldset,
        "channel": channel,
        "ip": ip,
        "purpose": purpose,
        "ticket": ticket,
        "outcome": outcome,
        "reason": reason,
    }
    columns = {
        name: np.broadcast_to(np.asarray(value, dtype=_DTYPES[name]), (n,)).copy() for name, value in given.items()
    }
    return Events(ts=np.asarray(ts, dtype=np.int64), **columns)


def empty() -> Events:
    return make(np.zeros(0, dtype=np.int64), actor=0, action=0, fieldset=0, channel=0)


@dataclass(frozen=True)
class Dictionaries:
    """The distinct strings that event columns index into."""

    actor_ids: pa.Array
    actor_kind: I32  # per actor: index into KINDS
    actor_role: I32  # per actor: index into ROLES
    customer_ids: pa.Array
    order_ids: pa.Array


_ACTIONS = pa.array(ACTIONS)
_CHANNELS = pa.array(CHANNELS)
_FIELDSETS = pa.array(FIELDSETS)
_KINDS = pa.array(KINDS)
_ROLES = pa.array(ROLES)
_PURPOSES = pa.array(PURPOSES)
_OUTCOMES = pa.array(OUTCOMES)
_REASONS = pa.array(REASONS)


def _nullable(index: NDArray[np.integer], null: int) -> pa.Array:
    return pa.array(index.astype(np.int64), mask=index == null)


def _ip_text(ip: U32) -> pa.Array:
    # Format each distinct address once: a chunk holds far fewer addresses than events.
    distinct, index = np.unique(ip, return_inverse=True)
    octets = [pc.cast(pa.array((distinct >> shift) & 0xFF), pa.string()) for shift in (24, 16, 8, 0)]
    text = pc.binary_join_element_wise(*octets, ".")
    return text.take(pa.array(index.astype(np.int64), mask=ip == 0))


def to_table(batch: Events, names: Dictionaries) -> pa.Table:
    """The batch as rows of the shared "Access events" format (the export's schema)."""
    columns = {
        "ts": pa.array(batch.ts, type=pa.timestamp("us", tz="UTC")),
        "actor_id": names.actor_ids.take(pa.array(batch.actor)),
        "actor_kind": _KINDS.take(pa.array(names.actor_kind[batch.actor])),
        "action": _ACTIONS.take(pa.array(batch.action)),
        "customer_id": names.customer_ids.take(_nullable(batch.customer, -1)),
        "order_id": names.order_ids.take(_nullable(batch.order, -1)),
        "fields": _FIELDSETS.take(pa.array(batch.fieldset)),
        "channel": _CHANNELS.take(pa.array(batch.channel)),
        "source_ip": _ip_text(batch.ip),
        "actor_role": _ROLES.take(pa.array(names.actor_role[batch.actor])),
        "purpose": _PURPOSES.take(_nullable(batch.purpose, -1)),
        "ticket_id": pc.binary_join_element_wise("tk", pc.cast(_nullable(batch.ticket, -1), pa.string()), ""),
        "outcome": _OUTCOMES.take(pa.array(batch.outcome)),
        "reason": _REASONS.take(_nullable(batch.reason, -1)),
    }
    return pa.Table.from_arrays([columns[name] for name in EVENT_SCHEMA.names], schema=EVENT_SCHEMA)
