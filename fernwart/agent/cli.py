"""`fernwart-agent`: enroll, install as a service, run, check once, list check types, tend the outbox.

Exit codes: `status` exits 0 when the agent runs and delivers, 1 when not; `check` exits with the worst
status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, ranked as checks.status.worst ranks them). A config that
cannot be used exits 2 from every command with the ConfigError message on stderr; enrollment, install or
collector failures exit 1; `run` exits 0 after SIGTERM/SIGINT. `outbox list|requeue|drop` exit 0 when
done, 1 when an id is unknown (nothing is changed then) or the outbox cannot be opened, 2 for a bad config
or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from fernwart.agent.config import AgentConfig, ConfigError, load_config
from fernwart.agent.enroll import EnrollError, enroll
from fernwart.agent.hostfacts import FactsReporter
from fernwart.agent.install import DEFAULT_CONFIG, InstallError, install, uninstall
from fernwart.agent.instance import instance_id
from fernwart.agent.jobs import JobWorker
from fernwart.agent.outbox import REJECTED, Outbox, UnknownEntries
from fernwart.agent.playbooks.executor import Refused, execute, prepare
from fernwart.agent.playbooks.library import held_entry, load_library
from fernwart.agent.playbooks.outcome import RunState
from fernwart.agent.playbooks.shipped import install_playbooks, shipped_directory
from fernwart.agent.runner import CheckRunner
from fernwart.agent.scheduler import CheckScheduler
from fernwart.agent.sender import Sender
from fernwart.agent.status import agent_status, record_delivery, render_status, write_pid
from fernwart.agent.tokens import RotateError, TokenKeeper, rotate
from fernwart.agent.transport import CollectorError, CollectorLink
from fernwart.agent.wire import result_entry
from fernwart.checks.catalog import render_text
from fernwart.checks.probe import Probe
from fernwart.checks.status import worst
from fernwart.httpclient import HttpTlsError

EXIT_CONFIG = 2
EXIT_FAILURE = 1
log = logging.getLogger("agent")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]), run the command and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per job run is noise
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"fernwart-agent: bad config: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return code


def cmd_enroll(args: argparse.Namespace) -> int:
    """Enroll this host; print where the config and token went."""
    try:
        token = _enrollment_token(args)
    except OSError as exc:
        print(f"fernwart-agent: cannot read the enrollment token from {args.token_file}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILURE
    if not token:
        print("fernwart-agent: the enrollment token is empty", file=sys.stderr)
        return EXIT_FAILURE
    try:
        result = enroll(
            args.collector, token, args.config, hostname=args.hostname, force=args.force,
            replace=args.replace, ca_file=args.ca, proxy=args.proxy,
        )
    except (EnrollError, CollectorError) as exc:
        hint = ""
        if isinstance(exc.__cause__, HttpTlsError) and args.ca is None:
            hint = "; if the collector's certificate comes from your own CA, give that CA with --ca FILE"
        print(f"fernwart-agent: enrollment failed: {exc}{hint}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"enrolled as host {result.host_id}")
    print(f"config: {result.config_path} (checks: {', '.join(result.checks) or 'none'})")
    print(f"token:  {result.token_path} (mode 0600)")
    return 0


def _enrollment_token(args: argparse.Namespace) -> str:
    """Return the token from --token-file, standard input (--token -) or --token, stripped."""
    if args.token_file is not None:
        return str(Path(args.token_file).read_text(encoding="utf-8").strip())
    if args.token == "-":
        return sys.stdin.readline().strip()
    return str(args.token).strip()


def cmd_run(args: argparse.Namespace) -> int:
    """Run the scheduler and the sender until SIGTERM or SIGINT, then shut down cleanly."""
    config = load_config(args.config)
    token = _read_token(config)
    try:
        outbox = Outbox(config.outbox)
    except (OSError, sqlite3.Error) as exc:
        print(f"fernwart-agent: cannot open the outbox {config.outbox}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    stop = threading.Event()
    # The main thread sleeps in recv() on a socket the signal machinery writes to, instead of waking
    # every second to look at `stop`: an idle wake-up a second cost about 0.45 CPU-s an hour.
    wake, wake_writer = socket.socketpair()
    wake_writer.setblocking(False)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    previous_fd = signal.set_wakeup_fd(wake_writer.fileno(), warn_on_full_buffer=False)
    probe = _probe(config)
    transport = _link(config, token)
    sender = Sender(
        outbox, transport, host_id=config.host_id, heartbeat_interval=config.heartbeat_interval,
        batch_size=config.batch_size, linger=config.report_delay,
        delivered=lambda at: record_delivery(config.state_dir, at),
        before_round=_before_round(
            TokenKeeper(config.token_file, transport, timedelta(seconds=config.token_max_age),
                        lambda: datetime.now(UTC)),
            FactsReporter(transport),
        ),
    )
    scheduler = CheckScheduler(
        [CheckRunner(check, probe) for check in config.checks], outbox, on_result=sender.notify,
    )
    worker = None
    if config.playbooks is not None and config.playbooks.is_dir():
        # the sender's link: a token rotation (TokenKeeper) reaches the job worker too
        worker = JobWorker(outbox, transport, config.playbooks, allow_repairs=config.allow_repairs,
                           signing_key=config.playbook_signing_key, checks=config.checks)
    pid_file = write_pid(config.state_dir, os.getpid())
    try:
        log.info("agent for host %s reporting to %s (%s); %d check(s), %d result(s) waiting in the outbox,"
                 " %d rejected", config.host_id, config.collector, _route(config), len(config.checks),
                 outbox.count(), outbox.rejected_count())
        # Everything made so far (modules, config, runners) lives as long as the process: keep it out
        # of the cyclic garbage collector's full passes, which would otherwise walk it again and again.
        gc.freeze()
        sender.start()
        scheduler.start()
        if worker is not None:
            worker.start()
        while not stop.is_set():  # the handler has run by the time is_set() is called
            wake.recv(64)
    finally:
        if worker is not None:
            worker.stop(timeout=1)  # a long-poll in flight ends with the process
        scheduler.shutdown(wait=True)  # running checks end by their timeouts; their results are queued
        sender.stop(timeout=40)
        transport.close()
        _close_probe(probe)
        outbox.close()
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        wake.close()
        wake_writer.close()
        pid_file.unlink(missing_ok=True)
    log.info("stopped")
    return 0


def _before_round(*hooks: Callable[[], None]) -> Callable[[], None]:
    """Return one hook calling each of `hooks` in turn (token upkeep, then the host facts)."""
    def run() -> None:
        for hook in hooks:
            hook()
    return run


def cmd_check(args: argparse.Namespace) -> int:
    """Run every configured check once (concurrently), print the results and return the worst status."""
    config = load_config(args.config)
    probe = _probe(config)
    try:
        runners = [CheckRunner(check, probe) for check in config.checks]
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="check") as pool:
            results = list(zip(config.checks, pool.map(CheckRunner.run, runners), strict=True))
    finally:
        _close_probe(probe)
    if args.json:
        items = []
        for check, result in results:
            item = result_entry("", check.name, check.type, result,
                                interval=check.interval, max_attempts=check.max_attempts)
            del item["id"]  # nothing was queued: there is no result id
            items.append(item | {"status_name": result.status.name})
        print(json.dumps(items, indent=2, allow_nan=False))
    else:
        for check, result in results:
            perf = " ".join(m.to_text() for m in result.metrics)
            print(f"{check.name} {result.status.name} {result.summary}" + (f" | {perf}" if perf else ""))
    return int(worst([r.status for _, r in results]))


def cmd_install(args: argparse.Namespace) -> int:
    """Install the hardened systemd unit for an enrolled config; enable and start it where systemd runs."""
    try:
        report = install(args.config, user=args.user, start=not args.no_start, root=args.root)
    except InstallError as exc:
        print(f"fernwart-agent: install failed: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print("\n".join(report.lines))
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    """Stop and remove the unit; say what was kept (config, token, outbox) unless --purge."""
    print("\n".join(uninstall(purge=args.purge, root=args.root).lines))
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    """Rotate the agent token now; a running agent picks the new one up before its next round."""
    config = load_config(args.config)
    link = _link(config, _read_token(config))
    try:
        rotate(link, config.token_file)
    except (CollectorError, RotateError) as exc:
        print(f"fernwart-agent: rotation failed, the old token stays: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        link.close()
    print(f"rotated the agent token: {config.token_file} (mode 0600)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print whether the agent runs and delivers; exit 0 when healthy, 1 when not."""
    status = agent_status(load_config(args.config), datetime.now(UTC))
    print(render_status(status), end="")
    return 0 if status.healthy else EXIT_FAILURE


