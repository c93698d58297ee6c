"""The playbooks an agent holds: the YAML files of its own playbooks directory, each with its content hash.

The agent runs nothing else: a job names a playbook by name and hash, and a job whose hash differs from
the file's is refused. Files are re-read (and re-hashed) when a job arrives, so an edited file is never
run under the hash of its former content.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fernwart.agent.playbooks.check_step import options_problem
from fernwart.playbook.model import Playbook, PlaybookError, load_playbook

MAX_FILE = 256 * 1024


@dataclass(frozen=True)
class Library:
    """The valid playbooks of a directory by name, and one problem line per file that is not valid."""

    directory: Path
    playbooks: dict[str, Playbook]
    problems: tuple[str, ...]


def held_entry(playbook: Playbook) -> dict[str, Any]:
    """Return what the agent reports of a held playbook: identity, kind and its parameter declarations."""
    return {"name": playbook.name, "version": playbook.version, "kind": playbook.kind,
            "hash": playbook.digest, "params": dict(playbook.document.get("params") or {})}


def read_playbook(path: Path) -> Playbook:
    """Load and validate one playbook file; raise PlaybookError naming the place of every problem."""
    try:
        content = path.read_bytes()[: MAX_FILE + 1]
    except OSError as exc:
        raise PlaybookError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if len(content) > MAX_FILE:
        raise PlaybookError([f"{path}: larger than {MAX_FILE} bytes"])
    return load_playbook(content, str(path), check_options=options_problem)


def load_library(directory: Path) -> Library:
    """Load every ``*.yaml`` file of `directory` (none if it does not exist); names must be unique."""
    found: dict[str, Playbook] = {}
    problems: list[str] = []
    paths = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    for path in paths:
        try:
            playbook = read_playbook(path)
        except PlaybookError as exc:
            problems += exc.problems
            continue
        if playbook.name in found:
            problems.append(f"{path}: name: {playbook.name!r} is also the name of another file here")
            continue
        found[playbook.name] = playbook
    return Library(directory, found, tuple(problems))
