"""The read side: what API and dashboard show, scoped by who may see it, as plain frozen values.

Every function takes the calling `Account` and sees only what it may (`read.scope`). The API turns the
values into JSON and the dashboard into pages; neither queries models itself, so both show the same data
under the same scoping. `read.hosts` reads hosts, checks, results, problems and the maintenance log;
`read.tickets` reads tickets and their notifications (`services.tickets` is their write side);
`read.queue` pages the dashboard's filtered, sorted ticket queue; `read.sla` reads the overview's
availability this month and the tickets closest to breach; `read.windows` the windows covering a host;
`read.timeline` a host's month of hard states; `read.delivery` its agent's last delivery of results;
`read.marks` the overview's marks on problems.
"""

from fernwart.collector.services.read import (
    delivery,
    hosts,
    marks,
    queue,
    scope,
    sla,
    tickets,
    timeline,
    windows,
)

__all__ = ["delivery", "hosts", "marks", "queue", "scope", "sla", "tickets", "timeline", "windows"]