def cmd_checks(args: argparse.Namespace) -> int:
    """List every registered check type with its options and default thresholds."""
    print(render_text(), end="")
    return 0


def cmd_outbox_list(args: argparse.Namespace) -> int:
    """Print the outbox's results (pending, then rejected with the collector's reason) and the counts."""
    with _open_outbox(args) as outbox:
        if outbox is None:
            return EXIT_FAILURE
        listed = outbox.listing(pending=not args.rejected)
        pending = outbox.count()
        rejected = outbox.rejected_count()
    for entry in listed:
        line = f"{entry.id}  {entry.check}  {entry.observed_at}  {entry.state}"
        if entry.state == REJECTED:
            line += f"  HTTP {entry.status} at {entry.rejected_at}: {entry.reason}"
        print(line)
    print(f"{pending} pending, {rejected} rejected")
    return 0


def cmd_outbox_requeue(args: argparse.Namespace) -> int:
    """Move rejected results back to the queue, to be sent again by the (running or next) agent."""
    with _open_outbox(args) as outbox:
        if outbox is None:
            return EXIT_FAILURE
        try:
            moved = outbox.requeue(None if args.all_rejected else args.ids)
        except UnknownEntries as exc:
            print(f"fernwart-agent: not rejected results in the outbox: {exc}; nothing requeued",
                  file=sys.stderr)
            return EXIT_FAILURE
    print(f"requeued {len(moved)} result(s)")
    return 0


