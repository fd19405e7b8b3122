"""HTTP routes of the audit log: the latest signed checkpoint and Merkle proofs.

Hashes are base64 (standard alphabet), as in the checkpoint notes. Any authenticated caller may
read checkpoints and proofs, which carry sizes and hashes only; the event behind a leaf comes
with an inclusion proof only for roles with ``audit.read``.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query

from shopshield.audit.canonical import canonical_bytes
from shopshield.audit.models import SELECT_EVENTS, EventRecord
from shopshield.audit.service import MAX_SIZE, AuditLog, StoredCheckpoint
from shopshield.audit.verify import event_from_row
from shopshield.core.db import Statement, Tx, transaction
from shopshield.core.errors import NotFound
from shopshield.core.permissions import Permission, allowed, any_principal
from shopshield.web import JSON, CallDep, needs

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Size = Annotated[int | None, Query(ge=0, le=MAX_SIZE, description="A tree size; default: the latest checkpoint's")]
# Checkpoints and proofs carry sizes and hashes only.
ANYONE = any_principal(why=f"sizes and hashes only; the event behind a leaf only for {Permission.AUDIT_READ}")
_EVENT = Statement(SELECT_EVENTS + " WHERE leaf_index = :i", row=EventRecord)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def checkpoint_json(checkpoint: StoredCheckpoint, audit: AuditLog) -> dict[str, Any]:
    return {
        "origin": audit.signer.origin,
        "tree_size": checkpoint.tree_size,
        "root_hash": b64(checkpoint.root_hash),
        "signed_at": checkpoint.signed_at.isoformat(),
        "note": checkpoint.note,
        "verifier_key": audit.signer.verifier_key,
    }


def _latest(tx: Tx, audit: AuditLog) -> StoredCheckpoint:
    latest = audit.latest_checkpoint(tx)
    if latest is None:
        raise NotFound("no checkpoint has been signed yet")
    return latest


@router.get("/checkpoints/latest", summary="The latest signed checkpoint: tree size, root hash, time, signature")
@needs(ANYONE)
def latest_checkpoint(call: CallDep) -> JSON:
    with transaction(call.ctx.engine, read_only=True) as tx:
        return JSON(checkpoint_json(_latest(tx, call.ctx.audit), call.ctx.audit))


@router.get("/proofs/inclusion", summary="Proof that the event at a leaf index is in the tree of a given size")
@needs(ANYONE)
def inclusion_proof(
    call: CallDep,
    leaf_index: Annotated[int, Query(ge=0, le=MAX_SIZE)],
    tree_size: Size = None,
) -> JSON:
    audit = call.ctx.audit
    with transaction(call.ctx.engine, read_only=True) as tx:
        size = _latest(tx, audit).tree_size if tree_size is None else tree_size
        proof = audit.inclusion_proof(tx, leaf_index, size)
        row = tx.one(_EVENT, {"i": leaf_index})
        checkpoint = audit.checkpoint_at(tx, size)
    if row is None:
        raise NotFound("that event has been archived out of the database")
    body: dict[str, Any] = {
        "leaf_index": leaf_index,
        "tree_size": size,
        "leaf_hash": b64(bytes(row.leaf_hash)),
        "proof": [b64(h) for h in proof],
        "checkpoint": checkpoint_json(checkpoint, audit) if checkpoint else None,
    }
    if allowed(call.ctx.policies, call.who, Permission.AUDIT_READ):
        index, ts, event = event_from_row(row)
        body["event"] = orjson.loads(canonical_bytes(index, ts, event))
    return JSON(body)


@router.get("/proofs/consistency", summary="Proof that the tree of one size is a prefix of the tree of another")
@needs(ANYONE)
def consistency_proof(
    call: CallDep,
    first: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_SIZE,
            description="The smaller tree size, at least 1: RFC 9162 defines no proof from the empty tree",
        ),
    ],
    second: Size = None,
) -> JSON:
    audit = call.ctx.audit
    with transaction(call.ctx.engine, read_only=True) as tx:
        size = _latest(tx, audit).tree_size if second is None else second
        proof = audit.consistency_proof(tx, first, size)
        checkpoints = [audit.checkpoint_at(tx, first), audit.checkpoint_at(tx, size)]
    return JSON(
        {
            "first": first,
            "second": size,
            "proof": [b64(h) for h in proof],
            "checkpoints": [checkpoint_json(c, audit) if c else None for c in checkpoints],
        }
    )
