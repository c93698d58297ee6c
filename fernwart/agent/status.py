"""`fernwart-agent status`: is the agent running, is it delivering, what waits, and how old is its token.

Read from what the running agent leaves behind, without talking to it: a pid file and the time of the
last delivery (2xx) in its state directory, the outbox's row counts (read-only), the token file's mtime
(rotation rewrites it). Healthy means: running, and delivered within three heartbeat intervals.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from fernwart.agent.config import AgentConfig

PID_FILE = "agent.pid"
LAST_DELIVERY_FILE = "last-delivery"
STALE_HEARTBEATS = 3  # intervals without a delivery before the agent counts as not delivering


class OutboxCounts(NamedTuple):
    """Results waiting to be sent, and results the collector refused for good."""

    waiting: int
    rejected: int


@dataclass(frozen=True)
class AgentStatus:
    """What `status` found; `problems` is empty when the agent is healthy."""

    collector: str
    host_id: str
    pid: int | None
    last_delivery: datetime | None
    outbox: OutboxCounts
    token_age: timedelta | None
    problems: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        """Tell whether nothing is wrong."""
        return not self.problems


def outbox_counts(path: Path) -> OutboxCounts:
    """Count the outbox's rows read-only; a missing outbox is empty.

    Rejected results are counted from a ``rejected`` table or, where the outbox keeps them as a state of
    its rows, from ``state = 'rejected'``; an outbox with neither has none.
    """
    if not path.exists():
        return OutboxCounts(0, 0)
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
        stateful = "state" in columns
        waiting = db.execute(
            "SELECT COUNT(*) FROM outbox" + (" WHERE state != 'rejected'" if stateful else "")
        ).fetchone()[0] if "outbox" in tables else 0
        rejected = 0
        if "rejected" in tables:
            rejected += db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0]
        if stateful:
            rejected += db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'rejected'").fetchone()[0]
        return OutboxCounts(int(waiting), int(rejected))
    finally:
        db.close()


def record_delivery(state_dir: Path, at: datetime) -> None:
    """Note `at` (UTC) as the time of the last delivery; written aside and renamed, so never torn."""
    state_dir.mkdir(parents=True, exist_ok=True)
    temp = state_dir / (LAST_DELIVERY_FILE + ".tmp")
    temp.write_text(at.isoformat(), encoding="utf-8")
    temp.replace(state_dir / LAST_DELIVERY_FILE)


def write_pid(state_dir: Path, pid: int) -> Path:
    """Write the running agent's pid file and return its path (the caller removes it at exit)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / PID_FILE
    path.write_text(f"{pid}\n", encoding="utf-8")
    return path


def running_pid(state_dir: Path) -> int | None:
    """Return the pid of a live agent from the pid file, or None (no file, dead, or pid reused)."""
    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="utf-8").strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"fernwart" in cmdline else None


def agent_status(config: AgentConfig, now: datetime) -> AgentStatus:
    """Gather the status of the agent for `config` as of `now` (UTC)."""
    problems: list[str] = []
    pid = running_pid(config.state_dir)
    if pid is None:
        problems.append("the agent is not running")
    try:
        last: datetime | None = datetime.fromisoformat(
            (config.state_dir / LAST_DELIVERY_FILE).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        last = None
    if last is None:
        problems.append("nothing delivered yet")
    elif now - last > timedelta(seconds=STALE_HEARTBEATS * config.heartbeat_interval):
        problems.append(f"no delivery since {last.isoformat(timespec='seconds')}")
    try:
        counts = outbox_counts(config.outbox)
    except sqlite3.Error as exc:
        counts = OutboxCounts(0, 0)
        problems.append(f"cannot read the outbox {config.outbox}: {exc}")
    try:
        mtime = config.token_file.stat().st_mtime
        token_age: timedelta | None = now - datetime.fromtimestamp(mtime, now.tzinfo)
    except OSError:
        token_age = None
        problems.append(f"no agent token at {config.token_file}")
    return AgentStatus(config.collector, config.host_id, pid, last, counts, token_age, tuple(problems))


def render_status(status: AgentStatus) -> str:
    """Return the status as aligned lines for a terminal."""
    def ago(delta: timedelta | None) -> str:
        if delta is None:
            return "unknown"
        seconds = int(delta.total_seconds())
        return f"{seconds // 86400}d {seconds % 86400 // 3600}h"

    lines = [
        f"state:         {'healthy' if status.healthy else 'NOT HEALTHY: ' + '; '.join(status.problems)}",
        f"running:       {f'yes (pid {status.pid})' if status.pid else 'no'}",
        f"collector:     {status.collector}",
        f"host id:       {status.host_id}",
        "last delivery: " + (status.last_delivery.isoformat(timespec="seconds")
                             if status.last_delivery else "never"),
        f"outbox:        {status.outbox.waiting} waiting, {status.outbox.rejected} rejected",
        f"token age:     {ago(status.token_age)}",
    ]
    return "\n".join(lines) + "\n"
