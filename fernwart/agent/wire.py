"""The JSON shapes the agent sends (docs/protocol.md), kept inside the protocol's limits.

A result that broke a limit would make the collector refuse its whole batch, so the agent trims it here to
the limits of `fernwart.protocol`: the summary (4096 characters), the long output (65536), the metrics
(200; the long output then says how many were dropped), metric labels (200; an empty one becomes
``unnamed``), units (4) and warn/crit (64); non-finite numbers (which JSON cannot carry) become null.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from fernwart.checks.perfdata import PerfDatum
from fernwart.checks.result import CheckResult
from fernwart.protocol import (
    LABEL_LIMIT,
    LONG_OUTPUT_LIMIT,
    METRICS_LIMIT,
    RANGE_LIMIT,
    SUMMARY_LIMIT,
    UOM_LIMIT,
)

TRUNCATED = " [truncated]"


def iso_utc(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 in UTC with a ``Z``; raise ValueError for a naive one."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined UTC offset")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def result_entry(
    result_id: str, check: str, check_type: str, result: CheckResult, *, interval: int, max_attempts: int,
) -> dict[str, Any]:
    """Return one `results[]` item for `result`, which must carry its observed_at (the runner stamps it)."""
    if result.observed_at is None:
        raise ValueError(f"result of check {check!r} has no observed_at; only stamped results are reported")
    return {
        "id": result_id,
        "check": check,
        "type": check_type,
        "status": int(result.status),
        "summary": _clip(result.summary, SUMMARY_LIMIT),
        "long_output": _clip(_note_dropped(result.long_output, len(result.metrics)), LONG_OUTPUT_LIMIT),
        "metrics": [_metric(m) for m in result.metrics[:METRICS_LIMIT]],
        "observed_at": iso_utc(result.observed_at),
        "duration": _finite(result.duration) or 0.0,
        "interval": interval,
        "max_attempts": max_attempts,
    }


def report_body(
    host_id: str, sent_at: datetime, heartbeat_interval: int, results: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return a `POST /api/v1/reports` body; an empty `results` list is a heartbeat."""
    return {
        "host_id": host_id,
        "sent_at": iso_utc(sent_at),
        "heartbeat_interval": heartbeat_interval,
        "results": results,
    }


def _metric(datum: PerfDatum) -> dict[str, Any]:
    wire = datum.to_dict()
    wire["label"] = _clip(str(wire["label"]), LABEL_LIMIT) or "unnamed"
    wire["uom"] = str(wire["uom"])[:UOM_LIMIT]
    for key in ("warn", "crit"):
        wire[key] = str(wire[key])[:RANGE_LIMIT]
    for key in ("value", "min", "max"):
        wire[key] = _finite(wire[key])  # type: ignore[arg-type]
    return wire


def _note_dropped(long_output: str, metrics: int) -> str:
    if metrics <= METRICS_LIMIT:
        return long_output
    note = f"({metrics} metrics; only the first {METRICS_LIMIT} were sent)"
    return f"{note}\n{long_output}" if long_output else note


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED
