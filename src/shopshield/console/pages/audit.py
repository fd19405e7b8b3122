"""Audit log: the latest signed checkpoint, an event's inclusion proof, consistency between two
sizes, each proof verified before it is shown."""

from __future__ import annotations

import base64
from typing import Any

from shopshield.audit import merkle
from shopshield.audit.models import SELECT_EVENTS, EventRecord
from shopshield.console.views import View, page
from shopshield.core.db import Statement, transaction
from shopshield.core.errors import InvalidInput, NotFound
from shopshield.core.permissions import Permission
from shopshield.core.times import iso

_EVENT = Statement(SELECT_EVENTS + " WHERE leaf_index = :i", row=EventRecord)


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _size(view: View, name: str) -> int | None:
    text = view.query(name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 19:
        raise InvalidInput(f"{name}: must be a whole number", field=name)
    return int(text)


@page("/audit", title="Audit log", template="audit.html", permission=Permission.AUDIT_READ, nav=True)
def audit_page(view: View) -> dict[str, Any]:
    ctx = view.ctx
    audit = ctx.audit
    leaf, first, second = _size(view, "leaf_index"), _size(view, "first"), _size(view, "second")
    values: dict[str, Any] = {
        "inclusion": None,
        "consistency": None,
        "leaf_index": leaf,
        "first": first,
        "second": second,
    }
    with transaction(ctx.engine, read_only=True) as tx:
        latest = audit.latest_checkpoint(tx)
        values["size"] = audit.size(tx)
        values["checkpoint"] = (
            None
            if latest is None
            else {
                "tree_size": latest.tree_size,
                "root_hash": _b64(latest.root_hash),
                "signed_at": iso(latest.signed_at),
                "note": latest.note,
                "origin": audit.signer.origin,
                "verifier_key": audit.signer.verifier_key,
            }
        )
        if leaf is not None:
            if latest is None:
                raise NotFound("no checkpoint has been signed yet")
            proof = audit.inclusion_proof(tx, leaf, latest.tree_size)
            row = tx.one(_EVENT, {"i": leaf})
            if row is None:
                raise NotFound("that event has been archived out of the database")
            leaf_hash = bytes(row.leaf_hash)
            merkle.verify_inclusion(leaf, latest.tree_size, leaf_hash, proof, latest.root_hash)
            values["inclusion"] = {
                "tree_size": latest.tree_size,
                "leaf_hash": _b64(leaf_hash),
                "proof": [_b64(h) for h in proof],
                "verified": True,
            }
        if first is not None or second is not None:
            if latest is None:
                raise NotFound("no checkpoint has been signed yet")
            size1 = first if first is not None else 1
            size2 = second if second is not None else latest.tree_size
            proof = audit.consistency_proof(tx, size1, size2)
            root1, root2 = audit.root(tx, size1), audit.root(tx, size2)
            merkle.verify_consistency(size1, size2, proof, root1, root2)
            values["consistency"] = {
                "first": size1,
                "second": size2,
                "root1": _b64(root1),
                "root2": _b64(root2),
                "proof": [_b64(h) for h in proof],
                "verified": True,
                "signed": [audit.checkpoint_at(tx, size1) is not None, audit.checkpoint_at(tx, size2) is not None],
            }
    return values