def cmd_outbox_drop(args: argparse.Namespace) -> int:
    """Delete results from the outbox for good, pending or rejected."""
    with _open_outbox(args) as outbox:
        if outbox is None:
            return EXIT_FAILURE
        try:
            dropped = outbox.drop(None if args.all_rejected else args.ids)
        except UnknownEntries as exc:
            print(f"fernwart-agent: not in the outbox: {exc}; nothing dropped", file=sys.stderr)
            return EXIT_FAILURE
    print(f"dropped {len(dropped)} result(s)")
    return 0


@contextlib.contextmanager
def _open_outbox(args: argparse.Namespace) -> Iterator[Outbox | None]:
    """Open the config's outbox (yield None after saying why on stderr when it cannot be opened)."""
    config = load_config(args.config)
    try:
        outbox = Outbox(config.outbox)
    except (OSError, sqlite3.Error) as exc:
        print(f"fernwart-agent: cannot open the outbox {config.outbox}: {exc}", file=sys.stderr)
        yield None
        return
    try:
        yield outbox
    finally:
        outbox.close()
def _library_dir(args: argparse.Namespace) -> tuple[Path, bool, bytes | None]:
    """Return the playbooks directory (from --dir, or the config's), whether repairs are allowed and the
    signing key (the config's, also with --dir)."""
    config = load_config(args.config) if args.config is not None else None
    if args.dir is not None:
        return args.dir, args.allow_repairs, config.playbook_signing_key if config else None
    if config is None:
        raise ConfigError("give --config FILE or --dir DIRECTORY")
    assert config.playbooks is not None
    return config.playbooks, config.allow_repairs, config.playbook_signing_key


def cmd_install_playbooks(args: argparse.Namespace) -> int:
    """Copy the playbooks shipped with Fernwart into this agent's playbooks directory."""
    directory, _, _ = _library_dir(args)
    source = args.source or shipped_directory()
    if source is None:
        print("fernwart-agent: this installation has no shipped playbooks; give --from DIR", file=sys.stderr)
        return EXIT_FAILURE
    for line in install_playbooks(source, directory, force=args.force):
        print(line)
    return 0


