"""Helpers every domain's CLI shares: settings, the wired container, clean failures."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shopshield.bootstrap import Container, build
from shopshield.core import times
from shopshield.core.errors import ShopShieldError
from shopshield.keys.keyring import KeyFileError
from shopshield.settings import Settings

err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_from_env() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"SHOPSHIELD_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"invalid configuration: {problems}", code=2)


def open_container(settings: Settings) -> Container:
    try:
        return build(settings)
    except (KeyFileError, ShopShieldError) as exc:
        fail(str(exc), code=2)


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


def progress_bar(label: str) -> Progress:
    """The progress bar every long-running command shows on stderr (stdout stays for results)."""
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=Console(stderr=True)
    )
