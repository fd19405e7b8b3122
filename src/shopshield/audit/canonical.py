"""The canonical bytes of an access event: what its Merkle leaf is the hash of.

The encoding is specified in docs/audit-log.md and must never change for version 1; a test pins
its exact bytes. In short: a JSON object in the JSON Canonicalization Scheme (RFC 8785) with
exactly the keys of ``KEYS``, where every value is a string, an integer, null, or (``fields``) an
array of strings, and ``ts`` is UTC with microseconds and a ``Z``. For those value types orjson's
compact output with keys in sorted order is RFC 8785 (tests check it against the standard library), so
the bytes are the same whichever database the event came back from.

The leaf index is part of the bytes: an event is bound to its position, so swapping two rows'
positions changes both rows' leaf hashes, not only the tree above them.
"""

from __future__ import annotations

import hashlib
from typing import Final

import orjson

from shopshield.core.events import AccessEvent

VERSION: Final = 1
KEYS: Final = (
    "action",
    "actor_id",
    "actor_kind",
    "actor_role",
    "channel",
    "customer_id",
    "fields",
    "i",
    "order_id",
    "outcome",
    "purpose",
    "reason",
    "source_ip",
    "ticket_id",
    "ts",
    "v",
)
_sha256 = hashlib.sha256
_dumps = orjson.dumps


def canonical_bytes(leaf_index: int, ts: str, event: AccessEvent) -> bytes:
    """The version-1 canonical encoding of ``event`` at ``leaf_index``; ``ts`` from ``format_ts``.

    The object is built with its keys already in ``KEYS`` order, which orjson keeps: sorting it
    again measurably slows the hottest line of an append. Tests hold this literal to ``KEYS``
    and its bytes to the standard library's sorted encoding and to RFC 8785 written by hand.
    """
    return _dumps(
        {
            "action": event.action,
            "actor_id": event.actor_id,
            "actor_kind": event.actor_kind,
            "actor_role": event.actor_role,
            "channel": event.channel,
            "customer_id": event.customer_id,
            "fields": event.fields,  # a tuple: orjson writes it as the array it is
            "i": leaf_index,
            "order_id": event.order_id,
            "outcome": event.outcome,
            "purpose": event.purpose,
            "reason": event.reason,
            "source_ip": event.source_ip,
            "ticket_id": event.ticket_id,
            "ts": ts,
            "v": VERSION,
        }
    )


def event_leaf_hash(leaf_index: int, ts: str, event: AccessEvent) -> bytes:
    """SHA-256(0x00 || canonical bytes): the RFC 9162 leaf hash of the event."""
    return _sha256(b"\x00" + canonical_bytes(leaf_index, ts, event)).digest()
