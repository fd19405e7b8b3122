"""The case file for police and regulators: one self-contained ``index.html`` and the CSV files
behind it, written into a new directory that appears only when complete.

The page is built with ``html.escape`` through one small element builder (``el``): anything that is
not markup built by ``el`` is escaped, so no report value can become markup. No script, no external
asset, and a Content-Security-Policy that forbids both, so the page renders the same offline and
cannot call out. Links the scammers sent are shown as text, never as links.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, FiniteFloat, StringConstraints, ValidationError

from shopshield.core.errors import InvalidInput
from shopshield.core.files import open_private, private_dir
from shopshield.core.html import Html, el, fragment
from shopshield.core.times import iso
from shopshield.scams.formats import ScamReport, write_reports
from shopshield.scams.summary import Summary, losses_text, money

FILES: Final = ("index.html", "reports.csv", "clusters.csv", "losses_by_day.csv", "knew.csv")
ATTRIBUTION_CSV: Final = "attribution.csv"
ATTRIBUTION_COLUMNS: Final = (
    "rank",
    "actor_id",
    "actor_kind",
    "score",
    "victims_covered",
    "victims_total",
    "expected",
    "p_value",
    "first_access",
    "last_access",
    "explanation",
)
SOURCES: Final = {
    "insider": "an insider: someone whose access to the store's records covers the victims",
    "credential_stuffing": "credential stuffing: logins with passwords leaked from other sites",
    "unknown": "not determined",
}


class CaseFileError(InvalidInput):
    """The case file cannot be written as asked: the output directory or the attribution file."""


# -- the attribution result ----------------------------------------------------------------------

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Suspect(BaseModel):
    """One ranked suspect of ``shopshield investigate attribute``; fields it may add later are
    ignored, as in the shared formats."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    actor_id: Text
    actor_kind: Literal["staff", "courier", "merchant", "partner", "service", "job", "customer", "other"]
    score: FiniteFloat
    victims_covered: int = Field(ge=0)
    victims_total: int = Field(ge=0)
    expected: FiniteFloat = Field(ge=0)
    p_value: FiniteFloat = Field(ge=0, le=1)
    first_access: AwareDatetime | None = None
    last_access: AwareDatetime | None = None
    explanation: Annotated[str, StringConstraints(max_length=4000)]


class Attribution(BaseModel):
    """The JSON output of ``shopshield investigate attribute``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    conclusive: bool
    likely_source: Literal["insider", "credential_stuffing", "unknown"]
    suspects: list[Suspect] = Field(max_length=10_000)


def load_attribution(path: Path) -> Attribution:
    """Read and check an attribution result; ``CaseFileError`` names what is wrong, not the value."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CaseFileError(f"--attribution: {path}: no such file", field="attribution") from None
    except OSError as exc:
        raise CaseFileError(f"--attribution: {path}: cannot be read ({exc.strerror})", field="attribution") from None
    try:
        return Attribution.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'the file'}: {error['msg']}"
            for error in exc.errors()[:5]
        )
        raise CaseFileError(
            f"--attribution: {path.name} is not the output of `investigate attribute` ({problems})", field="attribution"
        ) from None


# -- writing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseFile:
    summary: Summary
    reports: list[ScamReport]
    attribution: Attribution | None
    generated_at: datetime


