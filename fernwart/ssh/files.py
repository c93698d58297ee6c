"""Bounded remote reads over SFTP: glob expansion, symlink-resolved paths, head or tail within a cap.

No shell is involved: globs are expanded with SFTP directory listings, paths resolved with the server's
realpath (symlinks followed, as OpenSSH's sftp-server does), and files read with a byte cap. The caller
decides whether a resolved path is allowed (the declared roots live on the caller's side).
"""

from __future__ import annotations

import fnmatch
import posixpath
import stat
from collections import deque

import paramiko

MAX_MATCHES = 200


def remote_glob(sftp: paramiko.SFTPClient, pattern: str, limit: int = MAX_MATCHES) -> list[str]:
    """Return the paths matching the absolute `pattern` (``*``, ``?``, ``[...]`` per component), sorted.

    A pattern without magic is returned as it is (whether it exists is the reader's question). Hidden
    names match only a component that starts with a dot, as in the shell.
    """
    if not _magic(pattern):
        return [pattern]
    found = ["/"]
    for part in [p for p in pattern.split("/") if p]:
        following: list[str] = []
        for base in found:
            if not _magic(part):
                following.append(posixpath.join(base, part))
                continue
            try:
                names = sftp.listdir(base)
            except OSError:
                continue
            following += [posixpath.join(base, n) for n in sorted(names)
                          if fnmatch.fnmatchcase(n, part) and (part.startswith(".") or not n.startswith("."))]
            if len(following) > limit:
                break
        found = following[:limit]
    existing = []
    for path in found:
        try:
            sftp.lstat(path)
        except OSError:
            continue
        existing.append(path)
    return sorted(existing)


def remote_realpath(sftp: paramiko.SFTPClient, path: str) -> str:
    """Return `path` with every symlink resolved by the server; raise OSError when it does not exist."""
    resolved = sftp.normalize(path)
    return posixpath.normpath(resolved)


def read_bounded(sftp: paramiko.SFTPClient, path: str, limit: int, *, head: int | None = None,
                 tail: int | None = None) -> str:
    """Return at most `limit` bytes of the regular file `path`: its last `tail` lines, else its first
    `head` lines (or its beginning). Raise OSError for a missing or non-regular file."""
    with sftp.open(path, "rb") as stream:
        info = stream.stat()
        if info.st_mode is None or not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(f"{path}: not a regular file")
        size = info.st_size or 0
        if tail is not None:
            stream.seek(max(0, size - limit))
            lines = deque(stream.read(limit).splitlines(), maxlen=tail)
        else:
            lines = deque(stream.read(limit).splitlines()[: head or None])
    return b"\n".join(lines).decode("utf-8", errors="replace")


def _magic(text: str) -> bool:
    return any(c in text for c in "*?[")
