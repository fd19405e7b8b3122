"""Reading and writing the shared "Scam reports" format: good rows, each kind of bad row by line,
CSV and JSON lines alike, timestamps with offsets and in epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from shopshield.core.errors import InvalidInput
from shopshield.scams.formats import (
    COLUMNS,
    ReportFileError,
    RowError,
    ScamReport,
    parse_report,
    parse_reports,
    write_reports,
)
from tests.support.scam_reports import report, write_csv, write_jsonl

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CONTACTED = datetime(2016, 7, 15, 6, 3, tzinfo=UTC)  # 14:03 in Guangzhou
CONTACTED_MS = 1468562580000


def test_a_good_row_becomes_a_report_in_utc_with_knew_in_the_formats_order(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [report(knew=" Price| NAME |items ", currency="cny", loss_amount="47200")])

    parsed = parse_reports(path, now=NOW)

    assert parsed.errors == []
    assert parsed.lines == [2]
    assert parsed.reports == [
        ScamReport(
            report_id="r-1",
            reported_at=datetime(2016, 7, 16, 1, 12, tzinfo=UTC),
            customer_id="c1001",
            contacted_at=CONTACTED,
            channel="call",
            contact_from="020-3712 8846",
            claimed_identity="聚美优品客服",
            knew=("name", "items", "price"),
            url="http://refund.jumei-help.com.cn/login",
            payee_account="6222 0202 0000 1234 567",
            loss_amount=Decimal("47200.00"),
            currency="CNY",
        )
    ]
    assert str(parsed.reports[0].loss_amount) == "47200.00"


@pytest.mark.parametrize(
    "contacted_at",
    [
        "2016-07-15T14:03:00+08:00",
        "2016-07-15T06:03:00Z",
        "2016-07-15T06:03:00+00:00",
        "2016-07-15 01:03:00-05:00",
        "20160715T140300+0800",
        str(CONTACTED_MS),
        CONTACTED_MS,
    ],
)
def test_offsets_and_epoch_milliseconds_name_the_same_moment(contacted_at: Any) -> None:
    found = parse_report(report(contacted_at=contacted_at), now=NOW)

    assert found.contacted_at == CONTACTED
    assert found.contacted_at.utcoffset() is not None


def test_csv_json_lines_and_a_json_array_give_the_same_reports(tmp_path: Path) -> None:
    rows = [
        report("r-1"),
        report("r-2", customer_id="c1002", channel="SMS", contact_from="10690000", url=None, loss_amount=None),
        report("r-3", customer_id="c1003", reported_at="1468631520000", knew=None, currency=None, payee_account=None),
    ]
    # JSON writers send numbers and lists where CSV has text: both are read alike.
    json_rows = [
        rows[0] | {"loss_amount": 47200, "knew": ["name", "items", "price", "purchase_time", "return_request"]},
        rows[1],
        rows[2] | {"reported_at": 1468631520000},
    ]
    from_csv = parse_reports(write_csv(tmp_path / "r.csv", rows), now=NOW)
    from_jsonl = parse_reports(write_jsonl(tmp_path / "r.jsonl", json_rows), now=NOW)
    array = tmp_path / "r.json"
    array.write_bytes(b"[\n" + b",\n".join(orjson.dumps(r) for r in json_rows) + b"\n]\n")
    from_array = parse_reports(array, now=NOW)

    assert from_csv.errors == from_jsonl.errors == from_array.errors == []
    assert len(from_csv.reports) == 3
    assert from_csv.reports == from_jsonl.reports == from_array.reports
    assert from_csv.reports[1].channel == "sms"
    assert from_csv.reports[1].loss_amount is None
    assert (from_csv.reports[2].knew, from_csv.reports[2].currency) == ((), "CNY")
    assert from_array.lines == [2, 3, 4]


# Each bad value, the start of the reason it earns, and the value that must not appear in it.
BAD_ROWS: list[tuple[dict[str, Any], str]] = [
    ({"report_id": None}, "report_id: required"),
    ({"report_id": "r 1"}, "report_id: 1-64 letters"),
    ({"customer_id": "13812345678 刘杰"}, "customer_id: 1-64 letters"),
    ({"reported_at": "2016-07-16 09:12:00"}, "reported_at: needs a UTC offset"),
    ({"contacted_at": "last tuesday"}, "contacted_at: expected an ISO 8601 time"),
    ({"contacted_at": "1468562580"}, "contacted_at: before 2000-01-01 (epoch times are in milliseconds"),
    ({"reported_at": "2030-01-01T00:00:00Z"}, "reported_at: is in the future"),
    ({"contacted_at": "2016-07-17T00:00:00+08:00"}, "contacted_at: must not be after reported_at"),
    ({"channel": "fax"}, "channel: must be one of call, sms, im, email, other"),
    ({"channel": None}, "channel: required"),
    ({"loss_amount": "-4720"}, "loss_amount: must not be negative"),
    ({"loss_amount": "47200.125"}, "loss_amount: a decimal number with at most 2 decimal places"),
    ({"loss_amount": "47,200"}, "loss_amount: a decimal number with at most 2 decimal places"),
    ({"loss_amount": "¥47200"}, "loss_amount: a decimal number with at most 2 decimal places"),
    ({"currency": "RMB1"}, "currency: an ISO 4217 code"),
    ({"url": "javascript:alert(1)"}, "url: must name a host"),
    ({"url": "ftp://files.example.cn/x"}, "url: must be an http or https link"),
    ({"url": "http://refund example.cn"}, "url: must not contain spaces"),
    ({"claimed_identity": "=HYPERLINK(1)"}, "claimed_identity: must not start with =, +, - or @"),
    ({"payee_account": "+SUM(9)"}, "payee_account: must not start with =, +, - or @"),
    ({"contact_from": "x" * 129}, "contact_from: at most 128 characters"),
    ({"knew": "name|6222020200001234"}, "knew: each item must be a word"),
]


def test_each_bad_row_is_named_by_its_line_and_column_and_good_rows_are_kept(tmp_path: Path) -> None:
    bad = [
        {k: v for k, v in (report(f"bad-{n}") | change).items() if v is not None}
        for n, (change, _) in enumerate(BAD_ROWS)
    ]
    rows = [report("good-first"), *bad, report("good-last")]

    parsed = parse_reports(write_csv(tmp_path / "r.csv", rows), now=NOW)

    assert [r.report_id for r in parsed.reports] == ["good-first", "good-last"]
    assert parsed.lines == [2, len(rows) + 1]
    assert [e.line for e in parsed.errors] == list(range(3, 3 + len(BAD_ROWS)))
    for error, (change, reason) in zip(parsed.errors, BAD_ROWS, strict=True):
        assert error.reason.startswith(reason), (error, reason)
        for value in change.values():
            if value is not None:
                assert str(value) not in error.reason, "messages never echo the value"


def test_a_quoted_value_over_two_lines_keeps_the_line_numbers_right(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv",
        [report("r-1", claimed_identity="customer\nservice"), report("r-2", channel="fax"), report("r-3")],
    )

    parsed = parse_reports(path, now=NOW)

    assert parsed.errors == [
        RowError(2, "claimed_identity: must not contain control characters"),
        RowError(4, "channel: must be one of call, sms, im, email, other"),
    ]
    assert parsed.lines == [5]


def test_a_row_with_the_wrong_number_of_values_is_rejected(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", [report("r-1")])
    with path.open("a", encoding="utf-8") as out:
        out.write("r-2,2016-07-16T09:12:00+08:00,c1,2016-07-15T14:03:00+08:00,call\n")

    parsed = parse_reports(path, now=NOW)

    assert parsed.errors == [RowError(3, "has 5 values; the header has 12 columns")]


def test_an_identical_repeat_is_skipped_and_a_different_one_rejected(tmp_path: Path) -> None:
    rows = [report("r-1"), report("r-2", customer_id="c2"), report("r-1"), report("r-2", customer_id="c3")]

    parsed = parse_reports(write_csv(tmp_path / "r.csv", rows), now=NOW)

    assert [r.report_id for r in parsed.reports] == ["r-1", "r-2"]
    assert parsed.repeated_lines == [4]
    assert parsed.errors == [RowError(5, "report_id: line 3 has the same report_id with different values")]


def test_json_lines_name_bad_lines_and_skip_blank_ones(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        orjson.dumps(report("r-1"))
        + b"\n\n{not json\n[1, 2]\n"
        + orjson.dumps(report("r-2", loss_amount=True))
        + b"\n"
        + orjson.dumps(report("r-3", loss_amount=5000.5, customer_id=1002))
        + b"\n"
    )

    parsed = parse_reports(path, now=NOW)

    assert parsed.errors == [
        RowError(3, "not valid JSON"),
        RowError(4, "must be a JSON object"),
        RowError(5, "loss_amount: must be a decimal number"),
    ]
    assert [(r.report_id, r.customer_id, r.loss_amount) for r in parsed.reports] == [
        ("r-1", "c1001", Decimal("47200.00")),
        ("r-3", "1002", Decimal("5000.50")),
    ]
    assert parsed.lines == [1, 6]


def test_unknown_knew_items_are_kept_trimmed_and_lower_cased() -> None:
    found = parse_report(report(knew=" Bank Card | NAME |SMS-code|price||name"), now=NOW)

    assert found.knew == ("name", "price", "bank_card", "sms_code")


def test_columns_the_format_does_not_list_are_ignored(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "r.csv", [report() | {"agent_note": "x", "order_id": "o-9"}], [*COLUMNS, "agent_note", "order_id"]
    )

    assert parse_reports(path, now=NOW).reports == [parse_report(report(), now=NOW)]


def test_a_bom_and_header_case_and_spacing_are_tolerated(tmp_path: Path) -> None:
    odd = {f" {column.upper()} ": value for column, value in report().items()}
    path = write_csv(tmp_path / "r.csv", [odd], list(odd))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    parsed = parse_reports(path, now=NOW)

    assert parsed.errors == []
    assert parsed.reports == [parse_report(report(), now=NOW)]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.txt", b"report_id\n", "r.txt: the file name must end in .csv, .jsonl, .json"),
        ("r.csv", b"report_id,customer_id,channel\nr-1,c1,call\n", "the header lacks the required columns"),
        ("r.csv", "report_id\n客服".encode("gbk"), "not UTF-8 text"),
        ("r.csv", b'report_id,reported_at,customer_id,contacted_at,channel\n"r-1"x,a,b,c,d\n', "line 2: not valid CSV"),
        ("r.json", b'[{"report_id": "r-1"},\n {"report_id": \n', "line 2: not valid JSON"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_whole_is_refused(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(ReportFileError) as caught:
        parse_reports(path, now=NOW)

    assert message in caught.value.message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportFileError, match="no such file"):
        parse_reports(tmp_path / "absent.csv")


def test_an_empty_file_or_a_header_alone_holds_no_reports(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text(",".join(COLUMNS) + "\n", encoding="utf-8")

    for name in ("empty.csv", "header.csv"):
        parsed = parse_reports(tmp_path / name)
        assert (parsed.reports, parsed.errors) == ([], [])


def test_parse_report_names_the_field_for_the_api() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_report(report(channel="fax"), now=NOW)
    assert caught.value.field == "channel"

    with pytest.raises(InvalidInput) as caught:
        parse_report(report(knew=[1, 2]), now=NOW)
    assert caught.value.field == "knew"

    assert parse_report(report(loss_amount=47200.5), now=NOW).loss_amount == Decimal("47200.50")


@pytest.mark.parametrize("extension", [".csv", ".jsonl"])
def test_written_reports_read_back_the_same(tmp_path: Path, extension: str) -> None:
    reports = [
        parse_report(report("r-1", claimed_identity='say "退款", then, go'), now=NOW),
        parse_report(report("r-2", knew=None, url=None, loss_amount=None, contact_from="@refund_helper"), now=NOW),
    ]
    path = tmp_path / f"out{extension}"

    assert write_reports(path, reports) == 2
    assert parse_reports(path, now=NOW).reports == reports
