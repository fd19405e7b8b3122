"""The "direct" baseline of the vault benchmark: a masked view with no framework at all.

The same masked view as ShopShield's, written directly with the stdlib ``sqlite3`` module and
pyca/cryptography: one table holds each customer's AES-GCM-encrypted fields (name, mobile, e-mail,
ID number and one address) in ShopShield's sealed format and associated data; a data key per
customer lives in an in-memory dict (as ShopShield's key cache holds it when warm). A view selects
the row, decrypts and masks every field with ``shopshield.vault.masking``, inserts an access-event
row shaped like ShopShield's (same columns, keyed by its leaf index, and by default the same
bucketed customer index) with its Merkle leaf hash (SHA-256 over the same canonical JSON, the leaf index from a
counter in memory: the least an access log with leaves can do), commits (WAL, synchronous=NORMAL)
and serialises the JSON with orjson.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shopshield.access.models import BUCKET_EXPRESSION
from shopshield.vault.masking import mask_email, mask_id_number, mask_mobile, mask_name, mask_street

FORMAT = b"\x01"
NONCE = 12
REGION_SEP = "\x1f"
MASKED = ["name", "mobile", "email", "id_number", "recipient", "phone", "region", "street"]
REVEALABLE = ["mobile", "phone", "street"]
ACTOR = ("staff-directbench", "staff", "cs_agent")

_SCHEMA = """
CREATE TABLE customers (
    customer_id TEXT PRIMARY KEY,
    name_ct BLOB, mobile_ct BLOB, email_ct BLOB, id_number_ct BLOB,
    address_id TEXT, recipient_ct BLOB, phone_ct BLOB, region_ct BLOB, street_ct BLOB
);
CREATE TABLE access_events (
    leaf_index INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_role TEXT NOT NULL,
    action TEXT NOT NULL, customer_id TEXT, order_id TEXT, fields TEXT NOT NULL,
    channel TEXT NOT NULL, source_ip TEXT, purpose TEXT, ticket_id TEXT,
    outcome TEXT NOT NULL, reason TEXT, leaf_hash BLOB NOT NULL
);
"""
# ShopShield's access_events index (decision 0007); without it (``event_indexes=False``) the
# event table keeps only its rowid, the cheapest insert SQLite can do.
_EVENT_INDEXES = f"""
CREATE INDEX ix_access_events_bucket_customer ON access_events ({BUCKET_EXPRESSION}, customer_id);
"""
_SELECT = (
    "SELECT name_ct, mobile_ct, email_ct, id_number_ct, address_id, recipient_ct, phone_ct, region_ct, "
    "street_ct FROM customers WHERE customer_id = ?"
)
_INSERT_EVENT = (
    "INSERT INTO access_events (leaf_index, ts, actor_id, actor_kind, actor_role, action, customer_id, "
    "fields, channel, outcome, leaf_hash) VALUES (?, ?, ?, ?, ?, 'view', ?, ?, 'api', 'ok', ?)"
)
_FIELDS = "|".join(MASKED)


def _aad(record: str, field: str) -> bytes:
    return f"shopshield/field/v1|{record}|{field}".encode()


def _seal(aead: AESGCM, record: str, field: str, value: str) -> bytes:
    nonce = os.urandom(NONCE)
    return FORMAT + nonce + aead.encrypt(nonce, value.encode(), _aad(record, field))


def _open(aead: AESGCM, record: str, field: str, sealed: bytes) -> str:
    return aead.decrypt(sealed[1 : 1 + NONCE], sealed[1 + NONCE :], _aad(record, field)).decode()


class DirectStore:
    """The baseline's database and key dict."""

    def __init__(self, path: Path, *, event_indexes: bool = True) -> None:
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA + (_EVENT_INDEXES if event_indexes else ""))
        self.keys: dict[str, AESGCM] = {}
        self.leaves = 0

    def close(self) -> None:
        self.conn.close()

    def fill(self, customers: Iterable[Mapping[str, Any]]) -> int:
        """Encrypt and insert customers (dicts as testkit/factories.py makes them) in one transaction."""
        rows = []
        for c in customers:
            cid = c["customer_id"]
            aead = AESGCM(AESGCM.generate_key(bit_length=256))
            self.keys[cid] = aead
            record = f"customer:{cid}"
            address = c["addresses"][0]
            arecord = f"address:{address['address_id']}"
            region = REGION_SEP.join((address["province"], address["city"], address["district"]))
            rows.append(
                (
                    cid,
                    _seal(aead, record, "name", c["name"]),
                    _seal(aead, record, "mobile", c["mobile"]),
                    _seal(aead, record, "email", c["email"]),
                    _seal(aead, record, "id_number", c["id_number"]),
                    address["address_id"],
                    _seal(aead, arecord, "recipient", address["recipient"]),
                    _seal(aead, arecord, "phone", address["phone"]),
                    _seal(aead, arecord, "region", region),
                    _seal(aead, arecord, "street", address["street"]),
                )
            )
        with self.conn:
            self.conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def view(self, customer_id: str) -> bytes:
        """One masked view: select, decrypt, mask, record the access, commit, serialise."""
        row = self.conn.execute(_SELECT, (customer_id,)).fetchone()
        aead = self.keys[customer_id]
        record = f"customer:{customer_id}"
        address_id = row[4]
        arecord = f"address:{address_id}"
        province, city, district = _open(aead, arecord, "region", row[7]).split(REGION_SEP)
        out = {
            "customer_id": customer_id,
            "name": mask_name(_open(aead, record, "name", row[0])),
            "mobile": mask_mobile(_open(aead, record, "mobile", row[1])),
            "email": mask_email(_open(aead, record, "email", row[2])),
            "id_number": mask_id_number(_open(aead, record, "id_number", row[3])),
            "addresses": [
                {
                    "address_id": address_id,
                    "recipient": mask_name(_open(aead, arecord, "recipient", row[5])),
                    "phone": mask_mobile(_open(aead, arecord, "phone", row[6])),
                    "street": mask_street(_open(aead, arecord, "street", row[8])),
                    "province": province,
                    "city": city,
                    "district": district,
                }
            ],
            "masked": MASKED,
            "revealable": REVEALABLE,
        }
        ts = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
        canonical = orjson.dumps(
            {
                "v": 1, "i": self.leaves, "ts": ts + "Z", "actor_id": ACTOR[0], "actor_kind": ACTOR[1],
                "actor_role": ACTOR[2], "action": "view", "customer_id": customer_id, "order_id": None,
                "fields": MASKED, "channel": "api", "source_ip": None, "purpose": None, "ticket_id": None,
                "outcome": "ok", "reason": None,
            },
            option=orjson.OPT_SORT_KEYS,
        )  # fmt: skip
        leaf = hashlib.sha256(b"\x00" + canonical).digest()
        self.conn.execute(_INSERT_EVENT, (self.leaves, ts, *ACTOR, customer_id, _FIELDS, leaf))
        self.conn.commit()
        self.leaves += 1
        return orjson.dumps(out)
