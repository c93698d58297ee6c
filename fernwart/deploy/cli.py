"""`fernwart deploy` and `fernwart known-hosts`: the technician's commands for push-install over SSH.

Exit codes of deploy: 0 every host installed, upgraded, started or unchanged; 1 any host failed (the
summary says why), or the collector refused or did not answer before any host was touched; 2 a usage
mistake (no hosts, a bad inventory line, an unreadable key or wheel).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from fernwart.client.api import Client
from fernwart.deploy import plan, wheels
from fernwart.deploy.host import CollectorSide, DeploySettings, HostFailure
from fernwart.deploy.inventory import InventoryError, Target, combine, parse_host, parse_inventory
from fernwart.deploy.progress import Progress, summary
from fernwart.deploy.remote import DEFAULT_KNOWN_HOSTS, Connector, trust_command
from fernwart.deploy.run import MAX_PARALLEL, deploy_all
from fernwart.ssh import KnownHosts, SSHError, fingerprint, scan_host_key


class DeployUsageError(Exception):
    """A deploy the command line cannot describe (no hosts, an unreadable file); exit 2."""


def add_commands(sub: Any) -> None:
    """Add `deploy` and `known-hosts` to the `fernwart` parser's subcommands."""
    deploy = sub.add_parser("deploy", help="install the agent on hosts over SSH (parallel, with rollback)",
                            description="Install the agent on hosts over SSH: wheels copied (no internet "
                            "needed there), a virtualenv, enrollment with a single-use token per host, the "
                            "service, and the first report awaited. Run it again: what is installed and "
                            "running stays as it is.")
    deploy.add_argument("hosts", nargs="*", metavar="HOST", help="[USER@]ADDRESS[:PORT]")
    deploy.add_argument("--inventory", type=Path, metavar="FILE",
                        help="hosts, one a line: ADDRESS [port=N] [user=U] [name=NAME]")
    deploy.add_argument("--ssh-user", required=True, help="user to log in as (root, or one with write "
                        "access to --prefix and the config)")
    deploy.add_argument("--key", type=Path, required=True, help="private key file for SSH")
    deploy.add_argument("--customer", required=True, help="customer the hosts belong to (must exist)")
    deploy.add_argument("--parallel", type=int, default=8, help=f"hosts at a time (default 8, at most "
                        f"{MAX_PARALLEL})")
    deploy.add_argument("--known-hosts", type=Path, default=DEFAULT_KNOWN_HOSTS.expanduser(),
                        help=f"host keys trusted (default {DEFAULT_KNOWN_HOSTS})")
    deploy.add_argument("--prefix", type=PurePosixPath, default=plan.DEFAULT_PREFIX,
                        help=f"where the virtualenv goes on the target (default {plan.DEFAULT_PREFIX})")
    deploy.add_argument("--agent-config", type=PurePosixPath,
                        help="agent config on the target (default /etc/fernwart/agent.yaml, or "
                        "PREFIX/etc/agent.yaml with another --prefix)")
    deploy.add_argument("--unit-root", type=PurePosixPath, default=PurePosixPath("/"),
                        help="write the systemd unit below this directory (images, tests; default /)")
    deploy.add_argument("--python", default="python3", help="Python 3.11+ on the target (default python3)")
    deploy.add_argument("--agent-user", help="run the agent as this system user (created if missing)")
    deploy.add_argument("--collector-url", help="URL the agents report to (default: the client's URL)")
    deploy.add_argument("--wheel", type=Path, metavar="FILE", help="fernwart's wheel (default: packed "
                        "from this install)")
    deploy.add_argument("--wheelhouse", type=Path, metavar="DIR",
                        help="the dependencies' wheels (default: packed from this install)")
    deploy.add_argument("--token-ttl", type=int, default=900, help="seconds an enrollment token lives "
                        "(default 900)")
    deploy.add_argument("--wait", type=float, default=180.0,
                        help="seconds to wait for a host's first report (default 180)")
    deploy.add_argument("--replace", action="store_true", help="enroll a machine as the existing host of "
                        "its name at the collector (a reinstalled machine)")
    deploy.add_argument("--start-without-systemd", action="store_true",
                        help="where systemd does not run, start the agent as a background process (it "
                        "does not survive a reboot); otherwise the unit is written and not started")
    known = sub.add_parser("known-hosts", help="the host keys `deploy` trusts")
    ksub = known.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (("trust", "record a host's key after checking its fingerprint"),
                       ("forget", "remove a host's recorded keys"), ("list", "list the recorded keys")):
        command = ksub.add_parser(name, help=text)
        if name != "list":
            command.add_argument("host", help="ADDRESS or [ADDRESS]:PORT or ADDRESS:PORT")
        if name == "trust":
            command.add_argument("--fingerprint", help="SHA256:... as checked with the host's owner; "
                                 "without it the offered key is shown and nothing recorded")
        command.add_argument("--known-hosts", type=Path, default=DEFAULT_KNOWN_HOSTS.expanduser())


