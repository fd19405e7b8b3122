"""``shopshield keys``: master key status and online rotation."""

from __future__ import annotations

import time

import typer
from rich.console import Console
from rich.table import Table

from shopshield.cliutil import open_container, progress_bar, settings_from_env
from shopshield.keys.rotation import rotate

app = typer.Typer(help="Master key versions and rotation.")
out = Console()


@app.command("status")
def status() -> None:
    """Master key versions and how many data keys each still wraps."""
    container = open_container(settings_from_env())
    try:
        usage = container.data_keys.usage()
    finally:
        container.close()
    table = Table("version", "state", "data keys")
    for entry in usage:
        table.add_row(str(entry.version), entry.state, str(entry.data_keys))
    out.print(table)


@app.command("rotate")
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
