"""Half-open interval arithmetic on sorted, disjoint lists of (start, end) integers (microseconds).

Every function takes and returns lists sorted by start with no overlaps; touching intervals are joined.
"""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[int, int]


def union(*lists: Iterable[Span]) -> list[Span]:
    """Return the union of any number of interval lists, touching intervals joined; empty ones dropped."""
    out: list[Span] = []
    for a, b in sorted(span for spans in lists for span in spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def intersect(left: list[Span], right: list[Span]) -> list[Span]:
    """Return the intervals covered by both lists."""
    out: list[Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        a = max(left[i][0], right[j][0])
        b = min(left[i][1], right[j][1])
        if a < b:
            out.append((a, b))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(left: list[Span], right: list[Span]) -> list[Span]:
    """Return the parts of `left` not covered by `right`."""
    out: list[Span] = []
    j = 0
    for a, b in left:
        while j < len(right) and right[j][1] <= a:
            j += 1
        k = j
        while k < len(right) and right[k][0] < b:
            if right[k][0] > a:
                out.append((a, right[k][0]))
            a = max(a, right[k][1])
            if a >= b:
                break
            k += 1
        if a < b:
            out.append((a, b))
    return out


def total(spans: Iterable[Span]) -> int:
    """Return the summed length of the intervals."""
    return sum(b - a for a, b in spans)
