"""Downsampling rules (pure): epoch-aligned buckets, finite numbers only, evidence around stale spans."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from fernwart.collector.domain.rollups import (
    FIVE_MINUTES,
    HOURLY,
    RawResult,
    Values,
    bucket_of,
    downsample,
    evidence,
    merge_points,
)

T = datetime(2026, 11, 22, 10, 7, 30, tzinfo=UTC)


def test_buckets_start_at_multiples_of_their_resolution() -> None:
    assert bucket_of(T, FIVE_MINUTES) == T.replace(minute=5, second=0)
    assert bucket_of(T, HOURLY) == T.replace(minute=0, second=0)
    assert bucket_of(T.replace(minute=5, second=0), FIVE_MINUTES) == T.replace(minute=5, second=0)


def test_downsample_counts_runs_and_skips_values_that_are_no_finite_number() -> None:
    metrics = [{"label": "a", "value": 2.0}, {"label": "b", "value": True}, {"label": "c", "value": math.inf},
               {"label": "d"}]
    rows = [RawResult("h", "c", 2, metrics, T), RawResult("h", "c", 0, [{"label": "a", "value": 4}], T)]
    runs, values = downsample(rows, (HOURLY,))
    key = ("h", "c", HOURLY, T.replace(minute=0, second=0))
    assert (runs[key].runs, runs[key].not_ok) == (2, 1)
    assert list(values) == [(*key, "a")]
    a = values[(*key, "a")]
    assert (a.samples, a.min, a.max, a.avg) == (2, 2.0, 4.0, 3.0)


def test_evidence_keeps_times_inside_or_just_before_a_stale_span() -> None:
    span = [(T, T + timedelta(minutes=30))]
    times = [T - timedelta(hours=2), T - timedelta(minutes=59), T + timedelta(minutes=10),
             T + timedelta(hours=1)]
    assert evidence(times, span, timedelta(hours=1)) == [T - timedelta(minutes=59), T + timedelta(minutes=10)]


def test_raw_and_rolled_values_of_one_bucket_are_combined() -> None:
    hour = T.replace(minute=0, second=0)
    points = merge_points([RawResult("h", "c", 0, [{"label": "a", "value": 9.0}], T)],
                          [(hour, "a", Values(2, 1.0, 3.0, 4.0))], HOURLY)
    [point] = points["a"]
    assert (point.at, point.min, point.avg, point.max) == (hour, 1.0, 13.0 / 3, 9.0)
