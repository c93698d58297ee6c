"""Plugin output as the Monitoring Plugins development guidelines define it.

    SUMMARY | PERFDATA
    LONG OUTPUT LINE 1
    LONG OUTPUT LINE 2 | MORE PERFDATA
    MORE PERFDATA

The first line's text before ``|`` is the summary; after it, perfdata. Following lines are long
output until a line containing ``|``: the text before it is the last long-output line, and everything
after it (including all following lines) is more perfdata.
"""

from __future__ import annotations

from dataclasses import dataclass

from fernwart.checks import perfdata
from fernwart.checks.perfdata import PerfDatum


@dataclass(frozen=True)
class PluginOutput:
    """A parsed plugin output: summary, long output lines, metrics and perfdata errors."""

    summary: str
    long_output: tuple[str, ...]
    metrics: tuple[PerfDatum, ...]
    perf_errors: tuple[str, ...]


def parse(output: str) -> PluginOutput:
    """Split plugin output into summary, long output and perfdata; never raises on odd text."""
    lines = output.replace("\r\n", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return PluginOutput("", (), (), ())
    first, _, perf_text = lines[0].partition("|")
    perf_parts = [perf_text]
    long_lines: list[str] = []
    rest = lines[1:]
    for i, line in enumerate(rest):
        if "|" in line:
            before, _, after = line.partition("|")
            long_lines.append(before.rstrip())
            perf_parts.append(after)
            perf_parts.extend(rest[i + 1 :])
            break
        long_lines.append(line)
    parsed = perfdata.parse(" ".join(perf_parts))
    while long_lines and long_lines[-1].strip() == "":
        long_lines.pop()
    return PluginOutput(first.strip(), tuple(long_lines), parsed.data, parsed.errors)
