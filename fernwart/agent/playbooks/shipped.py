"""The playbooks that ship with Fernwart, and copying them into an agent's own playbooks directory.

An installed Fernwart keeps them in ``<prefix>/share/fernwart/playbooks`` (the wheel's data files); a
source checkout in ``playbooks/``. The agent never runs them from there: it holds only what is in its
own directory, so an upgrade of the package does not change the code an agent runs until an operator
copies (and, with signing, signs) the new versions: ``fernwart-agent install-playbooks``.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import sysconfig
from pathlib import Path

SHARE = Path("share") / "fernwart" / "playbooks"


def shipped_directory() -> Path | None:
    """Return the directory of the shipped playbooks, or None when this installation has none."""
    places = [Path(sys.prefix) / SHARE, Path(sysconfig.get_path("data")) / SHARE]
    try:
        places.append(Path(sysconfig.get_path("data", f"{sysconfig.get_default_scheme()}_user")) / SHARE)
    except KeyError:  # no user scheme on this platform
        pass
    places.append(Path(__file__).resolve().parents[3] / "playbooks")  # a source checkout
    return next((p for p in places if p.is_dir() and any(p.glob("*.yaml"))), None)


def install_playbooks(source: Path, target: Path, *, force: bool = False) -> list[str]:
    """Copy the ``*.yaml`` playbooks of `source` into `target`; return one line per file.

    A file in `target` that differs from the shipped one is kept (it may be a local change) unless
    `force`; identical files are left alone.
    """
    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    lines = []
    for path in sorted(source.glob("*.yaml")):
        there = target / path.name
        if there.exists() and filecmp.cmp(path, there, shallow=False):
            lines.append(f"unchanged {there}")
            continue
        if there.exists() and not force:
            lines.append(f"kept {there}: it differs from the shipped one (--force replaces it)")
            continue
        shutil.copyfile(path, there)
        there.chmod(0o644)
        lines.append(f"installed {there}")
    if (target / "playbooks.sig").exists() and any(line.startswith("installed") for line in lines):
        lines.append(f"{target} is signed: sign it again (fernwart playbooks sign) or agents with a "
                     "signing key will not hold the new files")
    return lines
