#!/usr/bin/env python3
"""Agent footprint benchmark: the real agent with 20 checks, beside node_exporter and zabbix_agentd.

It starts a real collector (`fernwart-collector serve`, temporary FERNWART_HOME, free loopback port),
enrolls a real agent, replaces the enrolled config with a 20-check configuration (cpu, memory, swap, load,
three disk checks, two process counts, tcp to the collector's port, http to its /healthz, file_age, log,
uptime, service, dns of localhost, raid, three Monitoring Plugins) and runs `fernwart-agent run` once per
`--interval` (default 60 s, then 15 s) for `--minutes` each.

Side by side, during the whole run:

- Debian's `prometheus-node-exporter` (default collectors) on a free loopback port, scraped by this
  script every 15 s, as Prometheus would;
- Debian's `zabbix_agentd` 6.0 (C agent; minimal config in a temp dir, foreground, passive checks only,
  no active-check server), polled by this script over the Zabbix passive protocol with 20 items that
  mirror the agent's checks, at the same interval as the agent's current phase (zabbix_get is not
  installed; the protocol is a 13-byte header and a key). The agent's three plugins and systemctl run
  in Zabbix too, as ``system.run[]`` items, so both pay for the same programs.

Measurement, from /proc, sampled every second over the window that starts after the agent's first round
of checks (so start-up imports are reported apart and not extrapolated):

- CPU: utime+stime+cutime+cstime summed over the process tree (plugin subprocesses the agent reaped are
  in its cutime; zabbix_agentd's forked workers are live children and summed), extrapolated per hour;
- RSS: steady state is the median over the window's second half, peak the highest sample (and VmHWM for
  single processes); for zabbix_agentd's forked workers the sum of RSS over-counts shared pages, so the
  table also gives PSS (smaps_rollup), summed over the tree.

    .venv/bin/python bench/agent_footprint.py [--minutes 3] [--interval 60] [--interval 15]

The agent's checks run in rounds, one burst a minute at 60 s, so a window holds one round more or less
depending on where it starts: about ±20 % on a 5-minute window, ±5 % on 20 minutes (`--minutes 20`).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

BIN = Path(sys.executable).parent
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
ZABBIX_AGENTD = "/usr/sbin/zabbix_agentd"
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
WARMUP = 12.0  # seconds: first runs are spread over 5 s, the cpu check samples 1 s on its first run
NODE_SCRAPE = 15.0
TARGET_RSS_MB = 36.0
TARGET_CPU_H = 2.0


def free_port(low: int = 0, high: int = 0) -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago, from [low, high] when given."""
    for candidate in range(low, high + 1) if low else [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise SystemExit(f"no free port in {low}-{high}")


# --- /proc ---------------------------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/stat").read_text()
    return raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "; comm may contain spaces


def tree(root: int) -> list[int]:
    """Return `root` and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry))[1]), []).append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def cpu_seconds(pid: int, children_only: bool = False) -> float:
    """Return utime+stime+cutime+cstime of `pid` in seconds (only cutime+cstime with `children_only`)."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    # fields 14-17 of proc(5) are 11-14 after "pid (comm) "
    return sum(int(v) for v in fields[13 if children_only else 11:15]) / TICK


def status_kb(pid: int, key: str) -> int:
    """Return a kB field (VmRSS, VmHWM) of /proc/PID/status, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    """Return the proportional set size of `pid` in kB (0 when it is gone or unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Sample:
    at: float
    cpu: float
    child_cpu: float  # reaped children's CPU (the agent's plugins and systemctl), included in cpu
    rss_kb: int
    pss_kb: int
    hwm_kb: int


@dataclass
class Meter:
    """Samples one process tree; `window()` returns the figures between `mark` and now."""

    name: str
    pid: int
    samples: list[Sample] = field(default_factory=list)
    start: int = 0

    def sample(self) -> None:
        pids = tree(self.pid)
        self.samples.append(Sample(
            at=time.monotonic(),
            cpu=sum(cpu_seconds(p) for p in pids),
            child_cpu=sum(cpu_seconds(p, children_only=True) for p in pids),
            rss_kb=sum(status_kb(p, "VmRSS") for p in pids),
            pss_kb=sum(pss_kb(p) for p in pids),
            hwm_kb=status_kb(self.pid, "VmHWM") if len(pids) == 1 else 0,
        ))

    def mark(self) -> None:
        self.sample()
        self.start = len(self.samples) - 1

    def window(self) -> dict[str, float]:
        part = self.samples[self.start:]
        first, last = part[0], part[-1]
        hours = (last.at - first.at) / 3600
        second_half = part[len(part) // 2:]
        return {
            "seconds": last.at - first.at,
            "cpu_h": (last.cpu - first.cpu) / hours if hours else float("nan"),
            "child_cpu_h": (last.child_cpu - first.child_cpu) / hours if hours else float("nan"),
            "rss": statistics.median(s.rss_kb for s in second_half) / 1024,
            "pss": statistics.median(s.pss_kb for s in second_half) / 1024,
            "peak": max(max(s.rss_kb for s in part), max(s.hwm_kb for s in part)) / 1024,
            "procs": len(tree(self.pid)),
        }


# --- the competitors -------------------------------------------------------------------------------------

def scrape(url: str) -> int:
    """GET `url` and return the body's size; 0 on any error (the table says how many scrapes failed)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return len(answer.read())
    except OSError:
        return 0


def zabbix_get(port: int, key: str) -> str:
    """Ask zabbix_agentd on 127.0.0.1:`port` for one passive item; return its value text."""
    payload = key.encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"ZBXD\x01" + struct.pack("<Q", len(payload)) + payload)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    if not data.startswith(b"ZBXD"):
        return data.decode(errors="replace")
    size = struct.unpack("<Q", data[5:13])[0]
    return data[13:13 + size].decode(errors="replace")


def zabbix_items(collector_port: int, work: Path) -> list[str]:
    """Return 20 passive items that mirror the agent's checks.

    The agent's three Monitoring Plugins and its systemd unit check run the same programs in Zabbix, the
    way a Zabbix user brings Nagios plugins along: ``system.run[]`` (through ``/bin/sh -c``, as Zabbix
    runs every command). Both agents then pay for the same four programs a round.
    """
    plugins = "/usr/lib/nagios/plugins"
    return [
        "system.cpu.util[,user,avg1]", "vm.memory.size[pavailable]", "system.swap.size[,pfree]",
        "system.cpu.load[percpu,avg1]", "vfs.fs.size[/,pused]", "vfs.fs.inode[/,pused]",
        "vfs.fs.discovery", "proc.num[,,,fernwart-collector]", "proc.num[,root]",
        f"net.tcp.port[127.0.0.1,{collector_port}]", f"web.page.get[127.0.0.1,/healthz,{collector_port}]",
        f"vfs.file.time[{work / 'backups' / 'db.dump'},modify]", f"vfs.file.size[{work / 'app.log'}]",
        "system.uptime", f"net.tcp.service[tcp,127.0.0.1,{collector_port}]", "system.users.num",
        'system.run["systemctl show cron.service --no-pager'
        ' --property=LoadState,ActiveState,SubState,UnitFileState,Result"]',
        f'system.run["{plugins}/check_load -r -w 4,3,2 -c 8,6,4"]',
        f'system.run["{plugins}/check_disk -w 20% -c 10% -p /"]',
        f'system.run["{plugins}/check_procs -w 400 -c 800"]',
    ]


def zabbix_config(work: Path, port: int) -> Path:
    """Write a minimal zabbix_agentd config: passive checks from loopback, no active checks, console log."""
    conf = work / "zabbix_agentd.conf"
    conf.write_text(
        f"PidFile={work / 'zabbix_agentd.pid'}\nLogType=console\nDebugLevel=2\n"
        f"Server=127.0.0.1\nListenIP=127.0.0.1\nListenPort={port}\nHostname=bench\n"
        "StartAgents=3\nTimeout=10\nAllowRoot=1\nAllowKey=system.run[*]\n"
    )
    return conf


# --- Fernwart --------------------------------------------------------------------------------------------

def agent_checks(interval: int, collector_port: int, work: Path) -> list[dict[str, Any]]:
    """Return the 20-check configuration, every check at `interval`."""
    checks: list[dict[str, Any]] = [
        {"name": "cpu", "type": "cpu"},
        {"name": "memory", "type": "memory"},
        {"name": "swap", "type": "swap"},
        {"name": "load", "type": "load"},
        {"name": "disk-root", "type": "disk", "mounts": ["/"]},
        {"name": "disk-all", "type": "disk"},
        {"name": "disk-ext4", "type": "disk", "fs_types": ["ext4", "xfs", "btrfs"], "inode_warning": "85"},
        {"name": "proc-collector", "type": "process", "cmdline": "fernwart-collector", "min_count": 1},
        {"name": "proc-root", "type": "process", "user": "root", "min_count": 1, "max_count": 2000},
        {"name": "tcp-collector", "type": "tcp", "host": "127.0.0.1", "port": collector_port},
        {"name": "http-healthz", "type": "http", "url": f"http://127.0.0.1:{collector_port}/healthz",
         "body_pattern": "ok"},
        {"name": "backup-age", "type": "file_age", "directory": str(work / "backups"), "pattern": "*.dump"},
        {"name": "app-log", "type": "log", "path": str(work / "app.log"), "pattern": "ERROR",
         "warning": "5", "critical": "20"},
        {"name": "uptime", "type": "uptime", "warning": "60:"},
        {"name": "cron", "type": "service", "unit": "cron.service"},
        {"name": "dns-localhost", "type": "dns", "query": "localhost"},
        {"name": "raid", "type": "raid"},
        {"name": "plugin-load", "type": "plugin",
         "command": ["check_load", "-r", "-w", "4,3,2", "-c", "8,6,4"]},
        {"name": "plugin-disk", "type": "plugin",
         "command": ["check_disk", "-w", "20%", "-c", "10%", "-p", "/"]},
        {"name": "plugin-procs", "type": "plugin", "command": ["check_procs", "-w", "400", "-c", "800"]},
    ]
    for check in checks:
        check["interval"] = interval
        check["timeout"] = min(10, interval)
    return checks


def run(cmd: list[str], env: dict[str, str]) -> str:
    """Run a command, fail loudly, return its last stdout line."""
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scrape(url):
            return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:g}s")


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout:g}s")


def collector_counters(url: str) -> dict[str, float]:
    """Return fernwart_* counters from the collector's /metrics."""
    counters: dict[str, float] = {}
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(("fernwart_results_ingested_total", "fernwart_reports_total")):
                name, value = line.rsplit(" ", 1)
                counters[name] = float(value)
    return counters


def check_states(url: str, token: str, host_id: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{url}/api/v1/hosts/{host_id}/checks", headers={"Authorization": f"Bearer {token}"},
    )
    import json

    with urllib.request.urlopen(request, timeout=10) as answer:
        states: list[dict[str, Any]] = json.loads(answer.read())
    return states


@contextmanager
def process(
    cmd: list[str], log: Path, env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` with output to `log`; SIGTERM it (then SIGKILL) on exit."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(45)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class Ticker(threading.Thread):
    """Calls `action` every `every` seconds (first call at once) until `stop`."""

    def __init__(self, every: Callable[[], float], action: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.every, self.action, self.stopped = every, action, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            self.action()
            self.stopped.wait(max(0.0, self.every() - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stopped.set()
        self.join()


# --- the run ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table per interval."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="measured minutes per interval (3)")
    parser.add_argument("--interval", type=int, action="append", help="check interval(s), s (60 and 15)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--playbooks", choices=["none", "shipped", "signed"], default="shipped",
                        help="the agent's playbooks: none (no job channel), the shipped ones (default), "
                        "or shipped and signed, with playbook_signing_key configured")
    args = parser.parse_args(argv)
    intervals = args.interval or [60, 15]
    for binary in (NODE_EXPORTER, ZABBIX_AGENTD):
        if not Path(binary).exists():
            raise SystemExit(f"{binary} is missing: run `bash scripts/install-system-deps` as root")
    work = Path(tempfile.mkdtemp(prefix="fernwart-footprint-"))
    try:
        return bench(work, intervals, args.minutes, args.playbooks)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def bench(work: Path, intervals: list[int], minutes: float, playbooks: str = "shipped") -> int:
    home = work / "collector"
    home.mkdir()
    env = {**os.environ, "FERNWART_HOME": str(home)}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (work / "backups").mkdir()
    (work / "backups" / "db.dump").write_bytes(b"x" * 4096)
    logfile = work / "app.log"
    logfile.write_text("")
    run([str(BIN / "fernwart-collector"), "migrate"], env)
    admin = run([str(BIN / "fernwart-collector"), "user", "add", "bench", "--role", "admin"], env)
    with process([str(BIN / "fernwart-collector"), "serve", "--port", str(port), "--access-log"],
                 work / "collector.log", env) as collector:
        wait_http(f"{url}/healthz")
        enrol_token = run([str(BIN / "fernwart-collector"), "token", "create"], env)
        config_path = work / "agent" / "agent.yaml"
        run([str(BIN / "fernwart-agent"), "enroll", "--collector", url, "--token", enrol_token,
             "--config", str(config_path)], env)
        enrolled = yaml.safe_load(config_path.read_text())
        if playbooks != "none":  # the job channel is open: the agent long-polls for jobs meanwhile
            run([str(BIN / "fernwart-agent"), "install-playbooks", "--config", str(config_path)], env)
        if playbooks == "signed":
            run([str(BIN / "fernwart"), "playbooks", "keygen", "--out", str(work / "key")], env)
            run([str(BIN / "fernwart"), "playbooks", "sign", "--key", str(work / "key"),
                 str(config_path.parent / "playbooks")], env)
            enrolled["playbook_signing_key"] = str(work / "key.pub")
        print(f"agent playbooks: {playbooks}", flush=True)
        node_port, zbx_port = free_port(), free_port(20050, 32767)  # zabbix: <= 32767
        with process([NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{node_port}"],
                     work / "node_exporter.log") as node, \
             process([ZABBIX_AGENTD, "-f", "-c", str(zabbix_config(work, zbx_port))],
                     work / "zabbix_agentd.log") as zabbix:
            wait_http(f"http://127.0.0.1:{node_port}/metrics")
            wait_port(zbx_port)
            items = zabbix_items(port, work)
            failures = {"node": 0, "zabbix": 0}
            polls = {"node": 0, "zabbix": 0}
            current = {"interval": float(intervals[0])}

            def scrape_node() -> None:
                polls["node"] += 1
                if not scrape(f"http://127.0.0.1:{node_port}/metrics"):
                    failures["node"] += 1

            def poll_zabbix() -> None:
                for key in items:
                    polls["zabbix"] += 1
                    try:
                        value = zabbix_get(zbx_port, key)
                    except OSError:
                        value = "ZBX_NOTSUPPORTED"
                    if value.startswith("ZBX_NOTSUPPORTED"):
                        failures["zabbix"] += 1

            def write_log() -> None:
                with logfile.open("a") as out:
                    out.write(f"{time.time():.0f} INFO request served\n{time.time():.0f} ERROR slow disk\n")

            tickers = [Ticker(lambda: NODE_SCRAPE, scrape_node),
                       Ticker(lambda: current["interval"], poll_zabbix), Ticker(lambda: 10.0, write_log)]
            for ticker in tickers:
                ticker.start()
            others = [Meter("node_exporter", node.pid), Meter("zabbix_agentd", zabbix.pid)]
            sampler_stop = threading.Event()
            meters: list[Meter] = list(others)

            def sample_all() -> None:
                while not sampler_stop.wait(1.0):
                    for meter in list(meters):
                        meter.sample()

            sampler = threading.Thread(target=sample_all, daemon=True)
            sampler.start()
            tables = []
            try:
                for interval in intervals:
                    current["interval"] = float(interval)
                    config = {**enrolled, "checks": agent_checks(interval, port, work)}
                    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
                    outbox = config_path.parent / "outbox.sqlite"
                    before = collector_counters(url)
                    started = time.monotonic()
                    with process([str(BIN / "fernwart-agent"), "run", "--config", str(config_path)],
                                 work / f"agent-{interval}.log", env) as agent:
                        agent_meter = Meter("fernwart-agent", agent.pid)
                        agent_meter.sample()
                        meters.append(agent_meter)
                        time.sleep(WARMUP)
                        startup_cpu = cpu_seconds(agent.pid)
                        startup_rss = status_kb(agent.pid, "VmRSS") / 1024
                        for meter in meters:
                            meter.mark()
                        polled = dict(polls)
                        time.sleep(minutes * 60)
                        for meter in meters:
                            meter.sample()
                        figures = {m.name: m.window() for m in meters}
                        meters.remove(agent_meter)
                        configured = {c["name"] for c in config["checks"]}
                        states = [s for s in check_states(url, admin, enrolled["host_id"])
                                  if s["check"] in configured]
                        if agent.poll() is not None:
                            raise SystemExit(f"the agent died: see {work}/agent-{interval}.log")
                    after = collector_counters(url)
                    tables.append((interval, figures, startup_cpu, startup_rss, before, after, states,
                                   {k: polls[k] - polled[k] for k in polls}, time.monotonic() - started,
                                   outbox))
                    report(*tables[-1], failures=failures, log=work / f"agent-{interval}.log")
            finally:
                sampler_stop.set()
                for ticker in tickers:
                    ticker.stop()
        if collector.poll() is not None:
            raise SystemExit("the collector died")
    summary(tables)
    return 0


def report(
    interval: int, figures: dict[str, dict[str, float]], startup_cpu: float, startup_rss: float,
    before: dict[str, float], after: dict[str, float], states: list[dict[str, Any]],
    polls: dict[str, int], elapsed: float, outbox: Path, *, failures: dict[str, int], log: Path,
) -> None:
    """Print one phase: the check states the collector holds, the traffic, and the footprint table."""
    print(f"\n=== checks every {interval} s: measured {figures['fernwart-agent']['seconds']:.0f} s "
          f"after a {WARMUP:g} s warm-up ===")
    by_status: dict[str, list[str]] = {}
    for state in states:
        by_status.setdefault(state["status_name"], []).append(state["check"])
    print(f"collector holds {len(states)} checks: "
          + "; ".join(f"{k} {len(v)} ({', '.join(sorted(v))})" if k != "OK" else f"OK {len(v)}"
                      for k, v in sorted(by_status.items())))
    results, reports = (after.get(name, 0) - before.get(name, 0)
                        for name in ("fernwart_results_ingested_total", "fernwart_reports_total"))
    warnings = sum(1 for line in log.read_text(errors="replace").splitlines() if " WARNING " in line)
    print(f"sent: {results:.0f} results in {reports:.0f} reports over {elapsed:.0f} s "
          f"(agent log warnings: {warnings}); node_exporter scrapes {polls['node']}, "
          f"zabbix item polls {polls['zabbix']} (ZBX_NOTSUPPORTED so far: {failures['zabbix']})")
    print(f"agent start-up: {startup_cpu:.2f} CPU-s, {startup_rss:.1f} MB RSS after {WARMUP:g} s")
    agent = figures["fernwart-agent"]
    print(f"{'process':16} {'procs':>5} {'RSS MB':>7} {'PSS MB':>7} {'peak MB':>8} {'CPU-s/h':>8}"
          f" {'reaped':>7} {'RSS/agent':>9} {'CPU/agent':>9}")
    for name, f in figures.items():
        cpu_ratio = f["cpu_h"] / agent["cpu_h"] if agent["cpu_h"] else 0.0
        print(f"{name:16} {f['procs']:5.0f} {f['rss']:7.1f} {f['pss']:7.1f} {f['peak']:8.1f}"
              f" {f['cpu_h']:8.2f} {f['child_cpu_h']:7.2f} {f['rss'] / agent['rss']:9.2f} {cpu_ratio:9.2f}")
    print("  (reaped: CPU-s/h of finished child processes, included in CPU-s/h: the plugins and systemctl,\n"
          "   for zabbix_agentd through sh. Ratios: the other agent's figure divided by Fernwart's.)")
    if interval == 60:
        own = agent["cpu_h"] - agent["child_cpu_h"]
        verdict = {True: "met", False: "MISSED"}
        print(f"targets at 60 s: RSS {agent['rss']:.1f} <= {TARGET_RSS_MB:g} MB "
              f"{verdict[agent['rss'] <= TARGET_RSS_MB]}; CPU of the agent process {own:.2f} <= "
              f"{TARGET_CPU_H:g} s/h {verdict[own <= TARGET_CPU_H]}; with the programs it starts "
              f"{agent['cpu_h']:.2f} <= {TARGET_CPU_H:g} s/h {verdict[agent['cpu_h'] <= TARGET_CPU_H]}")
    sys.stdout.flush()


def summary(tables: list[Any]) -> None:
    print("\n=== summary (steady RSS MB / CPU-s per hour) ===")
    for interval, figures, *_ in tables:
        cells = "   ".join(f"{name} {f['rss']:.1f} MB / {f['cpu_h']:.2f} s/h" for name, f in figures.items())
        print(f"{interval:>3} s: {cells}")


if __name__ == "__main__":
    sys.exit(main())
