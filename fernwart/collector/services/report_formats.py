"""The monthly report's formats, all rendered from its stored document: JSON, HTML, PDF, CSV (a zip), SVG.

- HTML is one print-friendly Jinja template (`templates/monthly_report.html`), autoescaped; every value
  also passes `printable`, so control characters in agent-supplied names show as U+FFFD, not as markup
  or as bytes that break the PDF. PDF is WeasyPrint's rendering of that same HTML.
- Charts are SVG made here, on the server, with every label escaped.
- CSV is a zip with one file per table; text cells starting with `=`, `+`, `-`, `@`, tab or CR are
  prefixed with `'` so a spreadsheet does not run them as formulas (numbers are left as numbers).
- Times are shown in the contract's timezone (the document's `period.timezone`); durations in h and min.
  No figure is computed here: every number shown is one of the document's.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import datetime
from enum import StrEnum
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from fernwart.collector.domain.calendar import load_zone
from fernwart.collector.services.reports import percent

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ReportFormat(StrEnum):
    """The formats a monthly report is rendered in, with their media types below."""

    JSON = "json"
    HTML = "html"
    PDF = "pdf"
    CSV = "csv"


MEDIA_TYPES = {
    ReportFormat.JSON: "application/json",
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
    ReportFormat.CSV: "application/zip",
}
SUFFIXES = {ReportFormat.JSON: "json", ReportFormat.HTML: "html", ReportFormat.PDF: "pdf",
            ReportFormat.CSV: "zip"}


def printable(value: object) -> object:
    """Return `value` with control characters (other than tab and newline) replaced by U+FFFD.

    Markup (the server's own SVG) passes unchanged: its text was made printable when it was built.
    """
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return _CONTROL.sub("\ufffd", value)


def render(document: dict[str, Any], fmt: ReportFormat) -> bytes:
    """Return the report in `fmt` as bytes."""
    if fmt is ReportFormat.JSON:
        return json.dumps(document, indent=2, ensure_ascii=False).encode()
    if fmt is ReportFormat.HTML:
        return html(document).encode()
    if fmt is ReportFormat.PDF:
        return pdf(document)
    return csv_zip(document)


def filename(document: dict[str, Any], fmt: ReportFormat) -> str:
    """Return a file name for the report: sla-report-<customer>-<month>.<suffix>, safe for a header."""
    customer = re.sub(r"[^A-Za-z0-9._-]+", "-", str(document["customer"])).strip("-") or "customer"
    return f"sla-report-{customer}-{document['month']}.{SUFFIXES[fmt]}"


_ENV = Environment(
    loader=PackageLoader("fernwart.collector.services", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    finalize=printable,
)


def html(document: dict[str, Any]) -> str:
    """Return the print-friendly HTML report."""
    zone = load_zone(document["period"]["timezone"])

    def local(at: str | None) -> str:
        if at is None:
            return "—"
        moment = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(zone)
        return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"

    template = _ENV.get_template("monthly_report.html")
    return template.render(
        r=document,
        local=local,
        duration=duration,
        percent=lambda v: "—" if v is None else f"{percent(v)} %",
        chart=availability_chart(document),
    )


def pdf(document: dict[str, Any]) -> bytes:
    """Return the report as PDF, rendered by WeasyPrint from the HTML report."""
    from weasyprint import HTML  # imported here: it loads Pango, which only report requests need

    rendered: bytes = HTML(string=html(document)).write_pdf()
    return rendered


def duration(seconds: float | None) -> str:
    """Return whole seconds as "2 h 05 min", "3 min 20 s" or "0 s"; negative amounts keep their sign."""
    if seconds is None:
        return "—"
    sign, left = ("-" if seconds < 0 else ""), int(abs(seconds))
    hours, rest = divmod(left, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    if minutes:
        return f"{sign}{minutes} min {secs:02d} s" if secs else f"{sign}{minutes} min"
    return f"{sign}{secs} s"


def availability_chart(document: dict[str, Any], width: int = 640) -> Markup:
    """Return an SVG bar chart: each host's SLI as a bar, the target as a line, labels escaped.

    The scale runs from a floor below the lowest SLI and the target (whole percent) to 100 %, so the
    difference between 99.5 and 99.9 is visible. A host without counted time gets no bar.
    """
    hosts = document["hosts"]
    target = document["availability"]["target"]
    values = [h["sli"] for h in hosts if h["sli"] is not None] + ([target] if target is not None else [])
    floor = float(max(0, min([*values, 99.0]) // 1 - 1))
    label_w, row_h, left = 180, 22, 190
    bar_w = width - left - 70
    height = 30 + row_h * max(1, len(hosts))

    def x(value: float) -> float:
        return left + bar_w * (value - floor) / (100 - floor)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="availability per host">',
        f'<text x="{left}" y="12" font-size="10">{floor:g} %</text>',
        f'<text x="{left + bar_w}" y="12" font-size="10" text-anchor="end">100 %</text>',
    ]
    for i, host in enumerate(hosts):
        y = 20 + i * row_h
        name = escape(printable(host["host"]))
        parts.append(f'<text x="{label_w}" y="{y + 14}" font-size="11" text-anchor="end">{name}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{bar_w}" height="14" fill="#eee"/>')
        if host["sli"] is not None:
            colour = "#2e7d32" if host["met"] is not False else "#c62828"
            parts.append(f'<rect x="{left}" y="{y + 3}" width="{x(host["sli"]) - left:.1f}" height="14" '
                         f'fill="{colour}"/>')
            parts.append(f'<text x="{left + bar_w + 4}" y="{y + 14}" font-size="11">'
                         f"{percent(host['sli'])} %</text>")
    if target is not None:
        tx = x(target)
        parts.append(f'<line x1="{tx:.1f}" y1="16" x2="{tx:.1f}" y2="{height}" stroke="#000" '
                     f'stroke-width="1.5" stroke-dasharray="4 2"/>')
        parts.append(f'<text x="{tx:.1f}" y="{height - 1}" font-size="9" text-anchor="middle">'
                     f"target {target:g} %</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def target_bar(sli: float | None, target: float | None, width: int = 220) -> Markup:
    """Return a small SVG bar of one SLI on the same scale as the report's chart, with the target line.

    Without counted time the bar is empty and says so; without a target there is no line.
    """
    values = [v for v in (sli, target) if v is not None]
    floor = float(max(0, min([*values, 99.0]) // 1 - 1))

    def x(value: float) -> float:
        return width * (value - floor) / (100 - floor)

    label = "no counted time" if sli is None else f"{percent(sli)} %"
    if target is not None:
        label += f" of target {target:g} %"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bar" width="{width}" height="18" '
             f'viewBox="0 0 {width} 18" role="img" aria-label="{escape(label)}">',
             f'<rect x="0" y="3" width="{width}" height="12" fill="#e4e4e4"/>']
    if sli is not None:
        colour = "#c62828" if target is not None and sli < target else "#2e7d32"
        parts.append(f'<rect x="0" y="3" width="{x(sli):.1f}" height="12" fill="{colour}"/>')
    if target is not None:
        parts.append(f'<line x1="{x(target):.1f}" y1="0" x2="{x(target):.1f}" y2="18" stroke="#000" '
                     'stroke-width="2"/>')
    parts.append(f"<title>{escape(label)} (scale {floor:g} to 100 %)</title></svg>")
    return Markup("".join(parts))


def csv_cell(value: object) -> object:
    """Return a CSV cell: text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = printable(value)
        assert isinstance(value, str)
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value


def csv_tables(document: dict[str, Any]) -> dict[str, list[list[object]]]:
    """Return the report's tables as name -> rows (the first row names the columns)."""
    figures = ["target", "sli", "met", "counted_seconds", "downtime_seconds", "maintenance_seconds",
               "no_data_seconds", "outside_hours_seconds", "error_budget_seconds", "period_budget_seconds",
               "budget_spent_seconds", "period_budget_left_seconds"]
    revision = document.get("revision") or {}
    tables: dict[str, list[list[object]]] = {
        "summary": [
            ["customer", "month", "timezone", "start", "end", "measured_to", "revision", "revision_reason",
             "summary", *figures],
            [document["customer"], document["month"], document["period"]["timezone"],
             document["period"]["start"], document["period"]["end"], document["period"]["measured_to"],
             revision.get("number"), revision.get("reason"), document["summary"],
             *(document["availability"].get(f) for f in figures)],
        ],
        "availability": [["host", "object", *figures, "outages"]],
        "outages": [["host", "objects", "start", "end", "seconds", "worst", "tickets"]],
        "ticket_sla": [["priority", "tickets", "response_met", "response_breached", "response_open",
                        "resolution_met", "resolution_breached", "resolution_open"]],
        "breaches": [["ticket", "host", "check", "title", "priority", "clock", "due", "stopped_at",
                      "attainment_minutes", "reason"]],
        "check_runs": [["type", "runs", "hosts", "not_ok"]],
        "windows": [["name", "scope", "start", "end", "sla_relevant", "reason", "tickets_held_back",
                     "pages_held_back"]],
    }
    for host in document["hosts"]:
        tables["availability"].append([host["host"], "", *(host.get(f) for f in figures), host["outages"]])
        for obj in host["objects"]:
            tables["availability"].append([host["host"], obj["name"], *(obj.get(f) for f in figures),
                                           obj["outages"]])
    for o in document["outages"]:
        tables["outages"].append([o["host"], " ".join(o["objects"]), o["start"], o["end"], o["seconds"],
                                  o["worst"], " ".join(str(t["id"]) for t in o["tickets"])])
    for column, key in (("ticket_sla", "priorities"), ("breaches", "breaches")):
        names = tables[column][0]
        tables[column].extend([row[str(n)] for n in names] for row in document["tickets"][key])
    for column, key in (("check_runs", "checks"), ("windows", "windows")):
        names = tables[column][0]
        tables[column].extend([row[str(n)] for n in names] for row in document[key])
    return tables


def csv_zip(document: dict[str, Any]) -> bytes:
    """Return a zip with one CSV file per table."""
    buffer = io.BytesIO()
    stem = filename(document, ReportFormat.CSV).removesuffix(".zip")
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in csv_tables(document).items():
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerows([csv_cell(v) for v in row] for row in rows)
            archive.writestr(f"{stem}/{name}.csv", text.getvalue())
    return buffer.getvalue()
