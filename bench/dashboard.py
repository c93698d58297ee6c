"""Time the dashboard's pages, rendered server-side, at fleet size: overview, ticket queue, host page,
a customer's monthly report (HTML page and PDF).

Run: .venv/bin/python bench/dashboard.py [--hosts 2000] [--customers 100] [--tickets 500] [--db PATH]
     [--profile PAGE]

Generates (seeded) into an SQLite file: `--customers` customers with contracts (half 24x7 in UTC, half
mon-fri 08:00-18:00 Europe/Berlin with DE-RP holidays, target 99.5 %), `--hosts` hosts spread over them,
each with reachability and two checks, a year of hard state changes (an incident every ~8 days per object),
and `--tickets` open tickets with SLA due times. Then times each page through the real application (best
of three, after one warm-up) as an admin who sees everything, and prints the figures. The aim: under
300 ms per page, under 5 s for a customer's PDF.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from fernwart.collector import database, deps  # noqa: E402
from fernwart.collector.app import create_app  # noqa: E402
from fernwart.collector.models import (  # noqa: E402
    CHECK_STATES,
    STATE_CHANGES,
    Customer,
    Host,
    Ticket,
    TicketEvent,
)
from fernwart.collector.services import auth, contracts  # noqa: E402
from fernwart.collector.settings import Settings  # noqa: E402

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
YEAR_START = NOW - timedelta(days=365)
OBJECTS = ("host", "http-shop", "disk")
AIM_PAGE, AIM_PDF = 0.300, 5.0


def contract_document(customers: int) -> dict[str, Any]:
    """Return one contracts document for every customer."""
    items = []
    for c in range(customers):
        business = c % 2 == 1
        spec: dict[str, Any] = {
            "kind": "full",
            "timezone": "Europe/Berlin" if business else "UTC",
            "service_hours": {"mon-fri": "08:00-18:00", "holidays": "DE-RP"} if business else "24x7",
            "availability": {"target": 99.5, "counts": ["host", "check:http-shop"], "no_data": "exclude"},
            "priorities": {
                "matrix": {i: {"critical": "P1", "warning": "P2"} for i in ("high", "normal", "low")},
                "P1": {"response": "30m", "resolution": "4h"},
                "P2": {"response": "2h", "resolution": "1d"},
            },
            "maintenance_windows": [{"name": "patch night", "every": "sun 02:00-04:00"}],
        }
        hosts = [{"match": "*", "criticality": "high"}]
        items.append({"name": f"customer{c:03d}", "contract": spec, "hosts": hosts})
    return {"customers": items}


def changes_of(rng: random.Random, host_id: str, check: str) -> list[dict[str, Any]]:
    """Return a year of hard state changes of one object: OK, with incidents about every eight days."""
    rows = [_change(host_id, check, YEAR_START, 0, None)]
    t = YEAR_START
    while True:
        t += timedelta(seconds=rng.expovariate(1 / (8 * 86400)))
        if t >= NOW - timedelta(hours=1):
            break
        bad = 2 if rng.random() < 0.7 else 1
        rows.append(_change(host_id, check, t, bad, 0))
        t += timedelta(seconds=rng.expovariate(1 / 1800))
        rows.append(_change(host_id, check, t, 0, bad))
    return rows


def _change(host_id: str, check: str, at: datetime, status: int, previous: int | None) -> dict[str, Any]:
    return {"host_id": host_id, "check_name": check, "at": at, "status": status, "previous_status": previous,
            "state_type": "HARD", "hard": True, "attempt": 1, "result_id": None,
            "summary": f"status {status}"}


def generate(url: str, hosts: int, customers: int, tickets: int, seed: int) -> str:
    """Fill the database at `url`; return an admin's API token."""
    rng = random.Random(seed)
    engine = database.make_engine(url)
    database.migrate(engine)
    sessions = database.session_factory(engine)
    with sessions() as db:
        contracts.apply(db, contract_document(customers), "bench", YEAR_START)
        token = auth.create_user(db, "admin", "admin", YEAR_START)
        db.commit()
        ids = {name: cid for cid, name in db.query(Customer.id, Customer.name)}
    host_rows, state_rows, change_rows = [], [], []
    for h in range(hosts):
        host_id = str(uuid.UUID(int=rng.getrandbits(128)))
        down = h % 97 == 0
        host_rows.append({
            "id": host_id, "name": f"host{h:04d}", "customer_id": ids[f"customer{h % customers:03d}"],
            "os": "Debian 12", "agent_version": "0.1.0", "enrolled_at": YEAR_START,
            "last_seen_at": NOW - timedelta(seconds=30), "heartbeat_interval": 60,
            "state": "unreachable" if down else "up", "criticality": "high",
        })
        for check in OBJECTS:
            status = 2 if (check == "disk" and h % 13 == 0) else 0
            state_rows.append({
                "host_id": host_id, "check_name": check, "check_type": "plugin", "status": status,
                "state_type": "HARD", "attempt": 1, "max_attempts": 3, "hard_status": status, "interval": 60,
                "last_result_id": None, "last_observed_at": NOW - timedelta(seconds=30),
                "last_summary": f"{check} status {status}", "last_change_at": NOW - timedelta(days=2),
                "last_hard_change_at": NOW - timedelta(days=2), "flap_history": "0" * 21, "flapping": False,
                "flap_percent": 0.0,
            })
            change_rows += changes_of(rng, host_id, check)
    with engine.begin() as conn:
        conn.execute(insert(Host), host_rows)
        conn.execute(insert(CHECK_STATES), state_rows)
        for i in range(0, len(change_rows), 20000):
            conn.execute(insert(STATE_CHANGES), change_rows[i : i + 20000])
    ticket_rows = []
    for t in range(tickets):
        host = host_rows[(t * 7) % hosts]
        opened = NOW - timedelta(minutes=rng.randint(5, 3 * 1440))
        acknowledged = opened + timedelta(minutes=10) if t % 3 == 0 else None
        ticket_rows.append({
            "host_id": host["id"], "check_name": "disk", "open_key": f"{host['id']}/disk/{t}",
            "state": "acknowledged" if acknowledged else "new", "title": f"{host['name']}: disk CRITICAL",
            "status": 2, "priority": "P1" if t % 2 else "P2", "level": 1 + t % 3, "occurrences": 1,
            "opened_at": opened, "acknowledged_at": acknowledged, "updated_at": opened,
            "customer_id": host["customer_id"], "impact": "high", "urgency": "critical",
            "response_due": opened + timedelta(minutes=30), "resolution_due": opened + timedelta(hours=4),
            "contract_revision": 1,
        })
    with engine.begin() as conn:
        conn.execute(insert(Ticket), ticket_rows)
    with sessions() as db:
        events = [
            {"ticket_id": tid, "at": opened, "kind": "opened", "actor": "system", "message": "disk full",
             "status": 2}
            for tid, opened in db.query(Ticket.id, Ticket.opened_at)
        ]
    with engine.begin() as conn:
        conn.execute(insert(TicketEvent), events)
    engine.dispose()
    print(f"generated {hosts} hosts, {customers} customers, {len(change_rows):,} state changes, "
          f"{tickets} open tickets")
    return token


