"""Planting canaries through the vault, handing them to their recipient, and recognising a contact
that reached one (reported directly, or found in a scam report). A search that finds one is
``canary/watch.py``'s.

Each function runs inside the caller's transaction: a planting stores all its decoys or none, and
a hit commits with the access event of the check that found it.

To every role without ``canaries.read`` a canary must look like a customer (decision 0016): its
writes and export reads are recorded under the store's backend principal, as a customer's are, and
who really planted or exported it is recorded apart (``canaries.planted_by`` and an access event
of the analyst about no customer); a contact check costs the same database work whatever it finds.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, NamedTuple, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopshield.canary.decoys import DecoyMaker, mobile_capacity
from shopshield.canary.models import CONTACT, SCAM_REPORT, CanaryHitRow, CanaryRow
from shopshield.canary.schemas import ContactIn, PlantIn
from shopshield.core import ids, times
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Statement, Tx
from shopshield.core.errors import InvalidInput, NotConfigured
from shopshield.core.events import NO_MATCH, OK
from shopshield.core.permissions import Permission
from shopshield.core.policy import ADDRESS_FIELDS
from shopshield.keys.envelope import DecryptionError
from shopshield.vault import service as vault_service
from shopshield.vault.service import Vault

log = logging.getLogger(__name__)

Json = dict[str, Any]

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

# The store's backend writes customers over the API; an export job reads them over the export channel.
WRITE_CHANNEL: Final = "api"
EXPORT_CHANNEL: Final = "export"
# What a principal needs for a canary's writes and reads to be recorded under it: it writes customers
# and orders for real, and it sees in full every field an export row carries.
BACKEND_PERMISSIONS: Final = (Permission.CUSTOMERS_WRITE, Permission.ORDERS_WRITE)
EXPORT_FIELDS: Final = ("name", "mobile", "email", "region", "street", "items", "returns")
PLANT_ACTION: Final = "plant"
EXPORT_ACTION: Final = "export"
# HKDF's info for the key that seals hit notes: derived from the key file, so sealing a note needs
# no look-up that a canary's check would make and another number's would not.
_NOTE_KEY_INFO: Final = b"shopshield/canary-hit-notes/v1"


class _Planted(NamedTuple):
    customer_id: str


class _Active(NamedTuple):
    principal_id: str
    name: str
    role: str
    link_id: str | None


class _CanaryRow(NamedTuple):
    customer_id: str
    recipient: str
    kind: str
    planted_at: Any  # as the driver returns it: times.stored() reads either form


_RECIPIENT_CANARIES = Statement(
    "SELECT customer_id FROM canaries WHERE recipient = :recipient ORDER BY planted_at, customer_id", row=_Planted
)
_ACTIVE_PRINCIPALS = Statement(
    "SELECT principal_id, name, role, link_id FROM principals WHERE disabled_at IS NULL "
    "ORDER BY created_at, principal_id",
    row=_Active,
)
_CANARY_BY_ID = Statement(
    "SELECT customer_id, recipient, kind, planted_at FROM canaries WHERE customer_id = :customer_id",
    row=_CanaryRow,
)
_INSERT_CHECK = Statement(
    "INSERT INTO canary_hits (hit_id, customer_id, recipient, source, report_id, contacted_at, channel, note_ct, "
    "recorded_at, recorded_by) VALUES (:hit_id, :customer_id, :recipient, :source, NULL, :contacted_at, :channel, "
    ":note_ct, :recorded_at, :recorded_by)"
)


# -- the store's backend -------------------------------------------------------------------------


def store_backend(*, vault: Vault, tx: Tx, named: str | None) -> Principal:
    """The principal the store's backend writes customers as, under which a canary's writes and
    export reads are recorded: ``named`` (SHOPSHIELD_CANARY_BACKEND: a name or a principal id), or
    else the one active principal whose role could be the backend. Refuses rather than guess: a
    canary written by anyone else stands out in its access report."""
    rows = tx.all(_ACTIVE_PRINCIPALS, {})
    if named is not None:
        found = [row for row in rows if named in (row.principal_id, row.name)]
        if not found:
            raise NotConfigured(f"SHOPSHIELD_CANARY_BACKEND: no active principal is named {named!r}")
        chosen = found[0]
        problem = _backend_problem(vault, chosen.role)
        if problem is not None:
            raise NotConfigured(f"SHOPSHIELD_CANARY_BACKEND: the principal {named!r} {problem}")
    else:
        fits = [row for row in rows if _backend_problem(vault, row.role) is None]
        if len(fits) != 1:
            raise NotConfigured(
                f"SHOPSHIELD_CANARY_BACKEND is not set and {len(fits)} active principals could be the store's "
                "backend (a role that writes customers and orders and sees every field in full, like service): "
                "set it to the name of the principal the backend writes customers as"
            )
        chosen = fits[0]
    role = chosen.role
    return Principal(chosen.principal_id, chosen.name, role, vault.policies.role(role).actor_kind, chosen.link_id)


def _backend_problem(vault: Vault, role: str) -> str | None:
    policy = vault.policies.roles.get(role)
    if policy is None:
        return f"has the role {role!r}, which is not in the policy"
    missing = [p for p in BACKEND_PERMISSIONS if p not in policy.permissions]
    if missing:
        return f"has the role {role!r}, which lacks {', '.join(missing)}"
    masked = [f for f in EXPORT_FIELDS if not policy.shows_full(f)]
    if masked:
        return f"has the role {role!r}, which does not see {', '.join(masked)} in full"
    return None


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
            "planted_at": times.iso(self.planted_at),
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
    backend: str | None = None,
    rng: random.Random | None = None,
) -> Planted:
    """Store ``request.count`` new decoy customers through the vault and mark them as the
    recipient's canaries. The caller must hold ``canaries.plant`` (the views check it; the command
    line holds the database itself).

    The vault's writes are recorded as the store's backend's (``store_backend``, over the API), as
    a customer's are; the caller is named in ``canaries.planted_by`` and in one ``plant`` event
    about no customer, so no customer's access report shows it.
    """
    if mobile_prefix is None:
        raise NotConfigured(NOT_CONFIGURED)
    tx = Tx.of_session(session)
    writer = Caller(store_backend(vault=vault, tx=tx, named=backend), channel=WRITE_CHANNEL)
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
            vault=vault, session=session, caller=writer, customer=decoy.customer, permission=None
        )
        vault_service.store_order(vault=vault, session=session, caller=writer, order=decoy.order, permission=None)
        vault_service.add_return(
            vault=vault,
            session=session,
            caller=writer,
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
    written = ("name", "mobile", *(("email",) if email_domain else ()), *ADDRESS_FIELDS, "items", "returns")
    reason = f"planted {len(planted)} canaries for {request.recipient}"
    vault.audit.append(tx, caller.event(PLANT_ACTION, OK, fields=written, reason=reason), now=now)
    log.info("planted %d canaries for recipient %s", len(planted), request.recipient)
    return Planted(request.recipient, request.kind, now, planted)


def _free_customer_id(session: Session, maker: DecoyMaker) -> str:
    for _ in range(MAX_DRAWS):
        customer_id = maker.customer_id()
        if not vault_service.customer_exists(session=session, customer_id=customer_id):
            return customer_id
    raise InvalidInput("id_prefix: no free customer id found; use another prefix", field="id_prefix")


def _free_mobile(vault: Vault, session: Session, maker: DecoyMaker, prefix: str) -> str:
    """A number of the block that no customer has, canary or not: a contact to it must name one
    recipient, and must never be mistaken for a real customer."""
    for _ in range(MAX_DRAWS):
        mobile = maker.mobile()
        if not vault_service.mobile_in_use(vault=vault, session=session, mobile=mobile):
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
        "planted_at": times.iso(row.planted_at),
        "planted_by": row.planted_by,
    }


def export_rows(
    *, vault: Vault, tx: Tx, caller: Caller, recipient: str, backend: str | None = None
) -> list[dict[str, str | None]]:
    """The recipient's canaries as rows of an export (``EXPORT_COLUMNS``), one per order, for the
    recipient's export job to append to what it sends. An erased canary has nothing left to hand out.

    The rows carry the decoys' full values and nothing that marks them as canaries. Each canary is
    read as the store's export job reads a customer: the vault's own view of the customer and of
    each order, as the store's backend (``store_backend``) over the export channel, so its access
    report gains the events a customer in the same feed gains. Who asked is recorded apart: one
    ``export`` event of the caller about no customer, naming the recipient.
    """
    planted = [found.customer_id for found in tx.all(_RECIPIENT_CANARIES, {"recipient": recipient})]
    customer_ids = [c for c in planted if vault_service.is_live(tx=tx, customer_id=c)]
    if not customer_ids:
        return []
    reader = Caller(store_backend(vault=vault, tx=tx, named=backend), channel=EXPORT_CHANNEL)
    rows: list[dict[str, str | None]] = []
    for customer_id in customer_ids:
        person = vault_service.view_customer(vault=vault, tx=tx, caller=reader, customer_id=customer_id)
        orders = [
            vault_service.view_order(vault=vault, tx=tx, caller=reader, order_id=order_id)
            for order_id in vault_service.order_ids(tx=tx, customer_id=customer_id)
        ]
        rows.extend(_export_rows(person, orders, vault))
    reason = f"export rows of {len(customer_ids)} canaries for {recipient}"
    vault.audit.append(tx, caller.event(EXPORT_ACTION, OK, fields=EXPORT_FIELDS, reason=reason), now=vault.clock())
    return rows


def _export_rows(person: Json, orders: list[Json], vault: Vault) -> list[dict[str, str | None]]:
    addresses = person.get("addresses") or [{}]
    address = addresses[0]
    base: dict[str, str | None] = {
        "customer_id": person["customer_id"],
        "name": person.get("name"),
        "mobile": person.get("mobile"),
        "email": person.get("email"),
        "province": address.get("province"),
        "city": address.get("city"),
        "district": address.get("district"),
        "street": address.get("street"),
    }
    if not orders:
        return [base | dict.fromkeys(EXPORT_COLUMNS[8:])]
    rows = []
    for order in orders:
        items = order["items"]
        returned = order["returns"][0] if order["returns"] else None
        amount = sum((Decimal(i["price"]) * int(i["quantity"]) for i in items), Decimal(0))
        rows.append(
            base
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


class Canary(NamedTuple):
    """What a contact check tells security staff about the canary it reached."""

    customer_id: str
    recipient: str
    kind: str
    planted_at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a contact reached a canary, and if so whose: the full answer, for security staff."""

    canary: Canary | None
    hit_id: str | None = None

    def json(self) -> Json:
        if self.canary is None:
            return {"canary": False}
        return {
            "canary": True,
            "recipient": self.canary.recipient,
            "kind": self.canary.kind,
            "planted_at": times.iso(self.canary.planted_at),
            "customer_id": self.canary.customer_id,
            "hit_id": self.hit_id,
        }


