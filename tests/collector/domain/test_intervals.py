from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fernwart.collector.domain import intervals

spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=8).map(intervals.union)


def points(spans: list[intervals.Span]) -> set[int]:
    return {t for a, b in spans for t in range(a, b)}


def test_union_joins_touching_and_drops_empty() -> None:
    assert intervals.union([(0, 1), (1, 2)], [(5, 6), (3, 3), (7, 4)]) == [(0, 2), (5, 6)]


@given(spans, spans)
def test_operations_match_point_sets(left: list[intervals.Span], right: list[intervals.Span]) -> None:
    assert points(intervals.intersect(left, right)) == points(left) & points(right)
    assert points(intervals.subtract(left, right)) == points(left) - points(right)
    assert points(intervals.union(left, right)) == points(left) | points(right)
    assert intervals.total(intervals.subtract(left, right)) == len(points(left) - points(right))
    for result in (intervals.intersect(left, right), intervals.subtract(left, right)):
        assert all(a < b for a, b in result)
        assert all(x[1] <= y[0] for x, y in zip(result, result[1:], strict=False))
