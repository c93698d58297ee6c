"""The live progress of a deploy (one line per host and a bar for the whole) and its closing summary.

On a terminal the block of lines is redrawn in place; elsewhere (a pipe, a CI log) each change is one
plain line, so logs read top to bottom. Text from targets is printed with control characters replaced,
so a hostile host cannot move the cursor or recolour the technician's terminal.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TextIO

BAR_WIDTH = 30
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class DeployOutcome(StrEnum):
    INSTALLED = "installed"
    UPGRADED = "upgraded"
    STARTED = "started"
    UNCHANGED = "unchanged"
    NOT_STARTED = "installed, not started"
    FAILED = "failed"


@dataclass(frozen=True)
class HostReport:
    """How one host's deploy ended: outcome, version there, and what happened or why it failed."""

    label: str
    outcome: DeployOutcome
    detail: str
    version: str = ""
    host_id: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome is DeployOutcome.FAILED


DETAIL_LIMIT = 2000  # characters of a host's detail in the summary table


def clean(text: str, limit: int = 400) -> str:
    """Return `text` on one line without control characters, cut to `limit` characters."""
    flat = _CONTROL.sub("?", " ".join(text.split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Progress:
    """Shows each host's current step and a bar over all hosts; safe to call from the host threads."""

    def __init__(self, labels: Sequence[str], stream: TextIO, tty: bool) -> None:
        self._labels = list(labels)
        self._stream = stream
        self._tty = tty
        self._lock = threading.Lock()
        self._lines = {label: "waiting" for label in labels}
        self._fraction = dict.fromkeys(labels, 0.0)
        self._done = 0
        self._drawn = False
        self._width = max((len(label) for label in labels), default=4)

    def step(self, label: str, index: int, total: int, title: str) -> None:
        """Note that `label` started step `index` (1-based) of `total`, called `title`."""
        with self._lock:
            self._lines[label] = f"[{index}/{total}] {clean(title, 120)}"
            self._fraction[label] = (index - 1) / max(total, 1)
            self._show(f"{label}: {self._lines[label]}")

    def finish(self, report: HostReport) -> None:
        """Note that the host's deploy ended as `report` says."""
        with self._lock:
            self._done += 1
            self._lines[report.label] = f"{report.outcome.value}: {clean(report.detail, 200)}"
            self._fraction[report.label] = 1.0
            self._show(f"{report.label}: {self._lines[report.label]} ({self._done}/{len(self._labels)} "
                       "hosts done)")

    def bar(self) -> str:
        """Return the bar for the whole run, e.g. ``[#########-----] 3/5 hosts``."""
        share = sum(self._fraction.values()) / max(len(self._labels), 1)
        filled = round(share * BAR_WIDTH)
        return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {self._done}/{len(self._labels)} hosts"

    def _show(self, plain: str) -> None:
        if not self._tty:
            self._stream.write(plain + "\n")
            self._stream.flush()
            return
        if self._drawn:
            self._stream.write(f"\x1b[{len(self._labels) + 1}F")  # to the start of the block
        for label in self._labels:
            self._stream.write(f"\x1b[2K{label:<{self._width}}  {self._lines[label]}\n")
        self._stream.write(f"\x1b[2K{self.bar()}\n")
        self._stream.flush()
        self._drawn = True


def summary(reports: Sequence[HostReport]) -> str:
    """Return the closing table (host, result, version, detail) and one line of counts; failures first."""
    ordered = sorted(reports, key=lambda r: (not r.failed, r.label))
    rows = [("HOST", "RESULT", "VERSION", "DETAIL")]
    # the detail is whole up to DETAIL_LIMIT: it may end in the command to run (a trust line with paths)
    rows += [(clean(r.label, 60), r.outcome.value, r.version or "-", clean(r.detail, DETAIL_LIMIT))
             for r in ordered]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows]
    counts: dict[str, int] = {}
    for report in reports:
        counts[report.outcome.value] = counts.get(report.outcome.value, 0) + 1
    lines.append(", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))
    return "\n".join(lines)
