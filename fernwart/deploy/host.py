"""One host's deploy: connect, look, decide, run the steps, and undo them all when one fails.

SSH goes through a `Remote` (the SSH runner behind an adapter, see `ssh`), the collector through
`CollectorSide` (the API client); both raise `HostFailure` with a message that names the cause. Nothing
here prints: progress goes to a `Progress`, the end to a `HostReport`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple, Protocol

from fernwart.client.api import ApiError, Client
from fernwart.deploy import plan
from fernwart.deploy.inventory import Target
from fernwart.deploy.plan import DeployAction, Layout, PlanError, RemoteStep, StepKind
from fernwart.deploy.progress import DeployOutcome, HostReport, Progress, clean
from fernwart.deploy.wheels import Wheelhouse

NO_SUCH_COMMAND = 127  # what a POSIX shell answers for a command it cannot find
STEP_TIMEOUT = 600.0
UNDO_TIMEOUT = 120.0
ENROLLED = re.compile(r"^enrolled as host (\S+)", re.M)


class HostFailure(Exception):
    """This host's deploy cannot go on; the message names the cause (a refused key, a wrong Python...)."""


class Ran(NamedTuple):
    """A finished remote command."""

    exit_code: int
    stdout: str
    stderr: str


class Remote(Protocol):
    """A connected SSH session to one target."""

    def run(self, argv: Sequence[str], timeout: float) -> Ran:
        """Run `argv` on the target (no shell interpretation of its words); raise HostFailure if cut off."""
        ...

    def put_file(self, local: Path, remote: str, mode: int) -> None:
        """Copy the file `local` to the target's path `remote` with `mode`; raise HostFailure."""
        ...

    def close(self) -> None: ...


Connect = Callable[[Target], Remote]


class CollectorSide:
    """What a deploy asks the collector: tokens for one host, and whether the host reported."""

    def __init__(self, client: Client, customer: str) -> None:
        self.client = client
        self.customer = customer

    def make_token(self, ttl: int, replace_host: str | None = None) -> tuple[int, str]:
        """Return (id, token) of a new single-use enrollment token; HostFailure when refused."""
        body: dict[str, Any] = {"customer": self.customer, "ttl": ttl}
        if replace_host:
            body["replace_host"] = replace_host
        try:
            answer = self.client.post("/enrollment-tokens", body)
        except ApiError as exc:
            raise HostFailure(f"the collector made no enrollment token: {exc}") from None
        return int(answer["id"]), str(answer["token"])

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token this run made and did not use (best effort: it expires anyway)."""
        try:
            self.client.post(f"/enrollment-tokens/{token_id}/revoke", {})
        except ApiError:
            pass

    def host(self, host_id: str | None = None, name: str | None = None) -> dict[str, Any] | None:
        """Return the collector's view of the host with `host_id` (or `name` of this customer), or None."""
        try:
            hosts = self.client.get("/hosts")
        except ApiError as exc:
            raise HostFailure(f"cannot ask the collector about the host: {exc}") from None
        for found in hosts:
            if host_id is not None and found["id"] == host_id:
                return dict(found)
            if name is not None and found["name"] == name and found["customer"] == self.customer:
                return dict(found)
        return None


@dataclass(frozen=True)
class DeploySettings:
    """The run's choices that every host shares."""

    layout: Layout
    collector_url: str              # what the agents report to
    token_ttl: int = 900            # seconds an enrollment token lives
    wait: float = 180.0             # seconds to wait for the first report
    replace: bool = False           # may take over a host of that name at the collector
    start_without_systemd: bool = False
    poll: float = 1.0


