"""``shopshield export accesses``: access events to Parquet in the shared format."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from shopshield.access.export import count, export_parquet
from shopshield.cliutil import fail, open_container, parse_moment, progress_bar, settings_from_env

app = typer.Typer(help="Export records in the shared formats.")
out = Console()


@app.command("accesses")
def accesses(
    out_file: Path = typer.Option(..., "--out", help="Parquet file to write"),
    since: str | None = typer.Option(None, help="Only events at or after this ISO 8601 date/time"),
    until: str | None = typer.Option(None, help="Only events before this ISO 8601 date/time"),
) -> None:
    """Write access events in the shared "Access events" format to a Parquet file."""
    if out_file.suffix != ".parquet":
        fail("--out: the file name must end in .parquet", code=2)
    if not out_file.parent.exists():
        fail(f"--out: directory {out_file.parent} does not exist", code=2)
    start, end = parse_moment(since, "--since"), parse_moment(until, "--until")
    if start and end and start >= end:
        fail("--since must be before --until", code=2)
    container = open_container(settings_from_env())
    try:
        with container.sessions() as session:
            total = count(session, start, end)
        with progress_bar("exporting access events") as bar:
            task = bar.add_task("export", total=total)
            written = export_parquet(
                container.sessions, out_file, since=start, until=end, progress=lambda n: bar.advance(task, n)
            )
    finally:
        container.close()
    out.print(f"wrote {written} access events to {out_file}")
