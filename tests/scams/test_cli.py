"""``shopshield reports import|summary|casefile`` on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from shopshield.bootstrap import Container
from shopshield.cli import app
from shopshield.core.db import unit_of_work
from shopshield.core.times import parse_window
from shopshield.scams import service
from shopshield.scams.formats import parse_reports
from shopshield.scams.models import ScamReportRow
from shopshield.scams.summary import summarize, summary_json
from shopshield.settings import Settings
from tests.support.environment import cli_env as _env
from tests.support.scam_reports import report, write_csv, write_jsonl

ATTRIBUTION: dict[str, Any] = {
    "conclusive": True,
    "likely_source": "insider",
    "suspects": [
        {
            "actor_id": "staff-0417",
            "actor_kind": "staff",
            "score": 14.25,
            "victims_covered": 3,
            "victims_total": 3,
            "expected": 0.21,
            "p_value": 1.2e-05,
            "first_access": "2016-07-14T09:00:00+08:00",
            "last_access": "2016-07-16T18:30:00+08:00",
            "explanation": "viewed the return orders of all 3 victims, each within a day before the scam call",
        },
        {
            "actor_id": "partner-logistics-2",
            "actor_kind": "partner",
            "score": 1.5,
            "victims_covered": 1,
            "victims_total": 3,
            "expected": 0.9,
            "p_value": 0.41,
            "first_access": None,
            "last_access": None,
            "explanation": "covers one victim, as often as chance would",
            "ignored_new_field": [1, 2],
        },
    ],
}


def _run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(app, ["reports", *args], env=_env(settings))


def _stored(container: Container) -> list[ScamReportRow]:
    with unit_of_work(container.sessions) as session:
        return list(session.scalars(select(ScamReportRow).order_by(ScamReportRow.report_id)))


def _three(tmp_path: Path) -> Path:
    """Three reports of the 2016 case: the two calls share a number, the SMS a payee with the second."""
    at = {"reported_at": "2016-07-17T09:00:00+08:00"}
    return write_csv(
        tmp_path / "three.csv",
        [
            report("r-1", customer_id="c1", contacted_at="2016-07-15T14:03:00+08:00", **at)
            | {"claimed_identity": "<script>alert('x')</script>", "payee_account": "6222 0000 0001"},
            report("r-2", customer_id="c2", contacted_at="2016-07-15T23:30:00+08:00", loss_amount="5000", **at)
            | {"contact_from": "+86 20 3712 8846", "url": None},
            report("r-3", customer_id="c3", contacted_at="2016-07-16T08:00:00+08:00", loss_amount="3400", **at)
            | {"channel": "sms", "contact_from": "10690000", "url": None, "payee_account": "6222-0202-0000-1234-567"},
        ],
    )


# -- import --------------------------------------------------------------------------------------


def test_import_stores_a_good_file_and_a_second_run_skips_it(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    path = _three(tmp_path)

    first = _run(settings, "import", str(path))
    second = _run(settings, "import", str(path))

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == ["3 stored, 0 skipped as identical duplicates, 0 rejected (three.csv)"]
    assert second.exit_code == 0, second.output
    assert second.stdout.splitlines() == ["0 stored, 3 skipped as identical duplicates, 0 rejected (three.csv)"]
    rows = _stored(container)
    assert [(r.report_id, r.received_by) for r in rows] == [("r-1", "cli"), ("r-2", "cli"), ("r-3", "cli")]
    assert [service.to_report(r) for r in rows] == parse_reports(path).reports


def test_import_stores_the_good_rows_and_exits_1_listing_the_rejected(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [report("r-1"), report("r-2", channel="fax"), report("r-3", loss_amount="-1"), report("r-1"), report("r-4")],
    )

    result = _run(settings, "import", str(path))

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "2 stored, 1 skipped as identical duplicates, 2 rejected (mixed.jsonl)",
        "line 2: channel: must be one of call, sms, im, email, other",
        "line 3: loss_amount: must not be negative",
    ]
    assert [r.report_id for r in _stored(container)] == ["r-1", "r-4"]


def test_import_rejects_a_row_that_differs_from_the_stored_report(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    assert _run(settings, "import", str(write_csv(tmp_path / "a.csv", [report("r-1")]))).exit_code == 0
    changed = write_csv(tmp_path / "b.csv", [report("r-2"), report("r-1", loss_amount="1"), report("r-3")])

    result = _run(settings, "import", str(changed))

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "2 stored, 0 skipped as identical duplicates, 1 rejected (b.csv)",
        "line 3: report_id: a different report with this report_id is already stored",
    ]
    assert service.to_report(_stored(container)[0]).loss_amount == 47200


def test_import_of_a_big_file_goes_in_batches(container: Container, settings: Settings, tmp_path: Path) -> None:
    rows = [report(f"r-{n:05d}", customer_id=f"c{n}") for n in range(2500)]
    assert _run(settings, "import", str(write_csv(tmp_path / "first.csv", rows[:1200]))).exit_code == 0
    rows[2100]["loss_amount"] = "x"

    result = _run(settings, "import", str(write_csv(tmp_path / "big.csv", rows)))

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0] == "1299 stored, 1200 skipped as identical duplicates, 1 rejected (big.csv)"
    assert result.stdout.splitlines()[1].startswith("line 2102: loss_amount:")
    assert len(_stored(container)) == 2499


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.csv", None, "no such file"),
        ("reports.xlsx", b"report_id\n", "the file name must end in .csv, .jsonl, .json"),
        ("reports.csv", b"report_id,customer_id\nr-1,c1\n", "the header lacks the required columns"),
    ],
)
def test_import_exits_2_when_the_file_cannot_be_read(
    container: Container, settings: Settings, tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)

    result = _run(settings, "import", str(path))

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert _stored(container) == []


# -- summary -------------------------------------------------------------------------------------


def test_summary_as_json_is_the_apis_summary(container: Container, settings: Settings, tmp_path: Path) -> None:
    assert _run(settings, "import", str(_three(tmp_path))).exit_code == 0

    result = _run(settings, "summary", "--format", "json", "--tz", "Asia/Shanghai", "--since", "2016-07-15")

    assert result.exit_code == 0, result.output
    found = orjson.loads(result.stdout)
    window = parse_window(since="2016-07-15", until=None, tz="Asia/Shanghai")
    with unit_of_work(container.sessions) as session:
        assert found == summary_json(summarize(service.load(session=session, window=window), window))
    assert [(d["day"], d["reports"]) for d in found["days"]] == [("2016-07-15", 2), ("2016-07-16", 1)]
    assert found["totals"]["losses"][0]["total"] == "55600.00"
    [cluster] = found["clusters"]
    assert cluster["report_ids"] == ["r-1", "r-2", "r-3"]
    assert {(i["kind"], i["value"]) for i in cluster["indicators"]} == {
        ("phone", "02037128846"),
        ("payee", "6222020200001234567"),
    }


def test_summary_as_tables_for_people(container: Container, settings: Settings, tmp_path: Path) -> None:
    assert _run(settings, "import", str(_three(tmp_path))).exit_code == 0

    result = _run(settings, "summary", "--tz", "UTC")

    assert result.exit_code == 0, result.output
    for text in ("Scam reports per day (UTC)", "2016-07-15", "CNY 55600.00", "Clusters", "What the scammers knew"):
        assert text in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tz", "Mars/Olympus"], "--tz: must be an IANA time zone"),
        (["--since", "soon"], "--since: expected an ISO 8601 date or time"),
        (["--since", "2016-07-16", "--until", "2016-07-15"], "--since must be before --until"),
        (["--format", "xml"], "--format"),
    ],
)
def test_summary_exits_2_on_bad_options(settings: Settings, args: list[str], message: str) -> None:
    result = _run(settings, "summary", *args)

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


# -- case file -----------------------------------------------------------------------------------


def test_casefile_writes_the_page_and_the_csv_files(container: Container, settings: Settings, tmp_path: Path) -> None:
    source = _three(tmp_path)
    assert _run(settings, "import", str(source)).exit_code == 0
    attribution = tmp_path / "attribution.json"
    attribution.write_bytes(orjson.dumps(ATTRIBUTION))
    out = tmp_path / "case"

    result = _run(settings, "casefile", "--out", str(out), "--attribution", str(attribution), "--tz", "Asia/Shanghai")

    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "index.html",
        "reports.csv",
        "clusters.csv",
        "losses_by_day.csv",
        "knew.csv",
        "attribution.csv",
    }
    assert list(tmp_path.glob(".case.partial-*")) == []
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    assert "<a " not in page and " src=" not in page and "url(" not in page, "no links, no external assets"
    assert "default-src 'none'" in page
    for text in ("staff-0417", "Conclusive", "an insider", "02037128846", "CNY 55600.00", "2016-07-15"):
        assert text in page

    assert parse_reports(out / "reports.csv").reports == parse_reports(source).reports
    assert _csv(out / "clusters.csv") == [
        {
            "cluster": "1",
            "reports": "3",
            "victims": "3",
            "losses": "CNY 55600.00",
            "first_contact": "2016-07-15T06:03:00Z",
            "last_contact": "2016-07-16T00:00:00Z",
            "indicators": "payee 6222020200001234567 (2 reports); phone 02037128846 (2 reports)",
            "report_ids": "r-1|r-2|r-3",
        }
    ]
    assert [(d["day"], d["reports"], d["loss_total"], d["loss_median"]) for d in _csv(out / "losses_by_day.csv")] == [
        ("2016-07-15", "2", "52200.00", "26100.00"),
        ("2016-07-16", "1", "3400.00", "3400.00"),
    ]
    # Ties in the format's own order: name before items.
    assert _csv(out / "knew.csv")[:2] == [
        {"item": "name", "reports": "3", "share": "1.0"},
        {"item": "items", "reports": "3", "share": "1.0"},
    ]


def test_the_attribution_csv_matches_the_json(container: Container, settings: Settings, tmp_path: Path) -> None:
    attribution = tmp_path / "attribution.json"
    attribution.write_bytes(orjson.dumps(ATTRIBUTION))

    result = _run(settings, "casefile", "--out", str(tmp_path / "case"), "--attribution", str(attribution))

    assert result.exit_code == 0, result.output
    rows = _csv(tmp_path / "case" / "attribution.csv")
    assert [row["rank"] for row in rows] == ["1", "2"]
    for row, suspect in zip(rows, ATTRIBUTION["suspects"], strict=True):
        assert row["actor_id"] == suspect["actor_id"]
        assert row["actor_kind"] == suspect["actor_kind"]
        for number in ("score", "expected", "p_value"):
            assert float(row[number]) == suspect[number]
        for count in ("victims_covered", "victims_total"):
            assert int(row[count]) == suspect[count]
        for moment in ("first_access", "last_access"):
            assert row[moment] == (suspect[moment] or "")
        assert row["explanation"] == suspect["explanation"]


def test_casefile_without_reports_or_attribution_still_reads(
    container: Container, settings: Settings, tmp_path: Path
) -> None:
    result = _run(settings, "casefile", "--out", str(tmp_path / "case"))

    assert result.exit_code == 0, result.output
    page = (tmp_path / "case" / "index.html").read_text(encoding="utf-8")
    assert "No attribution result was attached" in page
    assert not (tmp_path / "case" / "attribution.csv").exists()
    assert _csv(tmp_path / "case" / "reports.csv") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not the output of `investigate attribute`"),
        (orjson.dumps(ATTRIBUTION | {"likely_source": "aliens"}), "likely_source:"),
        (orjson.dumps(ATTRIBUTION | {"conclusive": "yes please"}), "conclusive:"),
        (
            orjson.dumps({**ATTRIBUTION, "suspects": [ATTRIBUTION["suspects"][0] | {"p_value": 2}]}),
            "suspects.0.p_value:",
        ),
        (orjson.dumps({"conclusive": True, "likely_source": "unknown"}), "suspects: Field required"),
    ],
)
def test_a_malformed_attribution_exits_2_and_writes_nothing(
    settings: Settings, tmp_path: Path, content: bytes, message: str
) -> None:
    attribution = tmp_path / "attribution.json"
    attribution.write_bytes(content)

    result = _run(settings, "casefile", "--out", str(tmp_path / "case"), "--attribution", str(attribution))

    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "case").exists()


def test_casefile_refuses_a_directory_that_holds_files(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "notes.txt").write_text("keep me", encoding="utf-8")

    result = _run(settings, "casefile", "--out", str(tmp_path / "case"))

    assert result.exit_code == 2, result.output
    assert "exists and is not an empty directory" in " ".join(result.output.split())
    assert [p.name for p in (tmp_path / "case").iterdir()] == ["notes.txt"]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as source:
        return list(csv.DictReader(source))
