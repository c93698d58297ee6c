"""SQLAlchemy models: the collector's storage, identical on SQLite and PostgreSQL.

Uniqueness the domain relies on is enforced here, by the database: one stored result per client-made
result id (primary key), one open ticket per (host, check) (`tickets.open_key` is unique and NULL once
the ticket is resolved or closed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false


class UTCDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware datetimes as UTC and always returns them aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite needs INTEGER (not BIGINT) for autoincrementing primary keys.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}


APPROVAL_NONE = "none"  # Host.approval: the customer's contract did not ask for approval
APPROVAL_PENDING = "pending"  # a technician must approve the host before its results count
APPROVAL_APPROVED = "approved"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class Host(Base):
    __tablename__ = "hosts"
    __table_args__ = (Index("uq_hosts_customer_name", "customer_id", "name", unique=True),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    os: Mapped[str] = mapped_column(String(200), default="")
    agent_version: Mapped[str] = mapped_column(String(50), default="")
    agent_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # the token before the last rotation: valid until the new one is first used, so no report is lost
    agent_token_prev_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_issued_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    heartbeat_interval: Mapped[int] = mapped_column(Integer, default=60)
    stale_after: Mapped[int | None] = mapped_column(Integer)  # seconds; None: 3 heartbeat intervals
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | up | unreachable
    criticality: Mapped[str] = mapped_column(String(16), default="normal")
    # the agent instance this host is bound to (fernwart.agent.instance); another one is refused, and the
    # last one refused is kept with the time it was first refused, for the host page
    agent_instance: Mapped[str | None] = mapped_column(String(64))
    instance_conflict: Mapped[str | None] = mapped_column(String(64))
    instance_conflict_at: Mapped[datetime | None]
    # none (not asked for) | pending (a technician must approve it) | approved; see services.identity
    approval: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | level1 | level2 | level3
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class EnrollmentToken(Base):
    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    uses_left: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int | None] = mapped_column(Integer)  # as created; None: unlimited
    revoked_at: Mapped[datetime | None]
    replace_host: Mapped[str | None] = mapped_column(String(255))  # may take over this existing host


class Result(Base):
    """One stored check result. On SQLite the client-made id is the primary key. On PostgreSQL the table
    is partitioned by day of `observed_at` (migration 0009, `services.partitions`), and a unique key must
    hold the partition key: there it is (observed_at, id), time-ordered and so hot for inserts; a retry
    carries the same id and observation time, and `results_ahead` covers results whose time was clamped."""

    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_host_check_observed", "host_id", "check_name", "observed_at"),
        Index("ix_results_observed_at", "observed_at"),  # SQLite; PostgreSQL's key starts with it
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # made by the agent
    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"))
    check_name: Mapped[str] = mapped_column(String(128))
    status: Mapped[int] = mapped_column(SmallInteger)
    summary: Mapped[str] = mapped_column(Text)
    long_output: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    observed_at: Mapped[datetime]
    received_at: Mapped[datetime]
    duration: Mapped[float]


class ResultAhead(Base):
    """Ids of results stored with their observation time clamped to their arrival (an agent clock running
    ahead): a retry of one carries a different stored time, so PostgreSQL's (observed_at, id) key alone
    would not see it. Tiny; kept as long as a retry is accepted (`result_max_age`)."""

    __tablename__ = "results_ahead"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    observed_at: Mapped[datetime]  # as stored (the arrival time)


class CheckRollup(Base):
    """Check runs per bucket (`resolution` seconds: 300 or 3600) of results that left the raw table.

    A raw result is counted here in the transaction that deletes it, so raw rows and rollups never overlap:
    runs in a period = raw rows in it + rollup buckets starting in it."""

    __tablename__ = "check_rollups"
    __table_args__ = (Index("ix_check_rollups_resolution_bucket", "resolution", "bucket"),)

    host_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    check_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    runs: Mapped[int] = mapped_column(Integer)
    not_ok: Mapped[int] = mapped_column(Integer)


class MetricRollup(Base):
    """Min/avg/max of one metric of one check per bucket (`resolution` seconds: 300 or 3600), made from
    raw results as they leave the raw table (Zabbix's trends); avg = total / samples."""

    __tablename__ = "metric_rollups"
    __table_args__ = (Index("ix_metric_rollups_resolution_bucket", "resolution", "bucket"),)

    host_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    check_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(128), primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    min: Mapped[float]
    max: Mapped[float]
    total: Mapped[float]


class HostObservation(Base):
    """Observation times of raw results the availability service needs after they are gone: those inside
    (or just before) a span in which the host was stale, the evidence that a silent host was not silent."""

    __tablename__ = "host_observations"

    host_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(primary_key=True)


class CheckState(Base):
    __tablename__ = "check_states"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"), primary_key=True)
    check_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    check_type: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[int] = mapped_column(SmallInteger)
    state_type: Mapped[str] = mapped_column(String(4))  # SOFT | HARD
    attempt: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    hard_status: Mapped[int] = mapped_column(SmallInteger)
    interval: Mapped[int | None] = mapped_column(Integer)
    last_result_id: Mapped[str | None] = mapped_column(String(36))
    last_observed_at: Mapped[datetime]
    last_summary: Mapped[str] = mapped_column(Text, default="")
    last_change_at: Mapped[datetime]
    last_hard_change_at: Mapped[datetime]
    # the last 21 statuses, oldest first (one digit each), and Nagios-style flap detection over them
    flap_history: Mapped[str] = mapped_column(String(21), default="", server_default="")
    flapping: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    flap_percent: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class StateChange(Base):
    __tablename__ = "state_changes"
    __table_args__ = (
        Index("ix_state_changes_host_check_at", "host_id", "check_name", "at"),
        Index("ix_state_changes_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"))
    check_name: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime]
    status: Mapped[int] = mapped_column(SmallInteger)
    previous_status: Mapped[int | None] = mapped_column(SmallInteger)
    state_type: Mapped[str] = mapped_column(String(4))
    hard: Mapped[bool] = mapped_column(Boolean)  # True when the HARD status changed
    attempt: Mapped[int] = mapped_column(Integer)
    result_id: Mapped[str | None] = mapped_column(String(36))
    summary: Mapped[str] = mapped_column(Text, default="")


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_host_check", "host_id", "check_name"),
        Index("ix_tickets_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"))
    check_name: Mapped[str] = mapped_column(String(128))
    # "<host_id>/<check_name>" while open; NULL once resolved/closed. Unique: one open ticket per pair.
    open_key: Mapped[str | None] = mapped_column(String(170), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(SmallInteger)  # the check status that opened or last changed it
    priority: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=1)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # SLA (set when the host's customer has a contract; clocks follow the ticket's history)
    customer_id: Mapped[int | None] = mapped_column(Integer)  # no FK: SQLite can't add one in place
    impact: Mapped[str | None] = mapped_column(String(16))
    urgency: Mapped[str | None] = mapped_column(String(16))
    response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    response_warned_at: Mapped[datetime | None]
    resolution_warned_at: Mapped[datetime | None]
    response_breached_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]
    response_attainment: Mapped[float | None]  # target minus actual, business minutes; fixed once stopped
    resolution_attainment: Mapped[float | None]
    # the customer's contract revision the ticket was opened under: its terms (due times, escalation)
    contract_revision: Mapped[int | None] = mapped_column(Integer)