def timed(client: TestClient, path: str, runs: int = 3) -> tuple[float, int, int]:
    """Return the best of `runs` times of GET `path` (after one warm-up), its status and size."""
    r = client.get(path)
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        r = client.get(path)
        best = min(best, time.perf_counter() - began)
    return best, r.status_code, len(r.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--db", help="SQLite file to reuse (generated when missing)")
    parser.add_argument("--profile", help="profile one page path, e.g. /")
    args = parser.parse_args()
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "bench.sqlite"
    url = f"sqlite:///{path}"
    token_file = path.with_suffix(".token")
    began = time.perf_counter()
    if not path.exists():
        token_file.write_text(generate(url, args.hosts, args.customers, args.tickets, args.seed))
        print(f"  in {time.perf_counter() - began:.1f} s ({path})")
    home = Path(tempfile.mkdtemp())
    app = create_app(Settings(home=home, database_url=url, run_jobs=False), migrate=False)
    app.dependency_overrides[deps.now] = lambda: NOW
    client = TestClient(app)
    client.headers["Authorization"] = ""
    form = client.get("/login")
    login_csrf = form.text.split('name="login_csrf" value="')[1].split('"')[0]
    client.post("/login", data={"token": token_file.read_text(), "login_csrf": login_csrf, "next": "/"})
    hosts_page = client.get("/hosts").text
    host_id = hosts_page.split('href="/hosts/')[1].split('"')[0]
    pages = {
        "overview /": "/",
        "ticket queue /tickets": "/tickets",
        "queue sorted by due, page 5": "/tickets?sort=due&page=5",
        "hosts /hosts": "/hosts",
        "host page": f"/hosts/{host_id}",
        "monthly report (HTML)": "/reports/monthly?customer=customer001&month=2026-10&format=html",
    }
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(client.get, args.profile)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        return
    print(f"{'page':34} {'best':>9}  status  size")
    for label, page in pages.items():
        seconds, status, size = timed(client, page)
        mark = "ok" if seconds < AIM_PAGE else f"over {AIM_PAGE * 1000:.0f} ms"
        print(f"{label:34} {seconds * 1000:7.0f} ms  {status}     {size / 1024:5.0f} KiB  {mark}")
    began = time.perf_counter()  # a month not made yet: report computed, stored and rendered
    r = client.get("/reports/monthly?customer=customer001&month=2026-09&format=pdf")
    seconds = time.perf_counter() - began
    mark = "ok" if seconds < AIM_PDF else f"over {AIM_PDF:.0f} s"
    label = "monthly report (PDF, first)"
    size = len(r.content) / 1024
    print(f"{label:34} {seconds * 1000:7.0f} ms  {r.status_code}     {size:5.0f} KiB  {mark}")


if __name__ == "__main__":
    main()
