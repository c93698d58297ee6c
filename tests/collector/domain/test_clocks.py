"""Hand-computed SLA clock scenarios on mon-fri 08:00-18:00 Europe/Berlin (DE-RP) and 24x7."""

from __future__ import annotations

from datetime import datetime

import pytest

from fernwart.collector.domain.calendar import ServiceCalendar
from fernwart.collector.domain.clocks import (
    ClockEvent,
    PriorityTargets,
    escalation_level,
    ticket_clocks,
)
from fernwart.collector.domain.durations import parse_duration
from fernwart.collector.domain.tickets import TicketEventKind
from tests.collector.domain.conftest import berlin, utc

P1 = PriorityTargets(parse_duration("30m"), parse_duration("4h"))
P2 = PriorityTargets(parse_duration("2h"), parse_duration("1d"))
P3 = PriorityTargets(parse_duration("8h"), parse_duration("3d"))
ACK, WAIT, RESUME = TicketEventKind.ACKNOWLEDGED, TicketEventKind.WAITING, TicketEventKind.RESUMED
RESOLVE, REOPEN = TicketEventKind.RESOLVED, TicketEventKind.REOPENED


def ev(kind: TicketEventKind, at: datetime) -> ClockEvent:
    return ClockEvent(at, kind)


def test_ticket_across_a_weekend(office: ServiceCalendar) -> None:
    # Opened Fri 15:00 CET; 1d = 10 business hours: 3 h on Friday, 7 h on Monday -> Mon 15:00 CET.
    opened = berlin(2026, 3, 6, 15)
    clocks = ticket_clocks(
        opened, P2, office, [ev(ACK, berlin(2026, 3, 6, 16, 30))], berlin(2026, 3, 9, 12), 0.8
    )
    response, resolution = clocks.response, clocks.resolution
    assert response.due == berlin(2026, 3, 6, 17)
    assert response.stopped_at == berlin(2026, 3, 6, 16, 30)
    assert response.attainment_minutes == 30
    assert not response.breached
    assert resolution.due == utc(2026, 3, 9, 14)
    assert resolution.elapsed_seconds == 7 * 3600
    assert resolution.remaining_seconds == 3 * 3600
    assert resolution.warning_at == berlin(2026, 3, 9, 13)  # 8 of 10 hours
    assert not resolution.warning_due and not resolution.breached and not resolution.paused
    assert resolution.attainment_minutes is None


def test_warning_and_breach_instants(office: ServiceCalendar) -> None:
    opened = berlin(2026, 3, 6, 15)
    late = ticket_clocks(opened, P2, office, [], berlin(2026, 3, 9, 16, 30), 0.8).resolution
    assert late.warning_due
    assert late.breached and late.breached_at == berlin(2026, 3, 9, 15)
    assert late.remaining_seconds == -1.5 * 3600
    resolved = ticket_clocks(opened, P2, office, [ev(RESOLVE, berlin(2026, 3, 9, 16))], berlin(2026, 3, 12))
    assert resolved.resolution.breached_at == berlin(2026, 3, 9, 15)
    assert resolved.resolution.attainment_minutes == -60
    # Nobody acknowledged: the resolution stopped the response clock, long after it was due.
    assert resolved.response.stopped_at == berlin(2026, 3, 9, 16)
    assert resolved.response.breached_at == berlin(2026, 3, 6, 17)


def test_no_breach_at_the_due_instant_itself(office: ServiceCalendar) -> None:
    opened = berlin(2026, 3, 9, 9)
    on_time = ticket_clocks(opened, P2, office, [ev(ACK, berlin(2026, 3, 9, 11))], berlin(2026, 3, 9, 12))
    assert not on_time.response.breached and on_time.response.attainment_minutes == 0
    running = ticket_clocks(opened, P2, office, [], berlin(2026, 3, 9, 11)).response
    assert not running.breached and running.remaining_seconds == 0


