"""Small server-side SVG charts for dashboard pages: a check's metric history.

The SVG is inline markup with presentation attributes only (no style attribute, no script), so it draws
under the dashboard's CSP; every text in it (labels come from agents) is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup, escape

from fernwart.collector.domain.rollups import Point
from fernwart.collector.services.read.hosts import ResultView

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