def check_out_dir(out: Path) -> None:
    """The directory must be new or empty: a case file never mixes with older files."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CaseFileError(f"--out: {out} exists and is not an empty directory; name a new one", field="out")
    if not out.parent.is_dir():
        raise CaseFileError(f"--out: the directory {out.parent} does not exist", field="out")


def write(out: Path, case: CaseFile) -> list[str]:
    """Write the case file into ``out`` and return the names of its files.

    Everything is written into a hidden directory beside ``out`` that is renamed to ``out`` at the
    end, so an interrupted run leaves no half case file behind.
    """
    check_out_dir(out)
    partial = private_dir(out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}")
    try:
        names = list(FILES)
        write_reports(partial / "reports.csv", case.reports)
        _write_csv(partial / "clusters.csv", _cluster_rows(case.summary))
        _write_csv(partial / "losses_by_day.csv", _day_rows(case.summary))
        _write_csv(partial / "knew.csv", _knew_rows(case.summary))
        if case.attribution is not None:
            _write_csv(partial / ATTRIBUTION_CSV, attribution_rows(case.attribution))
            names.append(ATTRIBUTION_CSV)
        with open_private(partial / "index.html", "w", encoding="utf-8") as html:
            html.write(page(case, names))
        if out.exists():
            out.rmdir()  # empty, as checked
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return names


def _write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    # A byte-order mark, so that spreadsheets read Chinese text as UTF-8.
    with open_private(path, "w", encoding="utf-8-sig", newline="") as out:
        csv.writer(out).writerows(rows)


def _cluster_rows(summary: Summary) -> Iterable[Sequence[object]]:
    yield ("cluster", "reports", "victims", "losses", "first_contact", "last_contact", "indicators", "report_ids")
    for cluster in summary.clusters:
        yield (
            cluster.number,
            len(cluster.reports),
            cluster.victims,
            losses_text(cluster.losses),
            iso(cluster.first_contact),
            iso(cluster.last_contact),
            "; ".join(f"{shared.kind} {shared.value} ({shared.reports} reports)" for shared in cluster.indicators),
            "|".join(r.report_id for r in cluster.reports),
        )


def _day_rows(summary: Summary) -> Iterable[Sequence[object]]:
    """One row per day and currency; a day without a stated loss still has its row."""
    yield ("day", "reports", "victims", "currency", "loss_reports", "loss_total", "loss_median", "loss_largest")
    for day in summary.days:
        if not day.losses:
            yield (day.day.isoformat(), day.reports, day.victims, "", 0, "", "", "")
        for loss in day.losses:
            yield (
                day.day.isoformat(),
                day.reports,
                day.victims,
                loss.currency,
                loss.reports,
                money(loss.total),
                money(loss.median),
                money(loss.largest),
            )


def _knew_rows(summary: Summary) -> Iterable[Sequence[object]]:
    yield ("item", "reports", "share")
    for known in summary.knew:
        yield (known.item, known.reports, known.share)


def attribution_rows(attribution: Attribution) -> Iterable[Sequence[object]]:
    """The suspects, ranked as the attribution listed them, one row each."""
    yield ATTRIBUTION_COLUMNS
    for rank, s in enumerate(attribution.suspects, start=1):
        yield (
            rank,
            _cell(s.actor_id),
            s.actor_kind,
            s.score,
            s.victims_covered,
            s.victims_total,
            s.expected,
            s.p_value,
            "" if s.first_access is None else s.first_access.isoformat(),
            "" if s.last_access is None else s.last_access.isoformat(),
            _cell(s.explanation),
        )


def _cell(text: str) -> str:
    # The attribution is another tool's output, not checked at intake like reports: a value a
    # spreadsheet would run as a formula is written as text.
    return f"'{text}" if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


# -- the page ------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, numeric: Sequence[int] = ()) -> Html:
    def cell(tag: str, n: int, value: str) -> Html:
        return el(tag, value, class_="num") if n in numeric else el(tag, value)

    head = el("thead", el("tr", *(cell("th", n, h) for n, h in enumerate(headers))))
    body = el("tbody", *(el("tr", *(cell("td", n, v) for n, v in enumerate(row))) for row in rows))
    return el("table", head, body)


_STYLE = """
body { font: 15px/1.5 system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2rem auto; max-width: 76rem;
  padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: .6rem 0; font-size: 13px; }
