"""Planting canaries through the vault, handing them to their recipient, and recognising a contact
that reached one (reported directly, or found in a scam report).

Each function runs inside the caller's transaction: a planting stores all its decoys or none, and
a hit commits with the access event of the check that found it.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopshield.access.models import NO_MATCH, OK
from shopshield.canary.decoys import DecoyMaker, mobile_capacity
from shopshield.canary.models import CONTACT, SCAM_REPORT, CanaryHitRow, CanaryRow
from shopshield.canary.schemas import ContactIn, PlantIn
from shopshield.db import Statement, Tx
from shopshield.errors import InvalidInput, NotConfigured
from shopshield.keys.envelope import DecryptionError, blind_index, field_aad, open_sealed, seal
from shopshield.keys.service import DataKeyMissing
from shopshield.vault import service as vault_service
from shopshield.vault.models import CustomerRow
from shopshield.vault.service import Caller, Vault

log = logging.getLogger(__name__)

Json = dict[str, Any]

PLANT: Final = "canaries.plant"
READ: Final = "canaries.read"
REPORT_CONTACT: Final = "canaries.report_contact"
# The access event of a contact check: a lookup through the mobile blind index (or by id) that is
# recorded like a search, so an insider probing for canaries leaves a trail.
CHECK_REASON: Final = "canary check"
# Random draws before a block is called full: a block with a few free numbers left is as good as full.
MAX_DRAWS: Final = 50
EXPORT_COLUMNS: Final = (
    "customer_id",
    "name",
    "mobile",
    "email",
    "province",
    "city",
    "district",
    "street",
    "order_id",
    "placed_at",
    "items",
    "amount",
    "currency",
    "return_kind",
    "return_requested_at",
    "return_reason",
)
NOT_CONFIGURED: Final = (
    "SHOPSHIELD_CANARY_MOBILE_PREFIX is not set: set it to the first digits of a block of mobile numbers "
    "the store controls (for example 1700000), so that no decoy carries a stranger's number"
)

_RECIPIENT_CANARIES = Statement(
    "SELECT customer_id FROM canaries WHERE recipient = :recipient ORDER BY planted_at, customer_id"
)


# -- planting ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Planted:
    recipient: str
    kind: str
    planted_at: datetime
    customer_ids: list[str]

    def json(self) -> Json:
        return {
            "recipient": self.recipient,
            "kind": self.kind,
            "planted_at": _iso(self.planted_at),
            "customer_ids": self.customer_ids,
        }


def plant(
    *,
    vault: Vault,
    session: Session,
    caller: Caller,
    request: PlantIn,
    mobile_prefix: str | None,
    email_domain: str | None = None,
    rng: random.Random | None = None,
) -> Planted:
    """Store ``request.count`` new decoy customers through the vault and mark them as the
    recipient's canaries. The caller must hold ``canaries.plant`` (the views check it; the command
    line holds the database itself), and the vault's writes are recorded under the caller."""
    if mobile_prefix is None:
        raise NotConfigured(NOT_CONFIGURED)
    now = vault.clock()
    maker = DecoyMaker(
        mobile_prefix=mobile_prefix,
        email_domain=email_domain,
        id_prefix=request.id_prefix,
        merchant_id=request.merchant_id,
        courier_id=request.courier_id,
        now=now,
        tz=vault.tz,
        rng=rng,
    )
    planted: list[str] = []
    for _ in range(request.count):
        customer_id = _free_customer_id(session, maker)
        decoy = maker.make(customer_id, _free_mobile(vault, session, maker, mobile_prefix))
        vault_service.store_customer(
            vault=vault, session=session, caller=caller, customer=decoy.customer, permission=None
        )
        vault_service.store_order(vault=vault, session=session, caller=caller, order=decoy.order, permission=None)
        vault_service.add_return(
            vault=vault,
            session=session,
            caller=caller,
            order_id=decoy.order.order_id,
            request=decoy.return_request,
            permission=None,
        )
        session.add(
            CanaryRow(
                customer_id=customer_id,
                recipient=request.recipient,
                kind=request.kind,
                planted_at=now,
                planted_by=caller.principal.principal_id,
            )
        )
        session.flush()
        planted.append(customer_id)
    log.info("planted %d canaries for recipient %s", len(planted), request.recipient)
    return Planted(request.recipient, request.kind, now, planted)


def _free_customer_id(session: Session, maker: DecoyMaker) -> str:
    for _ in range(MAX_DRAWS):
        customer_id = maker.customer_id()
        if session.get(CustomerRow, customer_id) is None:
            return customer_id
    raise InvalidInput("id_prefix: no free customer id found; use another prefix", field="id_prefix")


def _free_mobile(vault: Vault, session: Session, maker: DecoyMaker, prefix: str) -> str:
    """A number of the block that no customer has, canary or not: a contact to it must name one
    recipient, and must never be mistaken for a real customer."""
    for _ in range(MAX_DRAWS):
        mobile = maker.mobile()
        digest = blind_index(vault.blind_index_key(), "mobile", mobile)
        if session.scalar(select(CustomerRow.customer_id).where(CustomerRow.mobile_bidx == digest)) is None:
            return mobile
    raise NotConfigured(
        f"SHOPSHIELD_CANARY_MOBILE_PREFIX: no free number found in {MAX_DRAWS} draws from a block of "
        f"{mobile_capacity(prefix):,}; use a larger block (a shorter prefix)"
    )


