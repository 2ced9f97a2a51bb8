"""Charts as inline SVG, drawn on the server: horizontal bars and stacked bars.

No script and no chart library: a chart is markup built from integers. Each chart carries a
``<title>`` and ``<desc>`` (``role="img"`` with ``aria-labelledby``), each bar a ``<title>``
with its exact quantity, and the page shows the same numbers in a table beside it. Every text
is escaped here (labels are participants' and registries' text).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import count

from markupsafe import Markup

from api.explorer.quantities import grams_text, tonnes

__all__ = ["Bar", "Segment", "bar_chart", "stacked_bar_chart"]

WIDTH = 640
LABEL_WIDTH = 180
VALUE_WIDTH = 150
ROW = 26
BAR = 18
PALETTE = ("#2f7d4a", "#d08c1f", "#3366aa", "#8a4fa8", "#2a9ca3", "#8c8c8c", "#c0392b")
_ids = count(1)


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: its legend label and its grams."""

    label: str
    grams: int


@dataclass(frozen=True)
class Bar:
    """One bar: its label and its segments (one segment for a plain bar)."""

    label: str
    segments: Sequence[Segment]

    @property
    def total(self) -> int:
        return sum(int(s.grams) for s in self.segments)


def _edge(grams: int, largest: int, span: int) -> int:
    """Pixels from the axis to ``grams`` when ``largest`` fills ``span`` (integers only)."""
    return grams * span // largest if largest > 0 and grams > 0 else 0


def _text_width(text: str, size: int) -> int:
    """About how wide ``text`` is at ``size`` px: CJK and other wide characters take a full
    em, the rest about 0.6 em (the legend only needs to leave room, not to be exact)."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 6 // 10
               for c in text)


def _frame(title: str, description: str, height: int, body: list[str]) -> Markup:
    ident = f"chart-{next(_ids)}"
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(description)}</desc>{"".join(body)}</svg>')


def bar_chart(title: str, bars: Sequence[Bar], description: str = "") -> Markup:
    """Bars of the bars' totals, longest for the largest."""
    return stacked_bar_chart(title, bars, legend=(), description=description)


def stacked_bar_chart(title: str, bars: Sequence[Bar], legend: Sequence[str],
                      description: str = "") -> Markup:
    """One row per bar, its segments side by side in ``PALETTE`` order (the legend names
    them in that order); the row ends with the bar's total."""
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    largest = max((bar.total for bar in bars), default=0)
    legend_rows = 1 if legend else 0
    body: list[str] = []
    x = 4
    for index, name in enumerate(legend):
        colour = PALETTE[index % len(PALETTE)]
        body.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>')
        x += 14 + _text_width(name, 11) + 12
    for row, bar in enumerate(bars):
        y = (row + legend_rows) * ROW + 6
        body.append(f'<g class="bar"><title>{escape(bar.label)}: {escape(tonnes(bar.total))}'
                    f' ({escape(grams_text(bar.total))})</title>'
                    f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" font-size="12" '
                    f'text-anchor="end">{escape(bar.label[:28])}</text>')
        offset, running = LABEL_WIDTH, 0
        for index, segment in enumerate(bar.segments):
            # cumulative edges, so the segments add up to the bar's own length exactly
            before = _edge(running, largest, span)
            running += int(segment.grams)
            width = _edge(running, largest, span) - before
            if int(segment.grams) <= 0:
                continue
            width = max(width, 1)
            colour = PALETTE[index % len(PALETTE)]
            name = (bar.label if len(bar.segments) == 1
                    else f"{bar.label} · {segment.label}")
            body.append(f'<rect x="{offset}" y="{y}" width="{width}" height="{BAR}" '
                        f'fill="{colour}"><title>{escape(name)}: {escape(tonnes(segment.grams))}'
                        f' ({escape(grams_text(segment.grams))})</title></rect>')
            offset += width
        body.append(f'<text x="{offset + 6}" y="{y + 13}" font-size="12">'
                    f'{escape(tonnes(bar.total))}</text></g>')
    height = (len(bars) + legend_rows) * ROW + 12
    return _frame(title, description or title, height, body)
