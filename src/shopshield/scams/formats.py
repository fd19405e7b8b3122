"""The shared "Scam reports" format (PRODUCT.md; details in docs/scam-reports.md): one report from a
mapping (the API), a file of them (CSV with a header, JSON lines, or a JSON array), and the same
format written back.

Messages name the column and what it must be, never the value: a report may carry a customer's own
number where the scammer's belongs, and messages end up in logs and terminals.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit

import orjson

from shopshield.core import ids
from shopshield.core.errors import InvalidInput
from shopshield.core.files import open_private
from shopshield.core.times import iso
from shopshield.investigate.knowledge import parse_items

COLUMNS: Final = (
    "report_id",
    "reported_at",
    "customer_id",
    "contacted_at",
    "channel",
    "contact_from",
    "claimed_identity",
    "knew",
    "url",
    "payee_account",
    "loss_amount",
    "currency",
)
REQUIRED: Final = COLUMNS[:5]
CHANNELS: Final = ("call", "sms", "im", "email", "other")
# The format's own vocabulary, in its order: parsed items are kept in this order, then any others
# alphabetically, so one report always reads and compares the same.
KNEW_VOCABULARY: Final = (
    "name",
    "mobile",
    "address",
    "order_id",
    "items",
    "price",
    "purchase_time",
    "return_request",
    "id_number",
)
DEFAULT_CURRENCY: Final = "CNY"
EXTENSIONS: Final = (".csv", ".jsonl", ".json")

# Timestamps before this are refused: the usual cause is epoch seconds given where the format
# wants milliseconds (which lands in January 1970).
EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
# A report cannot come from the future; a day's slack absorbs clocks that disagree.
FUTURE_SLACK: Final = timedelta(days=1)
MAX_LENGTH: Final = {"contact_from": 128, "claimed_identity": 200, "payee_account": 128, "url": 2048}
MAX_KNEW_ITEMS: Final = 20

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A spreadsheet runs a cell that starts with one of these as a formula. Such values are refused at
# intake, so every file ShopShield writes can be opened safely and still round-trips exactly;
# a phone number in international form and an @handle are the legitimate exceptions.
_FORMULA_START: Final = ("=", "+", "-", "@")
_HARMLESS_LEADING: Final = re.compile(r"\+[0-9][0-9 ()-]*|@[\w.-]+")
_ITEM: Final = re.compile(r"[^\W\d]\w{0,31}")
_ITEM_SEPARATORS: Final = re.compile(r"[\s-]+")
_AMOUNT: Final = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
_EPOCH_MS: Final = re.compile(r"[0-9]{1,15}")
_HOST: Final = re.compile(r"[\w.-]+|\[?[0-9A-Fa-f:.]+\]?")
_CENT: Final = Decimal("0.01")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MOMENT_HINT: Final = "an ISO 8601 time with a UTC offset (2016-07-15T10:30:00+08:00 or ...Z) or epoch milliseconds"


@dataclass(frozen=True, slots=True)
class ScamReport:
    """One customer's report of a scam, as the shared format defines it.

    Times are aware UTC datetimes; ``knew`` is trimmed, lower-cased and in a stable order (the
    format's vocabulary first); ``loss_amount`` has two decimal places.
    """

    report_id: str
    reported_at: datetime
    customer_id: str
    contacted_at: datetime
    channel: str
    contact_from: str | None
    claimed_identity: str | None
    knew: tuple[str, ...]
    url: str | None
    payee_account: str | None
    loss_amount: Decimal | None
    currency: str

    def shared_row(self) -> dict[str, str | None]:
        """The report in the format's column order as text, None where a value is absent."""
        return {
            "report_id": self.report_id,
            "reported_at": iso(self.reported_at),
            "customer_id": self.customer_id,
            "contacted_at": iso(self.contacted_at),
            "channel": self.channel,
            "contact_from": self.contact_from,
            "claimed_identity": self.claimed_identity,
            "knew": "|".join(self.knew) or None,
            "url": self.url,
            "payee_account": self.payee_account,
            "loss_amount": None if self.loss_amount is None else f"{self.loss_amount:.2f}",
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class RowError:
    """A row of a file that was not taken: its first line, and what is wrong (column: rule)."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedReports:
    """What a file held: the good reports (each id once, in file order), the rejected rows, the
    lines that repeated an earlier row exactly (left out of ``reports``), and the line each of
    ``reports`` starts on."""

    reports: list[ScamReport]
    errors: list[RowError]
    repeated_lines: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


class ReportFileError(InvalidInput):
    """The file as a whole cannot be read: missing, wrong extension, not UTF-8, no usable header."""


@dataclass(slots=True)
class FirstSeen:
    """Reports by id as first met in one file or one request.

    A repeat of an id is either the same report again (a resend, harmless) or a different report
    under an id already used (a conflict the sender must resolve).
    """

    _first: dict[str, tuple[int, ScamReport]] = field(default_factory=dict)

    def repeat_of(self, position: int, report: ScamReport) -> tuple[int, bool] | None:
        """None for a new id (now remembered); else where the id was first met and whether this
        report is identical to that one."""
        first = self._first.get(report.report_id)
        if first is None:
            self._first[report.report_id] = (position, report)
            return None
        return first[0], first[1] == report


# -- one report ----------------------------------------------------------------------------------


def parse_report(mapping: Mapping[str, Any], *, now: datetime | None = None) -> ScamReport:
    """Check and normalise one report given in the format's field names.

    Keys the format does not list are ignored, as the format says. Values may be text (as in CSV)
    or JSON values: numbers for epoch-millisecond times, amounts and ids, and a list of strings for
    ``knew``. Raises ``InvalidInput`` naming the first field that is wrong.
    """
    now = now or datetime.now(UTC)
    # Checked in the format's column order, so the first problem named is the leftmost.
    report_id = _record_id(mapping, "report_id")
    reported_at = _moment(mapping, "reported_at", now)
    customer_id = _record_id(mapping, "customer_id")
    contacted_at = _moment(mapping, "contacted_at", now)
    report = ScamReport(
        report_id=report_id,
        reported_at=reported_at,
        customer_id=customer_id,
        contacted_at=contacted_at,
        channel=_channel(mapping),
        contact_from=_free_text(mapping, "contact_from"),
        claimed_identity=_free_text(mapping, "claimed_identity"),
        knew=_knew(mapping),
        url=_url(mapping),
        payee_account=_free_text(mapping, "payee_account"),
        loss_amount=_amount(mapping),
        currency=_currency(mapping),
    )
    if contacted_at > reported_at:
        raise InvalidInput("contacted_at: must not be after reported_at", field="contacted_at")
    return report


def _given(mapping: Mapping[str, Any], column: str) -> Any:
    """The value, or None when absent, null or blank (CSV has no null: an empty cell is absent)."""
    value = mapping.get(column)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _plain_text(mapping: Mapping[str, Any], column: str) -> str | None:
    value = _given(mapping, column)
    if value is None:
        return None
    # JSON writers often give ids and numbers as numbers; bool is an int too, but never meant.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{column}: must be text", field=column)
    if _CONTROL.search(value):
        raise InvalidInput(f"{column}: must not contain control characters", field=column)
    return value


def _required(mapping: Mapping[str, Any], column: str) -> Any:
    value = _given(mapping, column)
    if value is None:
        raise InvalidInput(f"{column}: required", field=column)
    return value


def _record_id(mapping: Mapping[str, Any], column: str) -> str:
    _required(mapping, column)
    value = _plain_text(mapping, column)
    # The one id check of the API (``ids``): the shape, and no customer's own number or address.
    return ids.check(value or "", column)


def _free_text(mapping: Mapping[str, Any], column: str) -> str | None:
    value = _plain_text(mapping, column)
    if value is None:
        return None
    limit = MAX_LENGTH[column]
    if len(value) > limit:
        raise InvalidInput(f"{column}: at most {limit} characters", field=column)
    if value.startswith(_FORMULA_START) and not _HARMLESS_LEADING.fullmatch(value):
        raise InvalidInput(
            f"{column}: must not start with =, +, - or @ (a spreadsheet would run it as a formula), "
            "except a +number or an @handle",
            field=column,
        )
    return value


def _channel(mapping: Mapping[str, Any]) -> str:
    _required(mapping, "channel")
    value = _plain_text(mapping, "channel")
    channel = (value or "").lower()
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: must be one of {', '.join(CHANNELS)}", field="channel")
    return channel


def _moment(mapping: Mapping[str, Any], column: str, now: datetime) -> datetime:
    value = _required(mapping, column)
    if isinstance(value, str) and _EPOCH_MS.fullmatch(value):
        value = int(value)
    try:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            moment = _EPOCH + timedelta(milliseconds=value)
        elif isinstance(value, str):
            found = datetime.fromisoformat(value)
            if found.tzinfo is None:
                # Refused rather than guessed: reports come from customers in UTC+8, and reading
                # their local times as UTC would move contacts by eight hours and across days.
                raise InvalidInput(
                    f"{column}: needs a UTC offset such as +08:00 or Z, or epoch milliseconds", field=column
                )
            moment = found.astimezone(UTC)
        else:
            raise InvalidInput(f"{column}: expected {_MOMENT_HINT}", field=column)
    except (ValueError, OverflowError):
        # Not a time, or beyond the calendar's ends once converted.
        raise InvalidInput(f"{column}: expected {_MOMENT_HINT}", field=column) from None
    if moment < EARLIEST:
        raise InvalidInput(f"{column}: before 2000-01-01 (epoch times are in milliseconds, not seconds)", field=column)
    if moment > now + FUTURE_SLACK:
        raise InvalidInput(f"{column}: is in the future", field=column)
    return moment


def _knew(mapping: Mapping[str, Any]) -> tuple[str, ...]:
    value = _given(mapping, "knew")
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "|".join(value)
    if not isinstance(value, str):
        raise InvalidInput("knew: must be '|'-separated text or a list of strings", field="knew")
    items = {_ITEM_SEPARATORS.sub("_", item) for item in parse_items(value)}
    if len(items) > MAX_KNEW_ITEMS:
        raise InvalidInput(f"knew: at most {MAX_KNEW_ITEMS} items", field="knew")
    if not all(_ITEM.fullmatch(item) for item in items):
        raise InvalidInput(
            "knew: each item must be a word of up to 32 letters, digits or '_' starting with a letter, "
            "such as name|mobile|price",
            field="knew",
        )
    return ordered_items(items)


def ordered_items(items: Iterable[str]) -> tuple[str, ...]:
    """``knew`` items in the format's vocabulary order, then any others alphabetically."""
    return tuple(sorted(set(items), key=item_rank))


_VOCABULARY_RANK: Final = {item: n for n, item in enumerate(KNEW_VOCABULARY)}


def item_rank(item: str) -> tuple[int, str]:
    """Sort key of a ``knew`` item: the format's vocabulary first, in its order, then the rest."""
    return _VOCABULARY_RANK.get(item, len(_VOCABULARY_RANK)), item


def _url(mapping: Mapping[str, Any]) -> str | None:
    value = _plain_text(mapping, "url")
    if value is None:
        return None
    if len(value) > MAX_LENGTH["url"]:
        raise InvalidInput(f"url: at most {MAX_LENGTH['url']} characters", field="url")
    if any(char.isspace() for char in value):
        raise InvalidInput("url: must not contain spaces", field="url")
    # A link pasted from a message often lacks its scheme: it is still the link that was sent.
    has_scheme = "://" in value
    if not has_scheme and not value[0].isalnum():
        raise InvalidInput("url: must start with http://, https:// or a host name", field="url")
    try:
        parts = urlsplit(value if has_scheme else f"http://{value}")
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https"):
        raise InvalidInput("url: must be an http or https link", field="url")
    if not host or not _HOST.fullmatch(host) or not ("." in host or ":" in host):
        raise InvalidInput("url: must name a host such as example.com", field="url")
    return value


def _amount(mapping: Mapping[str, Any]) -> Decimal | None:
    value = _given(mapping, "loss_amount")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput("loss_amount: must be a decimal number", field="loss_amount")
    # A JSON number arrives as int or float; its shortest repr is the literal that was sent.
    text = value if isinstance(value, str) else repr(value)
    if text.startswith("-"):
        raise InvalidInput("loss_amount: must not be negative", field="loss_amount")
    if not _AMOUNT.fullmatch(text):
        raise InvalidInput(
            "loss_amount: a decimal number with at most 2 decimal places and 12 digits before the point, "
            "such as 47200 or 5.50, without separators or currency signs",
            field="loss_amount",
        )
    return Decimal(text).quantize(_CENT)


def _currency(mapping: Mapping[str, Any]) -> str:
    value = _plain_text(mapping, "currency")
    if value is None:
        return DEFAULT_CURRENCY
    code = value.upper()
    if not _CURRENCY.fullmatch(code):
        raise InvalidInput("currency: an ISO 4217 code of 3 letters, such as CNY", field="currency")
    return code


# -- files ---------------------------------------------------------------------------------------

Row = tuple[int, Mapping[str, Any] | str]
"""A row of a file: its first line, and its values by column, or why it could not be read."""


def parse_reports(path: Path | str, *, now: datetime | None = None) -> ParsedReports:
    """Read a file in the shared format, chosen by extension: ``.csv`` (with a header), ``.jsonl``
    (one object per line) or ``.json`` (JSON lines, or one array of objects).

    Good rows are kept and bad ones reported by line, so one typo does not cost a thousand reports.
    A row that repeats an earlier one exactly is left out (``repeated_lines``); one that reuses an
    earlier row's report_id with different values is an error on the later line. Raises
    ``ReportFileError`` when the file as a whole cannot be read.
    """
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in EXTENSIONS:
        raise ReportFileError(f"{path.name}: the file name must end in {', '.join(EXTENSIONS)}", field="file")
    now = now or datetime.now(UTC)
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        with path.open(encoding="utf-8-sig", newline="") as stream:
            rows: Iterator[Row]
            if extension == ".csv":
                rows = _csv_rows(stream)
            elif extension == ".json" and _starts_array(stream):
                rows = _array_rows(stream.read())
            else:
                rows = _json_lines(stream)
            return _collect(rows, now)
    except FileNotFoundError:
        raise ReportFileError(f"{path}: no such file", field="file") from None
    except UnicodeDecodeError:
        raise ReportFileError(f"{path.name}: not UTF-8 text; save it as UTF-8", field="file") from None
    except OSError as exc:
        raise ReportFileError(f"{path}: cannot be read ({exc.strerror})", field="file") from None


def _collect(rows: Iterable[Row], now: datetime) -> ParsedReports:
    reports: list[ScamReport] = []
    errors: list[RowError] = []
    repeated: list[int] = []
    lines: list[int] = []
    seen = FirstSeen()
    for line, values in rows:
        if isinstance(values, str):
            errors.append(RowError(line, values))
            continue
        try:
            report = parse_report(values, now=now)
        except InvalidInput as exc:
            errors.append(RowError(line, exc.message))
            continue
        repeat = seen.repeat_of(line, report)
        if repeat is None:
            reports.append(report)
            lines.append(line)
        elif repeat[1]:
            repeated.append(line)
        else:
            errors.append(RowError(line, f"report_id: line {repeat[0]} has the same report_id with different values"))
    return ParsedReports(reports, errors, repeated, lines)


def _csv_rows(stream: IO[str]) -> Iterator[Row]:
    reader = csv.reader(stream, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        names = [name.strip().lower() for name in header]
        doubled = sorted({name for name in names if names.count(name) > 1 and name in COLUMNS})
        if doubled:
            raise ReportFileError(f"the header names {', '.join(doubled)} more than once", field="file")
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise ReportFileError(f"the header lacks the required columns {', '.join(missing)}", field="file")
        wanted = {name: names.index(name) for name in COLUMNS if name in names}
        next_line = reader.line_num + 1
        for cells in reader:
            # A quoted value may span lines: a row is named by the line it starts on.
            line, next_line = next_line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(names):
                yield line, f"has {len(cells)} values; the header has {len(names)} columns"
                continue
            yield line, {name: cells[index] for name, index in wanted.items()}
    except csv.Error as exc:
        # After a malformed quote the reader cannot tell where rows begin: nothing after it is safe.
        raise ReportFileError(f"line {reader.line_num}: not valid CSV ({exc})", field="file") from None


def _json_lines(stream: IO[str]) -> Iterator[Row]:
    for line, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            yield line, "not valid JSON"
            continue
        yield line, value if isinstance(value, dict) else "must be a JSON object"


def _starts_array(stream: IO[str]) -> bool:
    start = stream.read(4096).lstrip()
    stream.seek(0)
    return start.startswith("[")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _array_rows(text: str) -> Iterator[Row]:
    """Items of one JSON array, each named by the line it starts on."""
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    position = text.index("[") + 1
    line, counted = 1, 0

    def advance(to: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, to)
        counted = to
        return line

    while True:
        position = _skip_space(text, position)
        if text.startswith("]", position):
            return
        start_line = advance(position)
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError:
            raise ReportFileError(f"line {start_line}: not valid JSON", field="file") from None
        yield start_line, value if isinstance(value, dict) else "must be a JSON object"
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("]", position):
            raise ReportFileError(f"line {advance(position)}: not valid JSON", field="file")


def write_reports(path: Path, reports: Iterable[ScamReport]) -> int:
    """Write reports in the shared format, chosen by extension (``.csv`` or ``.jsonl``); returns
    how many. CSV gets a byte-order mark so spreadsheets read Chinese text as UTF-8; JSON lines
    carry every value as a string or null, which the format's readers accept."""
    extension = path.suffix.lower()
    if extension not in (".csv", ".jsonl"):
        raise ReportFileError(f"{path.name}: written files must end in .csv or .jsonl", field="file")
    written = 0
    with open_private(path, "w", encoding="utf-8-sig" if extension == ".csv" else "utf-8", newline="") as out:
        if extension == ".csv":
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            for report in reports:
                writer.writerow(["" if v is None else v for v in report.shared_row().values()])
                written += 1
        else:
            for report in reports:
                out.write(orjson.dumps(report.shared_row()).decode() + "\n")
                written += 1
    return written
