"""The monthly SLA report of a customer: assembled from the availability service and the SLA clocks.

Nothing here computes availability or a clock: the figures are `services.availability.report`'s and the
attainments are `services.clocks.clocks_of`'s, both taken as of the end of the measured part of the month.
This module only groups them into the report's tables and words the summary line.

- Month: "YYYY-MM" in the contract's timezone (UTC without a contract), as the availability service takes it.
- Tickets: those of the customer opened inside the month; their clocks are `clocks_of`'s as of the end
  of the measured part of the month, which (as everywhere) moves on to the ticket's last event when that
  is later: a ticket acknowledged after the month ended shows its real attainment, and a clock running
  when the report is made is "open", not met.
- Preventive checks: stored results of the customer's hosts observed inside the month, per check type
  (raw results, and the rollups of those past their retention).
- Windows: every occurrence of a maintenance window overlapping the month, with what it held back (from the
  maintenance log).
- Diagnostics and repairs are not recorded yet (no audit log); the report says so instead of showing zero.

The report is a `dict` of JSON values (`document`): the form that is stored for closed months and that every
format renders, so a stored report renders the same forever.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fernwart import __version__
from fernwart.collector.domain.availability import Figures
from fernwart.collector.domain.clocks import ClockState
from fernwart.collector.domain.rollups import FIVE_MINUTES, HOURLY
from fernwart.collector.models import (
    CheckRollup,
    CheckState,
    Customer,
    Host,
    MaintenanceLog,
    MonthlyReport,
    Result,
    Ticket,
)
from fernwart.collector.services import availability, clocks, windows
from fernwart.collector.services.errors import Invalid
from fernwart.collector.services.read.scope import CustomerRef

FORMAT_VERSION = 1
AUDIT_NOTE = "Diagnostics and repairs run are not recorded yet; this section lists check runs only."


def report_for(session: Session, customer: CustomerRef, month: str, now: datetime, by: str) -> dict[str, Any]:
    """Return the report of `month`: for a closed month the stored one (made and stored on first asking),
    for a running month a provisional one made now and not stored.

    Two collectors making the same first report race on the unique (customer, month, revision) index; the
    loser reads the winner's. The caller commits.
    """
    latest = _latest(session, customer, month)
    if latest is not None:
        return latest.document
    document = monthly(session, customer, month, now)
    if not document["period"]["closed"]:
        return {**document, "revision": None}
    return _store(session, customer, month, document, now, by, 1, "") or _must(session, customer, month)


def regenerate(
    session: Session, customer: CustomerRef, month: str, now: datetime, by: str, reason: str
) -> dict[str, Any]:
    """Make the report of a closed month again and store it as the next revision, saying why.

    Raise Invalid without a reason or for a month not yet closed (a running month is always made fresh).
    The caller commits.
    """
    if not reason.strip():
        raise Invalid("reason: say why the report is made again (it is shown on the revision)")
    document = monthly(session, customer, month, now)
    if not document["period"]["closed"]:
        raise Invalid(f"month: {month} is not over yet; its report is made fresh on every request")
    latest = _latest(session, customer, month)
    number = 1 if latest is None else latest.revision + 1
    stored = _store(session, customer, month, document, now, by, number, reason.strip())
    if stored is None:
        raise Invalid(f"month: another revision of {month} was stored at the same moment; try again")
    return stored


def revisions(session: Session, customer: CustomerRef) -> list[tuple[str, int, datetime, str]]:
    """Return the stored reports of a customer as (month, revision, made_at, reason), newest month first."""
    rows = session.execute(
        select(MonthlyReport.month, MonthlyReport.revision, MonthlyReport.made_at, MonthlyReport.reason)
        .where(MonthlyReport.customer_id == customer.id)
        .order_by(MonthlyReport.month.desc(), MonthlyReport.revision)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def stored(session: Session, customer_name: str, month: str) -> dict[str, Any] | None:
    """Return the latest stored report of the customer named `customer_name` for `month`, or None."""
    return session.scalar(
        select(MonthlyReport.document)
        .join(Customer, Customer.id == MonthlyReport.customer_id)
        .where(Customer.name == customer_name, MonthlyReport.month == month)
        .order_by(MonthlyReport.revision.desc())
        .limit(1)
    )


def _latest(session: Session, customer: CustomerRef, month: str) -> MonthlyReport | None:
    return session.scalar(
        select(MonthlyReport)
        .where(MonthlyReport.customer_id == customer.id, MonthlyReport.month == month)
        .order_by(MonthlyReport.revision.desc())
        .limit(1)
    )


def _must(session: Session, customer: CustomerRef, month: str) -> dict[str, Any]:
    latest = _latest(session, customer, month)
    assert latest is not None, "a concurrent insert lost, yet no row is there"
    return latest.document


def _store(
    session: Session,
    customer: CustomerRef,
    month: str,
    document: dict[str, Any],
    now: datetime,
    by: str,
    number: int,
    reason: str,
) -> dict[str, Any] | None:
    """Store `document` as revision `number`; return it, or None when that revision exists already."""
    document = {**document, "revision": {"number": number, "reason": reason, "made_by": by}}
    try:
        with session.begin_nested():
            session.add(MonthlyReport(customer_id=customer.id, month=month, revision=number, reason=reason,
                                      made_at=now, made_by=by[:100], document=document))
    except IntegrityError:
        return None
    return document


def monthly(session: Session, customer: CustomerRef, month: str, now: datetime) -> dict[str, Any]:
    """Return the report document of `customer` for `month` ("YYYY-MM"), measured up to `now`.

    Raise Invalid for a malformed month or one that has not started, NotFound for an unknown customer.
    """
    start, end = availability.period(session, customer.id, month, None, None)
    found = availability.report(session, customer.name, start, end, now)
    as_of = found.measured_to
    tickets = _tickets(session, customer.id, start, as_of)
    checks = _check_runs(session, customer.id, start, as_of)
    used = _windows(session, customer.id, start, as_of)
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "fernwart_version": __version__,
        "customer": found.customer,
        "month": month,
        "contract": found.contract is not None,
        "kind": found.contract.kind if found.contract else None,
        "period": {
            "start": _iso(start),
            "end": _iso(end),
            "measured_to": _iso(as_of),
            "timezone": found.timezone,
            "closed": end <= now,
        },
        "made_at": _iso(now),
        "availability": {
            **_figures(found.report.figures),
            # The customer's seconds are sums over its hosts: per host, counted + excluded is the measured
            # time, so these sum to hosts x measured_seconds, which a reader can check.
            "hosts_summed": len(found.report.hosts),
            "measured_seconds": (as_of - start).total_seconds(),
        },
        "hosts": [
            {
                "host": h.host,
                **_figures(h.figures),
                "outages": len(h.outages),
                "objects": [
                    {"name": o.name, **_figures(o.figures), "outages": len(o.outages)} for o in h.objects
                ],
            }
            for h in found.report.hosts
        ],
        "outages": [
            {
                "host": o.host,
                "objects": list(o.objects),
                "start": _iso(o.start),
                "end": _iso(o.end),
                "seconds": o.seconds,
                "worst": o.worst.name if o.worst is not None else "NO_DATA",
                "tickets": [{"id": t.id, "check": t.check, "priority": t.priority, "state": t.state}
                            for t in refs],
            }
            for o, refs in zip(found.report.outages, found.tickets, strict=True)
        ],
        "tickets": tickets,
        "checks": checks,
        "windows": used,
        "audit_note": AUDIT_NOTE,
    }
    document["summary"] = summary_line(document)
    return document


def summary_line(document: dict[str, Any]) -> str:
    """Return the report's first line in plain words: "target 99.5 % met: 99.93 %, 2 outages, 0 breaches".

    The SLI is shown with two decimals, rounded down, so a missed target never reads as its own value.
    """
    figures = document["availability"]
    outages = len(document["outages"])
    breaches = len(document["tickets"]["breaches"])
    tail = f"{outages} {_plural(outages, 'outage')}, {breaches} {_plural(breaches, 'breach', 'breaches')}"
    sli = figures["sli"]
    shown = "no counted time" if sli is None else f"{percent(sli)} %"
    if figures["target"] is None:
        return f"availability {shown} (no target agreed), {tail}"
    verdict = {True: "met", False: "missed", None: "not measurable"}[figures["met"]]
    return f"target {figures['target']:g} % {verdict}: {shown}, {tail}"


def percent(sli: float) -> str:
    """Return an SLI as text with two decimals, rounded down (99.999 is "99.99", never "100.00")."""
    return f"{int(sli * 100) / 100:.2f}"


def _plural(count: int, one: str, many: str | None = None) -> str:
    return one if count == 1 else (many or one + "s")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _figures(figures: Figures) -> dict[str, Any]:
    return {
        "target": figures.target,
        "sli": figures.sli,
        "met": figures.met,
        "counted_seconds": figures.counted_seconds,
        "downtime_seconds": figures.downtime_seconds,
        "excluded_seconds": figures.excluded_seconds,
        "maintenance_seconds": figures.maintenance_seconds,
        "no_data_seconds": figures.no_data_seconds,
        "outside_hours_seconds": figures.outside_hours_seconds,
        "error_budget_seconds": figures.error_budget_seconds,
        "planned_seconds": figures.planned_seconds,
        "period_budget_seconds": figures.period_budget_seconds,
        "budget_spent_seconds": figures.budget_spent_seconds,
        "period_budget_left_seconds": figures.period_budget_left_seconds,
    }


def _tickets(session: Session, customer_id: int, start: datetime, as_of: datetime) -> dict[str, Any]:
    """Return per-priority attainment of the tickets opened in [start, as_of) and every breach."""
    hosts = dict(session.execute(select(Host.id, Host.name).where(Host.customer_id == customer_id)).all())
    rows = session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.opened_at >= start, Ticket.opened_at < as_of)
        .order_by(Ticket.opened_at, Ticket.id)
    ).all()
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    breaches: list[dict[str, Any]] = []
    without_sla = 0
    for ticket in rows:
        found = clocks.clocks_of(session, ticket, as_of)
        if found is None:
            without_sla += 1
            continue
        state = found[1]
        counts = tally[str(ticket.priority)]
        counts["tickets"] += 1
        for clock in (state.response, state.resolution):
            outcome = _outcome(clock)
            counts[f"{clock.name}_{outcome}"] += 1
            if outcome == "breached":
                breaches.append(_breach(ticket, hosts.get(ticket.host_id, "?"), clock))
    priorities = [
        {
            "priority": name,
            "tickets": counts["tickets"],
            **{f"{c}_{o}": counts[f"{c}_{o}"] for c in ("response", "resolution")
               for o in ("met", "breached", "open")},
        }
        for name, counts in sorted(tally.items())
    ]
    return {"opened": len(rows), "without_sla": without_sla, "priorities": priorities, "breaches": breaches}


def _outcome(clock: ClockState) -> str:
    if clock.breached:
        return "breached"
    return "met" if clock.stopped else "open"


def _breach(ticket: Ticket, host: str, clock: ClockState) -> dict[str, Any]:
    """Return one breach with its reason: how late the clock stopped, or that it still ran at month end."""
    if clock.stopped_at is not None and clock.attainment_minutes is not None:
        acknowledged = ticket.acknowledged_at is not None and ticket.acknowledged_at <= clock.stopped_at
        done = "acknowledged" if clock.name == "response" and acknowledged else "resolved"
        if clock.name == "response" and not acknowledged:
            done = "resolved without acknowledgement"
        reason = f"{done} {-clock.attainment_minutes:.0f} business minutes after the {clock.name} target"
    else:
        reason = f"{clock.name} clock not stopped by the end of the period, due {_iso(clock.due)}"
    return {
        "ticket": ticket.id,
        "host": host,
        "check": ticket.check_name,
        "title": ticket.title,
        "priority": ticket.priority,
        "clock": clock.name,
        "due": _iso(clock.due),
        "stopped_at": _iso(clock.stopped_at) if clock.stopped_at else None,
        "attainment_minutes": clock.attainment_minutes,
        "reason": reason,
    }


def _check_runs(session: Session, customer_id: int, start: datetime, as_of: datetime) -> list[dict[str, Any]]:
    """Return check runs per check type inside [start, as_of): runs, hosts, and runs that were not OK.

    Raw results and the rollups of those past their retention never overlap, so both are added: hourly
    buckets when the bounds are whole hours, else 5-minute ones (kept for a shorter time).
    """
    check_type = func.coalesce(CheckState.check_type, "")
    raw = (
        select(check_type, Result.host_id, func.count(), func.sum(case((Result.status != 0, 1), else_=0)))
        .select_from(Result)
        .join(Host, Host.id == Result.host_id)
        .outerjoin(CheckState, (CheckState.host_id == Result.host_id)
                   & (CheckState.check_name == Result.check_name))
        .where(Host.customer_id == customer_id, Result.observed_at >= start, Result.observed_at < as_of)
        .group_by(check_type, Result.host_id)
    )
    whole_hours = all(at.minute == at.second == at.microsecond == 0 for at in (start, as_of))
    rolled = (
        select(check_type, CheckRollup.host_id, func.sum(CheckRollup.runs), func.sum(CheckRollup.not_ok))
        .select_from(CheckRollup)
        .join(Host, Host.id == CheckRollup.host_id)
        .outerjoin(CheckState, (CheckState.host_id == CheckRollup.host_id)
                   & (CheckState.check_name == CheckRollup.check_name))
        .where(Host.customer_id == customer_id, CheckRollup.bucket >= start, CheckRollup.bucket < as_of)
        .where(CheckRollup.resolution == (HOURLY if whole_hours else FIVE_MINUTES))
        .group_by(check_type, CheckRollup.host_id)
    )
    runs: Counter[str] = Counter()
    not_ok: Counter[str] = Counter()
    hosts: dict[str, set[str]] = defaultdict(set)
    for query in (raw, rolled):
        for kind, host_id, count, failed in session.execute(query):
            if count:
                runs[kind] += int(count)
                not_ok[kind] += int(failed or 0)
                hosts[kind].add(host_id)
    return [{"type": kind or "unknown", "runs": runs[kind], "hosts": len(hosts[kind]), "not_ok": not_ok[kind]}
            for kind in sorted(runs)]


def _windows(session: Session, customer_id: int, start: datetime, as_of: datetime) -> list[dict[str, Any]]:
    """Return each window occurrence overlapping [start, as_of) with the tickets and pages it held back."""
    held: dict[str, Counter[str]] = defaultdict(Counter)
    for name, kind, count in session.execute(
        select(MaintenanceLog.window, MaintenanceLog.kind, func.count())
        .where(MaintenanceLog.customer_id == customer_id)
        .where(MaintenanceLog.at >= start, MaintenanceLog.at < as_of)
        .group_by(MaintenanceLog.window, MaintenanceLog.kind)
    ):
        held[name][kind] = count
    used = []
    for window in windows.windows_of(session, customer_id):
        for opens, closes in window.occurrences(start, as_of):
            used.append({
                "name": window.name,
                "scope": str(window.scope),
                "start": _iso(opens),
                "end": _iso(closes),
                "sla_relevant": window.sla_relevant,
                "reason": window.reason,
                "tickets_held_back": held[window.name]["ticket_suppressed"],
                "pages_held_back": held[window.name]["page_suppressed"],
            })
    return sorted(used, key=lambda w: (w["start"], w["name"]))
