"""Helpers every benchmark shares: options, timing, result rows, Rich tables and docs/benchmarks.md.

A benchmark module builds a list of :class:`Measurement` and :class:`Ratio` rows, prints them with
:func:`print_results` and hands the markdown from :func:`markdown_results` (plus its own notes) to
:func:`write_section`, which rewrites only that module's section of docs/benchmarks.md.
"""

from __future__ import annotations

import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.table import Table

# Wide enough for the result tables when output goes to a file or a pipe (Rich assumes 80 there).
console = Console() if sys.stdout.isatty() else Console(width=180)

ROOT = Path(__file__).resolve().parent.parent
DOCS_FILE = ROOT / "docs" / "benchmarks.md"
INTRO_NAME = "intro"


@dataclass(frozen=True)
class Options:
    """Command-line options every benchmark receives."""

    quick: bool = False
    http_client: str = "auto"  # "auto", "wrk" or "python"
    write_docs: bool = True


class Benchmark(Protocol):
    """What ``python -m bench`` needs from a benchmark module (``profile`` is optional)."""

    def run(self, options: Options) -> None: ...


# -- timing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Operations completed in a timed loop, with per-operation latencies in seconds."""

    count: int
    seconds: float
    latencies: Sequence[float] = field(default_factory=tuple, repr=False)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, pct: float) -> float | None:
        return percentile(self.latencies, pct) * 1000 if self.latencies else None


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (0 < pct <= 100)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def run_for(op: Callable[[int], object], *, seconds: float, max_count: int | None = None) -> Timing:
    """Call ``op(i)`` for i = 0, 1, ... until ``seconds`` have passed (or ``max_count`` calls)."""
    latencies: list[float] = []
    clock = time.perf_counter
    started = clock()
    deadline = started + seconds
    i = 0
    now = started
    while now < deadline and (max_count is None or i < max_count):
        before = clock()
        op(i)
        now = clock()
        latencies.append(now - before)
        i += 1
    return Timing(i, now - started, latencies)


# -- result rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One row of a benchmark's results."""

    name: str
    value: float
    unit: str  # "/s" for rates, "s" for durations
    count: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""

    @classmethod
    def from_timing(cls, name: str, timing: Timing, note: str = "") -> Measurement:
        return cls(
            name,
            timing.rate,
            "/s",
            count=timing.count,
            p50_ms=timing.percentile_ms(50),
            p99_ms=timing.percentile_ms(99),
            note=note,
        )


@dataclass(frozen=True)
class Ratio:
    """A measured ratio against its target (met when ``value >= target``)."""

    name: str
    value: float
    target: float
    target_text: str
    note: str = ""

    @property
    def met(self) -> bool:
        return self.value >= self.target


def fmt_value(m: Measurement) -> str:
    if m.unit == "/s":
        return f"{m.value:,.0f} /s"
    return f"{m.value:,.2f} {m.unit}"


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ms"


def fmt_count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def print_results(title: str, measurements: Sequence[Measurement], ratios: Sequence[Ratio] = ()) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("measurement")
    table.add_column("result", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p99", justify="right")
    table.add_column("ops", justify="right")
    table.add_column("note", overflow="fold", max_width=60)
    for m in measurements:
        table.add_row(m.name, fmt_value(m), fmt_ms(m.p50_ms), fmt_ms(m.p99_ms), fmt_count(m.count), m.note)
    console.print(table)
    if ratios:
        ratio_table = Table(title=f"{title}: ratios", title_justify="left")
        ratio_table.add_column("ratio")
        ratio_table.add_column("measured", justify="right")
        ratio_table.add_column("target", justify="right")
        ratio_table.add_column("met")
        ratio_table.add_column("note", overflow="fold", max_width=60)
        for r in ratios:
            verdict = "[green]yes[/green]" if r.met else "[red]no[/red]"
            ratio_table.add_row(r.name, f"{r.value:.2f}", r.target_text, verdict, r.note)
        console.print(ratio_table)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A GitHub markdown table; ``align`` holds one of l/r per column (default left)."""
    marks = [("---:" if a == "r" else "---") for a in (align or "l" * len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_results(measurements: Sequence[Measurement], ratios: Sequence[Ratio] = ()) -> str:
    parts = [
        markdown_table(
            ["Measurement", "Result", "p50", "p99", "Ops", "Note"],
            [
                [m.name, fmt_value(m), fmt_ms(m.p50_ms), fmt_ms(m.p99_ms), fmt_count(m.count), m.note]
                for m in measurements
            ],
            "lrrrrl",
        )
    ]
    if ratios:
        parts.append(
            markdown_table(
                ["Ratio", "Measured", "Target", "Met", "Note"],
                [[r.name, f"{r.value:.2f}", r.target_text, "yes" if r.met else "**no**", r.note] for r in ratios],
                "lrrll",
            )
        )
    return "\n\n".join(parts)


# -- machine and docs -----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # no /proc (not Linux): fall back to what the platform module knows
    return platform.processor() or "unknown CPU"


def machine_summary() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cores} cores (nproc), {cpu_model()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.system()}"
    )


def git_revision() -> str:
    """The checked-out commit (read-only git calls), marked when tracked files have local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"
    if not head:
        return "unknown commit"
    return f"commit {head}" + (" with local changes" if dirty else "")


def run_stamp(options: Options) -> str:
    mode = "quick" if options.quick else "full"
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {mode} run at {git_revision()}, {machine_summary()}"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def _intro(stamp: str) -> str:
    return (
        "# Benchmarks\n\n"
        "Figures below are produced by `python -m bench` (`make bench`); each benchmark rewrites only\n"
        "its own section, so sections can come from different runs: each states its own date.\n"
        "Run `.venv/bin/python -m bench NAME` for one benchmark, `--quick` for a small smoke run.\n\n"
        f"Latest run: {stamp}.\n"
    )


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with the section ``name`` replaced by ``body`` (appended if it is not there)."""
    start, end = _markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _m: block, text, count=1)
    return text.rstrip("\n") + ("\n\n" if text.strip() else "") + block + "\n"


def write_section(name: str, body: str, stamp: str, path: Path = DOCS_FILE) -> Path:
    """Rewrite the ``name`` section of docs/benchmarks.md and the intro (which names the latest run,
    ``stamp`` from :func:`run_stamp`), leaving other sections as they are."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    text = replace_section(text, INTRO_NAME, _intro(stamp))
    text = replace_section(text, name, body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


class phase:  # noqa: N801 (used like a function: ``with phase("filling"):``)
    """Print what is being done and how long it took."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.started = 0.0
        self.seconds = 0.0

    def __enter__(self) -> phase:
        console.print(f"[dim]… {self.what}[/dim]")
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
        if exc[0] is None:
            console.print(f"[dim]  done in {self.seconds:.1f}s[/dim]")
