"""What an access reveals, in the vocabulary of scam reports' ``knew`` column.

A scammer who knew a victim's price could not have learnt it from an access that showed only a
name and an address (a courier's label). Attribution counts an access towards a victim only when
what it revealed covers what the scammer knew and the store holds; the simulator derives what its
scammers knew from the same table, so both sides speak the same vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# The ``knew`` items of the shared "Scam reports" format that the store's records hold, and the
# access-event field names (the shared format's and the vault's own) that reveal each of them.
REVEALED_BY: Final[dict[str, frozenset[str]]] = {
    "name": frozenset({"name", "recipient"}),
    "mobile": frozenset({"mobile", "phone"}),
    "address": frozenset({"address", "street", "region", "province", "city", "district"}),
    "id_number": frozenset({"id_number"}),
    "order_id": frozenset({"order_id", "items", "returns"}),
    "items": frozenset({"items", "title", "model"}),
    "price": frozenset({"price", "items"}),
    "purchase_time": frozenset({"purchase_time", "placed_at", "items"}),
    "return_request": frozenset({"returns", "return_request", "return_reason"}),
}
# An access to one order (``order_id`` set) shows which order it is and when it was placed.
REVEALED_BY_ORDER_ACCESS: Final = frozenset({"order_id", "purchase_time"})
STORE_HELD: Final = frozenset(REVEALED_BY)


def parse_items(text: str | None) -> frozenset[str]:
    """``|``-separated items or field names, trimmed and lower-cased; empty or None is none."""
    if not text:
        return frozenset()
    return frozenset(part.strip().lower() for part in text.split("|") if part.strip())


def revealed(fields: Iterable[str], *, order_access: bool) -> frozenset[str]:
    """The ``knew`` items that an access with these fields (on one order, or not) reveals."""
    shown = frozenset(f.lower() for f in fields)
    found = {item for item, names in REVEALED_BY.items() if shown & names}
    if order_access:
        found |= REVEALED_BY_ORDER_ACCESS
    return frozenset(found)


def explains(knew: Iterable[str], shown: frozenset[str]) -> bool:
    """Whether accesses that revealed ``shown`` account for everything the scammer knew that the
    store holds (items the store never had, such as a bank card, are left out)."""
    return (frozenset(knew) & STORE_HELD) <= shown
