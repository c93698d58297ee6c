"""Endpoints for contracts and what they promise: availability reports, contracts, maintenance windows.

Every endpoint needs a technician's API token. A customer's account sees only its own customer (others
answer 404, as if unknown); only admins replace contracts; customer accounts cannot add windows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, RootModel

from fernwart.collector.api.inputs import (
    BoundedInstant,
    RawBody,
    SafeStr,
    json_body,
    parse_body,
    request_body,
)
from fernwart.collector.deps import DB, Now, Tech
from fernwart.collector.domain.availability import Figures
from fernwart.collector.domain.calendar import DAY_SECONDS
from fernwart.collector.domain.windows import Recurrence
from fernwart.collector.services import availability, contracts, read, windows
from fernwart.collector.services.permissions import Permission, require

router = APIRouter(prefix="/api/v1", tags=["contracts and SLA"])
CustomerName = Annotated[SafeStr, Query(min_length=1, max_length=200, description="the customer's name")]
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NEXT_HORIZON = timedelta(days=35)  # a weekly recurrence opens at least once in this span


class FiguresOut(BaseModel):
    """Zabbix-like SLA figures; seconds are real seconds. Excluded time leaves the counted total:
    sli = (counted - downtime) / counted; the error budget is whole seconds, negative once breached.

    `error_budget_seconds` is taken on the time measured so far; `period_budget_seconds` on the whole
    period (its rest planned as service time less scheduled windows), of which `budget_spent_seconds`
    (the downtime, rounded up) is spent and `period_budget_left_seconds` is left. For a finished period
    both budgets agree."""

    target: float | None
    sli: float | None
    met: bool | None
    counted_seconds: float
    downtime_seconds: float
    excluded_seconds: float
    maintenance_seconds: float
    no_data_seconds: float
    outside_hours_seconds: float
    error_budget_seconds: int | None
    planned_seconds: float
    period_budget_seconds: int | None
    budget_spent_seconds: int
    period_budget_left_seconds: int | None

    @classmethod
    def of(cls, figures: Figures, **extra: Any) -> Any:
        """Return the model (of the calling subclass) for `figures` plus its own fields in `extra`."""
        return cls(**{name: getattr(figures, name) for name in FiguresOut.model_fields}, **extra)


class ObjectOut(FiguresOut):
    name: str
    outages: int


class HostFiguresOut(FiguresOut):
    host: str
    outages: int
    objects: list[ObjectOut]


class TicketRefOut(BaseModel):
    id: int
    check: str
    priority: str | None
    state: str
    opened_at: datetime
    resolved_at: datetime | None


class OutageOut(BaseModel):
    host: str
    objects: list[str]
    start: datetime
    end: datetime
    seconds: float
    worst: str
    tickets: list[TicketRefOut]


class PeriodOut(BaseModel):
    start: datetime
    end: datetime
    measured_to: datetime
    month: str | None
    timezone: str


class AvailabilityOut(FiguresOut):
    """A customer's figures are sums over its hosts: per host, counted + excluded time is the measured
    time, so the customer's add up to `hosts_summed` x `measured_seconds`."""

    customer: str
    hosts_summed: int
    measured_seconds: float
    contract: bool
    period: PeriodOut
    hosts: list[HostFiguresOut]
    outages: list[OutageOut]


class OccurrenceOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    starts: datetime = Field(serialization_alias="from")
    ends: datetime = Field(serialization_alias="to")


