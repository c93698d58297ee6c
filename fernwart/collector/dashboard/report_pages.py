"""Dashboard reports pages: the customers one may see, and per customer the months with each format.

Downloads are made by `services.reports.report_for`, the same function the API's
`/api/v1/reports/monthly` calls, so a closed month's report is stored once and served the same way
whichever door it was asked through. A customer's account sees only its own customer; any other name
is 404, exactly like an unknown one.
"""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fernwart.collector.dashboard.web import Viewing, error_page, refusal_page, render
from fernwart.collector.deps import DB, Now
from fernwart.collector.services import read, report_formats, reports
from fernwart.collector.services.errors import NotFound, ServiceError
from fernwart.collector.services.report_formats import MEDIA_TYPES, ReportFormat, filename

router = APIRouter(include_in_schema=False)
MONTHS_SHOWN = 12
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
# The report itself runs nothing and loads nothing; its styles are inline, its chart an inline SVG.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def recent_months(now: datetime, count: int = MONTHS_SHOWN) -> list[str]:
    """Return the running month and the `count - 1` before it as YYYY-MM, newest first (months of UTC)."""
    year, month = now.year, now.month
    out = []
    for _ in range(count):
        out.append(f"{year:04}-{month:02}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


@router.get("/reports")
def report_index(request: Request, db: DB, now: Now, signed_in: Viewing, customer: str = "") -> Response:
    """List the customers the viewer may see; with `customer`, that customer's months in every format."""
    if not customer:
        rows = read.scope.customers(db, signed_in.user)
        return render(request, "reports.html", signed_in, customers=rows, customer=None, months=[])
    try:
        row = read.scope.customer(db, signed_in.user, customer)
    except NotFound:
        return error_page(request, signed_in, 404, "No such customer.")
    stored = {m: (n, at, why) for m, n, at, why in reports.revisions(db, row)}
    return render(
        request,
        "reports.html",
        signed_in,
        customers=[],
        customer=row,
        months=recent_months(now),
        stored=stored,
        formats=[f.value for f in (ReportFormat.HTML, ReportFormat.PDF, ReportFormat.CSV, ReportFormat.JSON)],
    )


@router.get("/reports/monthly")
def report_download(
    request: Request,
    db: DB,
    now: Now,
    signed_in: Viewing,
    customer: str = "",
    month: str = "",
    format: str = "",
) -> Response:
    """Answer one customer's monthly report in one format; a bad month or format is a 422 page."""
    if not MONTH.fullmatch(month):
        return error_page(request, signed_in, 422, "month: expected YYYY-MM.")
    if format not in {f.value for f in ReportFormat}:
        return error_page(request, signed_in, 422, "format: expected html, pdf, csv or json.")
    try:
        row = read.scope.customer(db, signed_in.user, customer)
        document = reports.report_for(db, row, month, now, signed_in.user.name)
    except NotFound:
        return error_page(request, signed_in, 404, "No such customer.")
    except ServiceError as exc:
        db.rollback()
        return refusal_page(request, signed_in, exc)
    db.commit()
    fmt = ReportFormat(format)
    disposition = "inline" if fmt in (ReportFormat.JSON, ReportFormat.HTML) else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{filename(document, fmt)}"',
        "Content-Security-Policy": REPORT_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return Response(report_formats.render(document, fmt), media_type=MEDIA_TYPES[fmt], headers=headers)
