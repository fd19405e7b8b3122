"""The vault's operations: store, view, reveal, search and erase customers; store and view orders.

Every function runs inside the caller's transaction (see ``db.unit_of_work``) and adds the access
event for what it reads to that same transaction, so no response carries personal data unless its
event commits with it. Checks come before writes, so a refusal writes only its own event.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any, NoReturn, Protocol, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopshield.access import service as access
from shopshield.alerts import service as alerts
from shopshield.alerts.models import SEARCH_LIMIT
from shopshield.audit.service import AuditLog
from shopshield.core import ids, times
from shopshield.core.callers import Caller, Principal
from shopshield.core.db import Tx
from shopshield.core.errors import (
    AccessDenied,
    Conflict,
    CustomerNotFound,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    StoredDataTampered,
)
from shopshield.core.events import DENIED, NO_MATCH, NOT_FOUND, OK, QUOTA_EXCEEDED
from shopshield.core.normalize import (
    InvalidIdentifier,
    normalize_email,
    normalize_id_number,
    normalize_mobile,
)
from shopshield.core.notices import NO_NOTICES, Notices, PreviousAddress
from shopshield.core.permissions import Permission, require
from shopshield.core.policy import ADDRESS_FIELDS, CUSTOMER_FIELDS, PolicySet, RolePolicy
from shopshield.keys.envelope import DecryptionError, blind_index, field_aad, open_sealed, seal
from shopshield.keys.service import DataKeyMissing, DataKeys
from shopshield.vault import masking, render
from shopshield.vault import queries as q
from shopshield.vault.models import AddressRow, CustomerRow, OrderRow, ReturnRequestRow
from shopshield.vault.schemas import ContactIn, CustomerIn, OrderIn, ReturnIn, RevealIn

log = logging.getLogger(__name__)

Json = dict[str, Any]
SEARCHABLE: dict[str, Callable[[str], str]] = {
    "mobile": normalize_mobile,
    "email": normalize_email,
    "id_number": normalize_id_number,
}
_REGION_SEP = "\x1f"
# The notify catalogue's codes for what the vault raises (``notify.catalogue.Event``; the vault
# cannot import notify, and the codes are a released contract).
DATA_REVEALED = "data.revealed"
CONTACT_CHANGED = "contact.changed"
RETURN_REQUESTED = "order.return_requested"
REFUND_ISSUED = "refund.issued"
REFUNDED = "refunded"


class TicketCheck(Protocol):
    """Why a ticket does not let ``principal`` reveal the customer's data, or None when it does:
    ``tickets.service.reveal_problem``. Tickets build on the vault's customers, so the vault
    asks through this rather than importing them."""

    def __call__(self, tx: Tx, *, ticket_id: str, principal: Principal, customer_id: str) -> str | None: ...


class SearchWatch(Protocol):
    """Told which customers each search found: ``canary.watch.CanaryWatch``, which writes a hit for
    every canary among them. The vault cannot tell a canary from a customer (decision 0016)."""

    def found(self, tx: Tx, *, customer_ids: Iterable[str], searcher: str, now: datetime) -> None: ...

    async def flush_after(self, engine: Engine) -> None: ...


@dataclass(frozen=True)
class Vault:
    """What the vault's operations need besides a session; built once in ``bootstrap``, which
    also chooses the ticket check and the search watch."""

    keys: DataKeys
    blind_index_key: Callable[[], bytes]
    policies: PolicySet
    tz: tzinfo
    audit: AuditLog
    ticket_problem: TicketCheck
    canary_watch: SearchWatch
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    alert_metrics: alerts.AlertMetrics = field(default_factory=alerts.AlertMetrics)
    # What tells the customer about a reveal, a contact change, a return or a refund, in the same
    # transaction: ``notify.service.enqueue`` as bootstrap wires it (decision 0028).
    notices: Notices = NO_NOTICES


# -- helpers --------------------------------------------------------------------------------------


def _refuse(
    vault: Vault,
    tx: Tx,
    caller: Caller,
    error: type[AccessDenied] | type[CustomerNotFound],
    message: str,
    *,
    action: str,
    outcome: str,
    **kw: Any,
) -> NoReturn:
    vault.audit.append(tx, caller.event(action, outcome, reason=message, **kw), now=vault.clock())
    raise error(message)


def _consume(vault: Vault, tx: Tx, caller: Caller, kind: str, limit: int, amount: int = 1, **event: Any) -> None:
    ok = access.consume_quota(
        tx,
        principal_id=caller.principal.principal_id,
        kind=kind,
        limit=limit,
        amount=amount,
        now=vault.clock(),
        tz=vault.tz,
    )
    if not ok:
        message = f"daily {kind} quota of {limit} is used up"
        vault.audit.append(
            tx,
            caller.event(event.pop("action"), QUOTA_EXCEEDED, reason=message, **event),
            now=vault.clock(),
        )
        raise QuotaExceeded(message, kind=kind, limit=limit)


def seal_field(aead: AESGCM, record: str, name: str, value: str) -> bytes:
    """``value`` sealed as the vault seals a field: AES-256-GCM with ``record|name`` as associated
    data, so it opens only as that field of that record (decision 0001)."""
    return seal(aead, value.encode(), field_aad(record, name))


def open_field(aead: AESGCM, record: str, name: str, sealed: bytes) -> str:
    """What ``seal_field`` sealed; ``DecryptionError`` when it fails authentication (another key,
    record or field, or altered)."""
    return open_sealed(aead, sealed, field_aad(record, name)).decode()


def _seal(aead: AESGCM, record: str, name: str, value: str | None) -> bytes | None:
    if value is None:
        return None
    return seal_field(aead, record, name, value)


def _open(aead: AESGCM, record: str, name: str, sealed: bytes | None) -> str | None:
    if sealed is None:
        return None
    try:
        return open_field(aead, record, name, sealed)
    except DecryptionError:
        log.error("ciphertext of %s field %s failed authentication", record, name)
        raise StoredDataTampered(f"stored {name} of {record} failed authentication") from None


def _bidx(vault: Vault, name: str, value: str | None) -> bytes | None:
    return None if value is None else blind_index(vault.blind_index_key(), name, value)


def _customer_record(customer_id: str) -> str:
    return f"customer:{customer_id}"


def _address_record(address_id: str) -> str:
    return f"address:{address_id}"


def _order_record(order_id: str) -> str:
    return f"order:{order_id}"


def _return_record(return_id: str) -> str:
    return f"return:{return_id}"


def order_ref(order_id: str) -> str | None:
    """How a message names an order: its last four letters or digits, the rule of
    ``notify.catalogue.order_tail`` (a test keeps the two the same). None for an id with fewer:
    there is no reference a customer could match, so no message is queued, and the write it came
    with still goes through (refusing a return over its order id's length would be worse)."""
    tail = "".join(ch for ch in order_id if ch.isascii() and ch.isalnum())[-4:]
    return tail if len(tail) == 4 else None


def _tell_about_order(
    vault: Vault, tx: Tx, *, customer_id: str, order_id: str, event: str, source: str, ref: str, now: datetime
) -> None:
    tail = order_ref(order_id)
    if tail is None:
        return
    vault.notices(
        tx,
        customer_id=customer_id,
        event=event,
        details={"order_ref": tail},
        source=source,
        source_ref=ref,
        occurred_at=now,
        now=now,
    )


def _aead_for(vault: Vault, row: CustomerRow | q.CustomerRecord) -> AESGCM:
    try:
        return vault.keys.get(row.key_id)
    except DataKeyMissing:
        # The key is gone but the row is not marked: an erasure was interrupted after shredding.
        raise NotFound("the customer has been erased") from None


# -- customers ------------------------------------------------------------------------------------


def store_customer(
    *,
    vault: Vault,
    session: Session,
    caller: Caller,
    customer: CustomerIn,
    permission: Permission | None = Permission.CUSTOMERS_WRITE,
) -> Json:
    """Encrypt and store a new customer with their addresses under a fresh data key.

    ``permission`` is what the caller's role must hold; None when the calling domain checked its
    own (planting canaries needs ``canaries.plant``, not ``customers.write``) or the caller is the
    command line, which holds the database and the keys itself.
    """
    if permission is not None:
        require(vault.policies, caller.principal, permission)
    if session.get(CustomerRow, customer.customer_id) is not None:
        raise Conflict("the customer already exists")
    ids = [a.address_id for a in customer.addresses]
    if len(set(ids)) != len(ids):
        raise InvalidInput("addresses: address_id values must be unique", field="addresses")
    if ids and session.scalar(select(AddressRow.address_id).where(AddressRow.address_id.in_(ids))):
        raise Conflict("addresses: an address_id is already in use")
    key_id, aead = vault.keys.create()
    try:
        record = _customer_record(customer.customer_id)
        session.add(
            CustomerRow(
                customer_id=customer.customer_id,
                key_id=key_id,
                created_at=vault.clock(),
                name_ct=_seal(aead, record, "name", customer.name),
                mobile_ct=_seal(aead, record, "mobile", customer.mobile),
                email_ct=_seal(aead, record, "email", customer.email),
                id_number_ct=_seal(aead, record, "id_number", customer.id_number),
                mobile_bidx=_bidx(vault, "mobile", customer.mobile),
                email_bidx=_bidx(vault, "email", customer.email),
                id_number_bidx=_bidx(vault, "id_number", customer.id_number),
            )
        )
        session.flush()
        for address in customer.addresses:
            session.add(_address_row(aead, customer.customer_id, address))
        session.flush()
        tx = Tx.of_session(session)
        vault.audit.append(
            tx,
            caller.event("write", OK, customer_id=customer.customer_id, fields=_present_fields(customer)),
            now=vault.clock(),
        )
        # Append now rather than at commit, so a log failure still discards the new data key.
        tx.flush_deferred()
    except IntegrityError:
        vault.keys.discard(key_id)
        raise Conflict("the customer or one of its addresses already exists") from None
    except BaseException:
        vault.keys.discard(key_id)
        raise
    return {"customer_id": customer.customer_id, "addresses": len(customer.addresses)}


def change_contact(
    *,
    vault: Vault,
    session: Session,
    caller: Caller,
    customer_id: str,
    change: ContactIn,
    permission: Permission | None = Permission.CUSTOMERS_WRITE,
) -> Json:
    """Change the customer's mobile, e-mail address or an address: sealed again under their key,
    their blind indexes computed again, recorded as a write, and the customer told of each kind
    that changed, masked (``contact.changed``), in the same transaction."""
    if permission is not None:
        require(vault.policies, caller.principal, permission)
    if change.mobile is None and change.email is None and change.address is None:
        raise InvalidInput("give at least one of mobile, email, address")
    row, aead = _customer_for_write(vault, session, customer_id)
    record = _customer_record(customer_id)
    changed: list[tuple[str, dict[str, object]]] = []
    fields: list[str] = []
    # The contacts a change replaces, still sealed: the message of the change goes there too.
    previous: dict[str, PreviousAddress] = {}
    for name, value, mask, channel in (
        ("mobile", change.mobile, masking.mask_mobile, "sms"),
        ("email", change.email, masking.mask_email, "email"),
    ):
        if value is None:
            continue
        new_bidx = _bidx(vault, name, value)
        old_ct = getattr(row, f"{name}_ct")
        if old_ct is not None and getattr(row, f"{name}_bidx") != new_bidx:
            previous[name] = PreviousAddress(channel, bytes(old_ct))
        setattr(row, f"{name}_ct", _seal(aead, record, name, value))
        setattr(row, f"{name}_bidx", new_bidx)
        changed.append((name, {name: mask(value)}))
        fields.append(name)
    if change.address is not None:
        address_id = change.address.address_id
        existing = session.get(AddressRow, address_id)
        if existing is not None and existing.customer_id != customer_id:
            raise Conflict("address: the address_id is already in use")
        fresh = _address_row(aead, customer_id, change.address)
        if existing is None:
            session.add(fresh)
        else:
            # In place: orders point at the address by id.
            existing.recipient_ct, existing.phone_ct = fresh.recipient_ct, fresh.phone_ct
            existing.region_ct, existing.street_ct = fresh.region_ct, fresh.street_ct
        changed.append(("address", {}))
        fields.extend(ADDRESS_FIELDS)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("the change clashes with a stored record") from None
    tx, now = Tx.of_session(session), vault.clock()
    vault.audit.append(tx, caller.event("write", OK, customer_id=customer_id, fields=tuple(fields)), now=now)
    # One message per kind of contact changed, so each says which one, on the customer's channels
    # (the contacts on file when the worker sends) and, for a mobile or e-mail, one more to the
    # contact it replaced: someone taking over the account changes it to their own, and only the
    # old one still reaches the customer.
    ref = ids.new_id("cc-")
    for kind, masked in changed:
        vault.notices(
            tx,
            customer_id=customer_id,
            event=CONTACT_CHANGED,
            details={"contact": kind, **masked},
            source="contact",
            source_ref=f"{ref}:{kind}",
            occurred_at=now,
            now=now,
            previous_address=previous.get(kind),
        )
    return {"customer_id": customer_id, "changed": [kind for kind, _ in changed]}


def _present_fields(customer: CustomerIn) -> tuple[str, ...]:
    present = [f for f in CUSTOMER_FIELDS if getattr(customer, f) is not None]
    if customer.addresses:
        present.extend(ADDRESS_FIELDS)
    return tuple(present)


def _address_row(aead: AESGCM, customer_id: str, address: Any) -> AddressRow:
    record = _address_record(address.address_id)
    region = _REGION_SEP.join((address.province, address.city, address.district))
    return AddressRow(
        address_id=address.address_id,
        customer_id=customer_id,
        recipient_ct=_seal(aead, record, "recipient", address.recipient),
        phone_ct=_seal(aead, record, "phone", address.phone),
        region_ct=_seal(aead, record, "region", region),
        street_ct=_seal(aead, record, "street", address.street),
    )


def _live_customer(vault: Vault, tx: Tx, caller: Caller, customer_id: str, action: str) -> q.CustomerRecord:
    """The customer's row, or a recorded refusal (``CustomerNotFound``) if missing or erased."""
    found = tx.one(q.CUSTOMER, {"customer_id": customer_id})
    if found is None or found.erased_at is not None:
        _refuse(
            vault,
            tx,
            caller,
            CustomerNotFound,
            "no such customer",
            action=action,
            outcome=NOT_FOUND,
            customer_id=customer_id,
        )
    return found


def _load_visible_customer(
    vault: Vault, tx: Tx, caller: Caller, policy: RolePolicy, customer_id: str, action: str
) -> q.CustomerRecord:
    """The customer, or a recorded refusal if missing, erased or out of the caller's scope."""
    found = _live_customer(vault, tx, caller, customer_id, action)
    linked = q.LINKED.get(policy.scope)
    if linked is not None and tx.one(linked, {"customer_id": customer_id, "link": caller.principal.link_id}) is None:
        _refuse(
            vault,
            tx,
            caller,
            AccessDenied,
            f"the customer has no order linked to this {caller.principal.role}",
            action=action,
            outcome=DENIED,
            customer_id=customer_id,
        )
    return found


def _addresses_for(tx: Tx, policy: RolePolicy, principal: Principal, customer_id: str) -> list[q.AddressRecord]:
    statement = q.ADDRESSES[policy.scope if policy.scope in q.SCOPE_COLUMN else None]
    return tx.all(statement, {"customer_id": customer_id, "link": principal.link_id})


def _render_customer(
    aead: AESGCM, policy: RolePolicy, row: q.CustomerRecord, addresses: Sequence[q.AddressRecord]
) -> tuple[Json, tuple[str, ...]]:
    plan = render.ViewPlan.of(policy)
    record = _customer_record(row.customer_id)
    out: Json = {"customer_id": row.customer_id}
    shown: list[str] = []
    for name, position, mask in plan.customer:
        value = _open(aead, record, name, cast("bytes | None", row[position]))
        if value is not None:
            out[name] = value if mask is None else mask(value)
            shown.append(name)
    if plan.address_fields:
        out["addresses"] = [_render_address(aead, policy, a) for a in addresses]
        if addresses:
            shown.extend(plan.address_fields)
    plan.add_access_summary(out, shown)
    return out, tuple(shown)


def _render_address(aead: AESGCM, policy: RolePolicy, address: q.AddressRecord) -> Json:
    plan = render.ViewPlan.of(policy)
    record = _address_record(address.address_id)
    out: Json = {"address_id": address.address_id}
    for name, position, mask in plan.address:
        value = _open(aead, record, name, cast("bytes | None", address[position]))
        if value is not None:
            out[name] = value if mask is None else mask(value)
    if plan.region:
        region = _open(aead, record, "region", address.region_ct)
        if region is not None:
            out["province"], out["city"], out["district"] = region.split(_REGION_SEP)
    return out


def _needs_addresses(policy: RolePolicy) -> bool:
    return bool(render.ViewPlan.of(policy).address_fields)


def view_customer(*, vault: Vault, tx: Tx, caller: Caller, customer_id: str) -> Json:
    """The customer as the caller's role may see them: masked unless the policy says full."""
    policy = vault.policies.role(caller.principal.role)
    row = _load_visible_customer(vault, tx, caller, policy, customer_id, "view")
    _consume(vault, tx, caller, "view", policy.views_per_day, action="view", customer_id=customer_id)
    aead = _aead_for(vault, row)
    addresses = _addresses_for(tx, policy, caller.principal, customer_id) if _needs_addresses(policy) else []
    out, shown = _render_customer(aead, policy, row, addresses)
    vault.audit.append(tx, caller.event("view", OK, customer_id=customer_id, fields=shown), now=vault.clock())
    return out


def reveal(*, vault: Vault, tx: Tx, caller: Caller, customer_id: str, request: RevealIn) -> Json:
    """Full values, only for a stated purpose on an open ticket assigned to the caller about this customer."""
    policy = vault.policies.role(caller.principal.role)
    if request.purpose not in vault.policies.purposes:
        raise InvalidInput(f"purpose: must be one of {', '.join(sorted(vault.policies.purposes))}", field="purpose")
    fields = tuple(dict.fromkeys(request.fields))
    event: Json = {
        "action": "reveal",
        "customer_id": customer_id,
        "fields": fields,
        "purpose": request.purpose,
        "ticket_id": request.ticket_id,
    }
    not_allowed = [f for f in fields if not policy.may_reveal(f)]
    if not_allowed:
        _refuse(
            vault,
            tx,
            caller,
            AccessDenied,
            f"role {caller.principal.role!r} may not reveal {', '.join(not_allowed)}",
            outcome=DENIED,
            **event,
        )
    row = _load_visible_customer(vault, tx, caller, policy, customer_id, "reveal")
    problem = vault.ticket_problem(tx, ticket_id=request.ticket_id, principal=caller.principal, customer_id=customer_id)
    if problem is not None:
        _refuse(vault, tx, caller, AccessDenied, problem, outcome=DENIED, **event)
    _consume(vault, tx, caller, "reveal", policy.reveals_per_day, **event)
    aead = _aead_for(vault, row)
    record = _customer_record(customer_id)
    out: Json = {"customer_id": customer_id, "purpose": request.purpose, "ticket_id": request.ticket_id}
    for name in fields:
        if name in CUSTOMER_FIELDS:
            out[name] = _open(aead, record, name, getattr(row, f"{name}_ct"))
    address_fields = [f for f in fields if f in ADDRESS_FIELDS]
    if address_fields:
        out["addresses"] = [
            {"address_id": a.address_id}
            | {f: _open(aead, _address_record(a.address_id), f, getattr(a, f"{f}_ct")) for f in address_fields}
            for a in _addresses_for(tx, policy, caller.principal, customer_id)
        ]
    now = vault.clock()
    vault.audit.append(tx, caller.event(outcome=OK, **event), now=now)
    # The customer learns the role and the purpose, never who: naming the agent would hand a
    # scammer a name to drop, and would point an angry customer at a person.
    vault.notices(
        tx,
        customer_id=customer_id,
        event=DATA_REVEALED,
        details={"role": caller.principal.role, "purpose": request.purpose, "fields": list(fields)},
        source="reveal",
        # Only needs to be unique: a random hex id is the cheapest (this is the hot path).
        source_ref=uuid.uuid4().hex,
        occurred_at=now,
        now=now,
        # One row for the event; the worker works out the channels and the digest (decision 0028).
        expand_later=True,
    )
    return out


def search(*, vault: Vault, tx: Tx, caller: Caller, by: str, value: str, purpose: str | None = None) -> list[Json]:
    """Equality search through a blind index; each customer found is a recorded access.

    Only roles that may reveal ``by``, or that the policy lets search by it for a stated
    ``purpose``, may search; every search counts against the role's search limits, and one that
    finds nobody against its much lower limits on misses (decision 0015).
    """
    if by not in SEARCHABLE:
        raise InvalidInput(f"search by one of {', '.join(SEARCHABLE)}", field=by)
    policy = vault.policies.role(caller.principal.role)
    try:
        normalized = SEARCHABLE[by](value)
    except InvalidIdentifier as exc:
        raise InvalidInput(str(exc), field=by) from None
    known = vault.policies.search_purposes
    if purpose is not None and purpose not in known:
        listed = ", ".join(sorted(known)) or "(none configured)"
        raise InvalidInput(f"purpose: must be one of {listed}", field="purpose")
    event: Json = {"action": "search", "fields": (by,), "purpose": purpose}
    if not policy.may_search(by):
        message = f"role {caller.principal.role!r} may not search by {by}"
        _refuse(vault, tx, caller, AccessDenied, message, outcome=DENIED, **event)
    required = policy.search_purposes(by)
    if required is not None and purpose not in required:
        raise InvalidInput(f"purpose: searching by {by} needs one of {', '.join(sorted(required))}", field="purpose")
    scope = policy.scope if policy.scope in q.SCOPE_COLUMN else None
    rows = tx.all(
        q.SEARCH[(by, scope)],
        {"digest": blind_index(vault.blind_index_key(), by, normalized), "link": caller.principal.link_id},
    )
    _count_search(vault, tx, caller, policy, found=len(rows), **event)
    if not rows:
        vault.audit.append(tx, caller.event(outcome=NO_MATCH, **event), now=vault.clock())
        return []
    results = []
    now = vault.clock()
    vault.canary_watch.found(
        tx, customer_ids=[r.customer_id for r in rows], searcher=caller.principal.principal_id, now=now
    )
    for row in rows:
        try:
            aead = vault.keys.get(row.key_id)
        except DataKeyMissing:
            continue
        addresses = _addresses_for(tx, policy, caller.principal, row.customer_id) if _needs_addresses(policy) else []
        out, shown = _render_customer(aead, policy, row, addresses)
        vault.audit.append(
            tx, caller.event("search", OK, customer_id=row.customer_id, fields=shown, purpose=purpose), now=now
        )
        results.append(out)
    return results


def _count_search(vault: Vault, tx: Tx, caller: Caller, policy: RolePolicy, *, found: int, **event: Any) -> None:
    """Count one search (and the customers it found as views) or refuse it with 429.

    The misses' counters must have one left even when this search found someone: once the misses
    are used up every search is refused, or the one try the limit still answered would be exactly
    the right number. Past a search limit the refusal raises an alert in the same transaction.
    """
    limits = policy.search
    if limits is None:  # may_search was checked; a policy without limits never gets here
        raise AssertionError("search without search limits")
    now = vault.clock()
    miss = 0 if found else 1
    checks = [
        (access.Counter(access.hourly("search", now, vault.tz), limits.per_hour), "searches_per_hour"),
        (access.Counter("search", limits.per_day), "searches_per_day"),
        (
            access.Counter(access.hourly("search_miss", now, vault.tz), limits.misses_per_hour, add=miss),
            "search_misses_per_hour",
        ),
        (access.Counter("search_miss", limits.misses_per_day, add=miss), "search_misses_per_day"),
    ]
    if found:
        checks.append((access.Counter("view", policy.views_per_day, add=found, need=found), "view"))
    over = access.consume_quotas(
        tx, principal_id=caller.principal.principal_id, counters=[c for c, _ in checks], now=now, tz=vault.tz
    )
    if over is None:
        return
    code = next(code for counter, code in checks if counter is over)
    limit = _LIMIT_WORDS[code].format(over.limit)
    message = f"{limit} is used up"
    vault.audit.append(tx, caller.event(outcome=QUOTA_EXCEEDED, reason=message, **event), now=now)
    if code != "view":
        principal, by = caller.principal, event["fields"][0]
        alert = alerts.Alert(
            kind=SEARCH_LIMIT,
            actor_id=principal.principal_id,
            actor_role=principal.role,
            reason=f"{principal.role} {principal.principal_id} passed the {limit} (searching by {by}); "
            "their searches are refused until the limit's hour or day is over",
            details={"limit": code, "limit_value": over.limit, "field": by, "purpose": event["purpose"]},
            dedup_key=alerts.hourly_key(SEARCH_LIMIT, principal.principal_id, now),
        )
        alerts.raise_alert(tx, alert, now=now, metrics=vault.alert_metrics)
    raise QuotaExceeded(message, kind=code, limit=over.limit)


_LIMIT_WORDS = {
    "searches_per_hour": "hourly limit of {} searches",
    "searches_per_day": "daily limit of {} searches",
    "search_misses_per_hour": "hourly limit of {} searches that find nobody",
    "search_misses_per_day": "daily limit of {} searches that find nobody",
    "view": "daily view quota of {}",
}


def erase(*, vault: Vault, session: Session, caller: Caller, customer_id: str) -> Json:
    """Crypto-shred a customer: destroy the data key, then drop the ciphertexts and indexes.

    The key goes first and for good: once it is gone, this customer's ciphertexts in the database
    and in every backup taken before are unreadable, even if the steps after it fail (a repeated
    erase finishes them). Orders keep their non-personal fields. The caller commits, then completes
    the answer with ``purge_erased_key``.
    """
    require(vault.policies, caller.principal, Permission.CUSTOMERS_ERASE)
    row = session.get(CustomerRow, customer_id)
    if row is None:
        raise NotFound("no such customer")
    vault.keys.shred(row.key_id)
    now = vault.clock()
    session.execute(
        update(CustomerRow)
        .where(CustomerRow.customer_id == customer_id)
        .values(
            erased_at=row.erased_at or now,
            name_ct=None,
            mobile_ct=None,
            email_ct=None,
            id_number_ct=None,
            mobile_bidx=None,
            email_bidx=None,
            id_number_bidx=None,
        )
    )
    session.execute(
        update(AddressRow)
        .where(AddressRow.customer_id == customer_id)
        .values(recipient_ct=None, phone_ct=None, region_ct=None, street_ct=None)
    )
    order_ids = select(OrderRow.order_id).where(OrderRow.customer_id == customer_id).scalar_subquery()
    session.execute(update(OrderRow).where(OrderRow.customer_id == customer_id).values(items_ct=None))
    session.execute(update(ReturnRequestRow).where(ReturnRequestRow.order_id.in_(order_ids)).values(reason_ct=None))
    vault.audit.append(Tx.of_session(session), caller.event("erase", OK, customer_id=customer_id), now=now)
    return {"customer_id": customer_id, "erased_at": (row.erased_at or now).isoformat()}


def purge_erased_key(*, vault: Vault, erased: Json) -> Json:
    """Complete an erasure whose transaction has committed: clear the deleted key's bytes from the
    key store's storage, and say whether that worked.

    It must come after the commit: on PostgreSQL the erase's own transaction, if it shares the key
    store's database, may keep the deleted row version alive. ``key_destroyed`` is true only when no
    copy of the key is left in the key store (no row; no row version on PostgreSQL; no page in the
    write-ahead log or free space on SQLite), also for an erase repeated after that; otherwise
    ``key_purge_pending`` says why, and a repeated erase or ``shopshield keys purge`` finishes it.
    """
    purge = vault.keys.purge()
    return {**erased, "key_destroyed": purge.complete, "key_purge_pending": purge.reason}


# -- orders ---------------------------------------------------------------------------------------


def _customer_for_write(vault: Vault, session: Session, customer_id: str) -> tuple[CustomerRow, AESGCM]:
    row = session.get(CustomerRow, customer_id)
    if row is None or row.erased_at is not None:
        raise NotFound("no such customer")
    return row, _aead_for(vault, row)


def store_order(
    *,
    vault: Vault,
    session: Session,
    caller: Caller,
    order: OrderIn,
    permission: Permission | None = Permission.ORDERS_WRITE,
) -> Json:
    """Store an order with its items sealed under the customer's key (``permission`` as in
    ``store_customer``)."""
    if permission is not None:
        require(vault.policies, caller.principal, permission)
    if session.get(OrderRow, order.order_id) is not None:
        raise Conflict("the order already exists")
    _row, aead = _customer_for_write(vault, session, order.customer_id)
    if order.address_id is not None:
        owner = session.scalar(select(AddressRow.customer_id).where(AddressRow.address_id == order.address_id))
        if owner != order.customer_id:
            raise InvalidInput("address_id: must be one of this customer's addresses", field="address_id")
    items = json.dumps(
        [{"title": i.title, "model": i.model, "price": str(i.price), "quantity": i.quantity} for i in order.items],
        ensure_ascii=False,
    )
    session.add(
        OrderRow(
            order_id=order.order_id,
            customer_id=order.customer_id,
            merchant_id=order.merchant_id,
            courier_id=order.courier_id,
            address_id=order.address_id,
            placed_at=times.utc(order.placed_at),
            status=order.status,
            currency=order.currency,
            item_count=sum(i.quantity for i in order.items),
            items_ct=_seal(aead, _order_record(order.order_id), "items", items),
        )
    )
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("the order already exists") from None
    vault.audit.append(
        Tx.of_session(session),
        caller.event("write", OK, customer_id=order.customer_id, order_id=order.order_id, fields=("items",)),
        now=vault.clock(),
    )
    return {"order_id": order.order_id, "customer_id": order.customer_id}


def add_return(
    *,
    vault: Vault,
    session: Session,
    caller: Caller,
    order_id: str,
    request: ReturnIn,
    permission: Permission | None = Permission.ORDERS_WRITE,
) -> Json:
    """Record a return or refund request on an order (``permission`` as in ``store_customer``)."""
    if permission is not None:
        require(vault.policies, caller.principal, permission)
    order = session.get(OrderRow, order_id)
    if order is None:
        raise NotFound("no such order")
    _row, aead = _customer_for_write(vault, session, order.customer_id)
    return_id = request.return_id or ids.new_id("rt-")
    if session.get(ReturnRequestRow, return_id) is not None:
        raise Conflict("the return request already exists")
    requested_at = times.utc(request.requested_at) if request.requested_at else vault.clock()
    session.add(
        ReturnRequestRow(
            return_id=return_id,
            order_id=order_id,
            kind=request.kind,
            requested_at=requested_at,
            status="requested",
            reason_ct=_seal(aead, _return_record(return_id), "reason", request.reason),
        )
    )
    session.flush()
    tx, now = Tx.of_session(session), vault.clock()
    vault.audit.append(
        tx,
        caller.event("write", OK, customer_id=order.customer_id, order_id=order_id, fields=("returns",)),
        now=now,
    )
    # The refund scam calls about a return the customer never made: the store's own message, sent
    # when one is really requested, is what makes the fake call stand out.
    _tell_about_order(
        vault,
        tx,
        customer_id=order.customer_id,
        order_id=order_id,
        event=RETURN_REQUESTED,
        source="return",
        ref=return_id,
        now=now,
    )
    return {
        "return_id": return_id,
        "order_id": order_id,
        "kind": request.kind,
        "requested_at": requested_at.isoformat(),
    }


def issue_refund(
    *,
    vault: Vault,
    session: Session,
    caller: Caller,
    return_id: str,
    permission: Permission | None = Permission.ORDERS_WRITE,
) -> Json:
    """Mark a return or refund request refunded (the store has paid the money back) and tell the
    customer. A request already refunded is a conflict: the customer is told once."""
    if permission is not None:
        require(vault.policies, caller.principal, permission)
    request = session.get(ReturnRequestRow, return_id)
    if request is None:
        raise NotFound("no such return request")
    order = session.get(OrderRow, request.order_id)
    if order is None:  # the foreign key makes this impossible; say so rather than guess
        raise AssertionError("a return request without its order")
    _customer_for_write(vault, session, order.customer_id)
    if request.status == REFUNDED:
        raise Conflict("the return request is already refunded")
    # Only a request still "requested" moves: two refunds at once cannot both pass.
    moved = session.execute(
        update(ReturnRequestRow)
        .where(ReturnRequestRow.return_id == return_id, ReturnRequestRow.status == request.status)
        .values(status=REFUNDED)
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 1) != 1:
        raise Conflict("the return request changed meanwhile; look at it again")
    tx, now = Tx.of_session(session), vault.clock()
    vault.audit.append(
        tx,
        caller.event("write", OK, customer_id=order.customer_id, order_id=order.order_id, fields=("returns",)),
        now=now,
    )
    _tell_about_order(
        vault,
        tx,
        customer_id=order.customer_id,
        order_id=order.order_id,
        event=REFUND_ISSUED,
        source="refund",
        ref=return_id,
        now=now,
    )
    return {"return_id": return_id, "order_id": order.order_id, "status": REFUNDED}


def view_order(*, vault: Vault, tx: Tx, caller: Caller, order_id: str) -> Json:
    """The order with its items, returns and shipping address as the caller's role may see them."""
    policy = vault.policies.role(caller.principal.role)
    order = tx.one(q.ORDER, {"order_id": order_id})
    if order is None:
        _refuse(
            vault,
            tx,
            caller,
            CustomerNotFound,
            "no such order",
            action="view",
            outcome=NOT_FOUND,
            order_id=order_id,
        )
    event: Json = {"action": "view", "customer_id": order.customer_id, "order_id": order_id}
    column = q.SCOPE_COLUMN.get(policy.scope)
    if column is not None and getattr(order, column) != caller.principal.link_id:
        _refuse(
            vault,
            tx,
            caller,
            AccessDenied,
            f"the order is not linked to this {caller.principal.role}",
            outcome=DENIED,
            **event,
        )
    _consume(vault, tx, caller, "view", policy.views_per_day, **event)
    out: Json = {
        "order_id": order.order_id,
        "customer_id": order.customer_id,
        "merchant_id": order.merchant_id,
        "courier_id": order.courier_id,
        "placed_at": times.stored(order.placed_at).isoformat(),
        "status": order.status,
        "currency": order.currency,
        "item_count": order.item_count,
    }
    shown: list[str] = []
    customer = tx.one(q.CUSTOMER, {"customer_id": order.customer_id})
    if customer is None or customer.erased_at is not None:
        out["customer_erased"] = True
    else:
        aead = _aead_for(vault, customer)
        if policy.visible("items") and order.items_ct is not None:
            items = json.loads(_open(aead, _order_record(order_id), "items", order.items_ct) or "[]")
            out["items"] = render.render_items(
                policy,
                [render.Item(i["title"], i["model"], Decimal(i["price"]), int(i["quantity"])) for i in items],
            )
            shown.append("items")
        if policy.visible("returns"):
            out["returns"] = render.render_returns(policy, _returns(tx, aead, order_id))
            shown.append("returns")
        if order.address_id is not None and _needs_addresses(policy):
            address = tx.one(q.ADDRESS, {"address_id": order.address_id})
            if address is not None:
                out["shipping_address"] = _render_address(aead, policy, address)
                shown.extend(f for f in ADDRESS_FIELDS if policy.visible(f))
    render.ViewPlan.of(policy).add_access_summary(out, shown)
    vault.audit.append(tx, caller.event(outcome=OK, fields=tuple(shown), **event), now=vault.clock())
    return out


def _returns(tx: Tx, aead: AESGCM, order_id: str) -> list[render.ReturnRequest]:
    rows = tx.all(q.RETURNS, {"order_id": order_id})
    return [
        render.ReturnRequest(
            r.return_id,
            r.kind,
            times.stored(r.requested_at).isoformat(),
            r.status,
            _open(aead, _return_record(r.return_id), "reason", r.reason_ct),
        )
        for r in rows
    ]


# -- what other domains ask of the vault ----------------------------------------------------------
# The canary plants its decoys through the operations above; these answer its other questions, so
# that it never reads the vault's tables, indexes or keys itself.


def customer_exists(*, session: Session, customer_id: str) -> bool:
    """Whether a customer, erased or not, has this id."""
    return session.get(CustomerRow, customer_id) is not None


def mobile_in_use(*, vault: Vault, session: Session, mobile: str) -> bool:
    """Whether a customer who is not erased has this (normalised) mobile, by its blind index."""
    digest = _bidx(vault, "mobile", mobile)
    return session.scalar(select(CustomerRow.customer_id).where(CustomerRow.mobile_bidx == digest)) is not None


def customer_with_mobile(*, vault: Vault, tx: Tx, mobile: str) -> str | None:
    """A customer who is not erased and has this (normalised) mobile, by its blind index: one
    look-up whatever it finds."""
    found = tx.one(q.CUSTOMER_BY_MOBILE, {"digest": _bidx(vault, "mobile", mobile)})
    return None if found is None else found.customer_id


def is_live(*, tx: Tx, customer_id: str) -> bool:
    """Whether the customer exists and is not erased."""
    found = tx.one(q.CUSTOMER, {"customer_id": customer_id})
    return found is not None and found.erased_at is None


def order_ids(*, tx: Tx, customer_id: str) -> list[str]:
    """The customer's orders, in the order they were placed."""
    return [row.order_id for row in tx.all(q.CUSTOMER_ORDERS, {"customer_id": customer_id})]


def data_key(*, vault: Vault, session: Session, customer_id: str) -> AESGCM | None:
    """The customer's data key; None when there is no such customer or its key is shredded."""
    row = session.get(CustomerRow, customer_id)
    if row is None:
        return None
    try:
        return vault.keys.get(row.key_id)
    except DataKeyMissing:
        return None


def values_for_check(
    *, vault: Vault, tx: Tx, caller: Caller, customer_id: str, action: str
) -> tuple[AESGCM, list[str]]:
    """The customer's data key and their own name, mobile, e-mail and ID number in the clear, for a
    check that never shows them (notify: an anti-phishing code must not be built from them).

    The read is recorded as ``action`` with the fields it opened, like every read of personal data;
    a missing or erased customer is a recorded refusal (``CustomerNotFound``).
    """
    found = _live_customer(vault, tx, caller, customer_id, action)
    aead = _aead_for(vault, found)
    record = _customer_record(customer_id)
    opened = {
        name: _open(aead, record, name, sealed)
        for name, sealed in (
            ("name", found.name_ct),
            ("mobile", found.mobile_ct),
            ("email", found.email_ct),
            ("id_number", found.id_number_ct),
        )
    }
    values = {name: value for name, value in opened.items() if value is not None}
    vault.audit.append(tx, caller.event(action, OK, customer_id=customer_id, fields=tuple(values)), now=vault.clock())
    return aead, list(values.values())
