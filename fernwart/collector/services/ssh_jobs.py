"""Run queued SSH jobs: the collector takes one, connects to the host and runs the playbook's steps.

A job is taken with a compare-and-set (queued -> delivered), so of several collectors one runs it; no
database session is held while the steps run. The playbook is the collector's own file of that name and
hash: a file edited since the job was queued refuses the job. Outcomes:

- host key unknown or changed, a path parameter resolving outside its roots, the playbook gone or changed:
  `refused`, nothing run (the message names the fingerprint(s) or the path);
- connection refused, authentication failed, a timeout while connecting: `failed`, with that message;
- otherwise the steps' own outcome (succeeded, failed, timed_out), as an agent would report it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from fernwart.agent.playbooks.executor import Refused, execute
from fernwart.agent.playbooks.library import load_library
from fernwart.collector.models import Host, Job
from fernwart.collector.services import diagnostics, ssh_targets
from fernwart.collector.services.ssh_steps import SSHStepRunner
from fernwart.playbook.model import Playbook
from fernwart.playbook.params import ParamError, validate_params
from fernwart.ssh import (
    Credentials,
    HostKeyChanged,
    KnownHosts,
    SSHConnection,
    SSHError,
    SSHTarget,
    Timeouts,
    UnknownHostKey,
    connect,
)

log = logging.getLogger("fernwart.collector.ssh_jobs")
Connector = Callable[[SSHTarget, KnownHosts, Credentials, Timeouts], SSHConnection]


@dataclass(frozen=True)
class SSHJobConfig:
    """What running jobs over SSH needs: the collector's playbooks, its known_hosts, key and timeouts."""

    playbooks_dir: Path
    known_hosts: Path
    credentials: Credentials
    default_user: str = "fernwart"
    timeouts: Timeouts = Timeouts()


@dataclass(frozen=True)
class _Taken:
    job_id: str
    playbook: str
    digest: str
    params: dict[str, Any]
    target: SSHTarget


def collector_playbooks(directory: Path) -> dict[str, Playbook]:
    """Return the valid playbooks the collector holds for runs over SSH, by name."""
    return load_library(directory).playbooks


def run_next(sessions: sessionmaker[Session], config: SSHJobConfig, clock: Callable[[], datetime],
             monotonic: Callable[[], float] = time.monotonic, connector: Connector = connect) -> str | None:
    """Take the oldest queued SSH job and run it to its end; return its id, or None when none waits."""
    with sessions() as db:
        found = diagnostics.claim_ssh_job(db, clock())
        taken = None if found is None else _taken(db, found, config)
        db.commit()
    if taken is None:
        return None
    result = _run(sessions, taken, config, clock, monotonic, connector)
    with sessions() as db:
        job = db.get(Job, taken.job_id)
        if job is not None:
            diagnostics.record_result(db, job, str(uuid.uuid4()), result, clock())
        db.commit()
    log.info("SSH job %s (%s on %s): %s", taken.job_id, taken.playbook, taken.target.name, result["state"])
    return taken.job_id


def _taken(session: Session, found: Job, config: SSHJobConfig) -> _Taken:
    host = session.get(Host, found.host_id)
    assert host is not None  # a job's host row is never deleted
    where = ssh_targets.reach(session, host, config.default_user)
    return _Taken(found.id, found.playbook, found.digest, dict(found.params),
                  SSHTarget(where.address, where.port, where.user))


def _ended(state: str, error: str, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"state": state, "error": error, "duration": 0.0, "steps": steps or []}


def _run(sessions: sessionmaker[Session], taken: _Taken, config: SSHJobConfig, clock: Callable[[], datetime],
         monotonic: Callable[[], float], connector: Connector) -> dict[str, Any]:
    playbook = collector_playbooks(config.playbooks_dir).get(taken.playbook)
    if playbook is None:
        return _ended("refused", f"the collector no longer holds playbook {taken.playbook!r}")
    if playbook.digest != taken.digest:
        return _ended("refused", f"playbook {taken.playbook!r} changed since the job was queued "
                                 f"(hash {playbook.digest}, the job names {taken.digest})")
    try:
        values = validate_params(playbook.params, taken.params)
    except ParamError as exc:
        return _ended("refused", "; ".join(exc.problems))
    try:
        connection = connector(taken.target, KnownHosts(config.known_hosts), config.credentials,
                               config.timeouts)
    except (UnknownHostKey, HostKeyChanged) as exc:
        return _ended("refused", str(exc))
    except SSHError as exc:
        return _ended("failed", str(exc))
    with connection:
        with sessions() as db:
            job = db.get(Job, taken.job_id)
            if job is None or not diagnostics.ssh_job_running(
                    db, job, clock(), f"over SSH as {taken.target.user}@{taken.target.name}"):
                db.commit()
                return _ended("failed", "the job left the delivered state before it could start")
            db.commit()
        runner = SSHStepRunner(connection, monotonic)
        try:
            runner.check_paths(playbook, values)
        except Refused as exc:
            return _ended("refused", str(exc))
        except SSHError as exc:
            return _ended("failed", str(exc))
        return execute(playbook, values, monotonic=monotonic, step_runner=runner).to_dict()
