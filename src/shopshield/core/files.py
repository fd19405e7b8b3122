"""Owner-only files and directories: whatever ShopShield writes is readable by its owner alone.

Databases, key files, the witness, exports and case files hold personal data, keys, or the ids
that tie a customer to an access. A file left 0644 is read by every local account, and keeps that
mode in every backup copied with it.

Two layers. The entry points (``cli.main``, ``serving.run``) set the process umask to 0o077, so
anything created in those processes (SQLite's WAL files, pyarrow's and DuckDB's outputs, files
other libraries make) is 0600 or 0700. The helpers here set the mode explicitly where ShopShield
creates a file itself, so code called from another process (tests, an application embedding
ShopShield) keeps it too whatever that process's umask. The library never changes the umask: that
would leak into whoever imported it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

FILE_MODE: Final = 0o600
DIR_MODE: Final = 0o700
PRIVATE_UMASK: Final = 0o077
# What SQLite writes beside a database file; it gives them the database file's own mode.
SQLITE_COMPANIONS: Final = ("-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """Make every file this process creates from now on owner-only. For entry points only."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700; directories that already exist keep
    their mode (they may be the operator's, such as a mounted volume for the witness)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made by another process meanwhile: not ours to change
        os.chmod(directory, DIR_MODE)  # mkdir's mode passes through the umask; be exact
    return path


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing as an owner-only file, new or truncated, whatever the umask.

    ``mode`` is "w", "wb", "a" or "ab"; ``kwargs`` go to ``open`` (encoding, newline).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # also tightens a file that existed with a looser mode
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def create_private(path: Path) -> Path:
    """An empty owner-only file at ``path`` (truncated if it exists), for a writer that opens it
    by name (pyarrow): writing to an existing file keeps its mode."""
    open_private(path, "wb").close()
    return path


def tighten(path: Path) -> None:
    """Remove group and other permissions from an existing file; a missing one is fine."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
        log.info("removed group and other access from %s", path)


def private_sqlite_file(url: str) -> None:
    """Before SQLite opens the database at ``url``, make sure it is owner-only: create it 0600 if
    it does not exist yet (SQLite gives its WAL and shared-memory files the database file's mode),
    and take group and other access away from it and its companions if an older version left them
    readable. Other backends and in-memory databases are left alone."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return  # a URI filename: SQLite interprets it; nothing here can be sure which file it names
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite reports that better than we could
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            pass  # created by another process meanwhile: tightened below
        else:
            os.fchmod(fd, FILE_MODE)
            os.close(fd)
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        tighten(candidate)
