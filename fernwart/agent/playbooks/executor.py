"""Run one held playbook with validated parameters: step after step, each bounded, the whole bounded too.

- A step gets the smaller of its own timeout and the time left of the run's; a step that times out ends
  the run as ``timed_out`` with the output so far; the remaining steps are reported ``skipped``.
- A diagnostic playbook runs every step even when one fails (more facts help); a repair stops at the
  first failed step, so nothing runs on top of a half-done change.
- A step with ``when: flag`` runs only when the bool parameter `flag` is true.
- Paths (parameters of type path and read_file matches) are resolved on the host and must still lie under
  their roots; a symlink out of them refuses the run before any step.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

from fernwart.agent.playbooks.check_step import run_check
from fernwart.agent.playbooks.collect import collect
from fernwart.agent.playbooks.outcome import RunOutcome, RunState, StepOutput, StepStatus
from fernwart.agent.playbooks.read_step import read_files
from fernwart.agent.playbooks.run_step import run_bounded
from fernwart.checks.probe import Probe
from fernwart.playbook.model import Playbook, PlaybookStep, argv_of, substitute
from fernwart.playbook.params import ParamError, ParamValue, inside, validate_params

# Runs one step within `timeout` seconds: the agent's own (in-process, local programs) by default; the
# collector passes one that runs the step over SSH, so both keep the same order, limits and final state.
StepRunner = Callable[[Playbook, PlaybookStep, Mapping[str, ParamValue], float], StepOutput]


class Refused(Exception):
    """The agent will not run this job; the message says why and goes back to the collector."""


def prepare(
    playbook: Playbook, given: Mapping[str, object], *, digest: str | None = None,
    allow_repairs: bool = False,
) -> dict[str, ParamValue]:
    """Return the run's parameter values, or raise Refused (hash, repair not allowed, parameters, paths)."""
    if digest is not None and digest != playbook.digest:
        raise Refused(f"playbook {playbook.name!r} here has hash {playbook.digest}, the job names {digest}")
    if playbook.kind == "repair" and not allow_repairs:
        raise Refused(f"repair playbook {playbook.name!r}: this agent's config does not allow repairs")
    try:
        values = validate_params(playbook.params, given)
    except ParamError as exc:
        raise Refused("; ".join(exc.problems)) from None
    for param in playbook.params:
        if param.type == "path":
            real = os.path.realpath(str(values[param.name]))
            if not inside(real, param.roots):
                raise Refused(f"params.{param.name}: {values[param.name]!r} resolves to {real!r}, "
                              f"outside {', '.join(param.roots)}")
    return values


def execute(
    playbook: Playbook, values: Mapping[str, ParamValue], *, probe: Probe | None = None,
    monotonic: Callable[[], float] = time.monotonic, step_runner: StepRunner | None = None,
    cancelled: threading.Event | None = None,
) -> RunOutcome:
    """Run every step of `playbook` with prepared `values`; never raises for what a step does.

    `step_runner` runs each step (default: here, in-process and as local programs). Once `cancelled` is
    set, a running local program's process group is killed and later steps are skipped; the run ends
    `cancelled` with the output so far.
    """
    def local(playbook: Playbook, step: PlaybookStep, values: Mapping[str, ParamValue],
              timeout: float) -> StepOutput:
        return _step(playbook, step, values, timeout, probe, monotonic, cancelled)

    run_step = step_runner or local
    started = monotonic()
    deadline = started + playbook.timeout
    outputs: list[StepOutput] = []
    state = RunState.SUCCEEDED
    error = ""
    for step in playbook.steps:
        left = deadline - monotonic()
        if cancelled is not None and cancelled.is_set() and state != RunState.CANCELLED:
            state, error = RunState.CANCELLED, "cancelled by a technician"
        if state in (RunState.TIMED_OUT, RunState.CANCELLED) or (
            state == RunState.FAILED and playbook.kind == "repair"
        ):
            outputs.append(StepOutput(step.name, step.kind, StepStatus.SKIPPED, "", 0.0))
            continue
        if left <= 0:
            state, error = RunState.TIMED_OUT, f"the playbook's timeout of {playbook.timeout:g}s ran out"
            outputs.append(StepOutput(step.name, step.kind, StepStatus.SKIPPED, "", 0.0))
            continue
        if step.when is not None and values.get(step.when) is not True:
            skipped = f"skipped: {step.when} is false"
            outputs.append(StepOutput(step.name, step.kind, StepStatus.SKIPPED, skipped, 0.0))
            continue
        output = run_step(playbook, step, values, min(step.timeout, left))
        outputs.append(output)
        if output.status == StepStatus.CANCELLED:
            state, error = RunState.CANCELLED, "cancelled by a technician"
        elif output.status == StepStatus.TIMED_OUT:
            state, error = RunState.TIMED_OUT, f"step {step.name!r} timed out"
        elif output.status == StepStatus.FAILED and state == RunState.SUCCEEDED:
            state, error = RunState.FAILED, f"step {step.name!r} failed"
    return RunOutcome(state, tuple(outputs), monotonic() - started, error)


def _step(
    playbook: Playbook, step: PlaybookStep, values: Mapping[str, ParamValue], timeout: float,
    probe: Probe | None, monotonic: Callable[[], float], cancelled: threading.Event | None = None,
) -> StepOutput:
    began = monotonic()
    code: int | None = None
    truncated = False
    if step.kind == "run":
        status, text, truncated, code = run_bounded(argv_of(step, values), timeout, step.max_output,
                                                    cancelled)
        if status == StepStatus.FAILED and code in step.options.get("ok_codes", [0]):
            status = StepStatus.OK
    elif step.kind == "read_file":
        paths = [str(p) for p in substitute(list(step.target), values)]
        roots = playbook.read_roots + tuple(r for p in playbook.params if p.type == "path" for r in p.roots)
        status, text, truncated = read_files(paths, roots, step.max_output, head=step.options.get("head"),
                                             tail=step.options.get("tail"))
    elif step.kind == "check":
        status, text, code = run_check(step.target[0], substitute(dict(step.options), values),
                                       (probe or Probe()).with_timeout(timeout))
    else:
        status, text, truncated = collect(step.target[0], substitute(dict(step.options), values), timeout,
                                          step.max_output)
    duration = monotonic() - began
    if status != StepStatus.TIMED_OUT and duration > timeout + 1:  # an in-process fact that overran
        status = StepStatus.TIMED_OUT
    return StepOutput(step.name, step.kind, status, text, round(duration, 3), truncated, code)
