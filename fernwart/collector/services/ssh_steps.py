"""Run playbook steps over SSH, with the agent's executor deciding order, limits and the final state.

- `run`: the argv over SSH (each word quoted, never a shell string), the agent's fixed environment, its
  process group killed at the step's deadline, output capped at the step's `max_output`;
- `read_file`: globs expanded over SFTP, each match resolved by the server's realpath and checked here
  against the playbook's roots (so ``../`` and symlinks out of them are refused), read with a byte cap;
- `collect`: the documented command of each fact (`ssh_facts`), or skipped with "needs the agent";
- `check`: skipped with "needs the agent" (the check library runs in-process on the host).

Paths the SFTP server resolved may change between the check and the read (a race a local agent has too);
the read opens the resolved path, so a symlink swapped in later is not followed through the checked name.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Mapping

from fernwart.agent.playbooks.executor import Refused
from fernwart.agent.playbooks.outcome import StepOutput, StepStatus, clip
from fernwart.agent.playbooks.read_step import MAX_FILES
from fernwart.agent.playbooks.run_step import ENVIRONMENT
from fernwart.collector.services.ssh_facts import commands_for
from fernwart.playbook.model import Playbook, PlaybookStep, argv_of, substitute
from fernwart.playbook.params import ParamValue, inside
from fernwart.ssh import SSHConnection, SSHError, read_bounded, remote_glob, remote_realpath

NEEDS_AGENT = "needs the agent: "


class SSHStepRunner:
    """Runs one step at a time over `connection` (an executor `StepRunner`)."""

    def __init__(self, connection: SSHConnection, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.connection = connection
        self.monotonic = monotonic

    def check_paths(self, playbook: Playbook, values: Mapping[str, ParamValue]) -> None:
        """Raise Refused when a path parameter resolves (on the host) outside its roots."""
        for param in playbook.params:
            if param.type != "path":
                continue
            given = str(values[param.name])
            try:
                with self.connection.open_sftp() as sftp:
                    real = remote_realpath(sftp, given)
            except OSError as exc:
                raise Refused(f"params.{param.name}: {given!r} cannot be resolved on the host: "
                              f"{exc.strerror or exc}") from None
            if not inside(real, param.roots):
                raise Refused(f"params.{param.name}: {given!r} resolves to {real!r}, "
                              f"outside {', '.join(param.roots)}")

    def __call__(self, playbook: Playbook, step: PlaybookStep, values: Mapping[str, ParamValue],
                 timeout: float) -> StepOutput:
        began = self.monotonic()
        code: int | None = None
        truncated = False
        try:
            if step.kind == "run":
                status, text, truncated, code = self._run(step, values, began + timeout, timeout)
            elif step.kind == "read_file":
                status, text, truncated = self._read(playbook, step, values)
            elif step.kind == "collect":
                status, text, truncated = self._collect(step, values, began + timeout, timeout)
            else:
                status = StepStatus.SKIPPED
                text = (NEEDS_AGENT + f"a check step runs the check library ({step.target[0]}) in-process "
                        "on the host; it is not run over SSH")
        except SSHError as exc:
            status, text = StepStatus.FAILED, str(exc)
        duration = self.monotonic() - began
        return StepOutput(step.name, step.kind, status, text, round(duration, 3), truncated, code)

    def _run(self, step: PlaybookStep, values: Mapping[str, ParamValue], deadline: float,
             timeout: float) -> tuple[StepStatus, str, bool, int | None]:
        ran = self.connection.run(argv_of(step, values), deadline, step.max_output, environment=ENVIRONMENT)
        text = ran.output()
        if ran.timed_out:
            return StepStatus.TIMED_OUT, text + f"\n[killed after {timeout:g}s]", ran.truncated, None
        ok = ran.exit_status is not None and ran.exit_status in step.options.get("ok_codes", [0])
        return (StepStatus.OK if ok else StepStatus.FAILED), text, ran.truncated, ran.exit_status

    def _read(self, playbook: Playbook, step: PlaybookStep,
              values: Mapping[str, ParamValue]) -> tuple[StepStatus, str, bool]:
        patterns = [str(p) for p in substitute(list(step.target), values)]
        roots = playbook.read_roots + tuple(r for p in playbook.params if p.type == "path" for r in p.roots)
        parts: list[str] = []
        failed = False
        with self.connection.open_sftp() as sftp:
            matched: list[str] = []
            for pattern in patterns:
                matched += [p for p in remote_glob(sftp, pattern, MAX_FILES + 1) if p not in matched]
            if not matched:
                return StepStatus.FAILED, "no file matches " + ", ".join(patterns), False
            for path in matched[:MAX_FILES]:
                try:
                    real = remote_realpath(sftp, path)
                except OSError as exc:
                    parts.append(f"==> {path} <==\ncannot read: {exc.strerror or exc}")
                    failed = True
                    continue
                if not inside(real, roots) or not inside(posixpath.normpath(path), roots):
                    parts.append(f"==> {path} <==\nrefused: resolves to {real}, outside {', '.join(roots)}")
                    failed = True
                    continue
                try:
                    body = read_bounded(sftp, real, step.max_output, head=step.options.get("head"),
                                        tail=step.options.get("tail"))
                except OSError as exc:
                    parts.append(f"==> {path} <==\ncannot read: {exc.strerror or exc}")
                    failed = True
                    continue
                parts.append(f"==> {path} <==\n{body}")
        if len(matched) > MAX_FILES:
            parts.append(f"(more than {MAX_FILES} files match; the rest not shown)")
        text, truncated = clip("\n".join(parts).encode(), step.max_output)
        return (StepStatus.FAILED if failed else StepStatus.OK), text, truncated

    def _collect(self, step: PlaybookStep, values: Mapping[str, ParamValue], deadline: float,
                 timeout: float) -> tuple[StepStatus, str, bool]:
        fact = step.target[0]
        commands = commands_for(fact, substitute(dict(step.options), values))
        if commands is None:
            return (StepStatus.SKIPPED, NEEDS_AGENT + f"the fact {fact!r} is read in-process by the agent; "
                    "there is no command for it over SSH", False)
        parts: list[str] = []
        status = StepStatus.OK
        truncated = False
        for command in commands:
            ran = self.connection.run(command.argv, deadline, step.max_output, environment=ENVIRONMENT)
            truncated = truncated or ran.truncated
            body = command.trim(ran.stdout.decode("utf-8", errors="replace")).rstrip()
            if ran.stderr:
                body += "\n[stderr]\n" + ran.stderr.decode("utf-8", errors="replace").rstrip()
            parts.append(f"$ {' '.join(command.argv)}\n{body}")
            if ran.timed_out:
                parts.append(f"[killed after {timeout:g}s]")
                status = StepStatus.TIMED_OUT
                break
            if command.ok_codes is None or ran.exit_status in command.ok_codes:
                continue
            parts[-1] += f"\n(exit {ran.exit_status})"
            status = StepStatus.FAILED
        text, cut = clip("\n".join(parts).encode(), step.max_output)
        return status, text, truncated or cut
