"""The built-in facts of `collect` steps; each takes its options and a timeout and returns (ok, text).

Options have been substituted and typed by the playbook's parameters already; every fact still bounds
what it reads (counts, depth, time).
"""

from __future__ import annotations

import heapq
import os
import socket
import ssl
import stat
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import psutil

from fernwart.agent.playbooks.outcome import StepStatus
from fernwart.agent.playbooks.run_step import run_bounded
from fernwart.checks.units import format_bytes, format_duration

Options = Mapping[str, Any]
COMMAND_OUTPUT = 256 * 1024


def _command(argv: list[str], timeout: float) -> tuple[bool, str]:
    status, text, _, code = run_bounded(argv, timeout, COMMAND_OUTPUT)
    return status == StepStatus.OK, text if text.strip() else f"(no output, exit {code})"


def top_processes(options: Options, timeout: float) -> tuple[bool, str]:
    count = int(options.get("count", 10))
    procs = list(psutil.process_iter(["pid", "name", "username", "memory_info", "cmdline"]))
    for proc in procs:
        try:
            proc.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(min(0.5, timeout / 4))
    rows = []
    for proc in procs:
        try:
            cpu = proc.cpu_percent(None)
        except psutil.Error:
            continue
        info = proc.info
        rss = info["memory_info"].rss if info.get("memory_info") else 0
        command = " ".join(info.get("cmdline") or []) or info.get("name") or "?"
        rows.append((cpu, rss, info["pid"], info.get("username") or "?", command[:120]))
    lines = ["by CPU:", f"{'CPU%':>6} {'RSS':>10} {'PID':>7} USER COMMAND"]
    lines += [f"{r[0]:6.1f} {format_bytes(r[1]):>10} {r[2]:7d} {r[3]} {r[4]}"
              for r in heapq.nlargest(count, rows, key=lambda r: r[0])]
    lines += ["", "by memory:", f"{'RSS':>10} {'CPU%':>6} {'PID':>7} USER COMMAND"]
    lines += [f"{format_bytes(r[1]):>10} {r[0]:6.1f} {r[2]:7d} {r[3]} {r[4]}"
              for r in heapq.nlargest(count, rows, key=lambda r: r[1])]
    return True, "\n".join(lines)


def disk_usage(options: Options, timeout: float) -> tuple[bool, str]:
    """Sum file sizes per directory down to `depth`, on one file system, within the time left."""
    root = str(options.get("path", "/"))
    depth = int(options.get("depth", 2))
    count = int(options.get("count", 20))
    deadline = time.monotonic() + max(0.5, timeout - 1)
    device = os.lstat(root).st_dev
    sizes: dict[str, int] = {}
    complete = True
    stack = [(root, 0)]
    while stack:
        if time.monotonic() > deadline:
            complete = False
            break
        directory, level = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_dev != device:
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append((entry.path, level + 1))
                continue
            parts = Path(entry.path).relative_to(root).parts[:-1][:depth]
            for cut in range(len(parts) + 1):
                key = os.path.join(root, *parts[:cut])
                sizes[key] = sizes.get(key, 0) + info.st_blocks * 512
    usage = psutil.disk_usage(root)
    lines = [f"{root}: {format_bytes(usage.used)} used of {format_bytes(usage.total)} ({usage.percent}%),"
             f" {format_bytes(usage.free)} free"]
    if not complete:
        lines.append("(walk stopped at the time limit; sizes below are partial)")
    lines += [f"{format_bytes(size):>10}  {path}"
              for path, size in heapq.nlargest(count, sizes.items(), key=lambda i: i[1])]
    return True, "\n".join(lines)


def mounts(options: Options, timeout: float) -> tuple[bool, str]:
    lines = [f"{'MOUNT':30} {'TYPE':8} {'USED%':>6} {'FREE':>10} {'INODES%':>8} DEVICE"]
    for part in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(part.mountpoint)
            vfs = os.statvfs(part.mountpoint)
        except OSError:
            continue
        inodes = 100.0 * (vfs.f_files - vfs.f_ffree) / vfs.f_files if vfs.f_files else 0.0
        lines.append(f"{part.mountpoint:30} {part.fstype:8} {usage.percent:6.1f} "
                     f"{format_bytes(usage.free):>10} {inodes:8.1f} {part.device}")
    return True, "\n".join(lines)


def listening_sockets(options: Options, timeout: float) -> tuple[bool, str]:
    lines = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status != psutil.CONN_LISTEN and conn.type != socket.SOCK_DGRAM:
            continue
        name = "?"
        if conn.pid:
            try:
                name = psutil.Process(conn.pid).name()
            except psutil.Error:
                pass
        proto = "tcp" if conn.type == socket.SOCK_STREAM else "udp"
        address = f"{conn.laddr[0]}:{conn.laddr[1]}" if conn.laddr else "?"
        lines.append(f"{proto} {address} pid={conn.pid or '?'} {name}")
    return True, "\n".join(sorted(set(lines))) or "(nothing listening, or not visible to this user)"


