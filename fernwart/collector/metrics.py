"""Prometheus metrics: ingest counters from this process; database-wide gauges and the tickets-opened
counter read at scrape time (so openings by the staleness sweep, or by another collector, count too);
the history tables' sizes, rows and the age of their oldest row (is housekeeping keeping up?)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fernwart.collector.domain.tickets import TicketEventKind
from fernwart.collector.models import Host, Ticket, TicketEvent, utcnow
from fernwart.collector.services import housekeeping
from fernwart.collector.services.ingest import IngestOutcome
from fernwart.collector.services.job_wakeup import JobWaiters


class _DatabaseGauges(Collector):
    """Reads open tickets, openings and hosts by state from the database on each scrape (all collectors)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        with self.sessions() as db:
            open_tickets = db.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.open_key.is_not(None))
            )
            # the history is append-only, so this count only grows: a counter, whoever opened the ticket
            opened = db.scalar(
                select(func.count())
                .select_from(TicketEvent)
                .where(TicketEvent.kind.in_((TicketEventKind.OPENED, TicketEventKind.REOPENED)))
            )
            by_state = {
                state: n for state, n in db.execute(select(Host.state, func.count()).group_by(Host.state))
            }
            sizes = housekeeping.table_sizes(db)
        now = utcnow()
        yield GaugeMetricFamily(
            "fernwart_open_tickets", "Repair tickets currently open", value=open_tickets or 0
        )
        yield CounterMetricFamily(
            "fernwart_tickets_opened",
            "Tickets opened or reopened (by ingest, the staleness sweep or a technician)",
            value=opened or 0,
        )
        hosts = GaugeMetricFamily("fernwart_hosts", "Hosts by reachability state", labels=["state"])
        for state in ("pending", "up", "unreachable"):
            hosts.add_metric([state], by_state.get(state, 0))
        yield hosts
        size = GaugeMetricFamily("fernwart_table_bytes", "History table size with indexes", labels=["table"])
        rows = GaugeMetricFamily(
            "fernwart_table_rows", "History table rows (estimated on PostgreSQL)", labels=["table"]
        )
        age = GaugeMetricFamily(
            "fernwart_table_oldest_row_age_seconds",
            "Age of the oldest row of a history table",
            labels=["table"],
        )
        for table in sizes:
            if table.bytes is not None:
                size.add_metric([table.table], table.bytes)
            rows.add_metric([table.table], table.rows)
            if table.oldest is not None:
                age.add_metric([table.table], max(0.0, (now - table.oldest).total_seconds()))
        yield size
        yield rows
        yield age


class Metrics:
    """The collector's metrics registry."""

    def __init__(self, sessions: sessionmaker[Session], waiters: JobWaiters | None = None) -> None:
        self.registry = CollectorRegistry()
        self.results = Counter(
            "fernwart_results_ingested", "Results stored (duplicates not counted)", registry=self.registry
        )
        self.duplicates = Counter(
            "fernwart_results_duplicate", "Results received again and ignored", registry=self.registry
        )
        self.reports = Counter("fernwart_reports", "Report requests processed", registry=self.registry)
        self.latency = Histogram(
            "fernwart_ingest_seconds",
            "Time to validate, store and process one report",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.registry.register(_DatabaseGauges(sessions))
        if waiters is not None:
            polls = Gauge("fernwart_job_polls_waiting", "Agent job long-polls this process holds open",
                          registry=self.registry)
            polls.set_function(waiters.count)

    def observe_ingest(self, outcome: IngestOutcome, seconds: float) -> None:
        """Count one processed report."""
        self.reports.inc()
        self.results.inc(outcome.accepted)
        self.duplicates.inc(outcome.duplicates)
        self.latency.observe(seconds)

    def render(self) -> bytes:
        """Return the Prometheus text exposition."""
        return generate_latest(self.registry)
