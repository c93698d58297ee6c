from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fernwart.collector.sla import intervals as iv

spans = st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), max_size=8).map(iv.union)


def points(spans: list[iv.Span]) -> set[int]:
    return {t for a, b in spans for t in range(a, b)}


def test_union_joins_touching_and_drops_empty() -> None:
    assert iv.union([(0, 1), (1, 2)], [(5, 6), (3, 3), (7, 4)]) == [(0, 2), (5, 6)]


@given(spans, spans)
def test_operations_match_point_sets(left: list[iv.Span], right: list[iv.Span]) -> None:
    assert points(iv.intersect(left, right)) == points(left) & points(right)
    assert points(iv.subtract(left, right)) == points(left) - points(right)
    assert points(iv.union(left, right)) == points(left) | points(right)
    assert iv.total(iv.subtract(left, right)) == len(points(left) - points(right))
    for result in (iv.intersect(left, right), iv.subtract(left, right)):
        assert all(a < b for a, b in result)
        assert all(x[1] <= y[0] for x, y in zip(result, result[1:], strict=False))