def report_contact(*, vault: Vault, tx: Tx, caller: Caller, contact: ContactIn) -> Verdict:
    """Look the contacted number or customer up among the canaries; record a hit when it is one.

    A number is looked up through the vault's mobile blind index, and whoever it finds among the
    canaries, so a real customer's number resolves to no canary. Every check, hit or not, is an
    access event (a search by mobile, or by id), so probing for canaries shows in the log under the
    prober's name.

    A check does the same database work whatever it finds: the same look-ups, one row of
    ``canary_hits`` (without a canary when it reached none) and one access event, by the same
    statements; a note is sealed either way, under a key that needs no look-up, and kept only on a
    hit. A caller that times checks learns nothing (decision 0016). The server log hears of a hit
    from ``announce``, once the check is committed.
    """
    now = vault.clock()
    hit_id = ids.new_uuid()
    sealed = None if contact.note is None else _seal_note(vault, hit_id, contact.note)
    if contact.mobile is not None:
        # The vault's look-up first, then the canaries' by whatever it found (nobody, too): the
        # same two statements whether the number is a canary's, a customer's or nobody's.
        customer_id = vault_service.customer_with_mobile(vault=vault, tx=tx, mobile=contact.mobile)
    else:
        customer_id = contact.customer_id
    found = tx.one(_CANARY_BY_ID, {"customer_id": customer_id})
    canary = (
        None
        if found is None
        else Canary(found.customer_id, found.recipient, found.kind, times.stored(found.planted_at))
    )
    tx.execute(
        _INSERT_CHECK,
        {
            "hit_id": hit_id,
            "customer_id": None if canary is None else canary.customer_id,
            "recipient": None if canary is None else canary.recipient,
            "source": CONTACT,
            "contacted_at": None if contact.contacted_at is None else tx.timestamp(times.utc(contact.contacted_at)),
            "channel": contact.channel,
            # A note on a contact that reached no canary is about somebody else's number: not kept.
            "note_ct": None if canary is None else sealed,
            "recorded_at": tx.timestamp(now),
            "recorded_by": caller.principal.principal_id,
        },
    )
    fields = ("mobile",) if contact.mobile is not None else ()
    if canary is None:
        event = caller.event("search", NO_MATCH, fields=fields, reason=CHECK_REASON)
    else:
        event = caller.event("search", OK, customer_id=canary.customer_id, fields=fields, reason=CHECK_REASON)
    vault.audit.append(tx, event, now=now)
    return Verdict(canary, None if canary is None else hit_id)


