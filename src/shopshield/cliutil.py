"""Helpers every domain's CLI shares: settings, the wired container, the one error handler."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

# Typer vendors its own click: this Context is the one TyperGroup.invoke is given.
from typer._click.core import Context
from typer.core import TyperGroup

from shopshield.bootstrap import Container, build
from shopshield.core import times
from shopshield.core.callers import Caller
from shopshield.core.errors import EXIT_INTERRUPTED, ShopShieldError, exit_code
from shopshield.core.permissions import Permission
from shopshield.settings import Settings

err = Console(stderr=True)


class Format(StrEnum):
    """What a listing command prints: a table for people, or JSON for tools (``--format``)."""

    table = "table"
    json = "json"


def fail(message: str, code: int = 1) -> NoReturn:
    """``error: message`` as one line on stderr, then exit with ``code``."""
    # Text, not markup: a message naming a file or an option with brackets prints as it is.
    line = Text.assemble(("error:", "red"), " ", " ".join(message.splitlines()))
    err.print(line, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class ShopShieldGroup(TyperGroup):
    """The ``shopshield`` command group: the one place a ``ShopShieldError`` becomes an exit code.

    Every subcommand runs inside the top group's ``invoke``, so one ``except`` here reports them
    all: the family of the error decides the code (``core.errors.exit_code``: 1 the instance
    failed, 2 the caller's input or the operator's configuration is wrong) and its message, which
    names what was wrong and never a personal value, is the one line on stderr. Anything else is a
    bug and keeps its traceback.
    """

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShopShieldError as exc:
            fail(exc.message, code=exit_code(exc))
        except KeyboardInterrupt:
            # Here rather than left to click, which would print "Aborted!" and exit 1.
            fail("interrupted", code=EXIT_INTERRUPTED)


def settings_from_env() -> Settings:
    """The settings from ``SHOPSHIELD_*``, checked; ``BadSettings`` (exit 2) names what is wrong."""
    return Settings.load()


def open_container(settings: Settings, *, migrate: bool = False) -> Container:
    """The wired container. Only ``migrate`` and ``serve`` migrate; any other command on a
    database behind the code stops with ``SchemaNotAtHead`` (exit 2, "run `shopshield migrate`
    first") before it writes anything."""
    return build(settings, migrate=migrate)


@contextmanager
def opened_container(*, migrate: bool = False) -> Iterator[Container]:
    """The container from ``SHOPSHIELD_*`` for one command, closed when the command is done (its
    pools and files released even when the command fails)."""
    container = open_container(settings_from_env(), migrate=migrate)
    try:
        yield container
    finally:
        container.close()


def parse_moment(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or timestamp; a naive one is taken as UTC."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(
            f"{option}: expected an ISO 8601 date or time such as 2026-11-28 or 2026-11-28T08:00+08:00",
            2,
        )
    return times.utc(moment)


def print_rows(rows: Sequence[Mapping[str, object]], columns: Sequence[str], *, title: str, console: Console) -> None:
    """Rows for people (a Rich table on a terminal) or for scripts (tab-separated with a header)."""
    if not console.is_terminal:
        # Piped or scripted: whole values, tab-separated, never cut to a terminal's width.
        typer.echo("\t".join(columns))
        for row in rows:
            typer.echo("\t".join("" if row[c] is None else str(row[c]) for c in columns))
        return
    table = Table(*columns, title=title)
    for row in rows:
        # Text, not markup: a stored value with brackets must print as it is.
        table.add_row(*(Text("" if row[c] is None else str(row[c])) for c in columns))
    console.print(table)


def progress_bar(label: str) -> Progress:
    """The progress bar every long-running command shows on stderr (stdout stays for results)."""
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    )


@dataclass(frozen=True, slots=True)
class Acts:
    """Who a command acts as, declared where the command is defined (decision 0022).

    ``caller`` is ``OPERATOR`` for a command that opens the instance (its database, keys or
    log): the command line holds the data itself, so nothing is checked, but the declaration says
    which permission an API principal would need for the same act, so that a reader compares the
    two at a glance. With no permission, ``why`` says why no principal could do it through the API.
    ``caller`` is None for a command that only reads and writes the files it is given (``local_only``).
    """

    caller: Caller | None
    permissions: tuple[Permission, ...]
    why: str = ""


# Every command's declaration, by the command's function.
ACTS: dict[Callable[..., Any], Acts] = {}
Command = TypeVar("Command", bound=Callable[..., Any])


def _declare(acts: Acts) -> Callable[[Command], Command]:
    def declare(command: Command) -> Command:
        if command in ACTS:
            raise ValueError(f"{command.__qualname__} declares who it acts as twice")
        ACTS[command] = acts
        return command

    return declare


def acts_as(caller: Caller, *permissions: Permission, why: str = "") -> Callable[[Command], Command]:
    """Declare, below ``@app.command``, that a command acts on the instance as ``caller`` with
    ``permissions``; with none, ``why`` must say why the act is the operator's alone."""
    if not permissions and not why:
        raise ValueError("acts_as: name the permissions, or say why no permission fits")
    return _declare(Acts(caller, tuple(permissions), why))


def local_only(*, why: str) -> Callable[[Command], Command]:
    """Declare that a command opens no instance: it works on the files it is given, as nobody."""
    return _declare(Acts(None, (), why))