th, td { border: 1px solid #ccd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef0f4; } .num { text-align: right; font-variant-numeric: tabular-nums; }
td { overflow-wrap: anywhere; max-width: 28rem; } .note { color: #555; } dt { font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; }
.bar { background: #4a6fa5; height: .8rem; display: inline-block; vertical-align: middle; }
.verdict { font-size: 1.1rem; padding: .6rem .8rem; background: #f6f1e4; border-left: 4px solid #c9a227; }
@media print { h2 { break-after: avoid; } table { break-inside: auto; } }
"""


def page(case: CaseFile, files: Sequence[str]) -> str:
    """The whole ``index.html``."""
    s = case.summary
    tz = s.window.tz
    sections = [
        el("h1", "Scam reports case file · 诈骗举报案卷"),
        el(
            "p",
            f"Generated {_local(case.generated_at, case)} by ShopShield. Days and times are in {tz.key}.",
            class_="note",
        ),
        _overview(case),
        _investigation(case),
        _losses_by_day(case),
        _clusters(case),
        _knew(case),
        _reports(case),
        el("h2", "Files · 文件"),
        el("p", "The same data as machine-readable CSV files (UTF-8) beside this page:"),
        el("ul", *(el("li", name) for name in files if name != "index.html")),
    ]
    head = el(
        "head",
        Html('<meta charset="utf-8">'),
        # Nothing may load or run, even if a value ever got past escaping.
        Html("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"),
        el("title", f"Scam reports case file, {_window_text(case)}"),
        el("style", Html(_STYLE)),
    )
    return "<!DOCTYPE html>\n" + el("html", head, el("body", *sections), lang="en") + "\n"


def _local(moment: datetime, case: CaseFile) -> str:
    return moment.astimezone(case.summary.window.tz).strftime("%Y-%m-%d %H:%M %z")


def _window_text(case: CaseFile) -> str:
    window = case.summary.window
    if window.since is None and window.until is None:
        return "all reports"
    since = "the earliest report" if window.since is None else _local(window.since, case)
    until = "the latest report" if window.until is None else _local(window.until, case)
    return f"contacts from {since} until {until}"


def _overview(case: CaseFile) -> Html:
    s = case.summary
    facts: list[tuple[str, str]] = [
        ("Window", _window_text(case)),
        ("Reports", str(s.reports)),
        ("Victims (distinct customers)", str(s.victims)),
        ("First contact", "none" if s.first_contact is None else _local(s.first_contact, case)),
        ("Last contact", "none" if s.last_contact is None else _local(s.last_contact, case)),
    ]
    for loss in s.losses:
        facts.append(
            (
                f"Losses in {loss.currency}",
                f"{money(loss.total)} in total over {loss.reports} reports; median {money(loss.median)}; "
                f"largest {money(loss.largest)}",
            )
        )
    facts.append(("Reports without a stated loss", str(s.loss_unknown)))
    in_clusters = sum(len(c.reports) for c in s.clusters)
    facts.append(("Clusters", f"{len(s.clusters)}, holding {in_clusters} of the {s.reports} reports"))
    items = [part for label, value in facts for part in (el("dt", label), el("dd", value))]
    return fragment(
        el("h2", "Overview · 概况"),
        el(
            "p",
            "Each report is a customer's own account of a scam contact, taken in by the store. Figures below are "
            "computed from these reports only; the CSV files hold every report as received.",
            class_="note",
        ),
        el("dl", *items),
    )


def _investigation(case: CaseFile) -> Html:
    heading = el("h2", "Investigation result · 调查结论")
    result = case.attribution
    if result is None:
        return fragment(heading, el("p", "No attribution result was attached to this case file.", class_="note"))
    verdict = "Conclusive" if result.conclusive else "Not conclusive"
    rows = [
        (
            str(rank),
            s.actor_id,
            s.actor_kind,
            f"{s.score:.4g}",
            f"{s.victims_covered} of {s.victims_total}",
            f"{s.expected:.4g}",
            f"{s.p_value:.3g}",
            "" if s.first_access is None else _local(s.first_access, case),
            "" if s.last_access is None else _local(s.last_access, case),
            s.explanation,
        )
        for rank, s in enumerate(result.suspects, start=1)
    ]
    headers = ("#", "actor", "kind", "score", "victims covered", "expected by chance", "p-value")
    return fragment(
        heading,
        el("p", f"{verdict}. Likely source of the leak: {SOURCES[result.likely_source]}.", class_="verdict"),
        el(
            "p",
            "Suspects are accounts whose accesses to customer records cover more of the victims than chance would "
            "explain. A suspect is a lead for investigation, not proof.",
            class_="note",
        ),
        (
            _table((*headers, "first access", "last access", "explanation"), rows, numeric=(0, 3, 5, 6))
            if rows
            else el("p", "The attribution named no suspect.")
        ),
    )


def _losses_by_day(case: CaseFile) -> Html:
    s = case.summary
    rows = [
        (
            day.day.isoformat(),
            str(day.reports),
            str(day.victims),
            losses_text(day.losses),
            losses_text(day.losses, "median"),
            losses_text(day.losses, "largest"),
        )
        for day in s.days
    ]
    return fragment(
        el("h2", "Losses per day · 每日损失"),
        _chart(case),
        _table(("day", "reports", "victims", "lost", "median", "largest"), rows, numeric=(1, 2, 3, 4, 5)),
    )


def _chart(case: CaseFile) -> Html:
    """Bars of the loss per day in the currency with the largest total, as inline SVG."""
    s = case.summary
    if not s.losses or not s.days:
        return Html("")
    main = max(s.losses, key=lambda loss: loss.total).currency
    values = [next((loss.total for loss in day.losses if loss.currency == main), Decimal(0)) for day in s.days]
    top = max(values) or Decimal(1)
    width, height, left, bottom = 760, 220, 70, 30
    step = (width - left - 10) / len(values)
    bars = []
    for n, (day, value) in enumerate(zip(s.days, values, strict=True)):
        bar_height = float(value) / float(top) * (height - bottom - 20)
        bars.append(
            el(
                "rect",
                el("title", f"{day.day.isoformat()}: {main} {money(value)}"),
                x=f"{left + n * step + step * 0.1:.1f}",
                y=f"{height - bottom - bar_height:.1f}",
                width=f"{max(step * 0.8, 1):.1f}",
                height=f"{bar_height:.1f}",
                fill="#4a6fa5",
            )
        )
    labels = [
        el("text", f"{main} {money(top)}", x=left - 6, y=24, text_anchor="end", font_size=11),
        el("text", "0", x=left - 6, y=height - bottom, text_anchor="end", font_size=11),
        el("text", s.days[0].day.isoformat(), x=left, y=height - 10, font_size=11),
        el("text", s.days[-1].day.isoformat(), x=width - 10, y=height - 10, text_anchor="end", font_size=11),
        el("line", x1=left, y1=height - bottom, x2=width - 10, y2=height - bottom, stroke="#888"),
    ]
    return el(
        "svg",
        el("title", f"Loss per day in {main}"),
        *bars,
        *labels,
        xmlns="http://www.w3.org/2000/svg",
        viewBox=f"0 0 {width} {height}",
        width=width,
        height=height,
        role="img",
    )


def _clusters(case: CaseFile) -> Html:
    s = case.summary
    rows = [
        (
            str(c.number),
            str(len(c.reports)),
            str(c.victims),
            losses_text(c.losses),
            _local(c.first_contact, case),
            _local(c.last_contact, case),
            "; ".join(f"{shared.kind} {shared.value} ({shared.reports})" for shared in c.indicators),
            ", ".join(r.report_id for r in c.reports),
        )
        for c in s.clusters
    ]
    return fragment(
        el("h2", "Clusters · 关联案件群"),
        el(
            "p",
            "Reports linked by a shared caller or sender number, link domain or payee account, directly or through "
            "other reports. The indicators listed are the ones shared within the cluster (with how many of its "
            "reports carry each).",
            class_="note",
        ),
        (
            _table(
                ("#", "reports", "victims", "lost", "first contact", "last contact", "shared indicators", "reports"),
                rows,
                numeric=(0, 1, 2, 3),
            )
            if rows
            else el("p", "No two reports share an indicator.")
        ),
    )


def _knew(case: CaseFile) -> Html:
    s = case.summary
    rows = [
        el(
            "tr",
            el("td", k.item),
            el("td", str(k.reports), class_="num"),
            el("td", f"{k.share:.0%}", class_="num"),
            el("td", el("span", class_="bar", style=f"width: {k.share * 12:.2f}rem")),
        )
        for k in s.knew
    ]
    head = el("thead", el("tr", el("th", "item"), el("th", "reports"), el("th", "share of all reports"), el("th", "")))
    return fragment(
        el("h2", "What the scammers knew · 骗子掌握的信息"),
        el("table", head, el("tbody", *rows)) if rows else el("p", "No report says what the scammer knew."),
    )


def _reports(case: CaseFile) -> Html:
    cluster_of = {r.report_id: str(c.number) for c in case.summary.clusters for r in c.reports}
    rows = [
        (
            r.report_id,
            _local(r.contacted_at, case),
            _local(r.reported_at, case),
            r.customer_id,
            r.channel,
            r.contact_from or "",
            r.claimed_identity or "",
            ", ".join(r.knew),
            r.url or "",
            r.payee_account or "",
            "" if r.loss_amount is None else f"{r.currency} {money(r.loss_amount)}",
            cluster_of.get(r.report_id, ""),
        )
        for r in case.reports
    ]
    headers = ("report", "contacted", "reported", "victim", "channel", "from", "claimed to be", "knew", "link")
    return fragment(
        el("h2", "Reports · 举报明细"),
        el("p", "Links are shown as text and are not clickable: they lead to the scammers' pages.", class_="note"),
        _table((*headers, "payee account", "lost", "cluster"), rows, numeric=(10, 11)),
    )
