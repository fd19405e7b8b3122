"""``shopshield keys``: master key status, online rotation, and purging erased keys from storage."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from shopshield.cliutil import acts_as, fail, open_container, opened_container, progress_bar, settings_from_env
from shopshield.core.callers import OPERATOR
from shopshield.keys.rotation import rotate

app = typer.Typer(help="Master key versions, rotation, and purging erased data keys from the key store.")
out = Console()
# Why no permission fits these commands: no route reaches the keys.
OPERATORS_ALONE = "the master key file and the key store are the operator's; no route reaches them"


@app.command("status")
@acts_as(OPERATOR, why=OPERATORS_ALONE)
def status() -> None:
    """Master key versions and how many data keys each still wraps."""
    with opened_container() as container:
        usage = container.data_keys.usage()
    table = Table("version", "state", "data keys")
    for entry in usage:
        table.add_row(str(entry.version), entry.state, str(entry.data_keys))
    out.print(table)


@app.command("rotate")
@acts_as(OPERATOR, why=OPERATORS_ALONE)
def rotate_command(
    grace: float = typer.Option(2.5, help="Seconds to wait before the final sweep, for running services"),
) -> None:
    """Create a new master key version, rewrap every data key under it while the service keeps
    serving, then drop retired versions that no data key uses any more."""
    container = open_container(settings_from_env())
    started = time.perf_counter()
    try:
        with progress_bar("rewrapping data keys") as bar:
            task = bar.add_task("rewrap", total=None)
            report = rotate(
                container.master,
                container.data_keys,
                grace_seconds=grace,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    finally:
        container.close()
    dropped = ", ".join(map(str, report.dropped_versions)) or "none"
    out.print(
        f"master key version {report.new_version} is active; rewrapped {report.rewrapped} data keys "
        f"in {time.perf_counter() - started:.1f}s; dropped versions: {dropped}"
    )


@app.command("purge")
@acts_as(OPERATOR, why=OPERATORS_ALONE)
def purge_command(
    compact: bool = typer.Option(
        False,
        "--compact",
        help="Also rewrite the whole key store (PostgreSQL: VACUUM FULL, which clears freed page space; "
        "SQLite: VACUUM). Blocks key reads while it runs.",
    ),
) -> None:
    """Remove erased data keys' bytes from the key store's storage; what an erase that answered
    key_destroyed: false left to do. Exit 1 with the reason if something still holds them."""
    with opened_container() as container:
        result = container.data_keys.purge(compact=compact)
        backend = container.keystore_engine.dialect.name
    if not result.complete:
        fail(f"key store purge incomplete: {result.reason}")
    if backend == "sqlite":
        done = "no deleted data key is left in the key store's files"
    elif compact:
        done = "no deleted data key is left in the key store's rows or pages"
    else:
        done = "no row version of a deleted data key is left; freed page space is cleared only by --compact"
    out.print(f"{'compacted' if compact else 'purged'} the key store in {result.seconds * 1000:.0f} ms: {done}")