def unit_status(options: Options, timeout: float) -> tuple[bool, str]:
    unit = str(options["unit"])
    lines = str(options.get("lines", 20))
    _, text = _command(["systemctl", "status", "--no-pager", "--full", "--lines", lines, "--", unit], timeout)
    return True, text  # systemctl status exits 3 for a stopped unit: that is the answer, not an error


def journal(options: Options, timeout: float) -> tuple[bool, str]:
    """Return the journal's last lines; an empty or unreadable journal says so (the answer, not an error)."""
    argv = ["journalctl", "--no-pager", "--quiet", "--lines", str(options.get("lines", 50))]
    if "since" in options:
        argv += ["--since", f"-{int(options['since'])}s"]
    if "priority" in options:
        argv += ["--priority", str(options["priority"])]
    if "unit" in options:
        argv += ["--unit", str(options["unit"])]
    ok, text = _command(argv, timeout)
    return True, text if ok else f"(journal not readable: {text.strip()})"


def failed_units(options: Options, timeout: float) -> tuple[bool, str]:
    ok, text = _command(["systemctl", "list-units", "--failed", "--no-pager", "--plain", "--no-legend"],
                        timeout)
    if ok:
        return True, text if text.strip() and not text.startswith("(no output") else "no failed units"
    return True, f"(systemd cannot be asked here: {text.strip()})"


def routes(options: Options, timeout: float) -> tuple[bool, str]:
    lines = ["destination/mask gateway interface"]
    for row in Path("/proc/net/route").read_text().splitlines()[1:]:
        fields = row.split()
        dest, gateway, mask = (_ipv4(fields[i]) for i in (1, 2, 7))
        lines.append(f"{dest}/{mask} via {gateway} dev {fields[0]}")
    try:
        v6 = Path("/proc/net/ipv6_route").read_text().splitlines()
        lines.append(f"({len(v6)} IPv6 routes)")
    except OSError:
        pass
    return True, "\n".join(lines)


def _ipv4(little_endian_hex: str) -> str:
    return socket.inet_ntoa(bytes.fromhex(little_endian_hex)[::-1])


def dns(options: Options, timeout: float) -> tuple[bool, str]:
    name = str(options.get("name", "localhost"))
    lines = []
    try:
        resolv = Path("/etc/resolv.conf").read_text()
        lines += [line for line in resolv.splitlines() if line.startswith(("nameserver", "search"))]
    except OSError:
        lines.append("(no /etc/resolv.conf)")
    started = time.monotonic()
    try:
        found = sorted({str(a[4][0]) for a in socket.getaddrinfo(name, None)})
    except socket.gaierror as exc:
        lines.append(f"{name}: does not resolve: {exc.strerror}")
        return False, "\n".join(lines)
    lines.append(f"{name}: {', '.join(found)} ({(time.monotonic() - started) * 1000:.0f} ms)")
    return True, "\n".join(lines)


def interfaces(options: Options, timeout: float) -> tuple[bool, str]:
    stats = psutil.net_if_stats()
    lines: list[str] = []
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        state = stats.get(name)
        up = "up" if state and state.isup else "down"
        addrs = ", ".join(a.address for a in addresses if a.family in (socket.AF_INET, socket.AF_INET6))
        lines.append(f"{name} {up} mtu={state.mtu if state else '?'} {addrs}")
    return True, "\n".join(lines)


