"""`fernwart`: the technicians' command-line client of the collector API.

Human output by default, the API's JSON with ``--json``. Exit codes: 0 done, 1 the collector refused or
could not be reached (its `error` message on stderr), 2 a usage or configuration mistake.
The collector URL and API token come from FERNWART_URL / FERNWART_TOKEN or the config file (see config.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from fernwart.client import bundle, render
from fernwart.client.api import ApiError, Client
from fernwart.client.config import DEFAULT_PATH, ConfigError, load

# CLI verb -> API action under /api/v1/tickets/{id}/, and what the human output says happened.
TICKET_ACTIONS: dict[str, tuple[str, str]] = {
    "ack": ("acknowledge", "acknowledged"),
    "comment": ("comment", "commented"),
    "resolve": ("resolve", "resolved"),
    "start": ("start", "work started"),
    "wait": ("wait", "waiting for the customer"),
    "resume": ("resume", "resumed"),
    "close": ("close", "closed"),
    "reopen": ("reopen", "reopened"),
    "escalate": ("escalate", "escalated"),
    "handback": ("handback", "handed back"),
}
ACTION_HELP = {
    "ack": "acknowledge a ticket (stops its response clock)",
    "comment": "add a comment to a ticket's history",
    "resolve": "resolve a ticket",
    "start": "start work on a ticket (acknowledges it if needed)",
    "wait": "wait for the customer (pauses the SLA clocks)",
    "resume": "stop waiting for the customer (clocks run again)",
    "close": "close a resolved ticket for good",
    "reopen": "reopen a resolved ticket (its resolution clock resumes)",
    "escalate": "raise a ticket one support level and page that level",
    "handback": "hand a ticket back one support level",
}
Command = Callable[[Client, argparse.Namespace], Any]


class UsageError(Exception):
    """A mistake on the command line the parser cannot see (an ambiguous host, an unreadable file)."""


def _show(args: argparse.Namespace, answer: Any, human: Callable[[Any], str]) -> None:
    print(json.dumps(answer, indent=2, ensure_ascii=False) if args.json else human(answer))


def cmd_hosts(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get("/hosts"), render.hosts)


def _host_id(client: Client, wanted: str) -> str:
    """Return the id of the host named or numbered `wanted`; UsageError when the name is ambiguous."""
    found = [h for h in client.get("/hosts") if wanted in (h["id"], h["name"])]
    if len(found) > 1:
        choices = ", ".join(f"{h['id']} ({h['customer'] or 'no customer'})" for h in found)
        raise UsageError(f"host name {wanted!r} is ambiguous; give one of the ids: {choices}")
    if not found:
        raise ApiError(f"host {wanted!r} not found", 404)
    return str(found[0]["id"])


def cmd_host(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get(f"/hosts/{_host_id(client, args.host)}"), render.host)


def cmd_approve(client: Client, args: argparse.Namespace) -> None:
    approved = client.post(f"/hosts/{_host_id(client, args.host)}/approve", {})
    _show(args, approved, lambda h: f"host {h['name']} approved; its results count from {h['approved_at']}")


def cmd_checks(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get(f"/hosts/{_host_id(client, args.host)}/checks"), render.checks)


def cmd_tickets(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get("/tickets", state=args.state, host=args.host, limit=args.limit), render.tickets)


def cmd_ticket(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get(f"/tickets/{args.id}"), render.ticket)


def cmd_action(client: Client, args: argparse.Namespace) -> None:
    action, done = TICKET_ACTIONS[args.command]
    ticket = client.act(args.id, action, args.message or "")
    _show(args, ticket, lambda t: f"#{t['id']} {done}: now {t['state']}, level {t['level']}")


def cmd_availability(client: Client, args: argparse.Namespace) -> None:
    if (args.month is None) == (args.start is None and args.end is None) or (args.start is None) != (
        args.end is None
    ):
        raise UsageError("give --month YYYY-MM, or both --from and --to")
    report = client.get("/availability", customer=args.customer, month=args.month,
                        **{"from": args.start, "to": args.end})
    _show(args, report, render.availability)


REPORT_FORMATS = ("pdf", "html", "csv", "json")
TEXT_FORMATS = ("html", "json")


def cmd_report(client: Client, args: argparse.Namespace) -> None:
    """Fetch (or, with --revise, remake) a monthly SLA report; write it to -o FILE, stdout or its own name.

    Without -o, HTML and JSON go to stdout and PDF and CSV (a zip) to the file name the collector gives,
    in the current directory; `-o -` forces stdout.
    """
    if args.revise is not None:
        client.post("/reports/monthly/revisions",
                    {"customer": args.customer, "month": args.month, "reason": args.revise})
    content, suggested = client.download("/reports/monthly", customer=args.customer, month=args.month,
                                         format=args.format)
    target = args.output or ("-" if args.format in TEXT_FORMATS else None)
    if target is None:
        target = Path(suggested or f"sla-report-{args.month}.{args.format}").name  # never a path from afar
    if target == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        Path(target).write_bytes(content)
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"wrote {target} ({len(content)} bytes)", file=sys.stderr)


def cmd_windows_list(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get("/windows", customer=args.customer, active_at=args.active_at), render.windows)


def cmd_windows_add(client: Client, args: argparse.Namespace) -> None:
    body = {"customer": args.customer, "name": args.name, "scope": args.scope, "from": args.start,
            "to": args.end, "reason": args.reason, "sla_relevant": args.sla_relevant}
    _show(args, client.post("/windows", body), lambda w: f"window #{w['id']} {w['name']!r} added\n"
          + render.windows([w]))


def cmd_windows_log(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get("/maintenance-log", customer=args.customer), render.maintenance_log)


def _contracts_yaml(items: list[dict[str, Any]]) -> str:
    """Return stored contracts as one contracts file (re-appliable), each customer's revision as comment."""
    notes = "".join(f"# {c['customer']}: revision {c['revision']}, applied {c['applied_at']} "
                    f"by {c['applied_by']}\n" for c in items)
    customers = [{**c["document"], "name": c["customer"]} for c in items]
    return notes + yaml.safe_dump({"customers": customers}, sort_keys=False, allow_unicode=True).rstrip()


