"""The `read_file` step: declared paths only (globs under the playbook's roots), head or tail, size-capped.

A glob is expanded, and every match is resolved (symlinks followed) and must still lie under one of the
roots: a link from /var/log to /etc/shadow is refused by name, not read.
"""

from __future__ import annotations

import glob
import os
from collections import deque
from collections.abc import Sequence

from fernwart.agent.playbooks.outcome import StepStatus, clip
from fernwart.playbook.params import inside

MAX_FILES = 20


def read_files(
    patterns: Sequence[str], roots: Sequence[str], max_output: int, *, head: int | None = None,
    tail: int | None = None,
) -> tuple[StepStatus, str, bool]:
    """Return (status, text, truncated) of the matching files, each under a ``==> path <==`` line."""
    parts: list[str] = []
    failed = False
    matched: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        matched += [p for p in found if p not in matched]
    if not matched:
        return StepStatus.FAILED, "no file matches " + ", ".join(patterns), False
    for path in matched[:MAX_FILES]:
        real = os.path.realpath(path)
        if not inside(real, tuple(roots)) or not inside(os.path.normpath(path), tuple(roots)):
            parts.append(f"==> {path} <==\nrefused: resolves to {real}, outside {', '.join(roots)}")
            failed = True
            continue
        try:
            parts.append(f"==> {path} <==\n" + _read(real, max_output, head, tail))
        except OSError as exc:
            parts.append(f"==> {path} <==\ncannot read: {exc.strerror or exc}")
            failed = True
    if len(matched) > MAX_FILES:
        parts.append(f"({len(matched) - MAX_FILES} more files not shown)")
    text, truncated = clip("\n".join(parts).encode(), max_output)
    return (StepStatus.FAILED if failed else StepStatus.OK), text, truncated


def _read(path: str, limit: int, head: int | None, tail: int | None) -> str:
    with open(path, "rb") as stream:
        if tail is not None:
            size = os.fstat(stream.fileno()).st_size
            stream.seek(max(0, size - limit))
            lines = deque(stream.read(limit).splitlines(), maxlen=tail)
        else:
            data = stream.read(limit)
            lines = deque(data.splitlines()[: head or None])
    return b"\n".join(lines).decode("utf-8", errors="replace")