def announce(verdict: Verdict) -> None:
    """A hit names a leak: it goes to the server log (ids only) for whoever watches it. Called once
    the check is committed; over HTTP, after the answer is sent, since a line written only for hits
    would make a canary's check take longer than another number's."""
    if verdict.canary is not None:
        log.warning(
            "canary hit %s: a contact reached canary %s of recipient %s",
            verdict.hit_id,
            verdict.canary.customer_id,
            verdict.canary.recipient,
        )


def _note_key(vault: Vault) -> AESGCM:
    secret = vault.blind_index_key()
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_NOTE_KEY_INFO).derive(secret))


def _seal_note(vault: Vault, hit_id: str, note: str) -> bytes:
    return vault_service.seal_field(_note_key(vault), f"canary_hit:{hit_id}", "note", note)


def _open_note(
    vault: Vault, session: Session, customer_id: str | None, hit_id: str, sealed: bytes | None
) -> str | None:
    if sealed is None:
        return None
    record = f"canary_hit:{hit_id}"
    try:
        return vault_service.open_field(_note_key(vault), record, "note", sealed)
    except DecryptionError:
        pass
    # Notes recorded before migration 0008 were sealed under the canary's own data key.
    legacy = (
        None if customer_id is None else vault_service.data_key(vault=vault, session=session, customer_id=customer_id)
    )
    if legacy is not None:
        try:
            return vault_service.open_field(legacy, record, "note", sealed)
        except DecryptionError:
            pass
    log.error("the note of canary hit %s failed authentication", hit_id)
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
        hit_id = ids.new_uuid()
        session.add(
            CanaryHitRow(
                hit_id=hit_id,
                customer_id=canary.customer_id,
                recipient=canary.recipient,
                source=SCAM_REPORT,
                report_id=report.report_id,
                contacted_at=times.utc(report.contacted_at),
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
    # Checks that reached no canary are kept without one, and are no hits.
    query = (
        select(CanaryHitRow)
        .where(CanaryHitRow.customer_id.is_not(None))
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
            "contacted_at": None if hit.contacted_at is None else times.iso(hit.contacted_at),
            "channel": hit.channel,
            "note": _open_note(vault, session, hit.customer_id, hit.hit_id, hit.note_ct),
            "recorded_at": times.iso(hit.recorded_at),
            "recorded_by": hit.recorded_by,
        }
        for hit in session.scalars(query)
    ]


# -- helpers -------------------------------------------------------------------------------------


def _local(text: str, vault: Vault) -> str:
    """An export's times in the store's zone with their offset, as the store's own exports write them."""
    return datetime.fromisoformat(text).astimezone(vault.tz).isoformat(timespec="seconds")