def _host_for_keys(text: str) -> Target:
    try:
        return parse_host(text.replace("[", "").replace("]", "") if text.count(":") == 1 else text)
    except InventoryError as exc:
        raise DeployUsageError(str(exc)) from None


def cmd_known_hosts(args: argparse.Namespace) -> int:
    """Trust, forget or list host keys; exit 1 when the host offers another key than the one given."""
    known = KnownHosts(args.known_hosts)
    if args.action == "list":
        for entry in known.entries():
            print(f"{entry.name} {entry.key_type} {entry.fingerprint}")
        return 0
    target = _host_for_keys(args.host)
    if args.action == "forget":
        removed = known.forget(target.address, target.port)
        print(f"forgot {len(removed)} key(s) of {target.label}")
        return 0
    try:
        key = scan_host_key(target.address, target.port)
    except SSHError as exc:
        print(f"fernwart: {exc}", file=sys.stderr)
        return 1
    offered = fingerprint(key)
    if args.fingerprint is None:
        print(f"{target.label} offers {key.get_name()} {offered}; nothing recorded. Check it with the "
              f"host's owner, then run: {trust_command(target, offered, args.known_hosts)}")
        return 1
    if args.fingerprint != offered:
        print(f"fernwart: {target.label} offers {key.get_name()} {offered}, not {args.fingerprint}; "
              "nothing recorded", file=sys.stderr)
        return 1
    recorded = known.add(target.address, target.port, key)
    print(f"trusted {recorded.name} {recorded.key_type} {recorded.fingerprint} in {args.known_hosts}")
    return 0


def _targets(args: argparse.Namespace) -> list[Target]:
    groups = []
    try:
        groups.append([parse_host(h, f"host {h!r}") for h in args.hosts])
        if args.inventory is not None:
            try:
                text = args.inventory.read_text(encoding="utf-8")
            except OSError as exc:
                raise DeployUsageError(f"cannot read {args.inventory}: {exc.strerror}") from None
            groups.append(parse_inventory(text, str(args.inventory)))
        return combine(groups)
    except InventoryError as exc:
        raise DeployUsageError(str(exc)) from None


def cmd_deploy(client: Client, args: argparse.Namespace) -> int:
    """Deploy onto every host; print the summary; 1 when any host failed."""
    targets = _targets(args)
    if not args.key.is_file():
        raise DeployUsageError(f"--key {args.key}: no such file")
    if not 1 <= args.parallel <= MAX_PARALLEL:
        raise DeployUsageError(f"--parallel must be from 1 to {MAX_PARALLEL}")
    collector = CollectorSide(client, args.customer)
    client.get("/hosts")  # the collector answers and knows the token, before a host is touched
    try:  # the customer exists and this technician may enroll hosts: a token made and revoked at once
        probe, _ = collector.make_token(60)
        collector.revoke_token(probe)
    except HostFailure as exc:
        print(f"fernwart: {exc}", file=sys.stderr)
        return 1
    layout = plan.Layout(prefix=args.prefix, config=args.agent_config, unit_root=args.unit_root,
                         python=args.python, agent_user=args.agent_user)
    settings = DeploySettings(layout, (args.collector_url or client.url).rstrip("/"), args.token_ttl,
                              args.wait, args.replace, args.start_without_systemd)
    with tempfile.TemporaryDirectory(prefix="fernwart-wheels-") as directory:
        try:
            house = wheels.collect(Path(directory), args.wheel, args.wheelhouse)
        except wheels.WheelError as exc:
            raise DeployUsageError(str(exc)) from None
        own = house.fernwart
        print(f"deploying fernwart {own.version} (sha256 {own.sha256[:12]}, {len(house.all)} wheels) to "
              f"{len(targets)} host(s), {min(args.parallel, len(targets))} at a time; agents report to "
              f"{settings.collector_url}", file=sys.stderr)
        progress = Progress([t.label for t in targets], sys.stderr, sys.stderr.isatty())
        connector = Connector(args.ssh_user, args.key, args.known_hosts)
        reports = deploy_all(targets, connector, collector, house, settings, progress, args.parallel)
    print(summary(reports))
    return 1 if any(r.failed for r in reports) else 0
