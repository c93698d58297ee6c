"""Human output of the `fernwart` CLI: aligned tables, short durations, times, and the SLA report.

Pure functions of the API's JSON; times are shown in UTC unless a timezone (a contract's) is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return `rows` under `headers` as left-aligned columns; None shows as "-", the last column is free."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join([c.ljust(w) for c, w in zip(r[:-1], widths, strict=False)] + r[-1:]) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def duration(seconds: float | None) -> str:
    """Return a short duration like "45s", "30m 00s", "2h 05m", "3d 4h"; negative with a leading "-"."""
    if seconds is None:
        return "-"
    sign, left = ("-" if seconds < 0 else ""), round(abs(seconds))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


def zone(name: str | None) -> tzinfo:
    """Return the timezone `name`, UTC for None or a zone this machine does not know."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def when(iso: str | None, tz: tzinfo = UTC) -> str:
    """Return an API timestamp as "2026-10-10 14:03 CEST" in `tz`; None shows as "-"."""
    if not iso:
        return "-"
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(tz)
    return f"{at:%Y-%m-%d %H:%M} {at.tzname()}"


def percent(value: float | None) -> str:
    """Return an SLI or target as "99.9328 %", "n/a" for None (no counted time, or no target)."""
    return "n/a" if value is None else f"{value:.4f} %"


def hosts(items: list[dict[str, Any]]) -> str:
    """Return the hosts listing."""
    rows = [
        (h["name"], h["customer"], _host_state(h), h["criticality"], when(h["last_seen_at"]),
         ", ".join(f"{n} {s}" for s, n in sorted(h["checks"].items())) or "-", h["id"])
        for h in items
    ]
    return table(("NAME", "CUSTOMER", "STATE", "CRITICALITY", "LAST SEEN", "CHECKS", "ID"), rows)


def _host_state(h: dict[str, Any]) -> str:
    state = str(h["state"])
    if h.get("approval") == "pending":
        state += " (awaiting approval)"
    if h.get("instance_conflict"):
        state += " (instance conflict)"
    return state


def host(h: dict[str, Any]) -> str:
    """Return one host: its record, approval, agent instance, reported facts and SSH host keys."""
    lines = [
        f"{h['name']} ({h['customer'] or 'no customer'})  {h['state']}  criticality {h['criticality']}",
        f"  id {h['id']}, enrolled {when(h['enrolled_at'])}, last seen {when(h['last_seen_at'])}",
    ]
    approval = h.get("approval", "none")
    if approval == "pending":
        lines.append("  approval: PENDING - its results are kept but not counted (fernwart approve HOST)")
    elif approval == "approved":
        lines.append(f"  approval: approved {when(h.get('approved_at'))} by {h.get('approved_by')}")
    lines.append(f"  agent instance: {h.get('agent_instance') or '- (bound at its next report)'}")
    if h.get("instance_conflict"):
        lines.append(f"  INSTANCE CONFLICT: refused instance {h['instance_conflict']} using this host's "
                     f"token since {when(h.get('instance_conflict_at'))} (a cloned VM?)")
    facts = h.get("facts")
    if facts:
        lines.append(f"  facts (reported {when(h.get('facts_reported_at'))}, changed "
                     f"{when(h.get('facts_changed_at'))}):")
        for key in ("agent_version", "os", "kernel", "hostname"):
            lines.append(f"    {key}: {facts.get(key) or '-'}")
        addresses = ", ".join(f"{a['address']} ({a['interface']})" for a in facts.get("addresses", ()))
        lines.append(f"    addresses: {addresses or '-'}")
    else:
        lines.append("  facts: none reported yet")
    for key in h.get("ssh_host_keys", ()):
        lines.append(f"    ssh host key: {key['type']} {key['fingerprint']}")
    return "\n".join(lines)


def checks(items: list[dict[str, Any]]) -> str:
    """Return a host's check states."""
    rows = [
        (c["check"], c["status_name"], f"{c['state_type']} {c['attempt']}/{c['max_attempts']}",
         when(c["last_hard_change_at"]), c["summary"])
        for c in items
    ]
    return table(("CHECK", "STATUS", "STATE", "SINCE", "SUMMARY"), rows)


def tickets(items: list[dict[str, Any]]) -> str:
    """Return a tickets listing, one line each."""
    rows = [
        (f"#{t['id']}", t["priority"], f"L{t['level']}", t["state"], t["host"], t["check"], t["status"],
         when(t["opened_at"]), t["title"][:70])
        for t in items
    ]
    return table(("ID", "PRIO", "LEVEL", "STATE", "HOST", "CHECK", "STATUS", "OPENED", "TITLE"), rows)