def cmd_contracts_get(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get("/contracts", customer=args.customer), _contracts_yaml)


def cmd_contracts_apply(client: Client, args: argparse.Namespace) -> None:
    try:
        document = yaml.safe_load(Path(args.file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{args.file}: not valid YAML: {exc}".replace("\n", " ")) from None
    body = json.loads(json.dumps(document, default=_iso))  # YAML dates and times travel as ISO text
    answer = client.put("/contracts", body)
    _show(args, answer, lambda a: f"applied contracts for {', '.join(a['customers'])}; "
          f"{a['hosts_updated']} host criticalities updated")


def _iso(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot send {value!r} as JSON")


def _job_text(job: dict[str, Any]) -> str:
    via = " over SSH" if job.get("via") == "ssh" else ""
    lines = [f"job {job['id']} {job['playbook']} v{job['version']} ({job['kind']}) on {job['host_id']}{via}: "
             f"{job['state']}" + (f" - {job['error']}" if job.get("error") else "")]
    lines += [f"  {e['at']} {e['state']} {e['message']}".rstrip() for e in job.get("events", [])]
    for step in (job.get("result") or {}).get("steps", []):
        code = "" if step.get("exit_code") is None else f" exit {step['exit_code']}"
        lines.append(f"== {step['name']} [{step['kind']}] {step['status']}{code} {step['duration']:.2f}s"
                     + (" (truncated)" if step.get("truncated") else ""))
        lines.append(str(step.get("output", "")).rstrip())
    return "\n".join(lines)


FINAL_JOB_STATES = {"succeeded", "failed", "timed_out", "refused", "expired", "cancelled"}


def cmd_diag_run(client: Client, args: argparse.Namespace) -> None:
    params = {}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--param expects NAME=VALUE, got {item!r}")
        params[name] = value
    body: dict[str, Any] = {"playbook": args.playbook, "params": params, "ticket": args.ticket,
                            "via": args.via}
    job = client.post(f"/hosts/{_host_id(client, args.host)}/jobs", body)
    deadline = time.monotonic() + args.timeout
    while args.wait and job["state"] not in FINAL_JOB_STATES and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/jobs/{job['id']}")
    _show(args, job, _job_text)


def cmd_diag_jobs(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get(f"/hosts/{_host_id(client, args.host)}/jobs"),
          lambda jobs: "\n".join(f"{j['id']} {j['created_at']} {j['playbook']} {j['state']} by "
                                 f"{j['requested_by']}" for j in jobs) or "no jobs")


def cmd_diag_show(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get(f"/jobs/{args.id}"), _job_text)


def cmd_diag_cancel(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.post(f"/jobs/{args.id}/cancel", {}), _job_text)


def cmd_audit(client: Client, args: argparse.Namespace) -> None:
    _show(args, client.get("/audit", limit=args.limit), lambda rows: "\n".join(
        f"{r['at']} {r['actor']} {r['action']} {r['playbook']} v{r['version']} host {r['host_id']} "
        f"params {json.dumps(r['params'])} {r['outcome']}".rstrip() for r in rows) or "no entries")


def validate_playbooks(files: Sequence[str]) -> int:
    """Validate playbook files here, without a collector; print each problem with its place; 0 if all valid.

    Check options are checked by the agent that holds the playbook (`fernwart-agent playbooks`), which
    knows the check library; here the structure, parameters and substitutions are.
    """
    bad = 0
    for name in files:
        playbook = bundle.load_reporting(Path(name), name)
        if playbook is None:
            bad += 1
            continue
        print(f"{name}: ok: {playbook.name} v{playbook.version} {playbook.kind}, {len(playbook.steps)} steps,"
              f" sha256:{playbook.digest}")
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fernwart", description="Technicians' client of the Fernwart collector.",
        epilog=f"Configuration: FERNWART_URL and FERNWART_TOKEN, or --config (default {DEFAULT_PATH}) with "
        "url: and token:. Exit codes: 0 ok, 1 API error, 2 usage or configuration error.")
    parser.add_argument("--config", type=Path, metavar="FILE", help=f"client config (default {DEFAULT_PATH})")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--json", action="store_true", help="print the API's JSON")

    def add(name: str, func: Command, help_text: str, *parents: argparse.ArgumentParser) -> Any:
        command = sub.add_parser(name, help=help_text, parents=[out, *parents])
        command.set_defaults(func=func)
        return command

    add("hosts", cmd_hosts, "list hosts with their checks by status")
    add("host", cmd_host, "one host: approval, agent instance, reported facts, SSH host keys").add_argument(
        "host", help="name or id")
    add("approve", cmd_approve, "approve a host waiting for approval (level2, level3, admin)").add_argument(
        "host", help="name or id")
    add("checks", cmd_checks, "current state of a host's checks").add_argument("host", help="name or id")
    tickets = add("tickets", cmd_tickets, "list tickets (newest first)")
    tickets.add_argument("--state", default="open", help="open (default), all, or one state")
    tickets.add_argument("--host", help="only this host (name or id)")
    tickets.add_argument("--limit", type=int, default=200)
    add("ticket", cmd_ticket, "one ticket with its history").add_argument("id", type=int)
    for verb in TICKET_ACTIONS:
        command = add(verb, cmd_action, ACTION_HELP[verb])
        command.add_argument("id", type=int)
        command.add_argument("-m", "--message", required=verb == "comment", help="message for the history")
    report = add("availability", cmd_availability, "SLA report: SLI against target, downtime, outages")
    report.add_argument("--customer", required=True)
    report.add_argument("--month", help="YYYY-MM, in the contract's timezone")
    report.add_argument("--from", dest="start", help="ISO time (wall clock in the contract's timezone)")
    report.add_argument("--to", dest="end", help="ISO time, exclusive")
    monthly = sub.add_parser("report", help="monthly SLA report of a customer (pdf, html, csv zip, json)")
    monthly.set_defaults(func=cmd_report)
    monthly.add_argument("--customer", required=True)
    monthly.add_argument("--month", required=True, help="YYYY-MM, in the contract's timezone")
    monthly.add_argument("--format", choices=REPORT_FORMATS, default="pdf")
    monthly.add_argument("-o", "--output", metavar="FILE", help="where to write it; - for stdout")
    monthly.add_argument("--revise", metavar="REASON",
                         help="make a closed month's report again as a new revision, saying why (admins)")
    _windows(sub, out)
    _diag(sub, out)
    _deploy(sub)
    audit = add("audit", cmd_audit, "who ran which playbook where, and how it ended")
    audit.add_argument("--limit", type=int, default=200)
    playbooks = sub.add_parser("playbooks", help="playbook files (checked here, no collector needed)")
    psub = playbooks.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = psub.add_parser("validate", help="validate playbook files; name the place of every problem")
    check.add_argument("files", nargs="+", metavar="FILE")
    keygen = psub.add_parser("keygen", help="make an Ed25519 key pair for signing playbooks (offline)")
    keygen.add_argument("--out", type=Path, required=True, metavar="KEY", help="private key; KEY.pub beside")
    signer = psub.add_parser("sign", help="sign a playbooks directory: writes DIR/playbooks.sig")
    signer.add_argument("--key", type=Path, required=True, metavar="KEY", help="the private key file")
    signer.add_argument("directory", type=Path, metavar="DIR")
    contracts = sub.add_parser("contracts", help="read or apply maintenance contracts")
    csub = contracts.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = csub.add_parser("get", parents=[out], help="print stored contracts as a contracts file")
    get.add_argument("--customer")
    get.set_defaults(func=cmd_contracts_get)
    apply = csub.add_parser("apply", parents=[out], help="apply a contracts YAML file whole (admins)")
    apply.add_argument("file")
    apply.set_defaults(func=cmd_contracts_apply)
    return parser


def _deploy(sub: Any) -> None:
    """Add `deploy` and `known-hosts`; their SSH part (paramiko) is imported only when they run."""
    try:
        from fernwart.deploy.cli import add_commands
    except ImportError:  # paramiko missing: the other commands still work
        return
    add_commands(sub)


def _diag(sub: Any, out: argparse.ArgumentParser) -> None:
    diag = sub.add_parser("diag", help="run playbooks on hosts through their agents or over SSH "
                          "(Ferndiagnose)")
    dsub = diag.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = dsub.add_parser("run", parents=[out], help="queue a playbook the host's agent holds (or, with "
                          "--via ssh, one the collector holds, run by the collector over SSH)")
    run.add_argument("host", help="name or id")
    run.add_argument("playbook")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--ticket", type=int, help="put the output into this ticket's history")
    run.add_argument("--via", choices=["agent", "ssh"], default="agent",
                     help="agent (default): the host's agent runs it; ssh: the collector runs it over SSH")
    run.add_argument("--wait", action="store_true", help="wait for the result and print it")
    run.add_argument("--timeout", type=float, default=600, help="seconds --wait waits (default 600)")
    run.set_defaults(func=cmd_diag_run)
    jobs = dsub.add_parser("jobs", parents=[out], help="a host's jobs, newest first")
    jobs.add_argument("host")
    jobs.set_defaults(func=cmd_diag_jobs)
    for name, func in (("show", cmd_diag_show), ("cancel", cmd_diag_cancel)):
        command = dsub.add_parser(name, parents=[out], help=f"{name} one job")
        command.add_argument("id")
        command.set_defaults(func=func)


def _windows(sub: Any, out: argparse.ArgumentParser) -> None:
    windows = sub.add_parser("windows", help="maintenance windows")
    wsub = windows.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = wsub.add_parser("list", parents=[out], help="contract and ad-hoc windows, next occurrences")
    listing.add_argument("--customer", required=True)
    listing.add_argument("--active-at", help="only windows open at this ISO time (with offset)")
    listing.set_defaults(func=cmd_windows_list)
    added = wsub.add_parser("add", parents=[out], help="add an ad-hoc window (logged)")
    for flag, dest in (("--customer", "customer"), ("--name", "name"), ("--from", "start"),
                       ("--to", "end"), ("--reason", "reason")):
        added.add_argument(flag, dest=dest, required=True)
    added.add_argument("--scope", default="all", help="all, host:NAME, check:NAME, host:NAME/check:NAME")
    added.add_argument("--sla-relevant", action="store_true", help="count the window's time in the SLA")
    added.set_defaults(func=cmd_windows_add)
    log = wsub.add_parser("log", parents=[out], help="the maintenance log (evidence)")
    log.add_argument("--customer", required=True)
    log.set_defaults(func=cmd_windows_log)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one command; return the exit code (0 ok, 1 API error, 2 usage or configuration error)."""
    args = build_parser().parse_args(argv)
    if args.command == "playbooks" and args.action == "keygen":
        return bundle.keygen(args.out)
    if args.command == "playbooks" and args.action == "sign":
        return bundle.sign_directory(args.key, args.directory)
    if args.command == "playbooks":
        return validate_playbooks(args.files)
    try:
        if args.command in ("deploy", "known-hosts"):
            return _run_deploy(args, environ)
        config = load(args.config, os.environ if environ is None else environ)
        args.func(Client(config.url, config.token, config.timeout), args)
    except (ConfigError, UsageError) as exc:
        print(f"fernwart: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        message = str(exc).split(": ", 1)[0] + ":" if exc.problems else str(exc)  # problems follow
        print(f"fernwart: {message}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `fernwart tickets --json | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    return 0


def _run_deploy(args: argparse.Namespace, environ: Mapping[str, str] | None) -> int:
    from fernwart.deploy.cli import DeployUsageError, cmd_deploy, cmd_known_hosts

    try:
        if args.command == "known-hosts":
            return cmd_known_hosts(args)
        config = load(args.config, os.environ if environ is None else environ)
        return cmd_deploy(Client(config.url, config.token, config.timeout), args)
    except DeployUsageError as exc:
        raise UsageError(str(exc)) from None


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the interpreter's own flush at exit then finds no closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
