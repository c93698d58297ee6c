"""Time one month's availability report for 1,000 hosts from a year of generated state changes.

Run: .venv/bin/python bench/availability.py [--hosts 1000] [--seed 4] [--profile]

Generates (seeded) a year of state changes for every host: reachability plus four checks, of which three
count. Each object has rare outages (minutes to hours, CRITICAL, sometimes UNKNOWN), WARNING spells,
flapping bursts and agent no-data gaps. Hosts belong to 50 customers; half use 24x7, half
mon-fri 08:00-18:00 with DE-RP holidays, all with a weekly patch window and a one-off window. Only the
report computation for one month (March 2026, which holds the spring DST switch) is timed.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fernwart.checks.status import Status  # noqa: E402
from fernwart.collector.domain.availability import (  # noqa: E402
    NO_DATA,
    AvailabilityReport,
    AvailabilityRules,
    StatusSince,
    availability_report,
    month_period,
)
from fernwart.collector.domain.calendar import ServiceCalendar  # noqa: E402
from fernwart.collector.domain.windows import MaintenanceWindow  # noqa: E402

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 86400
OBJECTS = ("host", "http-shop", "erp-db", "disk", "ntp")
Histories = dict[str, dict[str, list[StatusSince]]]
Customer = tuple[Histories, ServiceCalendar | None, list[MaintenanceWindow]]


def object_history(rng: random.Random) -> list[StatusSince]:
    """Return a year of state changes for one object: OK with outages, warnings, flapping and gaps."""
    changes = [StatusSince(YEAR_START, Status.OK)]
    t = 0.0
    while True:
        t += rng.expovariate(1 / (4 * 86400))  # an incident about every four days
        if t >= YEAR_SECONDS:
            break
        kind = rng.random()
        spells: list[tuple[Status | None, float]]
        if kind < 0.45:  # short WARNING spell
            spells = [(Status.WARNING, rng.uniform(300, 3600))]
        elif kind < 0.75:  # outage, minutes to hours
            bad = Status.CRITICAL if rng.random() < 0.85 else Status.UNKNOWN
            spells = [(bad, rng.expovariate(1 / 1800))]
        elif kind < 0.9:  # flapping burst
            spells = [(rng.choice((Status.CRITICAL, Status.OK, Status.WARNING)), rng.uniform(60, 600))
                      for _ in range(rng.randint(4, 12))]
        else:  # agent silent, no data
            spells = [(NO_DATA, rng.uniform(600, 7200))]
        for status, length in spells:
            changes.append(StatusSince(YEAR_START + timedelta(seconds=round(t)), status))
            t += length
        changes.append(StatusSince(YEAR_START + timedelta(seconds=round(t)), Status.OK))
    return [c for c in changes if c.at < YEAR_START + timedelta(seconds=YEAR_SECONDS)]


def generate(hosts: int, seed: int) -> list[Customer]:
    """Return 50 customers' histories (hosts spread evenly), calendars and windows."""
    rng = random.Random(seed)
    business = ServiceCalendar.parse({"mon-fri": "08:00-18:00", "holidays": "DE-RP"}, "Europe/Berlin")
    customers = []
    for c in range(50):
        histories: Histories = {}
        for h in range(c, hosts, 50):
            histories[f"host{h:04d}"] = {name: object_history(rng) for name in OBJECTS}
        windows = [
            MaintenanceWindow.parse({"name": "patch night", "every": "sun 02:00-04:00"}, "Europe/Berlin"),
            MaintenanceWindow.parse({"name": "upgrade", "from": "2026-03-14T18:00", "to": "2026-03-15T06:00",
                                     "scope": f"host:host{c:04d}"}, "Europe/Berlin"),
        ]
        customers.append((histories, None if c % 2 else business, windows))
    return customers


def run(customers: list[Customer]) -> list[AvailabilityReport]:
    """Return one month's report per customer."""
    start, end = month_period("2026-03", "Europe/Berlin")
    rules = AvailabilityRules(99.5, ("host", "check:http-shop", "check:erp-db"), False, False)
    return [availability_report(h, start, end, rules, cal, win) for h, cal, win in customers]


def main() -> None:
    """Generate, then time the report (best of three) and print the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    began = time.perf_counter()
    customers = generate(args.hosts, args.seed)
    changes = sum(len(c) for hs, _, _ in customers for h in hs.values() for c in h.values())
    elapsed = time.perf_counter() - began
    print(f"generated {changes:,} state changes for {args.hosts} hosts in {elapsed:.1f} s")
    if args.profile:
        cProfile.runctx("run(customers)", globals(), {"customers": customers, "run": run}, "/tmp/avail.prof")
        pstats.Stats("/tmp/avail.prof").sort_stats("cumulative").print_stats(15)
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        reports = run(customers)
        timings.append(time.perf_counter() - began)
    outages = sum(len(r.outages) for r in reports)
    worst = min((r.figures.sli for r in reports if r.figures.sli is not None), default=None)
    runs = ", ".join(f"{t:.3f}" for t in timings)
    print(f"month report (2026-03), {args.hosts} hosts, 50 customers: best {min(timings):.3f} s of {runs}; "
          f"{outages:,} outages; worst customer SLI " + ("n/a" if worst is None else f"{worst:.3f} %"))


if __name__ == "__main__":
    main()
