"""Charts of the group report as server-side SVG (pure): horizontal bars for counts per category, and
a slope chart of the child's median rating at the start and at closure per problem area.

They draw only from suppressed tables: a hidden value is never drawn, only named as hidden ("≤4"),
so a chart cannot tell more than its table. Every string comes in already translated; everything
interpolated is escaped. Colour never carries meaning alone: values are written beside bars and
points, and each SVG has role="img", a <title> and a <desc>.

A chart with nothing it may draw is no chart: each function returns a `Chart` whose `svg` is None and
whose `empty` says why, "too_few" (every value hidden by kidrate/statistics/suppression.py) or "none"
(nothing counted), and the page says so in words instead of an empty grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from kidrate.red_thread.chart import COLOURS
from kidrate.statistics.suppression import Hidden, format_value

WIDTH = 640
LABEL_W = 300
BAR_H = 20
GAP = 8
TOP = 12
LABEL_LINE = 14  # the slope chart's labels: 12 px text, a line apart
BLUE, ORANGE = COLOURS[:2]  # the handover chart's palette, safe for colour blindness


TOO_FEW = "too_few"
NOTHING = "none"


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    svg: Markup | None  # None: nothing may be drawn, and `empty` says why
    empty: str | None = None


def _why_empty(values: Sequence[object]) -> str:
    """Nothing drawable: because suppression hid it (too few), or because there was nothing to count."""
    return TOO_FEW if any(isinstance(v, Hidden) for v in values) else NOTHING


def _number(value: object) -> float | None:
    if isinstance(value, bool | Hidden) or not isinstance(value, int | float):
        return None
    return float(value)


def _clip(label: str, limit: int = 44) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _open_svg(height: int, title: str, description: str) -> list[str]:
    # The <title> child names the image for assistive technology; no ids, so charts never clash.
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" role="img" viewBox="0 0 {WIDTH} {height}"'
            f' focusable="false">', f"<title>{escape(title)}</title>", f"<desc>{escape(description)}</desc>"]


def bar_chart(title: str, description: str, items: Sequence[tuple[str, object]]) -> Chart:
    """One bar per (label, count); a hidden count gets no bar, only its marker as text. Without a single
    count above zero there is no chart."""
    values = [_number(v) for _, v in items]
    if not any(v is not None and v > 0 for v in values):
        return Chart(title, description, None, _why_empty([v for _, v in items]))
    top = max([v for v in values if v is not None] or [1.0]) or 1.0
    height = TOP * 2 + len(items) * (BAR_H + GAP)
    plot = WIDTH - LABEL_W - 60
    parts = _open_svg(height, title, description)
    for i, ((label, raw), value) in enumerate(zip(items, values, strict=True)):
        y = TOP + i * (BAR_H + GAP)
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + BAR_H * 0.7:.1f}" text-anchor="end" font-size="13">'
                     f"{escape(_clip(label, 40))}</text>")
        text_x = LABEL_W + 4
        if value is not None and value > 0:
            w = plot * value / top
            parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{BLUE}"/>')
            text_x = LABEL_W + w + 4
        parts.append(f'<text x="{text_x:.1f}" y="{y + BAR_H * 0.7:.1f}" font-size="13">'
                     f"{escape(format_value(raw))}</text>")
    parts.append("</svg>")
    return Chart(title, description, Markup("".join(parts)))  # noqa: S704  (every interpolated text is escaped above)


def slope_chart(title: str, description: str, labels: tuple[str, str],
                items: Sequence[tuple[str, object, object]]) -> Chart:
    """Per problem area: the median at the start (left) and at closure (right) on the 1–10 scale,
    joined by a line. Areas whose values are hidden or missing are left out (the table says why);
    with no area left, there is no chart."""
    shown = [(label, _number(s), _number(e)) for label, s, e in items]
    shown = [(label, s, e) for label, s, e in shown if s is not None and e is not None]
    if not shown:
        return Chart(title, description, None, _why_empty([v for _, s, e in items for v in (s, e)]))
    step = 22
    plot_top, plot_bottom = 40, 40 + step * 9
    # Room on the right for a label and both values ("Relationsproblem i famil… 4 → 5.5") inside the image.
    left_x, right_x = 110, 320
    height = plot_bottom + 40

    def y(v: float) -> float:
        return plot_bottom - (v - 1) * step

    # Labels beside the closure points, top to bottom, each at least a line below the one above.
    label_y: dict[int, float] = {}
    below = float("-inf")
    for i in sorted(range(len(shown)), key=lambda i: y(shown[i][2])):
        below = label_y[i] = max(y(shown[i][2]) + 4, below + LABEL_LINE)
    height = max(height, int(below) + 12)
    parts = _open_svg(height, title, description)
    for v in range(1, 11):
        parts.append(f'<line x1="{left_x}" x2="{right_x}" y1="{y(v)}" y2="{y(v)}" stroke="#ddd"/>')
        parts.append(f'<text x="{left_x - 24}" y="{y(v) + 4}" text-anchor="end" font-size="11">{v}</text>')
    parts.append(f'<text x="{left_x}" y="{plot_top - 16}" text-anchor="middle" font-size="13">'
                 f"{escape(labels[0])}</text>")
    parts.append(f'<text x="{right_x}" y="{plot_top - 16}" text-anchor="middle" font-size="13">'
                 f"{escape(labels[1])}</text>")
    for i, (label, s, e) in enumerate(shown):
        colour = BLUE if e >= s else ORANGE
        dash = "" if e >= s else ' stroke-dasharray="6 3"'
        parts.append(f'<line x1="{left_x}" x2="{right_x}" y1="{y(s):.1f}" y2="{y(e):.1f}" stroke="{colour}"'
                     f' stroke-width="2"{dash}/>')
        parts.append(f'<circle cx="{left_x}" cy="{y(s):.1f}" r="4" fill="{colour}"/>')
        parts.append(f'<circle cx="{right_x}" cy="{y(e):.1f}" r="4" fill="{colour}"/>')
        parts.append(f'<text x="{right_x + 10}" y="{label_y[i]:.1f}" font-size="12">'
                     f"{escape(_clip(label, 34))} {escape(format_value(s))} → {escape(format_value(e))}</text>")
    parts.append("</svg>")
    return Chart(title, description, Markup("".join(parts)))  # noqa: S704  (every interpolated text is escaped above)
