"""The vault's hot read path as pre-written SQL, and the plain records it returns.

Reads go through ``db.Tx`` on the driver connection (see ``db.Statement`` for why); writes stay
on the ORM in ``service.py``. Every statement here is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from shopshield.core.db import Statement

SCOPE_COLUMN = {"courier_orders": "courier_id", "merchant_orders": "merchant_id"}
_CUSTOMER_COLUMNS = "customer_id, key_id, erased_at, name_ct, mobile_ct, email_ct, id_number_ct"


class CustomerRecord(NamedTuple):
    customer_id: str
    key_id: str
    erased_at: Any
    name_ct: bytes | None
    mobile_ct: bytes | None
    email_ct: bytes | None
    id_number_ct: bytes | None


class AddressRecord(NamedTuple):
    address_id: str
    recipient_ct: bytes | None
    phone_ct: bytes | None
    region_ct: bytes | None
    street_ct: bytes | None


class OrderRecord(NamedTuple):
    order_id: str
    customer_id: str
    merchant_id: str
    courier_id: str | None
    address_id: str | None
    placed_at: Any
    status: str
    currency: str
    item_count: int
    items_ct: bytes | None


class CustomerId(NamedTuple):
    customer_id: str


class ReturnRecord(NamedTuple):
    return_id: str
    kind: str
    requested_at: Any
    status: str
    reason_ct: bytes | None


CUSTOMER = Statement(f"SELECT {_CUSTOMER_COLUMNS} FROM customers WHERE customer_id = :customer_id", row=CustomerRecord)
# The erased have no blind indexes left, so only customers who are not erased are found.
CUSTOMER_BY_MOBILE = Statement(
    "SELECT customer_id FROM customers WHERE mobile_bidx = :digest ORDER BY customer_id LIMIT 1", row=CustomerId
)
ORDER = Statement(
    "SELECT order_id, customer_id, merchant_id, courier_id, address_id, placed_at, status, currency, "
    "item_count, items_ct FROM orders WHERE order_id = :order_id",
    row=OrderRecord,
)
CUSTOMER_ORDERS = Statement(
    "SELECT order_id, customer_id, merchant_id, courier_id, address_id, placed_at, status, currency, "
    "item_count, items_ct FROM orders WHERE customer_id = :customer_id ORDER BY placed_at, order_id",
    row=OrderRecord,
)
RETURNS = Statement(
    "SELECT return_id, kind, requested_at, status, reason_ct FROM return_requests "
    "WHERE order_id = :order_id ORDER BY requested_at, return_id",
    row=ReturnRecord,
)
ADDRESS = Statement(
    "SELECT address_id, recipient_ct, phone_ct, region_ct, street_ct FROM addresses WHERE address_id = :address_id",
    row=AddressRecord,
)

# Keyed by the role's scope: None for "all", or the orders column that links a courier or merchant.
# Only whether a row exists matters here, so its one column needs no name.
LINKED: dict[str, Statement[tuple[Any, ...]]] = {
    scope: Statement(f"SELECT 1 FROM orders WHERE customer_id = :customer_id AND {column} = :link LIMIT 1")
    for scope, column in SCOPE_COLUMN.items()
}
_ADDRESSES = (
    "SELECT address_id, recipient_ct, phone_ct, region_ct, street_ct FROM addresses "
    "WHERE customer_id = :customer_id{extra} ORDER BY address_id"
)
ADDRESSES: dict[str | None, Statement[AddressRecord]] = {
    None: Statement(_ADDRESSES.format(extra=""), row=AddressRecord)
} | {
    # A courier or merchant sees only the addresses its own orders ship to.
    scope: Statement(
        _ADDRESSES.format(
            extra=" AND address_id IN (SELECT address_id FROM orders "
            f"WHERE customer_id = :customer_id AND {column} = :link)"
        ),
        row=AddressRecord,
    )
    for scope, column in SCOPE_COLUMN.items()
}
_SEARCH = (
    "SELECT {columns} FROM customers WHERE {field}_bidx = :digest AND erased_at IS NULL{extra} "
    "ORDER BY customer_id LIMIT 50"
)
SEARCH: dict[tuple[str, str | None], Statement[CustomerRecord]] = {
    (field, scope): Statement(
        _SEARCH.format(
            columns=_CUSTOMER_COLUMNS,
            field=field,
            extra=""
            if column is None
            else " AND EXISTS (SELECT 1 FROM orders WHERE orders.customer_id = customers.customer_id "
            f"AND orders.{column} = :link)",
        ),
        row=CustomerRecord,
    )
    for field in ("mobile", "email", "id_number")
    for scope, column in [(None, None), *SCOPE_COLUMN.items()]
}
