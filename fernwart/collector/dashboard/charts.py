"""Small server-side SVG charts for dashboard pages: a check's metric history, a host's state timeline.

The SVG is inline markup with presentation attributes only (no style attribute, no script), so it draws
under the dashboard's CSP; every text in it (labels come from agents) is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.domain.rollups import Point
from fernwart.collector.services.read.hosts import ResultView
from fernwart.collector.services.read.timeline import NO_DATA, HostTimeline

WIDTH, HEIGHT, PAD = 480, 120, 4


def metric_series(results: Sequence[ResultView]) -> dict[str, list[tuple[datetime, float]]]:
    """Return each metric label's finite values over `results`, oldest first (missing values skipped)."""
    series: dict[str, list[tuple[datetime, float]]] = {}
    for found in sorted(results, key=lambda r: r.observed_at):
        for metric in found.metrics:
            value = metric.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                series.setdefault(str(metric.get("label", "")), []).append((found.observed_at, float(value)))
    return series


def metric_chart(label: str, points: Sequence[tuple[datetime, float]], uom: str = "") -> Markup:
    """Return an SVG line chart of one metric's values over time, scaled to their range.

    One point draws a dot; equal values a flat line in the middle; no points an empty frame that says so.
    """
    title = f"{label}: no values" if not points else (
        f"{label}: {len(points)} values from {min(v for _, v in points):g}{uom} "
        f"to {max(v for _, v in points):g}{uom}"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fafafa" stroke="#ccc"/>',
    ]
    if points:
        t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
        low, high = min(v for _, v in points), max(v for _, v in points)

        def x(at: datetime) -> float:
            span = t1 - t0
            return PAD + (WIDTH - 2 * PAD) * ((at.timestamp() - t0) / span if span else 0.5)

        def y(value: float) -> float:
            span = high - low
            return HEIGHT - PAD - (HEIGHT - 2 * PAD) * ((value - low) / span if span else 0.5)

        coords = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in points)
        if len(points) == 1:
            at, value = points[0]
            parts.append(f'<circle cx="{x(at):.1f}" cy="{y(value):.1f}" r="3" fill="#1565c0"/>')
        else:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="#1565c0" stroke-width="1.5"/>')
        for top, value in ((14, high), (HEIGHT - 8, low)):
            text = escape(f"{value:g}{uom}")
            parts.append(f'<text x="{PAD + 2}" y="{top}" font-size="11" fill="#555">{text}</text>')
    parts.append(f"<title>{escape(title)}</title></svg>")
    return Markup("".join(parts))


def history_chart(label: str, points: Sequence[Point], uom: str, resolution: int) -> Markup:
    """Return an SVG chart of one metric's bucket averages with its min-max band behind them."""
    if not points:
        return metric_chart(label, [], uom)
    low, high = min(p.min for p in points), max(p.max for p in points)
    span = "5-minute" if resolution == 300 else "hourly"
    title = f"{label}: {len(points)} {span} averages, min {low:g}{uom}, max {high:g}{uom}"
    t0, t1 = points[0].at.timestamp(), points[-1].at.timestamp()

    def x(at: datetime) -> float:
        return PAD + (WIDTH - 2 * PAD) * ((at.timestamp() - t0) / (t1 - t0) if t1 > t0 else 0.5)

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * ((value - low) / (high - low) if high > low else 0.5)

    band = [f"{x(p.at):.1f},{y(p.max):.1f}" for p in points]
    band += [f"{x(p.at):.1f},{y(p.min):.1f}" for p in reversed(points)]
    line = " ".join(f"{x(p.at):.1f},{y(p.avg):.1f}" for p in points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fafafa" stroke="#ccc"/>',
        f'<polygon points="{" ".join(band)}" fill="#bbdefb" stroke="none"/>',
        f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-width="1.5"/>',
    ]
    for top, value in ((14, high), (HEIGHT - 8, low)):
        text = escape(f"{value:g}{uom}")
        parts.append(f'<text x="{PAD + 2}" y="{top}" font-size="11" fill="#555">{text}</text>')
    parts.append(f"<title>{escape(title)}</title></svg>")
    return Markup("".join(parts))


# State timeline: one row per object, coloured by hard status; hover titles name the span.
STATUS_FILLS = {
    "OK": "#2e7d32",
    "WARNING": "#f9a825",
    "CRITICAL": "#c62828",
    "UNKNOWN": "#6a1b9a",
    NO_DATA: "#e0e0e0",
}
ROW, LABEL_WIDTH, TIMELINE_WIDTH, AXIS = 18, 150, 720, 16
LABEL_CHARS = 22
_CONTROL = dict.fromkeys([*range(0x20), 0x7F], "\ufffd")


def printable(text: str) -> str:
    """Return `text` with control characters (NUL included) shown as U+FFFD, as the page shows them."""
    return text.translate(_CONTROL)


def _clipped(name: str) -> str:
    name = printable(name)
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def state_timeline(timeline: HostTimeline, show: Callable[[datetime], str]) -> Markup:
    """Return an SVG of the host's month: a row per object, its hard states as coloured bars.

    The axis spans the whole month (the part after `measured_to` stays blank) with a tick at each local
    midnight; each bar's title says the object, status and its span as `show` formats times. Object names
    come from agents: they are escaped, control characters replaced, long ones clipped (the title keeps
    the whole name).
    """
    t0, t1 = timeline.start.timestamp(), timeline.end.timestamp()
    inner = TIMELINE_WIDTH - LABEL_WIDTH - PAD
    height = AXIS + ROW * max(1, len(timeline.objects)) + PAD

    def x(at: datetime) -> float:
        return LABEL_WIDTH + inner * (at.timestamp() - t0) / (t1 - t0)

    label = f"state timeline {timeline.month} ({timeline.timezone}): {len(timeline.objects)} objects"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{TIMELINE_WIDTH}" '
        f'height="{height}" viewBox="0 0 {TIMELINE_WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
    ]
    zone = load_zone(timeline.timezone)
    day = timeline.start.astimezone(zone)
    while day.astimezone(UTC) < timeline.end:
        at = day.astimezone(UTC)
        parts.append(
            f'<line x1="{x(at):.1f}" y1="{AXIS - 4}" x2="{x(at):.1f}" y2="{height - PAD}" stroke="#ddd"/>'
        )
        if day.day == 1 or day.day % 5 == 0:
            parts.append(
                f'<text x="{x(at) + 2:.1f}" y="{AXIS - 5}" font-size="10" fill="#555">{day.day}</text>'
            )
        day += timedelta(days=1)  # wall-clock arithmetic: the next local midnight, DST or not
    if not timeline.objects:
        parts.append(
            f'<text x="{LABEL_WIDTH}" y="{AXIS + 13}" font-size="11" fill="#555">no state changes</text>'
        )
    for row, found in enumerate(timeline.objects):
        top = AXIS + row * ROW
        name = escape(printable(found.name))
        parts.append(
            f'<text x="0" y="{top + 13}" font-size="11" fill="#222">{escape(_clipped(found.name))}'
            f"<title>{name}</title></text>"
        )
        for span in found.spans:
            left, right = x(span.start), x(span.end)
            fill = STATUS_FILLS.get(span.status, STATUS_FILLS["UNKNOWN"])
            what = "no data" if span.status == NO_DATA else span.status
            title = escape(f"{printable(found.name)}: {what} from {show(span.start)} to {show(span.end)}")
            parts.append(
                f'<rect x="{left:.2f}" y="{top + 2}" width="{max(right - left, 0.5):.2f}" height="{ROW - 4}" '
                f'fill="{fill}"><title>{title}</title></rect>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