class WindowOut(BaseModel):
    source: str  # contract | adhoc
    id: int | None
    name: str
    scope: str
    timezone: str
    sla_relevant: bool
    reason: str
    every: str | None
    starts: datetime | None = Field(serialization_alias="from")
    ends: datetime | None = Field(serialization_alias="to")
    created_by: str | None
    active: bool
    next: list[OccurrenceOut]


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    customer: Annotated[str, Field(min_length=1, max_length=200)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    scope: Annotated[str, Field(min_length=1, max_length=300)] = "all"
    starts: BoundedInstant = Field(alias="from")
    ends: BoundedInstant = Field(alias="to")
    reason: Annotated[str, Field(max_length=2000)]
    sla_relevant: bool = False


class LogEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    window: str
    kind: str
    host: str | None
    check: str | None
    message: str


@router.get("/availability", response_model=AvailabilityOut)
def get_availability(
    db: DB,
    user: Tech,
    now: Now,
    customer: CustomerName,
    month: Annotated[SafeStr | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$")] = None,
    start: Annotated[SafeStr | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[SafeStr | None, Query(alias="to", max_length=40)] = None,
) -> AvailabilityOut:
    """Report a customer's availability for a month (in the contract's timezone) or a from/to range.

    The part of the period after now is not measured (`period.measured_to`); a period in the future is 422.
    """
    row = read.scope.customer(db, user, customer)
    bounds = availability.period(db, row.id, month, start, end)
    return _availability_out(availability.report(db, row.name, *bounds, now), month)


def _availability_out(found: availability.CustomerAvailability, month: str | None) -> AvailabilityOut:
    report = found.report
    hosts = [
        HostFiguresOut.of(
            h.figures,
            host=h.host,
            outages=len(h.outages),
            objects=[ObjectOut.of(o.figures, name=o.name, outages=len(o.outages)) for o in h.objects],
        )
        for h in report.hosts
    ]
    outages = [
        OutageOut(
            host=o.host,
            objects=list(o.objects),
            start=o.start,
            end=o.end,
            seconds=o.seconds,
            worst=o.worst.name if o.worst is not None else "NO_DATA",
            tickets=[TicketRefOut(**vars(t)) for t in tickets],
        )
        for o, tickets in zip(report.outages, found.tickets, strict=True)
    ]
    period = PeriodOut(
        start=found.start, end=found.end, measured_to=found.measured_to, month=month, timezone=found.timezone
    )
    out: AvailabilityOut = AvailabilityOut.of(
        report.figures,
        customer=found.customer,
        hosts_summed=len(report.hosts),
        measured_seconds=(found.measured_to - found.start).total_seconds(),
        contract=found.contract is not None,
        period=period,
        hosts=hosts,
        outages=outages,
    )
    return out


@router.get("/contracts")
def get_contracts(db: DB, user: Tech, customer: CustomerName | None = None) -> list[dict[str, Any]]:
    """List the stored contract documents (one per customer), or the one of `customer`.

    A customer's account sees only its own; an unknown customer is 404, one without a contract an empty list.
    """
    if customer is not None:
        return contracts.documents(db, read.scope.customer(db, user, customer).id)
    if user.customer_id is not None:
        return contracts.documents(db, user.customer_id)
    return contracts.documents(db)


class ContractsIn(RootModel[dict[str, Any]]):
    """A contracts document: the YAML file's content as JSON (`customers: [...]`)."""


@router.put("/contracts", openapi_extra=request_body(ContractsIn))
def put_contracts(user: Tech, raw: RawBody, db: DB, now: Now) -> dict[str, Any]:
    """Apply a contracts document (the YAML file's content as JSON) whole, admins only.

    A refused document changes nothing: 422 with `error` and `problems`, one line per problem.
    """
    require(user, Permission.APPLY_CONTRACTS)
    document = parse_body(ContractsIn, raw).root
    applied = contracts.apply(db, document, user.name, now)
    db.commit()
    return {"customers": list(applied.customers), "hosts_updated": applied.hosts_updated}


def _every(recurrence: Recurrence) -> str:
    days = "daily" if len(recurrence.days) == 7 else ",".join(DAY_NAMES[d] for d in sorted(recurrence.days))
    end = recurrence.end % DAY_SECONDS if recurrence.end != DAY_SECONDS else DAY_SECONDS
    return f"{days} {_clock(recurrence.start)}-{_clock(end)}"


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _window_out(listed: windows.ListedWindow, at: datetime) -> WindowOut:
    window = listed.window
    horizon = at + NEXT_HORIZON if window.every else max(window.ends_at or at, at) + timedelta(seconds=1)
    upcoming = window.occurrences(at, horizon)[:3]
    return WindowOut(
        source="adhoc" if listed.adhoc_id is not None else "contract",
        id=listed.adhoc_id,
        name=window.name,
        scope=str(window.scope),
        timezone=window.timezone,
        sla_relevant=window.sla_relevant,
        reason=window.reason,
        every=_every(window.every) if window.every else None,
        starts=window.starts_at,
        ends=window.ends_at,
        created_by=listed.created_by,
        active=bool(upcoming) and upcoming[0][0] <= at,
        next=[OccurrenceOut(starts=a, ends=b) for a, b in upcoming],
    )


@router.get("/windows", response_model=list[WindowOut], response_model_by_alias=True)
def get_windows(
    db: DB, user: Tech, now: Now, customer: CustomerName, active_at: BoundedInstant | None = None
) -> list[WindowOut]:
    """List a customer's contract and ad-hoc windows with their next (up to 3) occurrences.

    With `active_at` only the windows open at that instant, occurrences counted from it.
    """
    row = read.scope.customer(db, user, customer)
    at = active_at or now
    found = [_window_out(w, at) for w in windows.listed(db, row.id)]
    return [w for w in found if w.active] if active_at is not None else found


@router.post(
    "/windows", response_model=WindowOut, response_model_by_alias=True, status_code=201,
    openapi_extra=request_body(WindowIn),
)
def post_window(
    user: Tech, body: Annotated[WindowIn, Depends(json_body(WindowIn))], db: DB, now: Now
) -> WindowOut:
    """Add an ad-hoc maintenance window (with a reason; logged); customer accounts may not."""
    require(user, Permission.ADD_WINDOWS)
    customer = read.scope.customer(db, user, body.customer)
    added = windows.add(
        db,
        customer=customer.name,
        name=body.name,
        scope=body.scope,
        starts_at=body.starts,
        ends_at=body.ends,
        reason=body.reason,
        actor=user.name,
        now=now,
        sla_relevant=body.sla_relevant,
    )
    db.commit()
    return _window_out(added, now)


@router.get("/maintenance-log", response_model=list[LogEntryOut])
def maintenance_log(
    db: DB, user: Tech, customer: CustomerName, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> list[LogEntryOut]:
    """Return a customer's maintenance log, newest first: windows created, tickets and pages held back."""
    return [LogEntryOut.model_validate(e) for e in read.hosts.maintenance_log(db, user, customer, limit)]
