"""``shopshield audit``: verify the log, prove inclusion and consistency, sign a checkpoint now,
print the checkpoint key, archive old events."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import typer
from rich.console import Console

from shopshield.audit import merkle
from shopshield.audit.archive import archive_before
from shopshield.audit.service import EMPTY_TREE_HAS_NO_PROOF, MAX_SIZE, StoredNodes
from shopshield.audit.signing import CheckpointError, Verifier
from shopshield.audit.verify import verify_log
from shopshield.audit.witness import WitnessMissing
from shopshield.bootstrap import Container
from shopshield.cliutil import (
    acts_as,
    fail,
    open_container,
    opened_container,
    parse_moment,
    progress_bar,
    settings_from_env,
)
from shopshield.core.callers import OPERATOR
from shopshield.core.db import Tx, transaction
from shopshield.core.permissions import Permission

app = typer.Typer(help="The tamper-evident access log: verify, prove, checkpoint, archive.", no_args_is_help=True)
prove_app = typer.Typer(help="Merkle proofs against signed checkpoints (RFC 9162).", no_args_is_help=True)
app.add_typer(prove_app, name="prove")
out = Console()


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _print_json(document: object) -> None:
    out.print_json(orjson.dumps(document).decode())


@app.command()
@acts_as(OPERATOR, Permission.AUDIT_READ)
def verify(
    archive_dir: Path | None = typer.Option(None, help="Directory holding archived Parquet files, to check them too"),
    verifier_key: str | None = typer.Option(
        None,
        help="Check signatures with this verifier key (`audit key` prints it) instead of the configured "
        "signing key file: an auditor's copy needs no private key",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    no_witness: bool = typer.Option(
        False,
        "--no-witness",
        help="Verify without the witness file (a database restored from an older copy then goes unnoticed)",
    ),
) -> None:
    """Recompute the tree from the stored events and check it against every signed checkpoint,
    the stored nodes and the witness. Exit 0 when intact, 1 naming the first bad event or when the
    witness file is missing (unless --no-witness)."""
    if archive_dir is not None and not archive_dir.is_dir():
        fail(f"--archive-dir: {archive_dir} is not a directory", code=2)
    try:
        given = Verifier.parse(verifier_key) if verifier_key is not None else None
    except CheckpointError as exc:
        # The parser speaks of "verifier key"; the option it came from is what the operator typed.
        fail(f"--verifier-key: {exc}", code=2)
    container = open_container(settings_from_env())
    try:
        witness = None if no_witness else container.witness
        if witness is not None and not witness.path.exists():
            raise WitnessMissing(witness.path)  # before the progress bar: this one line is the answer
        with transaction(container.engine, read_only=True) as tx:
            total = container.audit.size(tx)
            with progress_bar("verifying the access log") as bar:
                task = bar.add_task("verify", total=total)
                report = verify_log(
                    tx,
                    verifier=given or container.audit.signer.verifier,
                    witness=witness,
                    archive_dir=archive_dir,
                    progress=lambda n: bar.advance(task, n),
                )
    except WitnessMissing as exc:
        # A failure, not a note: deleting the witness is how a rolled-back database would hide.
        fail(
            f"{exc} (SHOPSHIELD_AUDIT_WITNESS_FILE): the checkpoints it should hold cannot be checked; "
            "point the setting at the witness's copy, or pass --no-witness to verify without it",
            code=1,
        )
    finally:
        container.close()
    if as_json:
        _print_json(
            {
                "ok": report.ok,
                "tree_size": report.tree_size,
                "events_checked": report.events_checked,
                "checkpoints_checked": report.checkpoints_checked,
                "witness_checked": not no_witness,
                "witnessed_checked": report.witnessed_checked,
                "archived_leaves": report.archived_leaves,
                "first_bad_leaf": report.first_bad_leaf,
                "problems": [{"leaf": p.leaf, "message": p.message} for p in report.problems],
                "notes": report.notes,
            }
        )
    else:
        for note in report.notes:
            out.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        if report.ok:
            stored = report.checkpoints_checked
            if no_witness:
                summary = f"{stored} stored checkpoints match; the witness was not checked"
            else:
                summary = f"{stored} stored and {report.witnessed_checked} witnessed checkpoints match"
            out.print(f"intact: {report.tree_size} events, {summary}", highlight=False)
        else:
            first = report.first_bad_leaf
            where = f" (first bad event: leaf {first})" if first is not None else ""
            out.print(f"[red]TAMPERED[/red]{where}", highlight=False)
            for problem in report.problems:
                out.print(f"- {problem.message}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@prove_app.command("inclusion")
@acts_as(OPERATOR, why="sizes and hashes only: the proof routes answer any principal")
def prove_inclusion(
    leaf_index: int = typer.Option(..., "--leaf-index", help="Position of the event in the log"),
    tree_size: int | None = typer.Option(None, help="Tree size to prove against (default: latest checkpoint)"),
) -> None:
    """Print an inclusion proof, checked against the signed checkpoint before it is printed."""
    _within("--leaf-index", leaf_index, 0)
    if tree_size is not None:
        _within("--tree-size", tree_size, 1)
    with opened_container() as container, transaction(container.engine, read_only=True) as tx:
        size, root, note = _checkpoint(container, tx, tree_size)
        if leaf_index >= size:
            fail("--leaf-index must be smaller than the tree size", code=2)
        proof = container.audit.inclusion_proof(tx, leaf_index, size)
        leaf = merkle_leaf(tx, leaf_index)
    merkle.verify_inclusion(leaf_index, size, leaf, proof, root)
    _print_json(
        {
            "leaf_index": leaf_index,
            "tree_size": size,
            "leaf_hash": _b64(leaf),
            "root_hash": _b64(root),
            "proof": [_b64(h) for h in proof],
            "checkpoint": note,
        }
    )


@prove_app.command("consistency")
@acts_as(OPERATOR, why="sizes and hashes only: the proof routes answer any principal")
def prove_consistency(
    first: int = typer.Option(..., help="The smaller tree size, at least 1"),
    second: int | None = typer.Option(None, help="The larger tree size (default: latest checkpoint)"),
) -> None:
    """Print a consistency proof between two tree sizes, checked before it is printed. A proof
    starts from a tree of at least one event: RFC 9162 defines none from the empty tree."""
    if first == 0:
        fail(f"--{EMPTY_TREE_HAS_NO_PROOF}", code=2)
    _within("--first", first, 1)
    if second is not None:
        _within("--second", second, 1)
    with opened_container() as container, transaction(container.engine, read_only=True) as tx:
        size2, root2, note2 = _checkpoint(container, tx, second)
        if first > size2:
            fail("--first must not be larger than --second", code=2)
        proof = container.audit.consistency_proof(tx, first, size2)
        root1 = container.audit.root(tx, first)
        stored1 = container.audit.checkpoint_at(tx, first)
    merkle.verify_consistency(first, size2, proof, root1, root2)
    _print_json(
        {
            "first": first,
            "second": size2,
            "first_root": _b64(root1),
            "second_root": _b64(root2),
            "proof": [_b64(h) for h in proof],
            "checkpoints": [stored1.note if stored1 else None, note2],
        }
    )


@app.command()
@acts_as(OPERATOR, why="signs with the checkpoint key, which only the instance holds")
def checkpoint() -> None:
    """Sign a checkpoint of the current tree now and hand it to the witness."""
    with opened_container() as container:
        made = container.checkpointer().tick()
        if made is None:
            with transaction(container.engine, read_only=True) as tx:
                latest = container.audit.latest_checkpoint(tx)
            if latest is None:
                fail("the log is empty: nothing to sign yet", code=1)
            out.print(f"no new events since the checkpoint of {latest.tree_size} events", highlight=False)
            out.print(latest.note, end="", highlight=False)
            return
        out.print(made.note, end="", highlight=False)


@app.command()
@acts_as(OPERATOR, why="the public verifier key, read from the signing key file")
def key() -> None:
    """Print the verifier key of the checkpoint signer (for witnesses and auditors)."""
    with opened_container() as container:
        out.print(container.audit.signer.verifier_key, highlight=False)


@app.command()
@acts_as(OPERATOR, why="moves events out of the database: no route may shorten the log")
def archive(
    before: str = typer.Option(..., help="Archive events logged before this ISO 8601 date/time"),
    out_dir: Path = typer.Option(..., "--out", help="Directory for the Parquet file"),
) -> None:
    """Move the oldest events (older than the retention period) to Parquet, keeping the log verifiable."""
    moment = parse_moment(before, "--before")
    assert moment is not None
    settings = settings_from_env()
    container = open_container(settings)
    try:
        with progress_bar("archiving access events") as bar:
            task = bar.add_task("archive", total=None)
            done = archive_before(
                container.engine,
                out_dir,
                before=moment,
                retention_days=settings.audit_retention_days,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        container.close()
    if done is None:
        out.print("nothing to archive: no events old enough", highlight=False)
        return
    out.print(
        f"archived leaves {done.first_leaf}..{done.end_leaf - 1} to {done.path} (sha256 {done.sha256.hex()})",
        highlight=False,
    )


def _within(option: str, value: int, least: int) -> None:
    """Sizes and indexes as the HTTP API bounds them: anything beyond is no log's, and would not
    fit the database's integer columns."""
    if not least <= value <= MAX_SIZE:
        fail(f"{option}: must be between {least} and {MAX_SIZE}", code=2)


def _checkpoint(container: Container, tx: Tx, size: int | None) -> tuple[int, bytes, str | None]:
    """Size, root and note of the checkpoint to prove against (the root is computed for a size
    that was never checkpointed, and then there is no note)."""
    if size is None:
        latest = container.audit.latest_checkpoint(tx)
        if latest is None:
            fail("no checkpoint has been signed yet: run `shopshield audit checkpoint`", code=1)
        return latest.tree_size, latest.root_hash, latest.note
    stored = container.audit.checkpoint_at(tx, size)
    if stored is not None:
        return size, stored.root_hash, stored.note
    return size, container.audit.root(tx, size), None


def merkle_leaf(tx: Tx, leaf_index: int) -> bytes:
    return StoredNodes(tx).get(0, leaf_index)