def test_stop_outside_hours_after_due_is_breached_with_zero_attainment(office: ServiceCalendar) -> None:
    clocks = ticket_clocks(
        berlin(2026, 3, 9, 16), P2, office, [ev(ACK, berlin(2026, 3, 9, 19))], berlin(2026, 3, 10)
    )
    assert clocks.response.due == berlin(2026, 3, 9, 18)
    assert clocks.response.breached and clocks.response.attainment_minutes == 0


def test_waiting_pauses_both_clocks_and_shifts_due(office: ServiceCalendar) -> None:
    opened = berlin(2026, 3, 9, 9)
    events = [ev(WAIT, berlin(2026, 3, 9, 10)), ev(RESUME, berlin(2026, 3, 9, 12))]
    paused = ticket_clocks(opened, P2, office, events[:1], berlin(2026, 3, 9, 11))
    assert paused.resolution.paused and paused.response.paused
    assert paused.resolution.elapsed_seconds == 3600
    assert paused.resolution.due == berlin(2026, 3, 10, 10)  # as if it resumed now, 11:00
    later = ticket_clocks(
        opened, P2, office, [*events, ev(ACK, berlin(2026, 3, 9, 12, 30))], berlin(2026, 3, 9, 14)
    )
    # Without the pause resolution would be due Tue 09:00; two paused hours move it to Tue 11:00.
    assert later.resolution.due == berlin(2026, 3, 10, 11)
    assert later.resolution.elapsed_seconds == 3 * 3600
    assert later.response.due == berlin(2026, 3, 9, 13)
    assert later.response.attainment_minutes == 30


def test_reopen_resumes_the_resolution_clock(always: ServiceCalendar) -> None:
    opened = utc(2026, 3, 9, 10)
    history = [
        ev(ACK, utc(2026, 3, 9, 10, 10)),
        ev(RESOLVE, utc(2026, 3, 9, 11)),
        ev(REOPEN, utc(2026, 3, 9, 14)),
    ]
    reopened = ticket_clocks(opened, P1, always, history, utc(2026, 3, 9, 15)).resolution
    assert reopened.elapsed_seconds == 2 * 3600
    assert reopened.due == utc(2026, 3, 9, 17)  # a restart would say 18:00
    assert reopened.stopped_at is None
    done = ticket_clocks(
        opened, P1, always, [*history, ev(RESOLVE, utc(2026, 3, 9, 16, 30))], utc(2026, 3, 10)
    )
    assert done.resolution.attainment_minutes == 30 and not done.resolution.breached
    assert done.response.attainment_minutes == 20
    late = ticket_clocks(
        opened, P1, always, [*history, ev(RESOLVE, utc(2026, 3, 9, 17, 30))], utc(2026, 3, 10)
    )
    assert late.resolution.breached_at == utc(2026, 3, 9, 17)
    assert late.resolution.attainment_minutes == -30


def test_attainment_does_not_change_when_recomputed_later(office: ServiceCalendar) -> None:
    history = [ev(ACK, berlin(2026, 3, 9, 10)), ev(RESOLVE, berlin(2026, 3, 10, 9))]
    first = ticket_clocks(berlin(2026, 3, 9, 9), P2, office, history, berlin(2026, 3, 10, 9))
    again = ticket_clocks(berlin(2026, 3, 9, 9), P2, office, history, berlin(2027, 1, 1))
    assert first.resolution.attainment_minutes == again.resolution.attainment_minutes == 0
    assert first.resolution.due == again.resolution.due


def test_business_clock_across_spring_forward(office: ServiceCalendar) -> None:
    clocks = ticket_clocks(berlin(2026, 3, 27, 14), P2, office, [], berlin(2026, 3, 27, 15), 0.8)
    assert clocks.resolution.due == utc(2026, 3, 30, 12)  # Mon 14:00 CEST
    assert clocks.resolution.warning_at == utc(2026, 3, 30, 10)


