"""The agent's job loop: wait for playbook jobs on an outbound long-poll, run held playbooks, report.

- At start it reports what it holds (name, version, hash, kind, parameter types) and `allow_repairs`.
- A job is started at most once: its id is written durably (the outbox's ``jobs_started``) before any
  step runs; a job found there at the next start was interrupted by a restart and is reported ``failed``
  ("interrupted"), never run again.
- Results wait in the outbox (``job_results``, fsynced, a client-made id each) until the collector
  answered 2xx, so a collector outage loses no result and a resend is never stored twice.
- A job naming a playbook this agent does not hold, another hash, a repair the config does not allow or
  parameters that do not fit is answered ``refused`` with the reason; nothing runs. With a signing key,
  a playbook that is unsigned or was altered after signing is not held, and a job for it is refused
  with that reason. Playbooks are never fetched from the collector: they arrive with the agent's
  installation or the provider's configuration management.
- While a job runs, a second long-poll watches for its cancellation; a cancelled job's running program
  is killed with its process group, the remaining steps are skipped, and it reports ``cancelled``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fernwart.agent.config import CheckConfig
from fernwart.agent.outbox import Outbox
from fernwart.agent.playbooks.executor import Refused, execute, prepare
from fernwart.agent.playbooks.library import held_entry, load_library
from fernwart.agent.transport import (
    AgentRevoked,
    CollectorError,
    CollectorLink,
    InstanceRefused,
    RequestRejected,
)
from fernwart.playbook.model import Playbook
from fernwart.playbook.params import PATH_OPTIONS

POLL_WAIT = 25  # seconds the collector holds the long-poll
CANCEL_WAIT = 10  # seconds the collector holds a running job's cancel watch
log = logging.getLogger(__name__)


def checks_report(checks: Sequence[CheckConfig], held: Iterable[Playbook]) -> list[dict[str, Any]]:
    """Return what the collector needs for auto-diagnosis of each check: its type, its `on_ticket`
    playbook and parameters, and those of its options a held playbook has a parameter for (or a path
    option), scalars only (a one-item list as its item): nothing else of the check's config leaves
    the host."""
    wanted = set(PATH_OPTIONS) | {p.name for playbook in held for p in playbook.params}
    report = []
    for check in checks:
        options = {}
        for key, value in check.raw_options.items():
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            if key in wanted and isinstance(value, (str, int, bool)) and len(str(value)) <= 1024:
                options[key] = value
        report.append({"name": check.name, "type": check.type, "on_ticket": check.on_ticket,
                       "params": dict(check.on_ticket_params), "options": options})
    return report


class JobWorker:
    """Runs jobs from the collector; `step` does one round, `start`/`stop` run it in a thread."""

    def __init__(self, outbox: Outbox, link: CollectorLink, playbooks: Path, *, allow_repairs: bool,
                 wait: int = POLL_WAIT, signing_key: bytes | None = None,
                 checks: Sequence[CheckConfig] = ()) -> None:
        self.outbox = outbox
        self.link = link
        self.playbooks = playbooks
        self.allow_repairs = allow_repairs
        self.signing_key = signing_key
        self.checks = tuple(checks)
        self.wait = wait
        self._reported = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: threading.Thread | None = None
        for job_id in outbox.interrupted_jobs():
            outbox.put_job_result(job_id, {"state": "failed", "error": "interrupted by an agent restart",
                                           "duration": 0.0, "steps": []})

    def step(self) -> bool:
        """Report holdings (once), send waiting results, wait for one job and run it; True if one ran."""
        if not self._reported:
            library = load_library(self.playbooks, self.signing_key)
            for name, why in library.refused.items():
                log.warning("not holding playbook %s: %s", name, why)
            held = [held_entry(p) for p in library.playbooks.values()]
            self.link.send_json("PUT", "/api/v1/agent/playbooks",
                                {"allow_repairs": self.allow_repairs, "playbooks": held,
                                 "checks": checks_report(self.checks, library.playbooks.values())})
            self._reported = True
        self.send_results()
        job = self.link.send_json("GET", f"/api/v1/agent/jobs?wait={self.wait}", read_timeout=self.wait + 15)
        if not job:
            return False
        self.run(job)
        self.send_results()
        if self._watch is not None:  # its long-poll ends with the job's result at the collector
            self._watch.join(CANCEL_WAIT + 20)
            self._watch = None
        return True

    def run(self, job: dict[str, Any]) -> None:
        """Run one delivered job (once, ever) and queue its result durably."""
        job_id = str(job.get("id", ""))
        if not job_id or not self.outbox.start_job(job_id):
            log.warning("job %r was started before; not running it again", job_id)
            return
        library = load_library(self.playbooks, self.signing_key)
        name = str(job.get("playbook"))
        playbook = library.playbooks.get(name)
        try:
            if playbook is None and name in library.refused:
                raise Refused(f"playbook {name!r} is not trusted: {library.refused[name]}")
            if playbook is None:
                raise Refused(f"this agent holds no playbook {name!r}")
            values = prepare(playbook, job.get("params") or {}, digest=str(job.get("hash")),
                             allow_repairs=self.allow_repairs)
        except Refused as exc:
            log.warning("refused job %s: %s", job_id, exc)
            self.outbox.put_job_result(job_id, {"state": "refused", "error": str(exc), "duration": 0.0,
                                                "steps": []})
            return
        try:
            self.link.send_json("POST", f"/api/v1/agent/jobs/{job_id}/running", {})
        except CollectorError as exc:  # the result still tells; running is only news
            log.info("could not report job %s running: %s", job_id, exc)
        log.info("running playbook %s v%d for job %s", playbook.name, playbook.version, job_id)
        cancelled, done = threading.Event(), threading.Event()
        watch = threading.Thread(target=self._watch_cancel, args=(job_id, cancelled, done),
                                 name="fernwart-job-cancel", daemon=True)
        watch.start()
        self._watch = watch
        try:
            outcome = execute(playbook, values, cancelled=cancelled)
        finally:
            done.set()
        self.outbox.put_job_result(job_id, outcome.to_dict())

    def _watch_cancel(self, job_id: str, cancelled: threading.Event, done: threading.Event) -> None:
        """Wait on the collector's cancel long-poll for the running job; set `cancelled` when asked."""
        while not done.is_set():
            try:
                answer = self.link.send_json("GET", f"/api/v1/agent/jobs/{job_id}/cancel?wait={CANCEL_WAIT}",
                                             read_timeout=CANCEL_WAIT + 15)
            except CollectorError as exc:  # the run goes on; look again a little later
                log.info("cancel watch of job %s: %s", job_id, exc)
                done.wait(5)
                continue
            if answer and answer.get("cancel"):
                log.warning("job %s cancelled by the collector; stopping it", job_id)
                cancelled.set()
                return
            if answer and answer.get("ended"):
                return

    def send_results(self) -> None:
        """Post every waiting result; delete each after a 2xx; keep them when the collector is away."""
        for result_id, job_id, payload in self.outbox.job_results():
            try:
                path = f"/api/v1/agent/jobs/{job_id}/result"
                self.link.send_json("POST", path, {"id": result_id, **payload})
            except RequestRejected as exc:
                log.error("collector refused the result of job %s for good: %s", job_id, exc)
            self.outbox.delete_job_result(result_id)

    def loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self.step()
                failures = 0
            except (AgentRevoked, InstanceRefused) as exc:  # the sender logs why; retrying cannot help
                log.info("job channel closed: %s", exc)
                return
            except CollectorError as exc:
                failures += 1
                delay = random.random() * min(60.0, 2.0 ** min(failures, 6))
                log.warning("job channel: %s; retrying in %.1fs", exc, delay)
                self._stopping.wait(delay)
            except Exception:
                log.exception("job round failed")
                self._stopping.wait(10)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop, name="fernwart-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
