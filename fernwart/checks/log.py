"""Count the new lines of a log file that match a pattern since the previous run.

```yaml
- name: kernel-errors
  type: log
  interval: 300
  path: /var/log/kern.log
  pattern: "I/O error|EXT4-fs error"   # regular expression searched in each line
  exclude: "ata\\d+: hard resetting"     # optional: matching lines that do not count
  from_start: false        # first run: false starts at the end of the file, true reads it all
  warning: 0               # new matching lines (defaults: WARNING from the first, no CRITICAL)
  critical: 10
```

The read offset and the file's identity (inode, device) are kept in a JSON file under the agent's state
directory, one per path and pattern. When a new inode is at the path (rotated by rename), the check looks
in the same directory for the rotated file that still has the remembered identity (``kern.log.1``,
``kern.log-20261122``, any ``kern.log.*`` or ``kern.log-*`` not compressed), reads its tail from the
remembered offset and then the new file from the beginning, so the lines written between the last run
and the rotation still count; the rotated file is final, so its last line counts even without a newline.
If no such file is left (deleted, or already compressed), the new file is read from the beginning and
the summary says that the rotated file's tail could not be read. A file rotated twice between two runs
loses the middle file. A file shorter than the offset (copytruncate) starts again at the beginning, and
so does a file whose first 256 bytes no longer match the fingerprint kept with the offset (a new file
that got the old inode number, or a truncated file that grew past the offset before the next run).
At most 16 MiB are read per run, rotated tail and new file together, the rest the next time. An
incomplete last line of the current file waits for its newline. A missing file is UNKNOWN. Long output:
the last 10 matching lines. Metric: ``lines``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from io import BufferedReader
from pathlib import Path

from fernwart.checks.base import BaseCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown

READ_LIMIT = 16 * 1024 * 1024
HEAD_BYTES = 256  # how much of a file's beginning its fingerprint covers
SHOWN_LINES = 10
# Rotated names never opened: compressing makes a new file, and a reused inode number must not pass
# for the old one.
COMPRESSED_SUFFIXES = (".gz", ".xz", ".bz2", ".zst", ".lz4", ".zip", ".Z")


@dataclass(frozen=True)
class LogOptions:
    """Configure the log check: the file, the pattern and where the first run starts."""

    path: str = field(metadata={"help": "log file to follow"})
    pattern: str = field(metadata={"help": "regular expression searched in each new line"})
    exclude: str | None = field(default=None, metadata={"help": "regex of matching lines not to count"})
    from_start: bool = field(default=False, metadata={"help": "first run reads the whole file"})

    def __post_init__(self) -> None:
        for key in ("pattern", "exclude"):
            value = getattr(self, key)
            if value is None:
                continue
            try:
                re.compile(value)
            except re.error as exc:
                raise OptionError(key, f"not a regular expression: {exc}") from None


@dataclass
class Position:
    """Where the previous run stopped reading: file identity, byte offset, and a fingerprint of the
    file's first bytes (`head_len` of them), which tells a new file that reuses the inode number, or a
    truncated file that has grown past the offset again, from the file we were reading."""

    inode: int
    device: int
    offset: int
    head: str | None = None
    head_len: int = 0


@dataclass(frozen=True)
class RotatedTail:
    """The unread end of a rotated file; `resume` is set when READ_LIMIT stopped short of its end."""

    data: bytes
    resume: Position | None


class LogCheck(BaseCheck[LogOptions]):
    """Count new log lines matching a pattern, remembering the offset between runs."""

    Options = LogOptions
    default_warning = "0"
    threshold_help = "number of new matching lines"

    def state_file(self, probe: Probe) -> Path:
        """Return the file that keeps this check's position (one per path and pattern)."""
        key = hashlib.sha256(f"{self.options.path}\0{self.options.pattern}".encode()).hexdigest()[:16]
        return probe.state_dir / "log" / f"{key}.json"

    def run(self, probe: Probe) -> CheckResult:
        o = self.options
        try:
            handle = open(o.path, "rb")  # closed by the with-block below
        except FileNotFoundError:
            return unknown(f"{o.path} does not exist")
        except OSError as exc:
            return unknown(f"cannot open {o.path}: {exc.strerror or exc}")
        tail = RotatedTail(b"", None)
        tail_missed = False
        with handle:
            st = os.fstat(handle.fileno())
            state_path = self.state_file(probe)
            previous = _load(state_path)
            if previous is None:
                offset = 0 if o.from_start else st.st_size
            elif (previous.inode, previous.device) == (st.st_ino, st.st_dev):
                same = st.st_size >= previous.offset and (
                    previous.head is None or _fingerprint(handle, previous.head_len) == previous.head
                )
                offset = previous.offset if same else 0  # else truncated, or a new file on the old inode
            else:
                offset = 0  # rotated by rename: the whole current file is new
                found = _read_rotated_tail(o.path, previous)
                tail_missed = found is None
                tail = found or tail
            handle.seek(offset)
            chunk = handle.read(READ_LIMIT - len(tail.data)) if tail.resume is None else b""
            complete = _complete_lines(chunk)
            head_len = min(HEAD_BYTES, offset + len(complete))
            if previous is not None and previous.head is not None and previous.head_len == head_len and (
                (previous.inode, previous.device, offset) == (st.st_ino, st.st_dev, previous.offset)
            ):
                head = previous.head  # checked above: the file still starts with these bytes
            else:
                head = _fingerprint(handle, head_len)
        matches = self._matches(tail.data.decode("utf-8", errors="replace"))
        matches += self._matches(complete.decode("utf-8", errors="replace"))
        position = tail.resume or Position(st.st_ino, st.st_dev, offset + len(complete), head, head_len)
        try:
            if position != previous:  # a quiet log costs no write
                _save(state_path, position)
        except OSError as exc:
            return unknown(f"cannot keep the log position in {state_path}: {exc.strerror or exc}")
        count = len(matches)
        summary = f"{count} new line{'s' if count != 1 else ''} matching {o.pattern!r} in {o.path}"
        if tail_missed:
            summary += "; the rotated file's tail could not be read, lines may have been missed"
        return CheckResult(
            self.classify(count), summary, (self.metric("lines", count, min=0),),
            "\n".join(line[:500] for line in matches[-SHOWN_LINES:]),
        )

    def _matches(self, text: str) -> list[str]:
        pattern = re.compile(self.options.pattern)
        exclude = re.compile(self.options.exclude) if self.options.exclude else None
        return [
            line for line in text.splitlines()
            if pattern.search(line) and not (exclude is not None and exclude.search(line))
        ]