# -- reading -------------------------------------------------------------------------------------


def canaries(*, session: Session, recipient: str | None = None) -> list[CanaryRow]:
    """The canaries (of one recipient, or all), oldest first: who has which decoy, no values."""
    query = select(CanaryRow).order_by(CanaryRow.recipient, CanaryRow.planted_at, CanaryRow.customer_id)
    if recipient is not None:
        query = query.where(CanaryRow.recipient == recipient)
    return list(session.scalars(query))


def canary_json(row: CanaryRow) -> Json:
    return {
        "customer_id": row.customer_id,
        "recipient": row.recipient,
        "kind": row.kind,
        "planted_at": _iso(_utc(row.planted_at)),
        "planted_by": row.planted_by,
    }


def export_rows(*, vault: Vault, tx: Tx, caller: Caller, recipient: str) -> list[dict[str, str | None]]:
    """The recipient's canaries as rows of an export (``EXPORT_COLUMNS``), one per order, for the
    recipient's export job to append to what it sends.

    The rows carry the decoys' full values and nothing that marks them as canaries. Reading them is
    an access to personal data like any other (the decoys are indistinguishable from customers in
    the log too): one ``export`` event per canary, through ``vault.service.export_customer``.
    """
    rows: list[dict[str, str | None]] = []
    for (customer_id,) in tx.all(_RECIPIENT_CANARIES, {"recipient": recipient}):
        record = vault_service.export_customer(vault=vault, tx=tx, caller=caller, customer_id=customer_id)
        if record is not None:  # an erased canary has nothing left to hand out
            rows.extend(_export_rows(record, vault))
    return rows


def _export_rows(record: Json, vault: Vault) -> list[dict[str, str | None]]:
    address = record["addresses"][0] if record["addresses"] else {}
    person: dict[str, str | None] = {
        "customer_id": record["customer_id"],
        "name": record["name"],
        "mobile": record["mobile"],
        "email": record["email"],
        "province": address.get("province"),
        "city": address.get("city"),
        "district": address.get("district"),
        "street": address.get("street"),
    }
    empty = dict.fromkeys(EXPORT_COLUMNS[8:])
    rows = []
    for order in record["orders"] or [None]:
        if order is None:
            rows.append(person | empty)
            continue
        items = order["items"]
        returned = order["returns"][0] if order["returns"] else None
        amount = sum((Decimal(i["price"]) * int(i["quantity"]) for i in items), Decimal(0))
        rows.append(
            person
            | {
                "order_id": order["order_id"],
                "placed_at": _local(order["placed_at"], vault),
                "items": "; ".join(f"{i['title']} {i['model']} ×{i['quantity']}".replace("  ", " ") for i in items),
                "amount": f"{amount:.2f}",
                "currency": order["currency"],
                "return_kind": None if returned is None else returned["kind"],
                "return_requested_at": None if returned is None else _local(returned["requested_at"], vault),
                "return_reason": None if returned is None else returned["reason"],
            }
        )
    return rows


# -- contacts ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a contact reached a canary, and if so whose: the full answer, for security staff."""

    canary: CanaryRow | None
    hit_id: str | None = None

    def json(self) -> Json:
        if self.canary is None:
            return {"canary": False}
        return {
            "canary": True,
            "recipient": self.canary.recipient,
            "kind": self.canary.kind,
            "planted_at": _iso(_utc(self.canary.planted_at)),
            "customer_id": self.canary.customer_id,
            "hit_id": self.hit_id,
        }


def report_contact(*, vault: Vault, session: Session, caller: Caller, contact: ContactIn) -> Verdict:
    """Look the contacted number or customer up among the canaries; record a hit when it is one.

    The lookup by number goes through the mobile blind index and only among canaries, so a real
    customer's number resolves to nothing. Every check, hit or not, is an access event (a search
    by mobile, or by id), so probing for canaries shows in the log under the prober's name.
    """
    now = vault.clock()
    found = _find(vault, session, contact)
    fields = ("mobile",) if contact.mobile is not None else ()
    tx = Tx.of_session(session)
    if found is None:
        vault.audit.record(tx, caller.event("search", NO_MATCH, fields=fields, reason=CHECK_REASON), now=now)
        return Verdict(None)
    canary, key_id = found
    hit_id = str(uuid.uuid4())
    session.add(
        CanaryHitRow(
            hit_id=hit_id,
            customer_id=canary.customer_id,
            recipient=canary.recipient,
            source=CONTACT,
            report_id=None,
            contacted_at=None if contact.contacted_at is None else _utc(contact.contacted_at),
            channel=contact.channel,
            note_ct=None if contact.note is None else _seal_note(vault, key_id, hit_id, contact.note),
            recorded_at=now,
            recorded_by=caller.principal.principal_id,
        )
    )
    session.flush()
    vault.audit.record(
        tx,
        caller.event("search", OK, customer_id=canary.customer_id, fields=fields, reason=CHECK_REASON),
        now=now,
    )
    # A hit names a leak: it goes to the log at once, for whoever watches it (ids only).
    log.warning(
        "canary hit %s: a contact reached canary %s of recipient %s", hit_id, canary.customer_id, canary.recipient
    )
    return Verdict(canary, hit_id)


