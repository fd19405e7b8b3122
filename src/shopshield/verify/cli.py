"""``shopshield verify``: links, messages and lookalike names, as ``POST /v1/verify/*`` answers."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shopshield.cliutil import Format, acts_as, fail, local_only, opened_container
from shopshield.core.callers import OPERATOR
from shopshield.verify import service
from shopshield.verify.lookalikes import lookalikes as generate
from shopshield.verify.message import MAX_MESSAGE_CHARS
from shopshield.verify.official import BadOfficial, Official

app = typer.Typer(help="Is this link or message really the store's? And which names imitate it.")
out = Console()

OFFICIAL_HELP = "The store's official web domains, comma-separated; left out, the configured ones"
BRAND_HELP = "The store's Chinese brand name (its pinyin and initials are checked too)"
WHY = (
    "reads only the store's official channels, which are public, and what it is given; "
    "any API principal may ask the same through POST /v1/verify"
)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _resolve(official: str | None, brand_zh: str | None) -> tuple[Official, service.OfficialSource]:
    """The official values: the ones given (no instance is opened), or the instance's."""
    domains = _split(official)
    brands = [brand_zh] if brand_zh else None
    if official is not None and not domains:
        fail("--official: one or more domains, comma-separated, such as jd.com,jd.hk", code=2)
    if domains:
        source = service.static_source({})
        return service.official_for(source=source, domains=domains, brand_names=brands), source
    with opened_container() as container:
        source = container.official_source()
        return service.official_for(source=source, domains=None, brand_names=brands), source


@app.command("link")
@acts_as(OPERATOR, why=WHY)
def check_links(
    urls: list[str] = typer.Argument(..., help="Links as received, with or without scheme"),
    official: str | None = typer.Option(None, "--official", help=OFFICIAL_HELP),
    brand_zh: str | None = typer.Option(None, "--brand-zh", help=BRAND_HELP),
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
) -> None:
    """Each link: official, lookalike (of which domain), unknown or malformed. Exit 0 whatever the
    verdicts; 2 on bad input or when no official domain is given or configured."""
    checked, _ = _resolve(official, brand_zh)
    found = service.check_links(urls=urls, official=checked)
    if fmt is Format.json:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    rows = [(str(v["url"]), str(v["verdict"]), str(v["imitates"] or ""), _reasons(v["reasons"])) for v in found]
    _table("Links", ("url", "verdict", "imitates", "reasons"), rows)


@app.command("message")
@acts_as(OPERATOR, why=WHY)
def check_message(
    file: str = typer.Argument(..., help="A file holding the message's text (UTF-8), or - for standard input"),
    official: str | None = typer.Option(None, "--official", help=OFFICIAL_HELP),
    brand_zh: str | None = typer.Option(None, "--brand-zh", help=BRAND_HELP),
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
) -> None:
    """An SMS or chat message: scam_likely, suspicious or no_signs, with reasons, and each link,
    number and account in it. At most 10,000 characters; exit 2 past that."""
    text = _read_message(file)
    checked, source = _resolve(official, brand_zh)
    found = service.check_message(text=text, official=checked, source=source)
    if fmt is Format.json:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    typer.echo(f"verdict: {found['verdict']}")
    reasons = found["reasons"]
    assert isinstance(reasons, list)
    _table("Reasons", ("code", "message", "message_zh"), [(r["code"], r["message"], r["message_zh"]) for r in reasons])


@app.command("lookalikes")
@local_only(why="works out names from the domain it is given; opens no instance")
def list_lookalikes(
    domain: str = typer.Argument(..., help="The official domain, such as jd.com"),
    brand_zh: str | None = typer.Option(None, "--brand-zh", help=BRAND_HELP),
    limit: int = typer.Option(5000, "--limit", help="At most this many names (1-100000)"),
    fmt: Format = typer.Option(Format.table, "--format", help="table for people, json for tools"),
) -> None:
    """Candidate lookalike names of DOMAIN to watch, with the family of each, in a fixed order."""
    if not 1 <= limit <= 100_000:
        fail("--limit: between 1 and 100000", code=2)
    try:
        official = Official.of([domain], [brand_zh] if brand_zh else [])
    except BadOfficial as exc:
        fail(f"DOMAIN: {exc}", code=2)
    found = generate(official, limit=limit)
    if fmt is Format.json:
        typer.echo(orjson.dumps([c.as_json() for c in found], option=orjson.OPT_INDENT_2).decode())
        return
    _table(
        f"Lookalikes of {official.domains[0]}",
        ("domain", "family", "ascii"),
        [(c.domain, c.family, c.ascii) for c in found],
    )


def _read_message(file: str) -> str:
    # Read one character's worth past the limit (4 bytes each at most in UTF-8), never the whole
    # of a huge file.
    cap = MAX_MESSAGE_CHARS * 4 + 1
    try:
        if file == "-":
            data = sys.stdin.buffer.read(cap)
        else:
            with Path(file).open("rb") as handle:
                data = handle.read(cap)
    except OSError as exc:
        fail(f"FILE: cannot read it ({exc.strerror or 'error'})", code=2)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail("FILE: not UTF-8 text", code=2)
    if len(data) >= cap or len(text) > MAX_MESSAGE_CHARS:
        fail(f"FILE: the message is longer than {MAX_MESSAGE_CHARS:,} characters", code=2)
    if not text.strip():
        fail("FILE: the message is empty", code=2)
    return text


def _reasons(reasons: object) -> str:
    assert isinstance(reasons, list)
    return "; ".join(f"{r['code']}: {r['message']}" for r in reasons)


def _table(title: str, columns: tuple[str, ...], rows: Sequence[Sequence[object]]) -> None:
    if not out.is_terminal:
        # Piped or scripted: whole values, tab-separated, never cut to a terminal's width.
        typer.echo("\t".join(columns))
        for row in rows:
            typer.echo("\t".join(" ".join(str(cell).split()) for cell in row))
        return
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*(Text(str(cell)) for cell in row))
    out.print(table)