def ticket(t: dict[str, Any]) -> str:
    """Return one ticket with its SLA clocks and history."""
    lines = [
        f"#{t['id']} {t['title']}",
        f"  state {t['state']}, {t['status']}, priority {t['priority'] or '-'}, level {t['level']}, "
        f"{t['occurrences']} occurrence(s)",
        f"  host {t['host']} ({t['host_id']}), check {t['check']}",
        f"  opened {when(t['opened_at'])}, acknowledged {when(t['acknowledged_at'])}, "
        f"resolved {when(t['resolved_at'])}, closed {when(t['closed_at'])}",
    ]
    if t.get("response_due") or t.get("resolution_due"):
        lines.append(f"  response due {when(t.get('response_due'))}, "
                     f"resolution due {when(t.get('resolution_due'))}")
    for clock in ("response", "resolution"):
        if t.get(f"{clock}_breached_at"):
            lines.append(f"  {clock} BREACHED at {when(t[f'{clock}_breached_at'])}")
    events = t.get("events") or []
    if events:
        lines += ["", table(("AT", "EVENT", "BY", "STATUS", "MESSAGE"), [
            (when(e["at"]), e["kind"], e["actor"], e["status"], e["message"]) for e in events
        ])]
    return "\n".join(lines)


def availability(report: dict[str, Any]) -> str:
    """Return the SLA report: totals against the target, per host, and the outages with their tickets."""
    period, tz = report["period"], zone(report["period"]["timezone"])
    label = period["month"] or f"{when(period['start'], tz)} - {when(period['end'], tz)}"
    met = {True: "met", False: "MISSED", None: "no target" if report["target"] is None else "no data"}
    lines = [
        f"{report['customer']}  {label}  ({period['timezone']})"
        + ("" if report["contract"] else "  - no contract: 24x7, every check counts"),
        f"  SLI            {percent(report['sli'])}   target {percent(report['target'])}   "
        f"{met[report['met']]}",
        f"  downtime       {duration(report['downtime_seconds'])}",
        f"  error budget   {duration(report.get('period_budget_left_seconds'))} left of "
        f"{duration(report.get('period_budget_seconds'))} for the whole period "
        f"({duration(report.get('budget_spent_seconds'))} spent)",
        f"  counted        {duration(report['counted_seconds'])}  (service time less excluded time; "
        "SLI = (counted - downtime) / counted)",
        f"  excluded       {duration(report['excluded_seconds'])}  (maintenance "
        f"{duration(report['maintenance_seconds'])}, no data {duration(report['no_data_seconds'])}, "
        f"outside service hours {duration(report['outside_hours_seconds'])})",
    ]
    if report.get("hosts_summed", 0) > 1:
        lines.append(f"  (sums over {report['hosts_summed']} hosts: counted + excluded = "
                     f"{report['hosts_summed']} x {duration(report['measured_seconds'])} measured)")
    if period["measured_to"] != period["end"]:
        lines.append(f"  measured up to {when(period['measured_to'], tz)} (the rest lies in the future)")
    if report["hosts"]:
        lines += ["", table(("HOST", "SLI", "DOWNTIME", "OUTAGES", "EXCLUDED"), [
            (h["host"], percent(h["sli"]), duration(h["downtime_seconds"]), h["outages"],
             duration(h["excluded_seconds"])) for h in report["hosts"]
        ])]
    lines += ["", "Outages" if report["outages"] else "No outages."]
    if report["outages"]:
        lines.append(table(("START", "END", "DURATION", "HOST", "OBJECTS", "WORST", "TICKETS"), [
            (when(o["start"], tz), when(o["end"], tz), duration(o["seconds"]), o["host"],
             ",".join(o["objects"]), o["worst"],
             ", ".join(f"#{t['id']} {t['priority'] or '-'} {t['state']}" for t in o["tickets"]) or "-")
            for o in report["outages"]
        ]))
    return "\n".join(lines)


def windows(items: list[dict[str, Any]]) -> str:
    """Return maintenance windows with when they next open."""
    rows = []
    for w in items:
        tz = zone(w["timezone"])
        plan = w["every"] or f"{when(w['from'], tz)} - {when(w['to'], tz)}"
        upcoming = w["next"][0] if w["next"] else None
        following = f"{when(upcoming['from'], tz)} - {when(upcoming['to'], tz)}" if upcoming else "-"
        rows.append((w["id"] or "-", w["source"], w["name"], w["scope"], plan,
                     "ACTIVE" if w["active"] else following,
                     ("" if w["sla_relevant"] else "excluded") + (f" {w['reason']}" if w["reason"] else "")))
    return table(("ID", "SOURCE", "NAME", "SCOPE", "WHEN", "NEXT", "SLA / REASON"), rows)


def maintenance_log(items: list[dict[str, Any]]) -> str:
    """Return maintenance log entries, their times in UTC like the messages' (one zone in one log)."""
    return table(("AT", "WINDOW", "KIND", "HOST", "CHECK", "MESSAGE"), [
        (when(e["at"]), e["window"], e["kind"], e["host"], e["check"], e["message"]) for e in items
    ])