class _Run:
    """The state of one host's run: the steps done so far, for the undo."""

    def __init__(self, target: Target, settings: DeploySettings, remote: Remote, collector: CollectorSide,
                 wheelhouse: Wheelhouse, progress: Progress, run_id: str) -> None:
        self.target, self.settings, self.remote = target, settings, remote
        self.collector, self.wheelhouse, self.progress, self.run_id = collector, wheelhouse, progress, run_id
        self.layout = settings.layout
        self.done: list[RemoteStep] = []
        self.host_id: str | None = None
        self.install_note = ""

    def must(self, argv: Sequence[str], what: str, timeout: float = STEP_TIMEOUT) -> Ran:
        ran = self.remote.run(argv, timeout)
        if ran.exit_code != 0:
            raise HostFailure(f"{what}: {_why(ran)}")
        return ran

    def look(self) -> plan.Found:
        ran = self.remote.run(self.layout.preflight(), 120.0)
        if ran.exit_code == NO_SUCH_COMMAND:
            raise HostFailure(f"no {self.layout.python} on the target: install Python 3.11 or newer, or pass "
                              "--python PATH")
        if ran.exit_code != 0:
            raise HostFailure(f"the preflight failed: {_why(ran)}")
        try:
            return plan.parse_preflight(ran.stdout)
        except PlanError as exc:
            raise HostFailure(str(exc)) from None

    def agent_runs(self, found: plan.Found) -> bool:
        if not (found.venv_exists and found.config_exists):
            return False
        ran = self.remote.run(self.layout.agent("status", "--config", str(self.layout.config_path)), 120.0)
        return ran.exit_code == 0

    def execute(self, step: RemoteStep, hostname: str, last_seen: str | None) -> None:
        if step.kind is StepKind.RUN:
            ran = self.must(step.argv, step.title)
            if step.title == plan.INSTALL_SERVICE:
                self.install_note = ran.stdout.strip().splitlines()[-1] if ran.stdout.strip() else ""
        elif step.kind is StepKind.UPLOAD:
            staging = self.layout.staging(self.run_id)
            for wheel in self.wheelhouse.all:
                self.remote.put_file(wheel.path, str(staging / wheel.path.name), 0o644)
        elif step.kind is StepKind.ENROLL:
            self.enroll(step, hostname)
        elif step.kind is StepKind.RECORD:
            self.must((*step.argv, json.dumps(self.record(), sort_keys=True)), step.title)
        elif step.kind is StepKind.WAIT:
            self.wait(last_seen)

    def enroll(self, step: RemoteStep, hostname: str) -> None:
        token_id, token = self.collector.make_token(
            self.settings.token_ttl, hostname if self.settings.replace else None)
        used = False
        try:
            with tempfile.TemporaryDirectory(prefix="fernwart-deploy-") as private:
                local = Path(private) / "enroll.token"
                local.touch(mode=0o600)
                local.write_text(token + "\n", encoding="utf-8")
                self.remote.put_file(local, str(self.layout.staging(self.run_id) / "enroll.token"), 0o600)
            ran = self.remote.run(step.argv, STEP_TIMEOUT)
            used = ran.exit_code == 0
            if not used:
                raise HostFailure(f"{step.title}: {_why(ran)}")
            match = ENROLLED.search(ran.stdout)
            if match is None:
                raise HostFailure(f"{step.title}: the agent did not say its host id: {clean(ran.stdout)}")
            self.host_id = match.group(1)
        finally:
            if not used:
                self.collector.revoke_token(token_id)

    def record(self) -> dict[str, Any]:
        own = self.wheelhouse.fernwart
        return {"version": own.version, "sha256": own.sha256, "host_id": self.host_id,
                "collector": self.settings.collector_url,
                "deployed_at": datetime.now(UTC).isoformat(timespec="seconds")}

    def wait(self, last_seen: str | None) -> None:
        deadline = time.monotonic() + self.settings.wait
        while True:
            found = self.collector.host(host_id=self.host_id)
            seen = found.get("last_seen_at") if found else None
            if seen and seen != last_seen:
                return
            if time.monotonic() >= deadline:
                raise HostFailure(f"no report from host {self.host_id} reached the collector within "
                                  f"{self.settings.wait:g}s; see {self.layout.log_file} or the agent's "
                                  "journal on the target (can it reach " + self.settings.collector_url + "?)")
            time.sleep(self.settings.poll)

    def undo(self) -> list[str]:
        """Undo the steps done, newest first; return what could not be undone."""
        left = []
        for argv in plan.undo_commands(self.done):
            try:
                ran = self.remote.run(argv, UNDO_TIMEOUT)
            except HostFailure as exc:
                left.append(f"{plan.shell_text(argv)[:80]}: {exc}")
                continue
            if ran.exit_code != 0:
                left.append(f"{plan.shell_text(argv)[:80]}: {_why(ran)}")
        return left


def _why(ran: Ran) -> str:
    lines = [line for line in (ran.stderr or ran.stdout).strip().splitlines() if line.strip()]
    tail = clean(lines[-1]) if lines else "no output"
    return f"exit {ran.exit_code}: {tail}"


