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
directory, one per path and pattern. A new inode (rotated by rename) or a file shorter than the offset
(copytruncate) starts again at the beginning; the lines written to the old file after the last run are
not seen. At most 16 MiB are read per run, the rest the next time. An incomplete last line waits for
its newline. A missing file is UNKNOWN. Long output: the last 10 matching lines. Metric: ``lines``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from checks.base import BaseCheck
from checks.options import OptionError
from checks.probe import Probe
from checks.result import CheckResult, unknown

READ_LIMIT = 16 * 1024 * 1024
SHOWN_LINES = 10


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
    """Where the previous run stopped reading: file identity and byte offset."""

    inode: int
    device: int
    offset: int


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
        with handle:
            st = os.fstat(handle.fileno())
            state_path = self.state_file(probe)
            previous = _load(state_path)
            if previous is None:
                offset = 0 if o.from_start else st.st_size
            elif (previous.inode, previous.device) != (st.st_ino, st.st_dev) or st.st_size < previous.offset:
                offset = 0  # rotated or truncated: the whole current file is new
            else:
                offset = previous.offset
            handle.seek(offset)
            chunk = handle.read(READ_LIMIT)
        complete = chunk[: chunk.rfind(b"\n") + 1]
        if len(chunk) == READ_LIMIT and not complete:
            complete = chunk  # one line longer than the limit: take it rather than stall forever
        matches = self._matches(complete.decode("utf-8", errors="replace"))
        try:
            _save(state_path, Position(st.st_ino, st.st_dev, offset + len(complete)))
        except OSError as exc:
            return unknown(f"cannot keep the log position in {state_path}: {exc.strerror or exc}")
        count = len(matches)
        summary = f"{count} new line{'s' if count != 1 else ''} matching {o.pattern!r} in {o.path}"
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


def _load(path: Path) -> Position | None:
    try:
        raw = json.loads(path.read_text())
        return Position(int(raw["inode"]), int(raw["device"]), int(raw["offset"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no state yet, or a damaged one: start as on the first run


def _save(path: Path, position: Position) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(position.__dict__))
    os.replace(temporary, path)  # atomic: a crash leaves the old or the new position, never half
