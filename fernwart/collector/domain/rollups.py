"""Downsampling of raw results: check runs and metric min/avg/max per 5-minute and hourly bucket.

Raw results leave the raw table after their retention; in the same transaction their runs and metric
values are added to rollup buckets (as Zabbix makes trends from history), so raw rows and rollups never
overlap and figures over any period add up: raw rows in it plus rollup buckets starting in it.

Buckets start at whole multiples of their resolution since the Unix epoch (UTC). A metric value counts
when it is a finite number (booleans and missing values are skipped), as on the dashboard's charts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

FIVE_MINUTES = 300
HOURLY = 3600
RESOLUTIONS = (FIVE_MINUTES, HOURLY)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RawResult(NamedTuple):
    """What downsampling reads of one raw result."""

    host_id: str
    check_name: str
    status: int
    metrics: Sequence[dict[str, Any]]
    observed_at: datetime


@dataclass
class Runs:
    runs: int = 0
    not_ok: int = 0


@dataclass
class Values:
    samples: int = 0
    min: float = math.inf
    max: float = -math.inf
    total: float = 0.0

    def add(self, value: float) -> None:
        self.samples += 1
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self.total += value

    def merge(self, other: Values) -> None:
        self.samples += other.samples
        self.min, self.max = min(self.min, other.min), max(self.max, other.max)
        self.total += other.total

    @property
    def avg(self) -> float:
        return self.total / self.samples if self.samples else math.nan


RunKey = tuple[str, str, int, datetime]  # host_id, check_name, resolution, bucket
MetricKey = tuple[str, str, int, datetime, str]  # ... and the metric's label


def bucket_of(at: datetime, resolution: int) -> datetime:
    """Return the start of the `resolution`-second bucket holding `at` (UTC, aligned to the epoch)."""
    seconds = (at - _EPOCH) // timedelta(seconds=1)
    return _EPOCH + timedelta(seconds=seconds - seconds % resolution)


def metric_value(metric: dict[str, Any]) -> float | None:
    """Return a metric's value when it is a finite number, else None."""
    value = metric.get("value")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def downsample(
    results: Iterable[RawResult], resolutions: Sequence[int] = RESOLUTIONS
) -> tuple[dict[RunKey, Runs], dict[MetricKey, Values]]:
    """Return the check runs and metric values of `results` per host, check, resolution and bucket."""
    runs: dict[RunKey, Runs] = {}
    values: dict[MetricKey, Values] = {}
    for result in results:
        seconds = int(result.observed_at.timestamp() // 1)
        for resolution in resolutions:
            bucket = _EPOCH + timedelta(seconds=seconds - seconds % resolution)
            counted = runs.setdefault((result.host_id, result.check_name, resolution, bucket), Runs())
            counted.runs += 1
            counted.not_ok += result.status != 0
            for metric in result.metrics:
                value = metric_value(metric)
                if value is not None:
                    key = (
                        result.host_id,
                        result.check_name,
                        resolution,
                        bucket,
                        str(metric.get("label", "")),
                    )
                    values.setdefault(key, Values()).add(value)
    return runs, values


def evidence(
    observed: Iterable[datetime], stale: Sequence[tuple[datetime, datetime]], margin: timedelta
) -> list[datetime]:
    """Return the observation times availability still needs once raw results are gone: those inside a
    stale span [a, b) or up to `margin` before its start (a result before the span covers its beginning).
    """
    return sorted({t for t in observed if any(a - margin <= t < b for a, b in stale)})


@dataclass(frozen=True)
class Point:
    """One point of a chart: a bucket's start and the min, average and max of the values in it."""

    at: datetime
    min: float
    avg: float
    max: float


def merge_points(
    raw: Iterable[RawResult], rolled: Iterable[tuple[datetime, str, Values]], resolution: int
) -> dict[str, list[Point]]:
    """Return per metric label the points of one check at `resolution`: raw results bucketed here, joined
    with rollup buckets (raw and rolled values of one bucket are combined), oldest first."""
    combined: dict[tuple[str, datetime], Values] = {}
    for bucket, label, values in rolled:
        combined.setdefault((label, bucket), Values()).merge(values)
    _, from_raw = downsample(raw, (resolution,))
    for (_, _, _, bucket, label), values in from_raw.items():
        combined.setdefault((label, bucket), Values()).merge(values)
    series: dict[str, list[Point]] = {}
    for (label, bucket), values in sorted(combined.items(), key=lambda item: (item[0][0], item[0][1])):
        series.setdefault(label, []).append(Point(bucket, values.min, values.avg, values.max))
    return series
