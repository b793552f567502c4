"""The child's ratings per problem across the three rounds, drawn as SVG on the server (pure).

`rating_chart` takes the handover document's `child_problems` (each with `ratings` per round:
`{"status": ..., "value": ...}`) and returns SVG markup: y axis 1–10 with better upwards, x axis the
three rounds, one line per problem. A round the child did not rate (declined, did not know, not
asked, no link, link unanswered) is a gap: no marker, and the line breaks there.

Colour never carries meaning alone: every point is labelled with the problem's number, each series
has its own marker shape and dash pattern, and the legend maps numbers to the child's own words.
The SVG has role="img", a <title> and a <desc> that says every value in words.

All strings a reader sees come in through `ChartText`, already translated by the caller; everything
interpolated into the markup is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from markupsafe import Markup

ROUNDS = ("start", "follow_up", "closure")
SCALE = range(1, 11)

# Okabe–Ito, darkened where the original is too light to read on paper.
COLOURS = ("#0072b2", "#c84e00", "#007a5a", "#b0588f", "#7a5c00", "#000000", "#5e3c99", "#4f6f86")
SHAPES = ("circle", "square", "triangle", "diamond", "triangle-down")
DASHES = ("", "7 4", "2 3", "9 3 2 3")

# Geometry, in SVG user units.
WIDTH = 640
LEFT, RIGHT, TOP = 64, 24, 40
STEP = 24  # one point of the scale
PLOT_BOTTOM = TOP + STEP * (len(SCALE) - 1)
AXIS_LABELS = PLOT_BOTTOM + 26
LEGEND_TOP = AXIS_LABELS + 30
LEGEND_LINE = 17
LEGEND_CHARS = 72  # rough line length of the legend's text before it wraps


@dataclass(frozen=True)
class ChartText:
    """What the chart says, in the reader's language (English defaults, for tests and tools)."""

    title: str = "The child's ratings over time"
    description: str = ("One line per problem in the child's words: the child's own rating from 1 (as hard as it "
                        "can be) to 10 (fine) at the start, at follow-up and at closure. A gap in a line means "
                        "the child did not rate that problem in that round.")
    rounds: tuple[str, str, str] = ("Start", "Follow-up", "Closure")
    not_answered: str = "not answered"
    scale: str = "10 = fine, 1 = as hard as it can be"


def rated_value(rating: Mapping | None) -> int | None:
    """The child's rating in one round, or None where the round is a gap."""
    if not rating or rating.get("status") != "rated":
        return None
    value = rating.get("value")
    if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
        return None
    return value


def series_values(problem: Mapping) -> list[int | None]:
    ratings = problem.get("ratings") or {}
    return [rated_value(ratings.get(kind)) for kind in ROUNDS]


def _x(round_index: int) -> float:
    column = (WIDTH - LEFT - RIGHT) / len(ROUNDS)
    return LEFT + column * (round_index + 0.5)


def _y(value: int) -> float:
    return PLOT_BOTTOM - (value - SCALE.start) * STEP


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _marker(shape: str, x: float, y: float, colour: str, r: float = 5.0) -> Markup:
    common = Markup(' class="chart-marker" fill="{}" stroke="#ffffff" stroke-width="1"').format(colour)
    if shape == "circle":
        return Markup('<circle cx="{}" cy="{}" r="{}"{}/>').format(_num(x), _num(y), _num(r), common)
    if shape == "square":
        s = r * 0.9
        return Markup('<rect x="{}" y="{}" width="{}" height="{}"{}/>').format(
            _num(x - s), _num(y - s), _num(2 * s), _num(2 * s), common)
    points = {
        "triangle": ((0, -1.25), (1.15, 0.85), (-1.15, 0.85)),
        "triangle-down": ((0, 1.25), (1.15, -0.85), (-1.15, -0.85)),
        "diamond": ((0, -1.3), (1.1, 0), (0, 1.3), (-1.1, 0)),
    }[shape]
    coords = " ".join(f"{_num(x + dx * r)},{_num(y + dy * r)}" for dx, dy in points)
    return Markup('<polygon points="{}"{}/>').format(coords, common)


