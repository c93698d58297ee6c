"""List processes with their name, user and command line, read straight from /proc on Linux.

psutil answers the same questions, but builds a Process object per pid and reads /proc/PID/stat a
second time for its create time; the process check asks every run, so it reads only the files its
criteria need. Each attribute keeps psutil's meaning (psutil 7.2, `psutil.Process` on Linux):

- ``name``: the ``comm`` field of /proc/PID/stat, between the first "(" and the last ")". When it is 15
  characters or longer (the kernel truncates it), the base name of the first command line argument
  replaces it if that starts with it ("gnome-keyring-d" becomes "gnome-keyring-daemon").
- ``username``: the real uid (first number of the ``Uid:`` line of /proc/PID/status) as a user name,
  or as a decimal string when no user has that uid.
- ``cmdline``: /proc/PID/cmdline split on NUL after dropping the trailing NUL; a process that rewrote
  its command line with spaces (no trailing NUL, or a single argument holding spaces) is split on
  spaces. Kernel threads and zombies give ``()``.

A process that vanishes while being read is left out; an attribute it does not let us read is None.
"""

from __future__ import annotations

import os
import pwd
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

ATTRIBUTES = frozenset({"name", "username", "cmdline"})
PROC_ROOT = "/proc"
TRUNCATED_NAME = 15  # the kernel keeps 15 bytes of an executable's name (TASK_COMM_LEN - 1)

_ENCODING = sys.getfilesystemencoding()  # what psutil decodes /proc text with
_ENCODING_ERRORS = sys.getfilesystemencodeerrors()
_REAL_UID = re.compile(rb"Uid:\t(\d+)\t")
_VANISHED = (FileNotFoundError, ProcessLookupError)


class ProcessInfo(NamedTuple):
    """One process; an attribute not asked for, or not readable, is None."""

    pid: int
    name: str | None = None
    username: str | None = None
    cmdline: tuple[str, ...] | None = None


def list_processes(attrs: frozenset[str]) -> Iterable[ProcessInfo]:
    """List every process with `attrs` filled in: from /proc on Linux, through psutil elsewhere."""
    if os.path.exists(f"{PROC_ROOT}/self/stat"):
        return read_processes(attrs)
    return psutil_processes(attrs)


def read_processes(
    attrs: frozenset[str], root: str = PROC_ROOT, getpwuid: Callable[[int], Any] = pwd.getpwuid
) -> Iterator[ProcessInfo]:
    """Read the processes under `root` (a procfs), opening only the files `attrs` need.

    Without `attrs` only the directory is listed. User names are looked up once per uid and call.
    """
    unknown = attrs - ATTRIBUTES
    if unknown:
        raise ValueError(f"unknown process attributes: {', '.join(sorted(unknown))}")
    want_name, want_user, want_cmdline = "name" in attrs, "username" in attrs, "cmdline" in attrs
    users: dict[int, str] = {}
    for entry in os.listdir(root):
        if not entry.isdecimal():
            continue
        if not attrs:
            yield ProcessInfo(int(entry))
            continue
        folder = f"{root}/{entry}/"
        name: str | None = None
        username: str | None = None
        cmdline: tuple[str, ...] | None = None
        try:
            if want_cmdline:
                cmdline = _allowed(_cmdline, folder)
            if want_name:
                name = _allowed(_comm, folder)
                if name is not None and len(name) >= TRUNCATED_NAME:
                    name = full_name(name, cmdline if want_cmdline else _allowed(_cmdline, folder))
            if want_user:
                uid = _allowed(_real_uid, folder)
                if uid is not None:
                    username = users.get(uid)
                    if username is None:
                        username = users[uid] = _user_name(uid, getpwuid)
        except _VANISHED:
            continue
        yield ProcessInfo(int(entry), name, username, cmdline)


def psutil_processes(attrs: frozenset[str]) -> Iterator[ProcessInfo]:
    """List the processes through psutil (platforms without /proc): same fields, same None rule."""
    import psutil

    for proc in psutil.process_iter(["pid", *sorted(attrs)]):
        info = proc.info
        cmdline = info.get("cmdline")
        yield ProcessInfo(
            info["pid"], info.get("name"), info.get("username"), None if cmdline is None else tuple(cmdline)
        )


def _allowed(read: Callable[..., Any], *args: Any) -> Any:
    """Return `read(*args)`, or None when the process denies it (vanishing still raises)."""
    try:
        return read(*args)
    except PermissionError:
        return None


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 8192):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _cmdline(folder: str) -> tuple[str, ...]:
    data = _read(folder + "cmdline").decode(_ENCODING, _ENCODING_ERRORS)
    if "\r" in data:  # psutil reads the file in text mode: universal newlines
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    return split_cmdline(data)


def split_cmdline(data: str) -> tuple[str, ...]:
    """Split the text of /proc/PID/cmdline into arguments exactly as psutil does."""
    if not data:
        return ()
    sep = "\x00" if data.endswith("\x00") else " "  # setproctitle() may leave spaces, no NULs
    if data.endswith(sep):
        data = data[:-1]
    args = data.split(sep)
    if sep == "\x00" and len(args) == 1 and " " in data:  # a NUL at the end, spaces between
        args = data.split(" ")
    return tuple(args)


def _comm(folder: str) -> str:
    stat = _read(folder + "stat")
    return stat[stat.find(b"(") + 1 : stat.rfind(b")")].decode(_ENCODING, _ENCODING_ERRORS)


def full_name(comm: str, cmdline: tuple[str, ...] | None) -> str:
    """Return the base name of the first argument when it starts with the truncated `comm`, as psutil does."""
    if cmdline:
        extended = os.path.basename(cmdline[0])
        if extended.startswith(comm):
            return extended
    return comm


def _real_uid(folder: str) -> int | None:
    found = _REAL_UID.search(_read(folder + "status"))
    return int(found.group(1)) if found else None


def _user_name(uid: int, getpwuid: Callable[[int], Any]) -> str:
    try:
        return str(getpwuid(uid).pw_name)
    except KeyError:  # no passwd entry, e.g. a container's uid
        return str(uid)
