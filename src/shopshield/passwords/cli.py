"""``shopshield passwords``: build the breached-password corpus, ingest leaked pairs, show status.

Exit codes: 0 done; 1 done, but invalid lines were skipped (``--skip-invalid``); 2 nothing was
built (a source is missing, in an unknown or refused format, or has a bad line).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeRemainingColumn

from shopshield.cliutil import fail, local_only, settings_from_env
from shopshield.keys.keyring import LocalKeyFile
from shopshield.passwords import service
from shopshield.passwords.formats import SourceError, SourceFormat, open_source
from shopshield.passwords.models import BuildReport
from shopshield.passwords.pairs import derive_pairs_key

app = typer.Typer(help="Breached passwords: the HIBP corpus behind GET /range, and leaked username+password pairs.")
out = Console()

OUT = typer.Option(
    None, "--out", help="Directory of the stores (default SHOPSHIELD_PASSWORDS_DIR or <data_dir>/passwords)"
)
SKIP = typer.Option(
    False, "--skip-invalid", help="Leave out invalid lines (counted, exit 1) instead of stopping at the first"
)


class _Bar:
    """The build's phases on one Rich progress bar (stderr; stdout keeps the result)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def phase(self, description: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.task = self.progress.add_task(description, total=max(total, 1))

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, amount)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def _directory(out_dir: Path | None) -> Path:
    return out_dir.expanduser().resolve() if out_dir is not None else settings_from_env().effective_passwords_dir()


def _finish(report: BuildReport, what: str) -> None:
    summary = report.json()
    out.print(
        f"{what}: {summary['records']:,} distinct, {summary['read']:,} read"
        + (f", {summary['kept_from_before']:,} kept from before" if summary["kept_from_before"] else "")
        + (
            f", filter {summary['bits_per_key']} bits per hash in {summary['shards']} shard(s)"
            if summary["shards"]
            else ""
        )
        + f", in {summary['seconds']:.1f}s ({summary['directory']})",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if report.skipped_lines:
        fail(
            f"{report.skipped_lines:,} invalid line(s) skipped, first at {', '.join(report.first_skipped)}",
            code=1,
        )


@app.command("build")
@local_only(why="builds the corpus files from the sources it is given")
def build(
    sources: list[Path] = typer.Argument(..., help="HIBP file, folder of prefix files, or plain password list"),
    out_dir: Path | None = OUT,
    fmt: SourceFormat = typer.Option(SourceFormat.auto, "--format", help="Format of every SOURCE (auto: detect)"),
    merge: bool = typer.Option(
        False, "--merge", help="Add to the current corpus (counts add up) instead of replacing it"
    ),
    skip_invalid: bool = SKIP,
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="Filter shards built at once (default: cores, at most 4)"
    ),
) -> None:
    """Build the breached-password corpus from SOURCE… and make it the current one.

    Formats: HIBP's `HASH:COUNT` file (40 hex of SHA-1), a folder of HIBP's per-prefix files
    (`00000.txt` … of `SUFFIX:COUNT` lines), or a plain list (one UTF-8 password per line;
    duplicates add to the count). NTLM downloads are refused. Without --merge the new corpus
    replaces the current one; a running server picks it up when restarted."""
    directory = _directory(out_dir)
    try:
        opened = [open_source(path.expanduser(), fmt) for path in sources]
        with _progress() as progress:
            report = service.build_corpus(
                sources=opened,
                directory=directory,
                merge=merge,
                skip_invalid=skip_invalid,
                progress=_Bar(progress),
                threads=threads,
            )
    except SourceError as exc:
        fail(f"{exc}; nothing was built", code=2)
    except (OSError, ValueError) as exc:
        fail(f"cannot build the corpus in {directory}: {exc}", code=2)
    _finish(report, "breached-password corpus")


@app.command("pairs")
@local_only(why="hashes the breach lists it is given into the pairs files, with the key file")
def pairs(
    files: list[Path] = typer.Argument(..., help="Breach lists of username:password lines (UTF-8)"),
    out_dir: Path | None = OUT,
    replace: bool = typer.Option(False, "--replace", help="Drop the pairs stored so far instead of adding to them"),
    skip_invalid: bool = SKIP,
) -> None:
    """Add leaked username:password pairs (split at the first ':') as keyed hashes only.

    Usernames are trimmed and lower-cased, Chinese mobile numbers brought to their 11 digits;
    each pair is stored as 16 bytes of HMAC-SHA256 under a key derived from the key file, never
    in plain text. The pairs stored so far are kept unless --replace."""
    settings = settings_from_env()
    directory = out_dir.expanduser().resolve() if out_dir is not None else settings.effective_passwords_dir()
    settings.ensure_data_dir()
    key = derive_pairs_key(LocalKeyFile.open_or_create(settings.effective_master_key_file()).blind_index_key())
    try:
        with _progress() as progress:
            report = service.ingest_pairs(
                files=[f.expanduser() for f in files],
                directory=directory,
                key=key,
                replace=replace,
                skip_invalid=skip_invalid,
                progress=_Bar(progress),
            )
    except SourceError as exc:
        fail(f"{exc}; nothing was stored", code=2)
    except (OSError, ValueError) as exc:
        fail(f"cannot store the pairs in {directory}: {exc}", code=2)
    _finish(report, "leaked pairs")


@app.command("status")
@local_only(why="reads the corpus and pairs files")
def status(out_dir: Path | None = OUT) -> None:
    """What the corpus and the pairs hold (JSON); exit 1 when there is no corpus."""
    directory = _directory(out_dir)
    corpus = service.BreachedPasswords(directory)
    try:
        doc = {"corpus": corpus.status(), "pairs": service.pairs_status(directory)}
    except (OSError, ValueError) as exc:
        fail(f"cannot read the stores in {directory}: {exc}", code=2)
    finally:
        corpus.close()
    typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
    if doc["corpus"]["state"] == "absent":
        raise typer.Exit(1)