def _wrap(text: str, width: int = LEGEND_CHARS) -> list[str]:
    """Break text into lines of about `width` characters at spaces (a long word stays whole)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines or [""]


def _describe(number: int, problem: Mapping, values: list[int | None], text: ChartText) -> str:
    said = ", ".join(f"{label} {value if value is not None else text.not_answered}"
                     for label, value in zip(text.rounds, values, strict=True))
    return f"{number}. “{problem.get('words', '')}”: {said}."


def rating_chart(problems: Sequence[Mapping], text: ChartText | None = None, *,
                 id_prefix: str = "rating-chart") -> Markup:
    """SVG markup of the child's ratings, one series per problem; empty when there is no problem."""
    if not problems:
        return Markup("")
    text = text or ChartText()
    count = len(problems)
    # Series side by side within a round, so equal values at the same round do not hide each other.
    spread = min(9.0, 120.0 / count)

    legend: list[tuple[int, Mapping, list[str]]] = []
    height = LEGEND_TOP
    for number, problem in enumerate(problems, start=1):
        lines = _wrap(str(problem.get("words", "")))
        legend.append((number, problem, lines))
        height += LEGEND_LINE * len(lines) + 6
    height += 4

    id_prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", id_prefix)  # an id, and one word in aria-labelledby
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    desc = " ".join([text.description, *(_describe(n, p, series_values(p), text) for n, p, _ in legend)])
    out: list[Markup] = [
        Markup('<svg xmlns="http://www.w3.org/2000/svg" class="rating-chart" role="img" viewBox="0 0 {} {}" '
               'width="{}" height="{}" aria-labelledby="{} {}" font-family="DejaVu Sans, Liberation Sans, '
               'Arial, sans-serif" font-size="12">').format(WIDTH, height, WIDTH, height, title_id, desc_id),
        Markup('<title id="{}">{}</title>').format(title_id, text.title),
        Markup('<desc id="{}">{}</desc>').format(desc_id, desc),
    ]

    # Axes and grid: 1 at the bottom, 10 at the top, the three rounds across.
    out.append(Markup('<g class="chart-axes" aria-hidden="true">'))
    out.append(Markup('<text class="chart-scale" x="{}" y="{}" fill="#44444a">{}</text>').format(
        LEFT - 40, TOP - 22, text.scale))
    for value in SCALE:
        y = _num(_y(value))
        out.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1"/>').format(
            LEFT, y, WIDTH - RIGHT, y, "#8a8a90" if value == SCALE.start else "#dcdce0"))
        out.append(Markup('<text x="{}" y="{}" text-anchor="end" fill="#44444a">{}</text>').format(
            LEFT - 10, _num(_y(value) + 4), value))
    out.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#8a8a90" stroke-width="1"/>').format(
        LEFT, TOP, LEFT, PLOT_BOTTOM))
    for index, label in enumerate(text.rounds):
        out.append(Markup('<text class="chart-round" x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>')
                   .format(_num(_x(index)), AXIS_LABELS, label))
    out.append(Markup("</g>"))

    # One series per problem: segments only between rated neighbours, so an unrated round is a gap.
    for index, (number, problem, _lines) in enumerate(legend):
        colour, shape, dash = COLOURS[index % len(COLOURS)], SHAPES[index % len(SHAPES)], \
            DASHES[(index // len(SHAPES) + index) % len(DASHES)]
        values = series_values(problem)
        offset = (index - (count - 1) / 2) * spread
        points = [(_x(i) + offset, _y(v)) if v is not None else None for i, v in enumerate(values)]
        out.append(Markup('<g class="chart-series" data-problem="{}" aria-hidden="true">').format(number))
        for a, b in pairwise(points):
            if a is None or b is None:
                continue
            dash_attr = Markup(' stroke-dasharray="{}"').format(dash) if dash else Markup("")
            out.append(Markup('<line class="chart-segment" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" '
                              'stroke-width="2.5"{}/>').format(_num(a[0]), _num(a[1]), _num(b[0]), _num(b[1]),
                                                               colour, dash_attr))
        for kind, point, value in zip(ROUNDS, points, values, strict=True):
            if point is None:
                continue
            x, y = point
            out.append(Markup('<g class="chart-point" data-round="{}" data-value="{}">').format(kind, value))
            out.append(_marker(shape, x, y, colour))
            out.append(Markup('<text class="chart-label" x="{}" y="{}" text-anchor="middle" font-size="11" '
                              'font-weight="bold" fill="{}" stroke="#ffffff" stroke-width="3" '
                              'paint-order="stroke">{}</text>').format(_num(x), _num(y - 9), colour, number))
            out.append(Markup("</g>"))
        out.append(Markup("</g>"))

    # The legend: number, marker and line as in the chart, then the child's words.
    out.append(Markup('<g class="chart-legend" aria-hidden="true">'))
    y = LEGEND_TOP
    for index, (number, problem, lines) in enumerate(legend):
        colour, shape = COLOURS[index % len(COLOURS)], SHAPES[index % len(SHAPES)]
        dash = DASHES[(index // len(SHAPES) + index) % len(DASHES)]
        dash_attr = Markup(' stroke-dasharray="{}"').format(dash) if dash else Markup("")
        out.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2.5"{}/>').format(
            LEFT - 40, y - 4, LEFT - 8, y - 4, colour, dash_attr))
        out.append(_marker(shape, LEFT - 24, y - 4, colour))
        out.append(Markup('<text x="{}" y="{}" font-weight="bold" fill="{}">{}</text>').format(
            LEFT, y, colour, number))
        language = problem.get("words_language")
        # The words keep their language; the bidi algorithm orders right-to-left script within the line.
        lang_attr = Markup(' lang="{}"').format(str(language).replace("_", "-")) if language else Markup("")
        # Upright in every script: most of the families' scripts have no italic, and a slant set by the
        # renderer on one that has none is a distortion, not emphasis.
        out.append(Markup('<text class="chart-words" x="{}" y="{}"{}>').format(LEFT + 20, y, lang_attr))
        for line_index, line in enumerate(lines):
            out.append(Markup('<tspan x="{}" dy="{}">{}</tspan>').format(
                LEFT + 20, 0 if line_index == 0 else LEGEND_LINE, line))
        out.append(Markup("</text>"))
        y += LEGEND_LINE * len(lines) + 6
    out.append(Markup("</g></svg>"))
    return Markup("").join(out)