def deploy_host(target: Target, connect: Connect, collector: CollectorSide, wheelhouse: Wheelhouse,
                settings: DeploySettings, progress: Progress, run_id: str) -> HostReport:
    """Deploy onto `target`; return how it ended. Never raises for the host's own faults."""
    label = target.label
    progress.step(label, 1, 3, "connect")
    try:
        remote = connect(target)
    except HostFailure as exc:
        return HostReport(label, DeployOutcome.FAILED, str(exc))
    try:
        return _deploy(target, remote, collector, wheelhouse, settings, progress, run_id)
    finally:
        remote.close()


def _deploy(target: Target, remote: Remote, collector: CollectorSide, wheelhouse: Wheelhouse,
            settings: DeploySettings, progress: Progress, run_id: str) -> HostReport:
    label = target.label
    if target.prefix is not None:
        settings = dataclasses.replace(settings, layout=dataclasses.replace(
            settings.layout, prefix=PurePosixPath(target.prefix)))
    layout = settings.layout
    run = _Run(target, settings, remote, collector, wheelhouse, progress, run_id)
    own = wheelhouse.fernwart
    action: DeployAction | None = None
    try:
        progress.step(label, 2, 3, "look at the target")
        found = run.look()
        wanted = plan.Wanted(own.version, own.sha256, settings.collector_url)
        running = found.python >= plan.MIN_PYTHON and run.agent_runs(found)
        action = plan.decide(found, wanted, running)
        hostname = target.name or found.hostname
        run.host_id = found.host_id
        if action is DeployAction.UNCHANGED:
            known = collector.host(host_id=found.host_id)
            if known is not None:
                detail = (f"fernwart {own.version} (sha256 {own.sha256[:12]}) installed and enrolled as "
                          f"{known['name']} ({found.host_id}), agent running: nothing changed")
                return HostReport(label, DeployOutcome.UNCHANGED, detail, own.version, found.host_id or "")
            action = DeployAction.START  # enrolled here but unknown there: let the wait tell
        last_seen = None
        if action is DeployAction.INSTALL:
            existing = collector.host(name=hostname)
            if existing is not None and not settings.replace:
                raise HostFailure(f"the collector has a host {hostname} of customer {collector.customer} "
                                  f"already ({existing['id']}); pass --replace to enroll this machine as "
                                  "that host, or name it differently (name= in the inventory)")
            last_seen = existing.get("last_seen_at") if existing else None
        elif found.host_id:
            known = collector.host(host_id=found.host_id)
            last_seen = known.get("last_seen_at") if known else None
        options = plan.Options(run_id, tuple(w.path.name for w in wheelhouse.all),
                               wheelhouse.installer.path.name,
                               f"fernwart=={own.version}", hostname, settings.replace,
                               settings.start_without_systemd, settings.collector_url)
        steps = plan.steps(action, layout, found, options)
        started = layout.systemd_starts(found)
        if not started and not settings.start_without_systemd:
            steps = [s for s in steps if s.kind is not StepKind.WAIT]
        for index, step in enumerate(steps, 3):
            progress.step(label, index, len(steps) + 2, step.title)
            run.done.append(step)  # a step that fails halfway is undone too
            run.execute(step, hostname, last_seen)
    except (HostFailure, PlanError) as exc:
        left = run.undo()
        rolled = "; rolled back" if run.done and not left else ""
        if left:
            rolled = "; ROLLBACK INCOMPLETE: " + "; ".join(left)
        enrolled = any(s.kind is StepKind.ENROLL for s in run.done)
        if run.host_id and action is DeployAction.INSTALL and enrolled:
            rolled += (f" (the collector keeps host {run.host_id}; deploy again with --replace to enroll "
                       "this machine as it)")
        return HostReport(label, DeployOutcome.FAILED, f"{exc}{rolled}")
    outcomes = {DeployAction.INSTALL: DeployOutcome.INSTALLED, DeployAction.UPGRADE: DeployOutcome.UPGRADED,
                DeployAction.START: DeployOutcome.STARTED}
    outcome = outcomes[action]
    if not started and not settings.start_without_systemd:
        return HostReport(label, DeployOutcome.NOT_STARTED, "systemd is not running on the target: "
                          f"{run.install_note or 'start the agent by hand'} (or deploy with "
                          "--start-without-systemd)", own.version, run.host_id or "")
    return HostReport(label, outcome, f"fernwart {own.version} as host {run.host_id}; first report arrived",
                      own.version, run.host_id or "")