def cmd_playbooks(args: argparse.Namespace) -> int:
    """List the playbooks this agent holds with version, kind and hash; name every invalid file's problems."""
    directory, allow_repairs, signing_key = _library_dir(args)
    library = load_library(directory, signing_key)
    if args.json:
        print(json.dumps([held_entry(p) for p in library.playbooks.values()], indent=2))
    else:
        signed = f"; signed by key {library.signed_by}" if library.signed_by else ""
        signed = signed if signing_key is None or library.signed_by else "; signing required"
        print(f"{directory} (repairs {'allowed' if allow_repairs else 'not allowed'}{signed}):")
        for playbook in library.playbooks.values():
            print(f"{playbook.name} v{playbook.version} {playbook.kind} sha256:{playbook.digest}")
    for problem in library.problems:
        print(f"fernwart-agent: {problem}", file=sys.stderr)
    for name, why in library.refused.items():
        print(f"fernwart-agent: not held: {name}: {why}", file=sys.stderr)
    return EXIT_FAILURE if library.problems or library.refused else 0


def cmd_run_playbook(args: argparse.Namespace) -> int:
    """Run one held playbook here and now; print each step's output; exit 0 only when it succeeded."""
    directory, allow_repairs, signing_key = _library_dir(args)
    library = load_library(directory, signing_key)
    playbook = library.playbooks.get(args.name)
    if playbook is None and args.name in library.refused:
        print(f"fernwart-agent: refused: {library.refused[args.name]}", file=sys.stderr)
        return EXIT_FAILURE
    if playbook is None:
        print(f"fernwart-agent: no valid playbook {args.name!r} in {directory}", file=sys.stderr)
        return EXIT_FAILURE
    given = dict(item.split("=", 1) for item in args.param)
    try:
        values = prepare(playbook, given, allow_repairs=allow_repairs)
    except Refused as exc:
        print(f"fernwart-agent: refused: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    outcome = execute(playbook, values)
    if args.json:
        print(json.dumps(outcome.to_dict(), indent=2))
    else:
        for step in outcome.steps:
            flags = " (truncated)" if step.truncated else ""
            code = "" if step.exit_code is None else f" exit {step.exit_code}"
            print(f"== {step.name} [{step.kind}] {step.status.value}{code} {step.duration:.2f}s{flags}")
            if step.output:
                print(step.output.rstrip("\n"))
        print(f"== {playbook.name}: {outcome.state.value}" + (f" ({outcome.error})" if outcome.error else ""))
    return 0 if outcome.state == RunState.SUCCEEDED else EXIT_FAILURE


def _link(config: AgentConfig, token: str) -> CollectorLink:
    """Return the link to the config's collector: its pinned CA (or the system's store), its proxy, and
    this agent's instance id."""
    return CollectorLink(config.collector, token, ca_file=config.ca_file, proxies=config.proxies,
                         instance_id=instance_id(config.state_dir))


def _route(config: AgentConfig) -> str:
    """Say how the collector is reached, for the start line: the CA trusted and the proxy (no credentials)."""
    parts = urlsplit(config.collector)
    trust = f"trusting {config.ca_file}" if config.ca_file is not None else "trusting the system's CA store"
    via = config.proxies.describe(parts.scheme, parts.hostname or "")
    return f"{via}, {trust}" if parts.scheme == "https" else via


def _probe(config: AgentConfig) -> Probe:
    config.state_dir.mkdir(parents=True, exist_ok=True)
    return Probe(state_dir=config.state_dir)


def _close_probe(probe: Probe) -> None:
    close = getattr(probe.http, "close", None)
    if close is not None:
        close()


def _read_token(config: AgentConfig) -> str:
    try:
        token = config.token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{config.path}: token_file: cannot read {str(config.token_file)!r}: "
                          f"{exc.strerror or exc}; enroll first") from None
    if not token:
        raise ConfigError(f"{config.path}: token_file: {str(config.token_file)!r} is empty; enroll again")
    return token


