"""``shopshield canary``: plant decoy customers per recipient, hand them out as export rows, check a
contact, and list the hits."""

from __future__ import annotations

import csv
import io
from enum import StrEnum

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console

from shopshield.canary import service
from shopshield.canary.schemas import KINDS, MAX_COUNT, ContactIn, PlantIn
from shopshield.cliutil import acts_as, fail, open_container, opened_container, print_rows, settings_from_env
from shopshield.core import ids
from shopshield.core.callers import OPERATOR
from shopshield.core.db import transaction, unit_of_work
from shopshield.core.permissions import Permission

app = typer.Typer(help="Canary customers: decoys per recipient of the store's data, and the contacts that reach them.")
out = Console()

RECIPIENT = typer.Option(..., "--recipient", help="Who receives the data: a partner id, export job or principal id")


class ListFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class HitsFormat(StrEnum):
    table = "table"
    json = "json"


# Fields named as the command's options.
_OPTIONS = {"merchant_id": "merchant", "courier_id": "courier"}


def _problems(exc: ValidationError) -> str:
    # Location and rule only: pydantic's own text would echo the value (a phone number).
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"--{_OPTIONS.get(where, where).replace('_', '-')}: {message}" if where else message)
    return "; ".join(parts)


@app.command("plant")
@acts_as(OPERATOR, Permission.CANARIES_PLANT)
def plant(
    recipient: str = RECIPIENT,
    count: int = typer.Option(3, "--count", help=f"How many decoys, 1-{MAX_COUNT}"),
    kind: str = typer.Option("export", "--kind", help=f"How the recipient gets the data: {', '.join(KINDS)}"),
    merchant: str = typer.Option("store", "--merchant", help="Merchant id on the decoys' orders (use a real one)"),
    courier: str | None = typer.Option(None, "--courier", help="Courier id on the decoys' orders"),
    id_prefix: str = typer.Option("c", "--id-prefix", help="Letters before the digits of the store's customer ids"),
) -> None:
    """Store COUNT decoy customers (name, mobile from SHOPSHIELD_CANARY_MOBILE_PREFIX, address, an
    order and a return request) through the vault, as this recipient's canaries."""
    try:
        request = PlantIn(
            recipient=recipient, count=count, kind=kind, merchant_id=merchant, courier_id=courier, id_prefix=id_prefix
        )
    except ValidationError as exc:
        fail(_problems(exc), code=2)
    settings = settings_from_env()
    container = open_container(settings)
    try:
        with unit_of_work(container.sessions) as session:
            planted = service.plant(
                vault=container.vault,
                session=session,
                caller=OPERATOR,
                request=request,
                mobile_prefix=settings.canary_mobile_prefix,
                email_domain=settings.canary_email_domain,
                backend=settings.canary_backend,
            )
    finally:
        container.close()
    out.print(
        f"planted {len(planted.customer_ids)} canaries for {planted.recipient} ({planted.kind}): "
        + ", ".join(planted.customer_ids),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command("list")
@acts_as(OPERATOR, Permission.CANARIES_READ)
def list_canaries(
    recipient: str | None = typer.Option(None, "--recipient", help="Only this recipient's canaries"),
    fmt: ListFormat = typer.Option(
        ListFormat.table,
        "--format",
        help="table: which customers are canaries (no values); csv or json: the recipient's export rows",
    ),
) -> None:
    """Which customers are canaries, for whom (table: no values), or the recipient's export rows
    (csv, json: the decoys' full values; each canary read is recorded as an export)."""
    if fmt is not ListFormat.table and recipient is None:
        fail("--recipient: needed with --format csv or json (export rows go to one recipient)", code=2)
    _check_recipient(recipient)
    settings = settings_from_env()
    container = open_container(settings)
    try:
        if fmt is ListFormat.table:
            with unit_of_work(container.sessions) as session:
                rows = [service.canary_json(row) for row in service.canaries(session=session, recipient=recipient)]
            _print_table(rows, ("customer_id", "recipient", "kind", "planted_at", "planted_by"), "Canaries")
            return
        assert recipient is not None
        with transaction(container.engine) as tx:
            exported = service.export_rows(
                vault=container.vault, tx=tx, caller=OPERATOR, recipient=recipient, backend=settings.canary_backend
            )
    finally:
        container.close()
    if fmt is ListFormat.json:
        typer.echo(orjson.dumps(exported, option=orjson.OPT_INDENT_2).decode())
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=service.EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(exported)
    typer.echo(buffer.getvalue(), nl=False)


@app.command("contact")
@acts_as(OPERATOR, Permission.CANARIES_REPORT_CONTACT)
def contact(
    mobile: str | None = typer.Option(None, "--mobile", help="The number that was contacted"),
    customer_id: str | None = typer.Option(None, "--customer-id", help="The customer who was contacted"),
    contacted_at: str | None = typer.Option(None, "--contacted-at", help="ISO 8601 time with its UTC offset"),
    channel: str | None = typer.Option(None, "--channel", help="call, sms, im, email or other"),
    note: str | None = typer.Option(None, "--note", help="What happened (stored encrypted)"),
) -> None:
    """Check whether a contact reached a canary, as POST /v1/canaries/contacts does; a hit is
    recorded and names the recipient. Exit 0 on a hit, 1 when it was no canary, 2 on bad input."""
    try:
        request = ContactIn.model_validate(
            {
                "mobile": mobile,
                "customer_id": customer_id,
                "contacted_at": contacted_at,
                "channel": channel,
                "note": note,
            }
        )
    except ValidationError as exc:
        fail(_problems(exc), code=2)
    with opened_container() as container, transaction(container.engine) as tx:
        verdict = service.report_contact(vault=container.vault, tx=tx, caller=OPERATOR, contact=request)
    service.announce(verdict)
    typer.echo(orjson.dumps(verdict.json()).decode())
    if verdict.canary is None:
        raise typer.Exit(1)


@app.command("hits")
@acts_as(OPERATOR, Permission.CANARIES_READ)
def hits(
    recipient: str | None = typer.Option(None, "--recipient", help="Only this recipient's hits"),
    fmt: HitsFormat = typer.Option(HitsFormat.table, "--format", help="table for people, json for tools"),
) -> None:
    """Every contact that reached a canary: reported directly, or found in a scam report."""
    _check_recipient(recipient)
    with opened_container() as container, unit_of_work(container.sessions) as session:
        found = service.hits(vault=container.vault, session=session, recipient=recipient)
    if fmt is HitsFormat.json:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    columns = ("recorded_at", "recipient", "customer_id", "source", "report_id", "contacted_at", "channel", "note")
    _print_table(found, columns, "Contacts that reached a canary")


def _check_recipient(recipient: str | None) -> None:
    if recipient is not None:
        ids.check(recipient, "recipient", shape=ids.ACTOR, rule=ids.ACTOR_RULE, label="--recipient")


def _print_table(rows: list[dict[str, object]], columns: tuple[str, ...], title: str) -> None:
    print_rows(rows, columns, title=title, console=out)
