"""The `collect` step: built-in facts, read in-process (psutil, /proc, files), or by a fixed command.

Each fact is a function of its options returning text; no option ever reaches a shell. Facts that only
a system tool can tell (systemd units, the journal, pending updates, last reboots) run that tool with a
fixed argv, the option values as whole arguments after ``--`` where the tool allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import psutil

from fernwart.agent.playbooks import facts
from fernwart.agent.playbooks.outcome import StepStatus, clip

Fact = Callable[[Mapping[str, Any], float], tuple[bool, str]]
FACT_FUNCTIONS: dict[str, Fact] = {
    "top_processes": facts.top_processes,
    "disk_usage": facts.disk_usage,
    "mounts": facts.mounts,
    "listening_sockets": facts.listening_sockets,
    "unit_status": facts.unit_status,
    "journal": facts.journal,
    "failed_units": facts.failed_units,
    "routes": facts.routes,
    "dns": facts.dns,
    "interfaces": facts.interfaces,
    "packages": facts.packages,
    "pending_updates": facts.pending_updates,
    "reboots": facts.reboots,
    "kernel_messages": facts.kernel_messages,
    "memory": facts.memory,
    "load": facts.load,
    "files": facts.files,
    "certificate": facts.certificate,
    "reachability": facts.reachability,
}


def collect(
    fact: str, options: Mapping[str, Any], timeout: float, max_output: int,
) -> tuple[StepStatus, str, bool]:
    """Return (status, text, truncated) of one fact; an unknown fact or a failing read is FAILED."""
    function = FACT_FUNCTIONS.get(fact)
    if function is None:
        return StepStatus.FAILED, f"unknown fact {fact!r}", False
    try:
        ok, text = function(options, timeout)
    except (OSError, psutil.Error, ValueError) as exc:
        return StepStatus.FAILED, f"{fact}: {exc}", False
    body, truncated = clip(text.encode(), max_output)
    return (StepStatus.OK if ok else StepStatus.FAILED), body, truncated
