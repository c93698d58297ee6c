"""Endpoints for monthly SLA reports: one report in each format, its revisions, and a regeneration.

Every endpoint needs an API token; a customer's account sees only its own customer (others answer 404,
as if unknown). A closed month's report is stored the first time it is asked for and served from storage
after that; only admins make a revision, and only with a reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from fernwart.collector.api.inputs import SafeStr, json_body, request_body
from fernwart.collector.deps import DB, Now, Tech
from fernwart.collector.services import read, reports
from fernwart.collector.services.permissions import Permission, require
from fernwart.collector.services.report_formats import MEDIA_TYPES, ReportFormat, filename, render

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
CustomerName = Annotated[SafeStr, Query(min_length=1, max_length=200, description="the customer's name")]
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)
Month = Annotated[SafeStr, Query(max_length=7, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]


class RevisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: Annotated[str, Field(min_length=1, max_length=200)]
    month: Annotated[str, Field(max_length=7, pattern=r"^\d{4}-\d{2}$")]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class StoredReportOut(BaseModel):
    month: str
    revision: int
    made_at: datetime
    reason: str


def _answer(document: dict[str, Any], fmt: ReportFormat, status_code: int = 200) -> Response:
    disposition = "inline" if fmt in (ReportFormat.JSON, ReportFormat.HTML) else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{filename(document, fmt)}"'}
    if fmt is ReportFormat.HTML:  # behind the escaping, a second wall: the report runs nothing, loads nothing
        headers["Content-Security-Policy"] = REPORT_CSP
    body = render(document, fmt)
    return Response(body, status_code=status_code, media_type=MEDIA_TYPES[fmt], headers=headers)


@router.get("/monthly", response_class=Response)
def get_monthly(
    db: DB,
    user: Tech,
    now: Now,
    customer: CustomerName,
    month: Month,
    format: ReportFormat = ReportFormat.JSON,
) -> Response:
    """Return a customer's monthly SLA report (month in the contract's timezone) in one format.

    A closed month answers the stored report (made now if it was never asked for); a running month is
    made fresh and marked provisional; a month not yet begun is 422.
    """
    row = read.scope.customer(db, user, customer)
    document = reports.report_for(db, row, month, now, user.name)
    db.commit()
    return _answer(document, format)


@router.get("/monthly/stored", response_model=list[StoredReportOut])
def get_stored(db: DB, user: Tech, customer: CustomerName) -> list[StoredReportOut]:
    """List the stored monthly reports of a customer with their revisions, newest month first."""
    row = read.scope.customer(db, user, customer)
    return [StoredReportOut(month=m, revision=n, made_at=at, reason=why)
            for m, n, at, why in reports.revisions(db, row)]


@router.post(
    "/monthly/revisions", status_code=201, openapi_extra=request_body(RevisionIn), response_class=Response
)
def post_revision(
    user: Tech, spec: Annotated[RevisionIn, Depends(json_body(RevisionIn))], db: DB, now: Now
) -> Response:
    """Make a closed month's report again as a new revision with a reason (admins only); answer its JSON."""
    require(user, Permission.REVISE_REPORTS)
    row = read.scope.customer(db, user, spec.customer)
    document = reports.regenerate(db, row, spec.month, now, user.name, spec.reason)
    db.commit()
    return _answer(document, ReportFormat.JSON, status_code=201)
