"""A customer's availability over a period, from the stored HARD state changes and the contract.

Loads what `collector.domain.availability.availability_report` needs from the database (in three queries:
hosts, state changes, tickets) and attaches to each outage the tickets of its host and objects.

- History: the rows of `state_changes` with `hard` set. An object's first row is always one (its hard
  status changes from "none"); a SOFT row is hard only as an object's first row, where the hard status is
  still OK, so a row's hard status is its status when HARD and OK when SOFT. Of the time before the period
  only the last change per object is loaded: it sets the state at `start`.
- Periods: a calendar month ("YYYY-MM") is taken in the contract's timezone; any [start, end) range works.
  The part of a period after `now` is cut off (the future has no data); a period starting at or after `now`
  is refused. The rest of a running period is planned time (its service time less scheduled windows), so
  the error budget of the whole period stands beside the budget spent so far.
- Silence: where the `host` pseudo-check is not OK (the staleness sweep found the agent silent), the
  times of the host's stored results are loaded (one query for up to 200 of a customer's stale spans)
  and the part no real result covers is its silence: the checks are in no data there and the
  contract's `no_data` decides. Results replayed from an agent's outbox cover the time they were
  observed in, so a cut-off agent is not silent.
  Once raw results are past their retention, their times in and just before stale spans are read from
  `host_observations` (kept by housekeeping for as long as state changes), so the figures do not change.
- A customer without a contract is measured on 24x7 UTC hours against no target, counting host
  reachability and every check, WARNING up, no data excluded; `contract` is None so callers can say so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, bindparam, func, or_, select, text
from sqlalchemy.orm import Session

from fernwart.checks.status import Status
from fernwart.collector.domain.availability import (
    AvailabilityReport,
    AvailabilityRules,
    Outage,
    StatusSince,
    availability_report,
    month_period,
    silence_allowed,
    silences,
    stale_spans,
)
from fernwart.collector.domain.calendar import ServiceCalendar, load_zone
from fernwart.collector.domain.contracts import Contract
from fernwart.collector.domain.windows import parse_instant
from fernwart.collector.models import Customer, Host, HostObservation, Result, StateChange, Ticket
from fernwart.collector.services.contracts import contract_of
from fernwart.collector.services.errors import Invalid, NotFound
from fernwart.collector.services.windows import windows_of
from fernwart.protocol import HOST_CHECK

NO_CONTRACT_RULES = AvailabilityRules(target=None, counts=(HOST_CHECK, "check:*"))
NO_CONTRACT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class TicketRef:
    """A ticket overlapping an outage."""

    id: int
    check: str
    priority: str | None
    state: str
    opened_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class CustomerAvailability:
    """A report with its context: the requested period, where measuring stopped, and outage tickets.

    `report.end` is `measured_to` (the period's end, or `now` when the period reaches past it).
    `tickets[i]` belongs to `report.outages[i]`.
    """

    customer: str
    contract: Contract | None
    timezone: str
    start: datetime
    end: datetime
    report: AvailabilityReport
    tickets: tuple[tuple[TicketRef, ...], ...]

    @property
    def measured_to(self) -> datetime:
        """Return the end of the measured part of the period."""
        return self.report.end


def timezone_of(session: Session, customer_id: int) -> str:
    """Return the timezone a customer's periods are read in: the contract's, else UTC."""
    contract = contract_of(session, customer_id)
    return contract.contract.timezone if contract else NO_CONTRACT_TIMEZONE


def month_bounds(session: Session, customer_id: int, month: str) -> tuple[datetime, datetime]:
    """Return the UTC bounds of "YYYY-MM" in the customer's timezone; raise Invalid if malformed."""
    try:
        return month_period(month, timezone_of(session, customer_id))
    except (ValueError, OverflowError) as exc:
        raise Invalid(f"month: {exc}") from None


def period(
    session: Session, customer_id: int, month: str | None, start: str | None, end: str | None
) -> tuple[datetime, datetime]:
    """Return the UTC bounds of `month` ("YYYY-MM") or of `start`+`end` (wall clock in the customer's
    timezone unless they carry an offset); raise Invalid unless exactly one of the two forms is given."""
    if (month is None) == (start is None and end is None) or (start is None) != (end is None):
        raise Invalid("period: give month=YYYY-MM, or both from and to")
    if month is not None:
        bounds = month_bounds(session, customer_id, month)
        _within_years("month", bounds[0])
        return bounds
    assert start is not None and end is not None
    zone = load_zone(timezone_of(session, customer_id))
    found = []
    for name, given in (("from", start), ("to", end)):
        try:
            found.append(_within_years(name, parse_instant(given, zone)))
        except (ValueError, OverflowError) as exc:
            raise Invalid(f"{name}: {exc}") from None
    return found[0], found[1]


PERIOD_YEARS = (2000, 2100)  # reports cover periods in these years only


def _within_years(name: str, at: datetime) -> datetime:
    if not PERIOD_YEARS[0] <= at.year < PERIOD_YEARS[1]:
        raise Invalid(f"{name}: expected a time from {PERIOD_YEARS[0]} to {PERIOD_YEARS[1]}")
    return at


def report(
    session: Session, customer_name: str, start: datetime, end: datetime, now: datetime
) -> CustomerAvailability:
    """Return the availability of the customer's hosts over [start, end), cut at `now`.

    Raise NotFound for an unknown customer, Invalid when end <= start or start >= now. A host
    without any state change is left out (it has nothing to count).
    """
    customer = session.scalar(select(Customer).where(Customer.name == customer_name))
    if customer is None:
        raise NotFound(f"customer {customer_name!r} not found")
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("period: give times with a UTC offset")
    if end <= start:
        raise Invalid(f"period: end {end.isoformat()} is not after start {start.isoformat()}")
    if start >= now:
        raise Invalid(f"period: starts {start.isoformat()}, in the future; there is no data yet")
    measured_to = min(end, now)
    parsed = contract_of(session, customer.id)
    contract = parsed.contract if parsed else None
    hosts = dict(session.execute(select(Host.id, Host.name).where(Host.customer_id == customer.id)).all())
    histories = _histories(session, customer.id, hosts, start, measured_to)
    rules = contract.availability if contract else NO_CONTRACT_RULES
    calendar = _calendar(contract)
    silent = _silences(session, customer.id, histories, start, measured_to)
    result = availability_report(
        histories, start, measured_to, rules, calendar, windows_of(session, customer.id), silent, end
    )
    tickets = _tickets(session, customer.id, hosts, result.outages, start, measured_to)
    timezone = contract.timezone if contract else NO_CONTRACT_TIMEZONE
    return CustomerAvailability(customer.name, contract, timezone, start, end, result, tickets)


def _calendar(contract: Contract | None) -> ServiceCalendar | None:
    """Return the contract's service calendar, None (cheaper, same result) when it is 24x7."""
    if contract is None:
        return None
    hours = contract.service_hours
    always = ServiceCalendar.always(hours.timezone)
    if hours.weekly == always.weekly and hours.holiday_country is None and not hours.closed_dates:
        return None
    return hours


def _histories(
    session: Session, customer_id: int, hosts: dict[str, str], start: datetime, end: datetime
) -> dict[str, dict[str, list[StatusSince]]]:
    """Return host name -> object -> hard changes before `end`, of the time before `start` only the last.

    One statement for all hosts: the rows inside the period plus, per object, the rows at its last
    change before the period (joined on the latest `at` per host and check).
    """
    of_customer = StateChange.host_id.in_(select(Host.id).where(Host.customer_id == customer_id))
    prior = (
        select(StateChange.host_id, StateChange.check_name, func.max(StateChange.at).label("at"))
        .where(of_customer, StateChange.hard.is_(True), StateChange.at < start)
        .group_by(StateChange.host_id, StateChange.check_name)
        .subquery()
    )
    rows = session.execute(
        select(
            StateChange.host_id,
            StateChange.check_name,
            StateChange.at,
            StateChange.status,
            StateChange.state_type,
        )
        .outerjoin(
            prior,
            and_(
                prior.c.host_id == StateChange.host_id,
                prior.c.check_name == StateChange.check_name,
                prior.c.at == StateChange.at,
            ),
        )
        .where(of_customer, StateChange.hard.is_(True), StateChange.at < end)
        .where(or_(StateChange.at >= start, prior.c.at.is_not(None)))
        .order_by(StateChange.host_id, StateChange.check_name, StateChange.at, StateChange.id)
    ).all()
    histories: dict[str, dict[str, list[StatusSince]]] = defaultdict(lambda: defaultdict(list))
    for host_id, check_name, at, status, state_type in rows:
        hard_status = Status(status) if state_type == "HARD" else Status.OK
        histories[hosts[host_id]][check_name].append(StatusSince(at, hard_status))
    return histories


SPANS_PER_QUERY = 200


def _silences(
    session: Session,
    customer_id: int,
    histories: dict[str, dict[str, list[StatusSince]]],
    start: datetime,
    end: datetime,
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Return host name -> the spans in [start, end) it was stale with no real result covering them."""
    out: dict[str, list[tuple[datetime, datetime]]] = {}
    stale = {
        name: spans
        for name, objects in histories.items()
        if (spans := stale_spans(objects.get(HOST_CHECK, ()), start, end))
    }
    if not stale:
        return out
    rows = session.execute(
        select(Host.id, Host.name, Host.stale_after, Host.heartbeat_interval)
        .where(Host.customer_id == customer_id, Host.name.in_(stale))
    ).all()
    allowed = {host_id: silence_allowed(after, beat) for host_id, _, after, beat in rows}
    ranges = [(host_id, a - allowed[host_id], b) for host_id, name, _, _ in rows for a, b in stale[name]]
    observed: dict[str, list[datetime]] = {host_id: [] for host_id in allowed}
    # the results inside every stale span of the customer's hosts in one statement per SPANS_PER_QUERY
    # spans (under SQLite's expression depth), not one per span: flapping hosts have hundreds a month
    for first in range(0, len(ranges), SPANS_PER_QUERY):
        # raw results past their retention left their times in host_observations (services.housekeeping)
        for model in (Result, HostObservation):
            for host_id, at in session.execute(_in_spans(ranges[first : first + SPANS_PER_QUERY], model)):
                observed[host_id].append(at)
    for host_id, name, _, _ in rows:
        if found := silences(stale[name], observed[host_id], allowed[host_id]):
            out[name] = found
    return out


def _in_spans(
    ranges: list[tuple[str, datetime, datetime]], model: type[Result] | type[HostObservation] = Result
) -> Select[str, datetime]:
    """Return the statement selecting (host id, observed at) of `model`'s rows (results, or the kept
    observation times) inside any of `ranges`.

    The condition is one text clause with typed bound values: building it from column expressions costs
    ~80 us a span in SQLAlchemy, which for a fleet's month of stale spans was most of the overview's time.
    """
    times = model.observed_at.type
    table = model.__tablename__
    params = []
    for i, (host_id, a, b) in enumerate(ranges):
        params += [bindparam(f"h{i}", host_id), bindparam(f"a{i}", a, type_=times)]
        params.append(bindparam(f"b{i}", b, type_=times))
    condition = " OR ".join(
        f"({table}.host_id = :h{i} AND {table}.observed_at >= :a{i} AND {table}.observed_at < :b{i})"
        for i in range(len(ranges))
    )
    return select(model.host_id, model.observed_at).where(text(condition).bindparams(*params))


def _tickets(
    session: Session,
    customer_id: int,
    hosts: dict[str, str],
    outages: tuple[Outage, ...],
    start: datetime,
    end: datetime,
) -> tuple[tuple[TicketRef, ...], ...]:
    """Return, per outage, the tickets of its host and objects open at some moment during it.

    A ticket is open from `opened_at` until `resolved_at` (else `closed_at`, else still open).
    """
    if not outages:
        return ()
    ends_at = func.coalesce(Ticket.resolved_at, Ticket.closed_at)
    rows = session.scalars(
        select(Ticket)
        .where(Ticket.host_id.in_(select(Host.id).where(Host.customer_id == customer_id)))
        .where(Ticket.opened_at < end, or_(ends_at.is_(None), ends_at > start))
        .order_by(Ticket.opened_at, Ticket.id)
    )
    by_object: dict[tuple[str, str], list[Ticket]] = defaultdict(list)
    for ticket in rows:
        by_object[(hosts[ticket.host_id], ticket.check_name)].append(ticket)
    attached: list[tuple[TicketRef, ...]] = []
    for outage in outages:
        found = [
            t
            for name in outage.objects
            for t in by_object.get((outage.host, name), ())
            if t.opened_at < outage.end and _ends_after(t, outage.start)
        ]
        attached.append(tuple(_ref(t) for t in sorted(found, key=lambda t: (t.opened_at, t.id))))
    return tuple(attached)


def _ends_after(ticket: Ticket, at: datetime) -> bool:
    closed = ticket.resolved_at or ticket.closed_at
    return closed is None or closed > at


def _ref(ticket: Ticket) -> TicketRef:
    return TicketRef(
        ticket.id, ticket.check_name, ticket.priority, ticket.state, ticket.opened_at, ticket.resolved_at
    )