def _find(vault: Vault, session: Session, contact: ContactIn) -> tuple[CanaryRow, str] | None:
    query = select(CanaryRow, CustomerRow.key_id).join(CustomerRow, CustomerRow.customer_id == CanaryRow.customer_id)
    if contact.mobile is not None:
        digest = blind_index(vault.blind_index_key(), "mobile", contact.mobile)
        query = query.where(CustomerRow.mobile_bidx == digest)
    else:
        query = query.where(CanaryRow.customer_id == contact.customer_id)
    found = session.execute(query.limit(1)).first()
    return None if found is None else (found[0], found[1])


def _seal_note(vault: Vault, key_id: str, hit_id: str, note: str) -> bytes | None:
    aead = _key(vault, key_id)
    # An erased canary has no key left; its hit is still worth keeping, without the note.
    return None if aead is None else seal(aead, note.encode(), field_aad(f"canary_hit:{hit_id}", "note"))


def _open_note(vault: Vault, key_id: str, hit_id: str, sealed: bytes | None) -> str | None:
    aead = None if sealed is None else _key(vault, key_id)
    if aead is None or sealed is None:
        return None
    try:
        return open_sealed(aead, sealed, field_aad(f"canary_hit:{hit_id}", "note")).decode()
    except DecryptionError:
        log.error("the note of canary hit %s failed authentication", hit_id)
        return None


def _key(vault: Vault, key_id: str) -> AESGCM | None:
    try:
        return vault.keys.get(key_id)
    except DataKeyMissing:
        return None


# -- scam reports --------------------------------------------------------------------------------


class ReportLike(Protocol):
    @property
    def report_id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def contacted_at(self) -> datetime: ...
    @property
    def channel(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ReportHit:
    report_id: str
    customer_id: str
    recipient: str

    def json(self) -> Json:
        return {"report_id": self.report_id, "customer_id": self.customer_id, "recipient": self.recipient}


def hits_from_scam_reports(
    *, session: Session, reports: Sequence[ReportLike], recorded_by: str, now: datetime
) -> list[ReportHit]:
    """The hook ``scams.service.store`` calls with the reports it has just stored: a report about a
    canary is a contact that reached it, so it raises a hit like a reported contact."""
    wanted = {r.customer_id for r in reports}
    if not wanted:
        return []
    found = {
        row.customer_id: row for row in session.scalars(select(CanaryRow).where(CanaryRow.customer_id.in_(wanted)))
    }
    hits = []
    for report in reports:
        canary = found.get(report.customer_id)
        if canary is None:
            continue
        hit_id = str(uuid.uuid4())
        session.add(
            CanaryHitRow(
                hit_id=hit_id,
                customer_id=canary.customer_id,
                recipient=canary.recipient,
                source=SCAM_REPORT,
                report_id=report.report_id,
                contacted_at=_utc(report.contacted_at),
                channel=report.channel,
                note_ct=None,
                recorded_at=now,
                recorded_by=recorded_by,
            )
        )
        log.warning(
            "canary hit %s: scam report %s is about canary %s of recipient %s",
            hit_id,
            report.report_id,
            canary.customer_id,
            canary.recipient,
        )
        hits.append(ReportHit(report.report_id, canary.customer_id, canary.recipient))
    session.flush()
    return hits


def hits(*, vault: Vault, session: Session, recipient: str | None = None) -> list[Json]:
    """Every contact that reached a canary (of one recipient, or all), in the order recorded."""
    query = (
        select(CanaryHitRow, CustomerRow.key_id)
        .join(CustomerRow, CustomerRow.customer_id == CanaryHitRow.customer_id)
        .order_by(CanaryHitRow.recorded_at, CanaryHitRow.hit_id)
    )
    if recipient is not None:
        query = query.where(CanaryHitRow.recipient == recipient)
    return [
        {
            "hit_id": hit.hit_id,
            "recipient": hit.recipient,
            "customer_id": hit.customer_id,
            "source": hit.source,
            "report_id": hit.report_id,
            "contacted_at": None if hit.contacted_at is None else _iso(_utc(hit.contacted_at)),
            "channel": hit.channel,
            "note": _open_note(vault, key_id, hit.hit_id, hit.note_ct),
            "recorded_at": _iso(_utc(hit.recorded_at)),
            "recorded_by": hit.recorded_by,
        }
        for hit, key_id in session.execute(query)
    ]


# -- helpers -------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    # SQLite hands timestamps back naive (they are stored as UTC).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(text: str, vault: Vault) -> str:
    """An export's times in the store's zone with their offset, as the store's own exports write them."""
    return datetime.fromisoformat(text).astimezone(vault.tz).isoformat(timespec="seconds")
