"""The process check on a canned process table, and the /proc reader on a fake and on the real /proc."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from fernwart.checks import procfs
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.process import ProcessCheck
from fernwart.checks.procfs import ATTRIBUTES, ProcessInfo, psutil_processes, read_processes
from fernwart.checks.status import Status
from tests.checks.fakes import make_probe

TABLE = [
    ProcessInfo(1, "systemd", "root", ("/sbin/init",)),
    ProcessInfo(2, "kthreadd", "root", ()),  # a kernel thread: no command line
    ProcessInfo(10, "nginx", "root", ("nginx: master process /usr/sbin/nginx",)),
    ProcessInfo(11, "nginx", "www-data", ("nginx: worker process",)),
    ProcessInfo(12, "nginx", "www-data", ("nginx: worker process",)),
    ProcessInfo(13, "python3", None, None),  # denied reading its status and cmdline
    ProcessInfo(os.getpid(), "nginx", "www-data", ("nginx",)),  # the agent itself
]


ATTRIBUTE_ORDER = ProcessInfo._fields[1:]  # name, username, cmdline


def table_probe(asked: list[frozenset[str]] | None = None) -> Probe:
    """Return a probe listing TABLE with only the asked attributes filled in, as the real reader does."""

    def processes(attrs: frozenset[str]) -> Iterator[ProcessInfo]:
        if asked is not None:
            asked.append(attrs)
        for row in TABLE:
            yield ProcessInfo(row.pid, *(getattr(row, a) if a in attrs else None for a in ATTRIBUTE_ORDER))

    return make_probe(processes=processes)


@pytest.mark.parametrize(
    ("options", "count", "status"),
    [
        ({"process_name": "nginx"}, 3, Status.OK),
        ({"process_name": "nginx", "user": "www-data"}, 2, Status.OK),
        ({"user": "root"}, 3, Status.OK),
        ({"cmdline": "master process"}, 1, Status.OK),
        ({"cmdline": "^$"}, 1, Status.OK),  # the kernel thread; the unreadable one does not match
        ({"process_name": "nginx", "max_count": 2}, 3, Status.CRITICAL),
        ({"process_name": "postgres"}, 0, Status.CRITICAL),
        ({"process_name": "postgres", "min_count": 0}, 0, Status.OK),
        ({}, 6, Status.OK),
    ],
)
def test_counts_and_limits(options: dict[str, object], count: int, status: Status) -> None:
    result = ProcessCheck.from_config(options).run(table_probe())
    assert (result.metrics[0].value, result.status) == (count, status)


def test_summary_says_what_matched_and_the_limits() -> None:
    result = ProcessCheck.from_config({"process_name": "postgres", "user": "postgres"}).run(table_probe())
    assert result.summary == "0 processes matching process_name=postgres user=postgres (min 1)"


def test_warning_range_on_the_count() -> None:
    result = ProcessCheck.from_config({"process_name": "nginx"}, warning="4:").run(table_probe())
    assert result.status is Status.WARNING
    assert result.metrics[0].to_text() == "procs=3;4:;;0"


@pytest.mark.parametrize(
    ("options", "key"),
    [({"cmdline": "("}, "cmdline"), ({"min_count": -1}, "min_count"),
     ({"min_count": 3, "max_count": 1}, "max_count"), ({"process_name": ["a"]}, "process_name")],
)
def test_bad_options(options: dict[str, object], key: str) -> None:
    with pytest.raises(OptionError) as caught:
        ProcessCheck.from_config(options)
    assert caught.value.key == key


def test_asks_only_for_the_attributes_its_criteria_need() -> None:
    asked: list[frozenset[str]] = []
    fake = table_probe(asked)
    ProcessCheck.from_config({"cmdline": "worker"}).run(fake)
    ProcessCheck.from_config({"process_name": "nginx", "user": "root"}).run(fake)
    ProcessCheck.from_config({}).run(fake)
    assert asked == [frozenset({"cmdline"}), frozenset({"name", "username"}), frozenset()]


# --- the /proc reader on a fake /proc tree


USERS = {0: "root", 33: "www-data"}


def getpwuid(uid: int) -> SimpleNamespace:
    return SimpleNamespace(pw_name=USERS[uid])  # KeyError for an unknown uid, as pwd.getpwuid


def add_process(root: Path, pid: int, comm: str = "sleep", cmdline: bytes = b"sleep\x0060\x00",
                uids: str = "0\t0\t0\t0") -> None:
    """Write /proc/PID/{stat,status,cmdline} as the kernel lays them out."""
    folder = root / str(pid)
    folder.mkdir()
    (folder / "stat").write_bytes(f"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0\n".encode())
    status = f"Name:\t{comm}\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\nUid:\t{uids}\n"
    (folder / "status").write_text(status + "Gid:\t0\t0\t0\t0\n")
    (folder / "cmdline").write_bytes(cmdline)


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    root.mkdir()
    (root / "self").symlink_to("1")
    (root / "sys").mkdir()
    (root / "meminfo").write_text("MemTotal: 1 kB\n")
    return root


def read(root: Path, *attrs: str) -> dict[int, ProcessInfo]:
    return {p.pid: p for p in read_processes(frozenset(attrs), str(root), getpwuid)}


def test_name_may_hold_spaces_and_parentheses(proc: Path) -> None:
    add_process(proc, 7, comm="a) (b c)")
    add_process(proc, 8, comm="(x")
    names = {pid: p.name for pid, p in read(proc, "name").items()}
    assert names == {7: "a) (b c)", 8: "(x"}


@pytest.mark.parametrize(
    ("comm", "cmdline", "name"),
    [
        ("gnome-keyring-d", b"/usr/bin/gnome-keyring-daemon\x00--start\x00", "gnome-keyring-daemon"),
        ("gnome-keyring-d", b"gnome-keyring-daemon: worker\x00", "gnome-keyring-daemon:"),  # split on spaces
        ("long-process-na", b"/opt/fern wart/long-process-name\x00", "long-process-na"),  # "/opt/fern"
        ("long-process-na", b"/opt/fern wart/long-process-name\x00-v\x00", "long-process-name"),
        ("kworker/0:1-eve", b"", "kworker/0:1-eve"),  # kernel thread: nothing to complete it with
        ("python3-worker-", b"/usr/bin/python3\x00worker.py\x00", "python3-worker-"),  # no common start
        ("fourteen-chars", b"/bin/fourteen-chars-and-more\x00", "fourteen-chars"),  # not truncated
    ],
)
def test_truncated_name_is_completed_from_the_command_line(proc: Path, comm: str, cmdline: bytes,
                                                           name: str) -> None:
    add_process(proc, 9, comm=comm, cmdline=cmdline)
    assert read(proc, "name")[9].name == name
    assert read(proc, "name", "cmdline")[9].name == name


@pytest.mark.parametrize(
    ("raw", "cmdline"),
    [
        (b"/usr/sbin/nginx\x00-g\x00daemon off;\x00", ("/usr/sbin/nginx", "-g", "daemon off;")),
        (b"nginx: worker process", ("nginx:", "worker", "process")),  # rewritten: no NULs at all
        (b"nginx: worker process\x00", ("nginx:", "worker", "process")),  # rewritten, NUL at the end
        (b"nginx: master\x00\x00\x00", ("nginx: master", "", "")),  # rewritten, padded with NULs
        (b"a\x00b", ("a\x00b",)),  # no NUL at the end: split on spaces only
        (b"x\r\ny\rz\x00", ("x\ny\nz",)),  # psutil reads it as text: universal newlines
        (b"caf\xc3\xa9\x00\xff\x00", ("caf\u00e9", "\udcff")),  # undecodable bytes survive as surrogates
        (b"", ()),  # kernel thread or zombie
    ],
)
def test_command_line_is_split_as_psutil_splits_it(proc: Path, raw: bytes,
                                                   cmdline: tuple[str, ...]) -> None:
    add_process(proc, 5, cmdline=raw)
    assert read(proc, "cmdline")[5].cmdline == cmdline


def test_user_is_the_real_uid_and_unknown_uids_stay_numbers(proc: Path) -> None:
    add_process(proc, 3, uids="33\t0\t0\t0")  # real www-data, effective root (setuid)
    add_process(proc, 4, uids="4000123\t4000123\t4000123\t4000123")
    add_process(proc, 5)
    add_process(proc, 6)
    looked_up: list[int] = []

    def counting_getpwuid(uid: int) -> SimpleNamespace:
        looked_up.append(uid)
        return getpwuid(uid)

    users = {p.pid: p.username for p in read_processes(frozenset({"username"}), str(proc), counting_getpwuid)}
    assert users == {3: "www-data", 4: "4000123", 5: "root", 6: "root"}
    assert sorted(looked_up) == [0, 33, 4000123]  # once per uid and run


def test_vanished_process_is_skipped_but_counted_while_listed(proc: Path) -> None:
    add_process(proc, 20)
    (proc / "21").mkdir()  # exited: its directory still listed, its files already gone
    (proc / "22").mkdir()
    (proc / "22" / "cmdline").write_bytes(b"sleep\x0060\x00")  # gone between two reads
    assert set(read(proc)) == {20, 21, 22}
    for attrs in (["name"], ["username"], ["cmdline", "username"], ["cmdline", "name"]):
        assert set(read(proc, *attrs)) == {20}, attrs
    assert set(read(proc, "cmdline")) == {20, 22}


def test_denied_attribute_is_none_and_the_rest_is_read(proc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_process(proc, 30, "long-process-na", b"/bin/long-process-name\x00-v\x00", uids="33\t0\t0\t0")
    real_read = procfs._read

    def denying_read(path: str) -> bytes:
        if path.endswith(("/cmdline", "/status")):
            raise PermissionError(13, "Permission denied", path)
        return real_read(path)

    monkeypatch.setattr(procfs, "_read", denying_read)
    assert read(proc, *ATTRIBUTES)[30] == ProcessInfo(30, "long-process-na", None, None)


def test_reads_only_the_files_the_attributes_need(proc: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_process(proc, 40)
    add_process(proc, 41, comm="long-process-na", cmdline=b"/bin/long-process-name\x00")
    opened: list[str] = []
    real_read = procfs._read

    def spying_read(path: str) -> bytes:
        opened.append(path[len(str(proc)) + 1 :])
        return real_read(path)

    monkeypatch.setattr(procfs, "_read", spying_read)
    expected = {
        (): [],
        ("cmdline",): ["40/cmdline", "41/cmdline"],
        ("username",): ["40/status", "41/status"],
        ("name",): ["40/stat", "41/cmdline", "41/stat"],  # the truncated name needs the command line
        ("name", "cmdline"): ["40/cmdline", "40/stat", "41/cmdline", "41/stat"],  # read once
    }
    for attrs, files in expected.items():
        opened.clear()
        read(proc, *attrs)
        assert sorted(opened) == files, attrs


def test_unknown_attribute_is_refused(proc: Path) -> None:
    with pytest.raises(ValueError, match="create_time"):
        read(proc, "name", "create_time")


# --- the /proc reader against psutil on this machine


def spawn_oddly_named(tmp_path: Path) -> list[subprocess.Popen[bytes]]:
    """Start processes whose names psutil treats specially, and a zombie; the caller ends them."""
    spaced = tmp_path / "fern wart"
    spaced.mkdir()
    cat = spaced / "cat-with-a-long-name"  # lone argument with a space: psutil splits it, "fern" wins
    cat.symlink_to(shutil.which("cat") or "/bin/cat")
    sleep = tmp_path / "sl) (eep-with-a-long-name"  # comm "sl) (eep-with-a", completed from argv[0]
    sleep.symlink_to(shutil.which("sleep") or "/bin/sleep")
    helpers = [
        subprocess.Popen([str(cat)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL),
        subprocess.Popen([str(sleep), "60"]),
        subprocess.Popen(["true"]),  # left unreaped: a zombie
    ]
    deadline = time.monotonic() + 10
    while psutil.Process(helpers[2].pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)
    return helpers


@pytest.mark.realhost
@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux /proc")
def test_real_proc_reader_agrees_with_psutil(tmp_path: Path) -> None:
    helpers = spawn_oddly_named(tmp_path)
    try:
        ours = {p.pid: p for p in read_processes(ATTRIBUTES)}
        theirs = {p.pid: p for p in psutil_processes(ATTRIBUTES)}
        ours_again = {p.pid: p for p in read_processes(ATTRIBUTES)}
    finally:
        for helper in helpers:
            helper.kill()
            helper.communicate()  # reaps it and closes cat's stdin
    stable = [pid for pid, p in ours.items() if pid in theirs and ours_again.get(pid) == p]
    assert {h.pid for h in helpers} <= set(stable) and len(stable) > 3
    assert ours[helpers[0].pid].name == "cat-with-a-long"
    assert ours[helpers[1].pid].name == "sl) (eep-with-a-long-name"
    zombie = theirs[helpers[2].pid]
    assert zombie.cmdline is None and ours[helpers[2].pid].cmdline == ()  # psutil: ZombieProcess -> None
    for pid in stable:  # any zombie (other tests leave some): psutil says None where /proc says ()
        if theirs[pid].cmdline is None and ours[pid].cmdline == ():
            theirs[pid] = theirs[pid]._replace(cmdline=())
    disagreeing = {pid: (ours[pid], theirs[pid]) for pid in stable if ours[pid] != theirs[pid]}
    assert disagreeing == {}
