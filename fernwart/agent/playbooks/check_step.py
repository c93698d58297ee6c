"""The `check` step: run one check of the library with the step's options and show its full result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fernwart.agent.playbooks.outcome import StepStatus
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.registry import UnknownCheckType, create
from fernwart.checks.status import Status


def options_problem(check_type: str, options: Mapping[str, Any]) -> str | None:
    """Return why a check step's type or literal options cannot run, or None (placeholders pass)."""
    literal = {k: v for k, v in options.items() if not (isinstance(v, str) and v.startswith("{"))}
    try:
        create(check_type, literal)
    except UnknownCheckType as exc:
        return str(exc)
    except OptionError as exc:
        if exc.key in options and exc.key not in literal:
            return None
        return f"option {exc.key}: {exc.message}"
    except (ValueError, TypeError):
        return None  # decided once the parameters are in
    return None


def run_check(check_type: str, options: Mapping[str, Any], probe: Probe) -> tuple[StepStatus, str, int]:
    """Run the check; return (status, its full result as text, the check's exit code 0-3).

    The step is FAILED only when the check cannot be configured or raises; a CRITICAL finding is OK.
    """
    settings = dict(options)
    warning, critical = settings.pop("warning", None), settings.pop("critical", None)
    try:
        check = create(check_type, settings, warning, critical)
    except (UnknownCheckType, OptionError, ValueError, TypeError) as exc:
        return StepStatus.FAILED, f"cannot configure check {check_type!r}: {exc}", int(Status.UNKNOWN)
    try:
        result = check.run(probe)
    except Exception as exc:  # noqa: BLE001 - a failing check is the step's result, not the agent's end
        return StepStatus.FAILED, f"check {check_type!r} failed: {exc}", int(Status.UNKNOWN)
    lines = [f"{result.status.name} {result.summary}"]
    if result.metrics:
        lines.append("| " + " ".join(m.to_text() for m in result.metrics))
    if result.long_output:
        lines.append(result.long_output)
    # the check ran: what it found (WARNING, CRITICAL) is the step's output and exit code, not a failure
    return StepStatus.OK, "\n".join(lines), int(result.status)
