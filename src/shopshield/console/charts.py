"""Bar charts and timelines as plain SVG geometry, drawn by the templates: no script, no external
library, and presentation attributes only (the console's CSP allows no inline style)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

WIDTH: Final = 560
BAR_GAP: Final = 4
HEIGHT: Final = 160
LABEL_SPACE: Final = 18
# Room one label needs along the axis: with more bars than fit, only every n-th is labelled.
LABEL_WIDTH: Final = 36


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    largest: float
    label_every: int = 1

    @property
    def empty(self) -> bool:
        return not self.bars


def bars(title: str, points: Sequence[tuple[str, float]]) -> Chart:
    """A chart of one bar per (label, value), scaled so the largest value fills the height."""
    largest = max((value for _label, value in points), default=0.0)
    plot = HEIGHT - LABEL_SPACE
    step = WIDTH / max(len(points), 1)
    gap = _gap(step)
    drawn = []
    for n, (label, value) in enumerate(points):
        height = 0.0 if largest <= 0 else plot * value / largest
        drawn.append(
            Bar(
                label,
                value,
                round(n * step + gap / 2, 1),
                round(plot - height, 1),
                round(step - gap, 1),
                round(height, 1),
            )
        )
    return Chart(title, drawn, WIDTH, HEIGHT, largest, _label_every(step))


def _gap(step: float) -> float:
    # Narrow bars (a week of hours) keep a fifth of their step as the gap, never a negative width.
    return min(float(BAR_GAP), step / 5)


def _label_every(step: float) -> int:
    return max(1, math.ceil(LABEL_WIDTH / step))


@dataclass(frozen=True, slots=True)
class Segment:
    series: str
    value: float
    y: float
    height: float
    colour: str


@dataclass(frozen=True, slots=True)
class Stack:
    label: str
    total: float
    x: float
    width: float
    segments: list[Segment]


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str


@dataclass(frozen=True, slots=True)
class StackedChart:
    """Bars made of one segment per series, bottom to top in the order of ``series``."""

    title: str
    series: list[Series]
    stacks: list[Stack]
    width: int
    height: int
    largest: float
    label_every: int


def stacked(title: str, series: Sequence[Series], points: Sequence[tuple[str, Sequence[float]]]) -> StackedChart:
    """One bar per (label, values), a value per series; scaled so the largest total fills the height."""
    largest = max((sum(values) for _label, values in points), default=0.0)
    plot = HEIGHT - LABEL_SPACE
    step = WIDTH / max(len(points), 1)
    gap = _gap(step)
    stacks = []
    for n, (label, values) in enumerate(points):
        if len(values) != len(series):
            raise ValueError("a stacked bar needs one value per series")
        top = float(plot)
        segments = []
        for kind, value in zip(series, values, strict=True):
            height = 0.0 if largest <= 0 else plot * value / largest
            top -= height
            segments.append(Segment(kind.name, value, round(top, 1), round(height, 1), kind.colour))
        stacks.append(Stack(label, float(sum(values)), round(n * step + gap / 2, 1), round(step - gap, 1), segments))
    return StackedChart(title, list(series), stacks, WIDTH, HEIGHT, largest, _label_every(step))


# -- timelines -----------------------------------------------------------------------------------

LANE_HEIGHT: Final = 22
LANE_LABEL_WIDTH: Final = 90
TIMELINE_WIDTH: Final = 720
AXIS_SPACE: Final = 24


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment on a lane: ``kind`` says how the template draws it (its CSS-free shape and colour)."""

    kind: str
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Lane:
    label: str
    y: float


@dataclass(frozen=True, slots=True)
class Tick:
    label: str
    x: float


@dataclass(frozen=True, slots=True)
class Timeline:
    title: str
    lanes: list[Lane]
    marks: list[Mark]
    ticks: list[Tick]
    width: int
    height: int
    plot_left: int

    @property
    def empty(self) -> bool:
        return not self.lanes


def timeline(
    title: str,
    lanes: Sequence[str],
    moments: Sequence[tuple[int, datetime, str, str]],
    *,
    start: datetime,
    end: datetime,
    ticks: int = 6,
    tick_format: str = "%m-%d",
) -> Timeline:
    """One horizontal lane per label, and each (lane, moment, kind, label) placed on its lane on a
    linear time axis from ``start`` to ``end`` (moments outside are clamped to the edges)."""
    span = max((end - start).total_seconds(), 1.0)
    plot = TIMELINE_WIDTH - LANE_LABEL_WIDTH - 24  # room for the last tick's label

    def x_of(moment: datetime) -> float:
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return round(LANE_LABEL_WIDTH + share * plot, 1)

    drawn_lanes = [Lane(label, n * LANE_HEIGHT + LANE_HEIGHT / 2) for n, label in enumerate(lanes)]
    marks = [Mark(kind, x_of(moment), drawn_lanes[lane].y, label) for lane, moment, kind, label in moments]
    step = (end - start) / max(ticks - 1, 1)
    drawn_ticks = [Tick((start + n * step).strftime(tick_format), x_of(start + n * step)) for n in range(ticks)]
    height = len(lanes) * LANE_HEIGHT + AXIS_SPACE
    return Timeline(title, drawn_lanes, marks, drawn_ticks, TIMELINE_WIDTH, height, LANE_LABEL_WIDTH)
