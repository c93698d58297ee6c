"""The `run` step: an argv list, never a shell, in its own process group with a reduced environment.

At the deadline, or when the job is cancelled, the whole process group is killed (SIGKILL) and the
output so far is kept. Output beyond
the step's cap is read and dropped, so a chatty program cannot block on a full pipe, and the step says
it was truncated. stdout and stderr share one stream, in the order the program wrote them.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Sequence

from fernwart.agent.playbooks.outcome import StepStatus, clip

# The only environment a program gets: no proxy settings, tokens or shell tricks of the agent's own.
ENVIRONMENT = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/",
    "TERM": "dumb",
    "PAGER": "cat",
    "SYSTEMD_PAGER": "",
    "SYSTEMD_COLORS": "0",
}


CANCEL_CHECK = 0.2  # seconds between looks at the cancel flag while a program runs


def run_bounded(
    argv: Sequence[str], timeout: float, max_output: int, cancelled: threading.Event | None = None,
) -> tuple[StepStatus, str, bool, int | None]:
    """Run `argv`; return (status, output, truncated, exit code). A program not found is exit 127."""
    try:
        proc = subprocess.Popen(
            list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=dict(ENVIRONMENT), close_fds=True,
        )
    except FileNotFoundError:
        return StepStatus.FAILED, f"{argv[0]}: not found", False, 127
    except OSError as exc:
        return StepStatus.FAILED, f"{argv[0]}: {exc.strerror or exc}", False, 126
    assert proc.stdout is not None
    kept = bytearray()
    seen = 0
    deadline = time.monotonic() + timeout
    timed_out = stopped = False
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            if cancelled is not None and cancelled.is_set():
                stopped = True
                break
            if not selector.select(min(left, CANCEL_CHECK) if cancelled is not None else left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += len(chunk)
            if len(kept) <= max_output:
                kept += chunk[: max_output + 1 - len(kept)]
    if timed_out or stopped:
        _kill_group(proc.pid)
    else:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # closed its output but still runs
            timed_out = True
            _kill_group(proc.pid)
    _kill_group(proc.pid, quiet=True)  # children left behind in the group do not outlive the step
    code = proc.wait()
    proc.stdout.close()
    text, truncated = clip(bytes(kept), max_output)
    if stopped:
        return StepStatus.CANCELLED, text + "\n[killed: the job was cancelled]", truncated, code
    if timed_out:
        return StepStatus.TIMED_OUT, text + f"\n[killed after {timeout:g}s]", truncated, code
    return (StepStatus.OK if code == 0 else StepStatus.FAILED), text, truncated or seen > max_output, code


def _kill_group(pgid: int, quiet: bool = False) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
