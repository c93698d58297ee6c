"""`fernwart-agent outbox list|requeue|drop` on a real outbox file, and the rejected state under kill -9."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fernwart.agent.cli import main
from fernwart.agent.outbox import Outbox
from fernwart.checks.status import Status
from tests.agent.helpers import T0, stamped
from tests.support import REPO

HEAD = "collector: http://127.0.0.1:9\nhost_id: host-1\n"


def queue(box: Outbox, n: int) -> list[str]:
    return [box.put(stamped(Status.OK, f"r{i}"), check=f"c{i}", check_type="t", interval=60, max_attempts=3)
            for i in range(n)]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_list_requeue_drop_round_trip(
    outbox: Outbox, write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
) -> None:
    config = str(write_config(HEAD))
    ids = queue(outbox, 3)
    outbox.reject([ids[1]], 422, "results[0].check: bad name")

    code, lines, _ = run(capsys, "outbox", "list", "--config", config)
    assert code == 0
    assert lines[0] == f"{ids[0]}  c0  2026-11-22T10:00:00Z  pending"
    assert lines[2] == (f"{ids[1]}  c1  2026-11-22T10:00:00Z  rejected  HTTP 422 at 2026-11-22T10:00:00Z:"
                        " results[0].check: bad name")
    assert lines[-1] == "2 pending, 1 rejected"
    code, lines, _ = run(capsys, "outbox", "list", "--rejected", "--config", config)
    assert [line.split()[0] for line in lines[:-1]] == [ids[1]]

    code, lines, err = run(capsys, "outbox", "requeue", "--config", config, ids[1], "no-such-id")
    assert code == 1 and "no-such-id" in err and lines == []
    assert outbox.rejected_count() == 1  # all or nothing
    code, lines, err = run(capsys, "outbox", "requeue", "--config", config, ids[0])
    assert code == 1 and ids[0] in err  # pending, not rejected
    code, lines, _ = run(capsys, "outbox", "requeue", "--config", config, ids[1])
    assert (code, lines) == (0, ["requeued 1 result(s)"])
    assert [e.id for e in outbox.peek(10)] == [ids[0], ids[2], ids[1]]  # back at the end, same id
    assert outbox.peek(10)[2].payload["observed_at"] == "2026-11-22T10:00:00Z"

    outbox.reject([ids[0], ids[2]], 400, "bad")
    code, lines, _ = run(capsys, "outbox", "requeue", "--config", config, "--all-rejected")
    assert (code, lines) == (0, ["requeued 2 result(s)"]) and outbox.rejected_count() == 0

    outbox.reject([ids[2]], 400, "bad")
    code, lines, err = run(capsys, "outbox", "drop", "--config", config, ids[0], "nope")
    assert code == 1 and "nope" in err and outbox.count() == 2
    code, lines, _ = run(capsys, "outbox", "drop", "--config", config, ids[0])
    assert (code, lines) == (0, ["dropped 1 result(s)"]) and [e.id for e in outbox.peek(10)] == [ids[1]]
    code, lines, _ = run(capsys, "outbox", "drop", "--config", config, "--all-rejected")
    assert (code, lines) == (0, ["dropped 1 result(s)"])
    code, lines, _ = run(capsys, "outbox", "list", "--config", config)
    assert lines[-1] == "1 pending, 0 rejected"


def test_requeue_or_drop_needs_ids_or_all_rejected(
    write_config: Callable[[str], Path], capsys: pytest.CaptureFixture[str],
) -> None:
    config = str(write_config(HEAD))
    for command in ("requeue", "drop"):
        with pytest.raises(SystemExit) as exit_info:
            main(["outbox", command, "--config", config])
        assert exit_info.value.code == 2
        with pytest.raises(SystemExit):
            main(["outbox", command, "--config", config, "x", "--all-rejected"])
    assert "one of the arguments ID --all-rejected is required" in capsys.readouterr().err


KILL_AFTER_REJECT = """
import os, signal, sys
from fernwart.agent.outbox import Outbox
from fernwart.checks.status import Status
from tests.agent.helpers import stamped
box = Outbox(sys.argv[1])
ids = [box.put(stamped(Status.OK, f"r{i}"), check=f"c{i}", check_type="t", interval=60, max_attempts=3)
       for i in range(2)]
box.reject([ids[0]], 422, "poisoned")
print(" ".join(ids), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_rejected_state_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    done = subprocess.run([sys.executable, "-c", KILL_AFTER_REJECT, str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    rejected_id, pending_id = done.stdout.split()
    with Outbox(path, now=lambda: T0) as box:
        assert [(e.id, e.status, e.error) for e in box.rejected()] == [(rejected_id, 422, "poisoned")]
        assert [e.id for e in box.peek(10)] == [pending_id]