def packages(options: Options, timeout: float) -> tuple[bool, str]:
    """Read dpkg's status file in-process for the named packages (all installed when none named)."""
    wanted = options.get("names")
    names = set(wanted) if isinstance(wanted, list) else ({str(wanted)} if wanted else None)
    text = Path("/var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    rows = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != " ")
        name = fields.get("Package")
        if name and (names is None or name in names):
            rows.append(f"{name} {fields.get('Version', '?')} {fields.get('Status', '?')}")
    if names is not None:
        missing = names - {r.split()[0] for r in rows}
        rows += [f"{n} not installed" for n in sorted(missing)]
    else:
        rows = [f"{len(rows)} packages known to dpkg"] + rows[:50]
    return True, "\n".join(rows)


def pending_updates(options: Options, timeout: float) -> tuple[bool, str]:
    ok, text = _command(["apt-get", "--simulate", "--quiet", "--quiet", "upgrade"], timeout)
    pending = [line for line in text.splitlines() if line.startswith("Inst ")]
    reboot = Path("/run/reboot-required").exists()
    summary = f"{len(pending)} pending updates" + ("; a reboot is required" if reboot else "")
    return ok, "\n".join([summary, *pending[:200]] + ([] if ok else [text]))


def reboots(options: Options, timeout: float) -> tuple[bool, str]:
    boot = datetime.fromtimestamp(psutil.boot_time(), UTC)
    up = format_duration(time.time() - psutil.boot_time())
    ok, text = _command(["journalctl", "--list-boots", "--no-pager", "--quiet"], timeout)
    count = int(options.get("count", 10))
    listing = text.splitlines()[-count:] if ok else ["(journal's boot list not readable by this user)"]
    return True, "\n".join([f"booted {boot.isoformat()} (up {up})", *listing])


def kernel_messages(options: Options, timeout: float) -> tuple[bool, str]:
    lines = int(options.get("lines", 50))
    ok, text = _command(["dmesg", "--ctime", "--nopager"], timeout)
    if not ok:
        argv = ["journalctl", "--dmesg", "--no-pager", "--quiet", "--lines", str(lines)]
        ok, text = _command(argv, timeout)
    if not ok:
        return True, "(kernel messages are not readable by this user)\n" + text
    return True, "\n".join(text.splitlines()[-lines:])


def memory(options: Options, timeout: float) -> tuple[bool, str]:
    vm, swap = psutil.virtual_memory(), psutil.swap_memory()
    lines = [f"memory: {format_bytes(vm.total - vm.available)} used of {format_bytes(vm.total)} "
             f"({vm.percent}%), {format_bytes(vm.available)} available",
             f"swap: {format_bytes(swap.used)} of {format_bytes(swap.total)} ({swap.percent}%)"]
    try:
        pressure = Path("/proc/pressure/memory").read_text().strip()
        lines.append("pressure: " + pressure.replace("\n", "; "))
    except OSError:
        pass
    try:
        oom = Path("/proc/vmstat").read_text()
        kills = next((line.split()[1] for line in oom.splitlines() if line.startswith("oom_kill ")), "?")
        lines.append(f"OOM kills since boot: {kills}")
    except OSError:
        pass
    return True, "\n".join(lines)


def load(options: Options, timeout: float) -> tuple[bool, str]:
    one, five, fifteen = os.getloadavg()
    cores = psutil.cpu_count() or 1
    cpu = psutil.cpu_times_percent(interval=min(0.5, timeout / 4))
    lines = [f"load: {one:.2f} {five:.2f} {fifteen:.2f} on {cores} cores",
             f"cpu: user {cpu.user}% system {cpu.system}% iowait {getattr(cpu, 'iowait', 0.0)}% "
             f"idle {cpu.idle}% steal {getattr(cpu, 'steal', 0.0)}%"]
    try:
        lines.append("pressure: " + Path("/proc/pressure/cpu").read_text().strip().replace("\n", "; "))
    except OSError:
        pass
    return True, "\n".join(lines)


def files(options: Options, timeout: float) -> tuple[bool, str]:
    """List the newest files matching `pattern` in `path` (one level), with age and size."""
    directory = str(options["path"])
    pattern = str(options.get("pattern", "*"))
    count = int(options.get("count", 10))
    now = time.time()
    found = []
    for entry in os.scandir(directory):
        if entry.is_file(follow_symlinks=False) and fnmatchcase(entry.name, pattern):
            info = entry.stat(follow_symlinks=False)
            found.append((info.st_mtime, info.st_size, entry.name))
    if not found:
        return False, f"no file matching {pattern!r} in {directory}"
    lines = [f"{len(found)} files matching {pattern!r} in {directory}; newest first:"]
    lines += [f"{format_duration(now - m):>8} old {format_bytes(s):>10} {n}"
              for m, s, n in sorted(found, reverse=True)[:count]]
    return True, "\n".join(lines)


def certificate(options: Options, timeout: float) -> tuple[bool, str]:
    """Show a certificate's subject, issuer and expiry, from a TLS server or a PEM file."""
    from fernwart.checks import x509

    if options.get("file"):
        pem = Path(str(options["file"])).read_text()
        der = ssl.PEM_cert_to_DER_cert(pem)
        source = str(options["file"])
    else:
        host, port = str(options["host"]), int(options.get("port", 443))
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # show the certificate even when it is not trusted
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True) or b""
        source = f"{host}:{port}"
    cert = x509.read_certificate(der)
    days = (cert.not_after - datetime.now(UTC)).total_seconds() / 86400
    return days > 0, (f"{source}\nsubject: {cert.subject}\nissuer: {cert.issuer}\n"
                      f"valid until {cert.not_after.isoformat()} ({days:.1f} days left)")


def reachability(options: Options, timeout: float) -> tuple[bool, str]:
    host, port = str(options["host"]), int(options.get("port", 443))
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 10)):
            pass
    except OSError as exc:
        return False, f"{host}:{port}: cannot connect: {exc.strerror or exc}"
    return True, f"{host}:{port}: connected in {(time.monotonic() - started) * 1000:.0f} ms"
