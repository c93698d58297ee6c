"""A collector of "place: message" lines, so one pass over a document reports every problem in it."""

from __future__ import annotations


class Problems:
    """Collects problems, each naming its place in the document."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, place: str, message: str) -> None:
        """Record one problem at `place`."""
        self.lines.append(f"{place}: {message}")

    def __len__(self) -> int:
        return len(self.lines)

    def __bool__(self) -> bool:
        return bool(self.lines)
