"""``shopshield guard replay``: run the login risk engine over a file of attempts."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import orjson
import typer
from rich.console import Console

from shopshield.cliutil import fail, local_only, progress_bar, settings_from_env
from shopshield.core.files import open_private
from shopshield.guard.config import load_config
from shopshield.guard.counters import MemoryCounters
from shopshield.guard.engine import Guard, Hasher, PairList, PasswordCorpus
from shopshield.guard.networks import Locations
from shopshield.guard.replay import AttemptFormatError, read_attempts, replay
from shopshield.keys.keyring import LocalKeyFile
from shopshield.passwords.pairs import derive_pairs_key
from shopshield.passwords.service import BreachedPasswords, LeakedPairs

app = typer.Typer(help="Login protection: replay attempts through the risk engine.", no_args_is_help=True)
out = Console()


def replay_guard(
    *,
    config: Path | None,
    locations: Path | None,
    passwords: PasswordCorpus | None = None,
    pairs: PairList | None = None,
) -> Guard:
    """A guard for a replay: in-process counters and a key that lives as long as the run."""
    loaded = load_config(config)
    places = Locations.load(locations) if locations is not None else None
    return Guard(
        config=loaded,
        counters=MemoryCounters(),
        hasher=Hasher.ephemeral(),
        passwords=passwords,
        pairs=pairs,
        locations=places,
    )


def learn_history(guard: Guard, history: Path) -> int:
    """Learn every successful login of a history file; other lines are skipped."""
    if not history.is_file():
        fail(f"{history}: no such file", code=2)
    learnt = 0
    try:
        for attempt, truth in read_attempts(history):
            if truth.user_exists and truth.password_ok:
                guard.learn(attempt)
                learnt += 1
    except AttemptFormatError as exc:
        # The error knows the line, not the file: of the two files a replay reads, name this one.
        fail(f"{history}: {exc}", code=2)
    return learnt


@app.command("replay")
@local_only(why="in-process counters over the files it is given; the key file only with --breach-data")
def replay_command(
    attempts: Path = typer.Argument(..., help="Login attempts, JSON lines in the shared format, in time order"),
    out_file: Path = typer.Option(..., "--out", help="Where to write one decision per line"),
    config: Path | None = typer.Option(None, help="Guard config TOML read over the defaults"),
    locations: Path | None = typer.Option(None, help="CSV of network,lat,lon[,name] for impossible travel"),
    history: Path | None = typer.Option(
        None,
        help="Successful logins from before ATTEMPTS (the same format), learnt as familiar first, not decided",
    ),
    breach_data: bool = typer.Option(
        False,
        "--breach-data",
        help="Check passwords against the breached-password corpus and leaked pairs built with "
        "`shopshield passwords build` / `pairs` (in SHOPSHIELD_PASSWORDS_DIR, keyed by the key file)",
    ),
) -> None:
    """Decide each attempt before reading its outcome fields, then feed the outcome back (allow:
    the password check; challenge: the challenge, then the password; deny: a failure)."""
    if not attempts.is_file():
        fail(f"{attempts}: no such file", code=2)
    passwords: BreachedPasswords | None = None
    pairs: LeakedPairs | None = None
    if breach_data:
        settings = settings_from_env()
        directory = settings.effective_passwords_dir()
        key = derive_pairs_key(LocalKeyFile.open_or_create(settings.effective_master_key_file()).blind_index_key())
        passwords, pairs = BreachedPasswords.open(directory), LeakedPairs(directory, key)
        out.print(
            f"breached passwords: {passwords.status()['hashes']:,} hashes; leaked pairs: {pairs.status()['pairs']:,}"
        )
    guard = replay_guard(config=config, locations=locations, passwords=passwords, pairs=pairs)
    if history is not None:
        learnt = learn_history(guard, history)
        out.print(f"learnt {learnt:,} successful logins from {history.name}")
    with attempts.open("rb") as handle:
        total = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    verdicts: Counter[str] = Counter()
    started = time.perf_counter()
    # Written beside and renamed at the end: a file that stops halfway is never mistaken for a result.
    partial = out_file.with_name(out_file.name + ".partial")
    try:
        with open_private(partial, "wb") as sink, progress_bar("replaying") as bar:
            task = bar.add_task("replay", total=total)
            for n, recorded in enumerate(replay(read_attempts(attempts), guard), start=1):
                sink.write(orjson.dumps(recorded.decision.as_json()) + b"\n")
                verdicts[recorded.decision.verdict.value] += 1
                if n % 10_000 == 0:
                    bar.update(task, completed=n)
            bar.update(task, completed=total)
    except AttemptFormatError as exc:
        partial.unlink(missing_ok=True)
        fail(f"{attempts}: {exc}", code=2)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(f"{out_file}: {exc.strerror}", code=1)
    partial.replace(out_file)
    seconds = time.perf_counter() - started
    count = sum(verdicts.values())
    out.print(
        f"{count:,} attempts in {seconds:.1f} s: "
        + ", ".join(f"{verdicts[v]:,} {v}" for v in ("allow", "challenge", "deny"))
        + f"; attack mode switched {len(guard.attack.changes)} time(s)"
    )
