"""What a `collect` step runs over SSH: for each built-in fact, a documented command, or "needs the agent".

The agent reads facts in-process (psutil, /proc); over SSH the collector runs fixed commands instead, the
options (already typed by the playbook's parameters) as whole arguments, and trims their output here:

| fact | over SSH |
|---|---|
| top_processes | `ps -eo pid,user,pcpu,rss,args --sort=-pcpu` and `--sort=-rss`, first `count` rows |
| disk_usage | `df -P -k PATH`, then `du -x -k -d DEPTH -- PATH`, largest `count` |
| mounts | `df -P -T -k` and `df -P -i` |
| listening_sockets | `ss -H -l -n -t -u -p` |
| unit_status, journal, failed_units, pending_updates | the agent's commands (systemctl, journalctl, apt) |
| routes, interfaces | `ip route show`, `ip -brief address show` |
| dns | `getent ahosts -- NAME` |
| packages | `dpkg-query -W -f ... -- NAMES` |
| reboots | `journalctl --list-boots`, last `count` |
| kernel_messages | `dmesg --ctime --nopager`, last `lines` |
| memory, load | `cat /proc/meminfo`, `cat /proc/loadavg /proc/pressure/cpu` |
| files, certificate, reachability | need the agent (not run over SSH) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Options = Mapping[str, Any]


@dataclass(frozen=True)
class FactCommand:
    """One command of a fact: its argv, how its output is cut down (default: kept as it is), and the exit
    codes that mean it worked; None: whatever it says is the answer (systemd or the journal not
    available, a stopped unit), as the agent's facts report it."""

    argv: list[str]
    trim: Callable[[str], str] = field(default=lambda text: text)
    ok_codes: tuple[int, ...] | None = (0,)


def _first(lines: int) -> Callable[[str], str]:
    return lambda text: "\n".join(text.splitlines()[:lines])


def _last(lines: int) -> Callable[[str], str]:
    return lambda text: "\n".join(text.splitlines()[-lines:])


def _largest(count: int) -> Callable[[str], str]:
    def trim(text: str) -> str:
        rows = []
        for line in text.splitlines():
            size, _, path = line.partition("\t")
            if size.isdigit():
                rows.append((int(size), path))
        rows.sort(reverse=True)
        return "\n".join(f"{_size(kib * 1024):>10}  {path}" for kib, path in rows[:count])
    return trim


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return str(value)


def _top(options: Options) -> list[FactCommand]:
    count = int(options.get("count", 10))
    fields = "pid,user,pcpu,rss,args"
    return [FactCommand(["ps", "-eo", fields, "--sort=-pcpu"], _first(count + 1)),
            FactCommand(["ps", "-eo", fields, "--sort=-rss"], _first(count + 1))]


def _disk_usage(options: Options) -> list[FactCommand]:
    path = str(options.get("path", "/"))
    depth = str(int(options.get("depth", 2)))
    return [FactCommand(["df", "-P", "-k", path]),
            FactCommand(["du", "-x", "-k", "-d", depth, "--", path], _largest(int(options.get("count", 20))),
                        ok_codes=(0, 1))]  # du exits 1 for the directories it may not read


def _journal(options: Options) -> list[FactCommand]:
    argv = ["journalctl", "--no-pager", "--quiet", "--lines", str(int(options.get("lines", 50)))]
    if "since" in options:
        argv += ["--since", f"-{int(options['since'])}s"]
    if "priority" in options:
        argv += ["--priority", str(options["priority"])]
    if "unit" in options:
        argv += ["--unit", str(options["unit"])]
    return [FactCommand(argv, ok_codes=None)]


def _packages(options: Options) -> list[FactCommand]:
    wanted = options.get("names")
    names = [str(n) for n in wanted] if isinstance(wanted, list) else ([str(wanted)] if wanted else [])
    return [FactCommand(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\\n", "--",
                         *names], _first(200), ok_codes=(0, 1))]  # 1: some name is not installed


COMMANDS: dict[str, Callable[[Options], list[FactCommand]]] = {
    "top_processes": _top,
    "disk_usage": _disk_usage,
    "mounts": lambda o: [FactCommand(["df", "-P", "-T", "-k"]), FactCommand(["df", "-P", "-i"])],
    "listening_sockets": lambda o: [FactCommand(["ss", "-H", "-l", "-n", "-t", "-u", "-p"])],
    "unit_status": lambda o: [FactCommand(["systemctl", "status", "--no-pager", "--full", "--lines",
                                           str(int(o.get("lines", 20))), "--", str(o["unit"])],
                                          ok_codes=None)],  # a stopped unit is the answer
    "journal": _journal,
    "failed_units": lambda o: [FactCommand(["systemctl", "list-units", "--failed", "--no-pager", "--plain",
                                            "--no-legend"], ok_codes=None)],
    "routes": lambda o: [FactCommand(["ip", "route", "show"])],
    "dns": lambda o: [FactCommand(["getent", "ahosts", "--", str(o.get("name", "localhost"))])],
    "interfaces": lambda o: [FactCommand(["ip", "-brief", "address", "show"])],
    "packages": _packages,
    "pending_updates": lambda o: [FactCommand(["apt-get", "--simulate", "--quiet", "--quiet", "upgrade"])],
    "reboots": lambda o: [FactCommand(["journalctl", "--list-boots", "--no-pager", "--quiet"],
                                      _last(int(o.get("count", 10))), ok_codes=None)],
    "kernel_messages": lambda o: [FactCommand(["dmesg", "--ctime", "--nopager"],
                                              _last(int(o.get("lines", 50))), ok_codes=None)],
    "memory": lambda o: [FactCommand(["cat", "/proc/meminfo"], _first(20))],
    "load": lambda o: [FactCommand(["cat", "/proc/loadavg"]),
                       FactCommand(["cat", "/proc/pressure/cpu"], ok_codes=None)],
}
NEEDS_AGENT = frozenset({"files", "certificate", "reachability"})


def commands_for(fact: str, options: Options) -> list[FactCommand] | None:
    """Return the commands that tell `fact` over SSH, or None when the fact needs the agent."""
    build = COMMANDS.get(fact)
    return None if build is None else build(options)
