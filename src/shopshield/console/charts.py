"""Bar charts as plain SVG geometry, drawn by the templates: no script, no external library, and
presentation attributes only (the console's CSP allows no inline style)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

WIDTH: Final = 560
BAR_GAP: Final = 4
HEIGHT: Final = 160
LABEL_SPACE: Final = 18


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

    @property
    def empty(self) -> bool:
        return not self.bars


def bars(title: str, points: Sequence[tuple[str, float]]) -> Chart:
    """A chart of one bar per (label, value), scaled so the largest value fills the height."""
    largest = max((value for _label, value in points), default=0.0)
    plot = HEIGHT - LABEL_SPACE
    step = WIDTH / max(len(points), 1)
    drawn = []
    for n, (label, value) in enumerate(points):
        height = 0.0 if largest <= 0 else plot * value / largest
        drawn.append(
            Bar(
                label,
                value,
                round(n * step + BAR_GAP / 2, 1),
                round(plot - height, 1),
                round(step - BAR_GAP, 1),
                round(height, 1),
            )
        )
    return Chart(title, drawn, WIDTH, HEIGHT, largest)
