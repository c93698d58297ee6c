"""The newest file matching a glob under a directory is young enough and large enough (backups).

```yaml
- name: nightly-backup
  type: file_age
  interval: 3600
  directory: /srv/backup/db
  pattern: "*.sql.gz"      # glob relative to directory; "**/" patterns search subdirectories
  min_size: 1048576        # bytes; a smaller newest file is CRITICAL (default 1)
  warning: 93600           # age in seconds of the newest file (defaults: 26 h / 50 h)
  critical: 180000
```

No matching file, or a missing directory, is CRITICAL; an unreadable directory is UNKNOWN. Only
regular files count. Metrics: ``age`` (s), ``size`` (B), ``files`` (matching count).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fernwart.checks.base import BaseCheck, Finding, conclude
from fernwart.checks.probe import Probe
from fernwart.checks.result import CheckResult, unknown
from fernwart.checks.status import Status
from fernwart.checks.units import format_bytes, format_duration


@dataclass(frozen=True)
class FileAgeOptions:
    """Configure the file_age check: where to look and the minimum size."""

    directory: str = field(metadata={"help": "directory to search"})
    pattern: str = field(default="*", metadata={"help": "glob relative to directory (** recurses)"})
    min_size: int = field(default=1, metadata={"help": "smallest acceptable size of the newest file, bytes"})


class FileAgeCheck(BaseCheck[FileAgeOptions]):
    """Check that the newest matching file is younger than the thresholds and at least min_size."""

    Options = FileAgeOptions
    default_warning = "93600"
    default_critical = "180000"
    threshold_help = "age in seconds of the newest matching file"

    def run(self, probe: Probe) -> CheckResult:
        o = self.options
        base = Path(o.directory)
        if not base.is_dir():
            return CheckResult(Status.CRITICAL, f"{base} does not exist or is not a directory")
        if not os.access(base, os.R_OK | os.X_OK):
            return unknown(f"{base} is not readable by the agent")
        newest: tuple[float, int, Path] | None = None
        count = 0
        try:
            for path in base.glob(o.pattern):
                try:
                    st = path.stat()
                except OSError:
                    continue  # vanished or unreadable between listing and stat
                if not path.is_file():
                    continue
                count += 1
                if newest is None or st.st_mtime > newest[0]:
                    newest = (st.st_mtime, st.st_size, path)
        except OSError as exc:
            return unknown(f"cannot search {base}: {exc.strerror or exc}")
        if newest is None:
            return CheckResult(Status.CRITICAL, f"no file matches {o.pattern} in {base}",
                               (self.metric("files", 0, thresholds=False, min=0),))
        mtime, size, path = newest
        modified = datetime.fromtimestamp(mtime, UTC)
        age = (probe.now() - modified).total_seconds()
        findings = [Finding(self.classify(age), f"newest {path.name} is {format_duration(age)} old")]
        if size < o.min_size:
            findings.append(Finding(Status.CRITICAL, f"{path.name} has {format_bytes(size)}, "
                                                     f"less than {format_bytes(o.min_size)}"))
        metrics = [self.metric("age", round(age), "s"),
                   self.metric("size", size, "B", thresholds=False, min=0),
                   self.metric("files", count, thresholds=False, min=0)]
        return conclude(findings, metrics)