def test_24x7_clock_counts_real_hours_across_both_dst_changes(always: ServiceCalendar) -> None:
    fall = ticket_clocks(berlin(2026, 10, 25, 1, 30), P1, always, [], berlin(2026, 10, 25, 1, 31))
    assert fall.resolution.due == utc(2026, 10, 25, 3, 30)  # 04:30 CET, three wall-clock hours later
    spring = ticket_clocks(berlin(2026, 3, 29, 1, 30), P1, always, [], berlin(2026, 3, 29, 1, 31))
    assert spring.resolution.due == berlin(2026, 3, 29, 6, 30)  # five wall-clock hours later


def test_public_holiday_and_month_end(office: ServiceCalendar) -> None:
    # Wed 10:00 before Corpus Christi: 8 h response ends at Wednesday's close; 30 h resolution
    # = Wed 8 + Fri 10 + Mon 10 + Tue 2 -> Tue 10:00.
    holiday = ticket_clocks(berlin(2026, 6, 3, 10), P3, office, [], berlin(2026, 6, 3, 11))
    assert holiday.response.due == berlin(2026, 6, 3, 18)
    assert holiday.resolution.due == berlin(2026, 6, 9, 10)
    month_end = ticket_clocks(berlin(2026, 7, 31, 17), P2, office, [], berlin(2026, 7, 31, 17))
    assert month_end.resolution.due == berlin(2026, 8, 3, 17)


def test_events_after_now_have_not_happened(office: ServiceCalendar) -> None:
    clocks = ticket_clocks(
        berlin(2026, 3, 9, 9), P2, office, [ev(ACK, berlin(2026, 3, 9, 12))], berlin(2026, 3, 9, 10)
    )
    assert clocks.response.stopped_at is None and clocks.response.elapsed_seconds == 3600


def test_inconsistent_inputs_are_refused(office: ServiceCalendar) -> None:
    with pytest.raises(ValueError, match="before the ticket was opened"):
        ticket_clocks(berlin(2026, 3, 9, 9), P2, office, [], berlin(2026, 3, 9, 8))
    with pytest.raises(ValueError, match="precedes the opening"):
        ticket_clocks(
            berlin(2026, 3, 9, 9), P2, office, [ev(ACK, berlin(2026, 3, 9, 8))], berlin(2026, 3, 9, 10)
        )


def test_escalation_levels_by_share_of_resolution_time(office: ServiceCalendar) -> None:
    shares = [(1, 0.0), (2, 0.5), (3, 0.9)]
    clock = ticket_clocks(berlin(2026, 3, 6, 15), P2, office, [], berlin(2026, 3, 9, 12)).resolution
    escalation = escalation_level(clock, shares)
    assert [s.due for s in escalation.steps] == [
        berlin(2026, 3, 6, 15),
        berlin(2026, 3, 9, 10),
        berlin(2026, 3, 9, 14),
    ]
    assert escalation.level == 2
    assert escalation.next_step is not None and escalation.next_step.level == 3
    final = escalation_level(
        ticket_clocks(berlin(2026, 3, 6, 15), P2, office, [], berlin(2026, 3, 10)).resolution, shares
    )
    assert final.level == 3 and final.next_step is None


def test_escalation_stops_with_the_clock_and_starts_at_the_lowest_level(office: ServiceCalendar) -> None:
    history = [ev(RESOLVE, berlin(2026, 3, 6, 16))]
    clock = ticket_clocks(berlin(2026, 3, 6, 15), P2, office, history, berlin(2026, 3, 20)).resolution
    assert escalation_level(clock, [(1, 0.0), (2, 0.5)]).level == 1
    assert escalation_level(clock, [(2, 0.5), (3, 0.9)]).level == 2
    with pytest.raises(ValueError, match="distinct"):
        escalation_level(clock, [(1, 0.0), (1, 0.5)])
