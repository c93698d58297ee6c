"""A bounded pool of threads that run queued SSH jobs (never on a request thread).

Each thread takes the oldest queued SSH job (`services.ssh_jobs.run_next`) and runs it; with none
waiting it sleeps until woken (`wake()`, called when a job is queued here) or for `poll` seconds, so jobs
queued on another collector, or left queued while this one was down, are taken too. At most `threads`
SSH jobs run at once in one collector process; the rest wait, visibly queued, until a thread is free.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from fernwart.collector.services import ssh_jobs

log = logging.getLogger("fernwart.collector.ssh_worker")


class SSHJobWorker:
    """Runs SSH jobs in `threads` background threads until `stop()`."""

    def __init__(self, sessions: sessionmaker[Session], config: ssh_jobs.SSHJobConfig, threads: int,
                 clock: Callable[[], datetime], poll: float = 5.0) -> None:
        self.sessions = sessions
        self.config = config
        self.clock = clock
        self.poll = poll
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name=f"fernwart-ssh-{n}", daemon=True)
                         for n in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """Have an idle thread look for a queued job now."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = ssh_jobs.run_next(self.sessions, self.config, self.clock)
            except Exception:  # noqa: BLE001 - a failing run (database restarting) is retried later
                log.exception("SSH job run failed; trying again later")
                ran = None
            if ran is None:
                self._wake.wait(self.poll)
                self._wake.clear()