def _param(text: str) -> str:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fernwart-agent", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("enroll", help="register this host with a collector and write the config")
    p.add_argument("--collector", required=True, help="collector base URL, e.g. https://collector:8443")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--token", help="enrollment token (fwe_...), or - to read it from standard input")
    source.add_argument("--token-file", type=Path, help="read the enrollment token from this file")
    p.add_argument("--config", required=True, type=Path, help="config file to write")
    p.add_argument("--hostname", help="name to register (default: this host's name)")
    p.add_argument("--force", action="store_true", help="replace an existing config")
    p.add_argument("--replace", action="store_true",
                   help="take over the already enrolled host of this name (needs a token made with "
                        "`fernwart-collector token create --replace HOST`)")
    p.add_argument("--ca", "--ca-file", dest="ca", type=Path, metavar="FILE",
                   help="PEM CA bundle the collector's certificate must verify against; copied beside the "
                        "config and trusted from then on (default: the system's CA store)")
    p.add_argument("--proxy", metavar="URL",
                   help="HTTP proxy, http://[user:password@]host:port; written to the config "
                        "(default: HTTPS_PROXY/NO_PROXY from the environment, not written)")
    p.set_defaults(func=cmd_enroll)

    p = commands.add_parser("run", help="run checks and report until SIGTERM/SIGINT")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(func=cmd_run)

    p = commands.add_parser("check", help="run every configured check once; exit with the worst status")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--json", action="store_true", help="print a JSON list instead of text lines")
    p.set_defaults(func=cmd_check)

    p = commands.add_parser("install", help="install and start the agent as a hardened systemd service")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                   help=f"enrolled config (default {DEFAULT_CONFIG})")
    p.add_argument("--user", help="run as this system user, created if missing (default: root without "
                                  "capabilities)")
    p.add_argument("--no-start", action="store_true", help="write and enable the unit, do not start it")
    p.add_argument("--root", type=Path, default=Path("/"),
                   help="install below this directory (images, tests)")
    p.set_defaults(func=cmd_install)

    p = commands.add_parser("uninstall", help="stop and remove the service; keeps config and outbox")
    p.add_argument("--purge", action="store_true", help="also remove config, token, outbox and state")
    p.add_argument("--root", type=Path, default=Path("/"), help="as given to install")
    p.set_defaults(func=cmd_uninstall)

    p = commands.add_parser("rotate", help="rotate the agent token now (the agent also does every 30 days)")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    p.set_defaults(func=cmd_rotate)

    p = commands.add_parser("status",
                            help="running?, last delivery, outbox, token age; exit 1 unless healthy")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    p.set_defaults(func=cmd_status)

    p = commands.add_parser("checks", help="list the check types with their options and defaults")
    p.set_defaults(func=cmd_checks)

    p = commands.add_parser("outbox", help="list, requeue or drop the results waiting in the outbox")
    outbox = p.add_subparsers(dest="outbox_command", required=True)
    q = outbox.add_parser("list", help="id, check, observed_at, state (pending/rejected) and reason")
    q.add_argument("--config", required=True, type=Path)
    q.add_argument("--rejected", action="store_true", help="only the results the collector refused")
    q.set_defaults(func=cmd_outbox_list)
    for name, func, what in (("requeue", cmd_outbox_requeue, "send rejected results again"),
                             ("drop", cmd_outbox_drop, "delete results for good (pending or rejected)")):
        q = outbox.add_parser(name, help=what)
        q.add_argument("--config", required=True, type=Path)
        chosen = q.add_mutually_exclusive_group(required=True)
        chosen.add_argument("ids", nargs="*", default=[], metavar="ID", help="result ids from `outbox list`")
        chosen.add_argument("--all-rejected", action="store_true", help="every rejected result")
        q.set_defaults(func=func)
    for name, func, text in (
        ("playbooks", cmd_playbooks, "list the playbooks this agent holds, with their hashes"),
        ("run-playbook", cmd_run_playbook, "run one held playbook on this host now"),
    ):
        p = commands.add_parser(name, help=text)
        p.add_argument("--config", type=Path, help="agent config (its playbooks: and allow_repairs:)")
        p.add_argument("--dir", type=Path, help="a playbooks directory instead of the config's")
        p.add_argument("--allow-repairs", action="store_true", help="with --dir: allow repair playbooks")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=func)
        if name == "run-playbook":
            p.add_argument("name", help="the playbook's name")
            p.add_argument("--param", action="append", default=[], type=_param, metavar="NAME=VALUE")
    p = commands.add_parser("install-playbooks",
                            help="copy the shipped playbooks into this agent's directory")
    p.add_argument("--config", type=Path, help="agent config (its playbooks: directory)")
    p.add_argument("--dir", type=Path, help="a playbooks directory instead of the config's")
    p.add_argument("--from", dest="source", type=Path, help="copy from here instead of the shipped ones")
    p.add_argument("--force", action="store_true", help="replace files that differ from the shipped ones")
    p.set_defaults(func=cmd_install_playbooks, allow_repairs=False)
    return parser


if __name__ == "__main__":
    sys.exit(main())