def _complete_lines(chunk: bytes) -> bytes:
    """Return the chunk up to its last newline, or all of it when one line fills READ_LIMIT."""
    complete = chunk[: chunk.rfind(b"\n") + 1]
    if len(chunk) == READ_LIMIT and not complete:
        return chunk  # one line longer than the limit: take it rather than stall forever
    return complete


def _read_rotated_tail(path: str, previous: Position) -> RotatedTail | None:
    """Read the rotated file that still has `previous`'s identity, from its offset; None if none is left.

    A rotated file is final, so at its end an incomplete last line is taken too. A rotated file shorter
    than the offset (truncated before it was renamed) is read from its beginning.
    """
    rotated = _open_rotated(path, previous.inode, previous.device)
    if rotated is None:
        return None
    with rotated:
        size = os.fstat(rotated.fileno()).st_size
        start = previous.offset if size >= previous.offset else 0
        rotated.seek(start)
        chunk = rotated.read(READ_LIMIT)
    if start + len(chunk) >= size:
        return RotatedTail(chunk, None)
    taken = _complete_lines(chunk)
    return RotatedTail(taken, Position(previous.inode, previous.device, start + len(taken)))


def _open_rotated(path: str, inode: int, device: int) -> BufferedReader | None:
    """Open the sibling of `path` (``path.1``, ``path-20261122``, ...) with this inode and device.

    Only uncompressed ``path.*`` and ``path-*`` names are looked at; called only after a rotation.
    """
    directory, base = os.path.split(os.path.abspath(path))
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if not name.startswith((base + ".", base + "-")) or name.endswith(COMPRESSED_SUFFIXES):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                    if (st.st_ino, st.st_dev) != (inode, device):
                        continue
                    candidate = open(entry.path, "rb")
                except OSError:
                    continue  # renamed again or unreadable meanwhile: keep looking
                opened = os.fstat(candidate.fileno())
                if (opened.st_ino, opened.st_dev) == (inode, device):
                    return candidate
                candidate.close()  # the name moved on to another file between stat and open
    except OSError:
        return None  # directory not listable: treated as a deleted rotated file
    return None


def _fingerprint(handle: BufferedReader, length: int) -> str:
    """Return a hash of the file's first `length` bytes (without moving the handle's position)."""
    return hashlib.sha256(os.pread(handle.fileno(), length, 0)).hexdigest()[:32]


def _load(path: Path) -> Position | None:
    try:
        raw = json.loads(path.read_text())
        head = raw.get("head")  # absent in state files written before fingerprints
        return Position(
            int(raw["inode"]), int(raw["device"]), int(raw["offset"]),
            str(head) if head is not None else None, int(raw.get("head_len", 0)),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no state yet, or a damaged one: start as on the first run


def _save(path: Path, position: Position) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(position.__dict__))
    os.replace(temporary, path)  # atomic: a crash leaves the old or the new position, never half
