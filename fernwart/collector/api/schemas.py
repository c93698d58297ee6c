"""Pydantic models of the JSON that crosses the wire (docs/protocol.md), validated and size-limited.

Agent input is hostile input: every string has a length limit, every list a count limit. Unknown fields
from agents are ignored (a newer agent may send more); technicians' bodies refuse unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, IPvAnyAddress, field_validator

from fernwart import protocol
from fernwart.collector.api.inputs import MaybeNumber, WireInstant


class MetricIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: Annotated[str, Field(min_length=1, max_length=protocol.LABEL_LIMIT)]
    value: MaybeNumber = None
    uom: Annotated[str, Field(max_length=protocol.UOM_LIMIT)] = ""
    warn: Annotated[str, Field(max_length=protocol.RANGE_LIMIT)] = ""
    crit: Annotated[str, Field(max_length=protocol.RANGE_LIMIT)] = ""
    min: MaybeNumber = None
    max: MaybeNumber = None


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    check: str
    type: Annotated[str, Field(max_length=protocol.TYPE_LIMIT)] = ""
    status: Annotated[int, Field(ge=0, le=3)]
    summary: Annotated[str, Field(max_length=protocol.SUMMARY_LIMIT)]
    long_output: Annotated[str, Field(max_length=protocol.LONG_OUTPUT_LIMIT)] = ""
    metrics: Annotated[list[MetricIn], Field(max_length=protocol.METRICS_LIMIT)] = []
    observed_at: WireInstant
    duration: Annotated[float, Field(ge=0, le=protocol.DURATION_LIMIT)] = 0.0
    interval: Annotated[int | None, Field(ge=1, le=protocol.INTERVAL_LIMIT)] = None
    max_attempts: Annotated[int, Field(ge=1, le=protocol.MAX_ATTEMPTS)] = 3

    @field_validator("check")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if protocol.CHECK_NAME.fullmatch(value) is None:
            raise ValueError(f"must be {protocol.CHECK_NAME_RULE}")
        if value == protocol.HOST_CHECK:
            raise ValueError(f"{protocol.HOST_CHECK!r} is reserved for the host's reachability")
        return value


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    host_id: UUID
    sent_at: WireInstant | None = None
    heartbeat_interval: Annotated[int | None, Field(ge=1, le=protocol.HEARTBEAT_LIMIT)] = None
    results: Annotated[list[ResultIn], Field(max_length=protocol.RESULTS_PER_REPORT)] = []


class ReportOut(BaseModel):
    accepted: int
    duplicates: int


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must not contain control characters")
    return value


FactText = Annotated[str, Field(max_length=protocol.FACT_TEXT_LIMIT), AfterValidator(_printable)]


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    interface: Annotated[str, Field(pattern=r"^[!-~]{1,64}$")]
    address: IPvAnyAddress


class HostKeyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Annotated[str, Field(pattern=rf"^{protocol.SSH_KEY_TYPE.pattern}$")]
    fingerprint: Annotated[str, Field(pattern=rf"^{protocol.SSH_FINGERPRINT.pattern}$")]


class HostFactsIn(BaseModel):
    """What an agent reports about its host (fernwart.agent.hostfacts); every part size-limited."""

    model_config = ConfigDict(extra="ignore")

    agent_version: FactText = ""
    os: FactText = ""
    kernel: FactText = ""
    hostname: FactText = ""
    addresses: Annotated[list[AddressIn], Field(max_length=protocol.ADDRESSES_LIMIT)] = []
    ssh_host_keys: Annotated[list[HostKeyIn], Field(max_length=protocol.HOST_KEYS_LIMIT)] = []

    @field_validator("ssh_host_keys")
    @classmethod
    def _one_key_per_type(cls, value: list[HostKeyIn]) -> list[HostKeyIn]:
        if len({k.type for k in value}) != len(value):
            raise ValueError("one key per type")
        return value

    def stored(self) -> dict[str, Any]:
        """Return the facts as stored and shown (addresses as text)."""
        return self.model_dump(mode="json")


class EnrollIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: Annotated[str, Field(min_length=1, max_length=200)]
    hostname: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.-]+$")]
    os: Annotated[str, Field(max_length=200)] = ""
    agent_version: Annotated[str, Field(max_length=50)] = ""
    replace: bool = False  # take over an existing host of that name (needs a token made for it)
    facts: HostFactsIn | None = None


class EnrollOut(BaseModel):
    host_id: str
    agent_token: str
    heartbeat_interval: int


class RotateOut(BaseModel):
    agent_token: str


class HostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    customer: str | None
    state: str
    criticality: str
    os: str
    agent_version: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    heartbeat_interval: int
    checks: dict[str, int]  # status name -> count
    approval: str = "none"  # none | pending (waits for a technician) | approved
    approved_at: datetime | None = None
    approved_by: str | None = None
    agent_instance: str | None = None  # the agent instance the host is bound to
    instance_conflict: str | None = None  # another instance refused with the host's token (a clone?)
    instance_conflict_at: datetime | None = None


class HostKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    type: str
    fingerprint: str
    reported_at: datetime


class HostDetailOut(HostOut):
    facts: dict[str, Any] | None = None  # as the agent last reported them
    facts_reported_at: datetime | None = None
    facts_changed_at: datetime | None = None
    ssh_host_keys: list[HostKeyOut] = []


class CheckStateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    check: str
    type: str
    status: int
    status_name: str
    state_type: str
    attempt: int
    max_attempts: int
    hard_status: str
    interval: int | None
    last_observed_at: datetime
    last_change_at: datetime
    last_hard_change_at: datetime
    summary: str
    last_result_id: str | None
    flapping: bool = False
    flap_percent: float = 0.0
    stale: bool = False  # the host is unreachable: the status is its last real result's


class ResultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    check: str
    status: int
    status_name: str
    summary: str
    long_output: str
    metrics: list[dict[str, Any]]
    observed_at: datetime
    received_at: datetime
    duration: float


class TicketEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    actor: str
    message: str
    status: str | None


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    host_id: str
    host: str
    check: str
    state: str
    title: str
    status: str
    priority: str | None
    level: int
    occurrences: int
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    impact: str | None = None
    urgency: str | None = None
    response_due: datetime | None = None
    resolution_due: datetime | None = None
    response_breached_at: datetime | None = None
    resolution_breached_at: datetime | None = None
    response_attainment_minutes: float | None = None
    resolution_attainment_minutes: float | None = None
    events: list[TicketEventOut] | None = None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    notification_id: int
    kind: str
    level: int | None
    target: str
    state: str
    attempt: int
    transport: str
    started_at: datetime
    outcome: str
    error: str
    response_code: int | None


class TicketActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, Field(max_length=10000)] = ""