class TicketEvent(Base):
    """Append-only ticket history; never updated or deleted."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[int | None] = mapped_column(SmallInteger)


class StoredContract(Base):
    """A customer's maintenance contract as applied: the validated document, kept verbatim."""

    __tablename__ = "contracts"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[datetime]
    applied_by: Mapped[str] = mapped_column(String(100))


class ContractRevision(Base):
    """Every revision of a customer's contract as applied (tickets keep the terms they opened under)."""

    __tablename__ = "contract_revisions"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    applied_at: Mapped[datetime]
    applied_by: Mapped[str] = mapped_column(String(100))


class AdHocWindow(Base):
    """A maintenance window a technician added by hand (contract windows live in the contract)."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    sla_relevant: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class MaintenanceLog(Base):
    """Evidence of maintenance windows: created, and what each one held back (tickets, pages)."""

    __tablename__ = "maintenance_log"
    __table_args__ = (Index("ix_maintenance_log_customer_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    window: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # created | ticket_suppressed | page_suppressed
    host_id: Mapped[str | None] = mapped_column(String(36))
    check_name: Mapped[str | None] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text, default="")


class Notification(Base):
    """One message to one contact. `dedupe_key` is unique: two collectors cannot queue it twice."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")


class Delivery(Base):
    """Every attempt to deliver a notification, successful or not."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_notification", "notification_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    attempt: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | retryable | permanent
    error: Mapped[str] = mapped_column(Text, default="")
    response_code: Mapped[int | None] = mapped_column(Integer)


class MonthlyReport(Base):
    """A monthly SLA report as made for a closed month; a regeneration is a new revision with a reason."""

    __tablename__ = "monthly_reports"
    __table_args__ = (
        Index("uq_monthly_reports_customer_month_revision", "customer_id", "month", "revision", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the contract's timezone
    revision: Mapped[int] = mapped_column(Integer)  # 1 is the original
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was made again; empty for revision 1
    made_at: Mapped[datetime]
    made_by: Mapped[str] = mapped_column(String(100))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)


class MetaValue(Base):
    """Small key/value store for collector-wide bookkeeping (job ticks)."""

    __tablename__ = "collector_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# Core tables for the ingest hot path (executemany of cached statements, no ORM unit of work).
RESULTS = cast(Table, Result.__table__)
CHECK_STATES = cast(Table, CheckState.__table__)
STATE_CHANGES = cast(Table, StateChange.__table__)
NOTIFICATIONS = cast(Table, Notification.__table__)
RESULTS_AHEAD = cast(Table, ResultAhead.__table__)


def utcnow() -> datetime:
    """Return the current UTC time; only edges (handlers, jobs) call this, and pass it down."""
    return datetime.now(UTC)


class HostPlaybooks(Base):
    """What an agent last reported holding: its playbooks (name, version, hash, kind, params) and whether
    its own config allows repairs. Jobs are checked against this before they are queued."""

    __tablename__ = "host_playbooks"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"), primary_key=True)
    allow_repairs: Mapped[bool] = mapped_column(Boolean, default=False)
    held: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reported_at: Mapped[datetime]
    # per check: name, type, on_ticket playbook and params, the options a held playbook takes
    checks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class HostFacts(Base):
    """What the agent last reported about its host: version, OS, kernel, hostname, addresses (JSON)."""

    __tablename__ = "host_facts"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical facts: a resend is no change
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    reported_at: Mapped[datetime]
    changed_at: Mapped[datetime]


class HostKey(Base):
    """An SSH host key the agent reported for its host: one per key type, as ``ssh-keygen -lf`` shows it."""

    __tablename__ = "host_keys"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"), primary_key=True)
    key_type: Mapped[str] = mapped_column(String(64), primary_key=True)  # e.g. ssh-ed25519
    fingerprint: Mapped[str] = mapped_column(String(80))  # SHA256:<base64 without padding>
    reported_at: Mapped[datetime]


class Job(Base):
    """A playbook run for one host: queued -> delivered -> running -> a final state (domain.diagnostics)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_host_state", "host_id", "state"),
        Index("ix_jobs_via_state", "via", "state"),
        Index("uq_jobs_opening_event", "opening_event_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"))
    playbook: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(8), default="agent", server_default="agent")  # agent | ssh
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    result_id: Mapped[str | None] = mapped_column(String(36), unique=True)  # made by the agent
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    # the ticket opening (its OPENED/REOPENED history entry) this job auto-diagnoses: one job each at most
    opening_event_id: Mapped[int | None] = mapped_column(BigId)
    cancel_requested_at: Mapped[datetime | None]  # a technician cancelled it after delivery


class HostSSHTarget(Base):
    """Where the collector reaches a host over SSH (address, port, user), and whether repair playbooks
    may run there over SSH (the counterpart of an agent's own allow_repairs)."""

    __tablename__ = "ssh_targets"

    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=22)
    user: Mapped[str] = mapped_column(String(64))
    allow_repairs: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class JobEvent(Base):
    """Each state change of a job with its time (append-only)."""

    __tablename__ = "job_events"
    __table_args__ = (Index("ix_job_events_job_at", "job_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"))
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """Who ran what, when, on which host, with which parameters, and how it ended (append-only)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))  # queued | refused | cancelled | finished
    host_id: Mapped[str] = mapped_column(String(36))
    job_id: Mapped[str | None] = mapped_column(String(36))
    playbook: Mapped[str] = mapped_column(String(64))
    version: Mapped[int | None] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(Text, default="")
