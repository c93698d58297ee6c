"""The playbooks an agent holds: the YAML files of its own playbooks directory, each with its content hash.

The agent runs nothing else: a job names a playbook by name and hash, and a job whose hash differs from
the file's is refused. Files are re-read (and re-hashed) when a job arrives, so an edited file is never
run under the hash of its former content.

With a signing key (`playbook_signing_key:` in the config) only playbooks that the directory's signed
manifest (`playbooks.sig`, see `fernwart.playbook.signing`) lists with their current hash are held; the
others are kept in `refused` with the reason, which a job naming one of them is answered with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fernwart.agent.playbooks.check_step import options_problem
from fernwart.agent.playbooks.trust import verified_entries
from fernwart.playbook.model import Playbook, PlaybookError, load_playbook
from fernwart.playbook.signing import MANIFEST, MAX_MANIFEST, SignatureError, key_id

MAX_FILE = 256 * 1024


@dataclass(frozen=True)
class Library:
    """The valid playbooks of a directory by name, and one problem line per file that is not valid."""

    directory: Path
    playbooks: dict[str, Playbook]
    problems: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)  # name -> why it is not held (signing)
    signed_by: str | None = None  # the key id that signed what is held, when signing is configured


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


def load_library(directory: Path, signing_key: bytes | None = None) -> Library:
    """Load every ``*.yaml`` file of `directory` (none if it does not exist); names must be unique.

    With `signing_key` (an Ed25519 public key PEM) a playbook is held only if the signed manifest lists
    its file with its name, version and current hash; a missing or bad manifest refuses every one.
    """
    found: dict[str, Playbook] = {}
    problems: list[str] = []
    refused: dict[str, str] = {}
    signed, manifest_problem, signer = _signed_entries(directory, signing_key)
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
        if signing_key is not None:
            why = manifest_problem or _unsigned(path.name, playbook, signed)
            if why is not None:
                refused[playbook.name] = f"{path.name}: {why}"
                continue
        found[playbook.name] = playbook
    return Library(directory, found, tuple(problems), refused, signer)


def _signed_entries(
    directory: Path, signing_key: bytes | None,
) -> tuple[dict[str, Any], str | None, str | None]:
    """Return the manifest's entries by file, the reason none can be trusted (or None), the signer."""
    if signing_key is None:
        return {}, None, None
    try:
        manifest = (directory / MANIFEST).read_bytes()[: MAX_MANIFEST + 1]
    except OSError as exc:
        return {}, f"not signed: cannot read {MANIFEST} ({exc.strerror or exc})", None
    try:
        return verified_entries(manifest, signing_key), None, key_id(signing_key)
    except SignatureError as exc:
        return {}, f"not trusted: {exc}", None


def _unsigned(file: str, playbook: Playbook, signed: dict[str, Any]) -> str | None:
    entry = signed.get(file)
    if entry is None:
        return "not signed: the signed manifest does not list this file"
    if entry.sha256 != playbook.digest:
        return (f"altered since it was signed: sha256 {playbook.digest[:16]}..., "
                f"signed {entry.sha256[:16]}...")
    if (entry.name, entry.version) != (playbook.name, playbook.version):
        return f"signed as {entry.name} v{entry.version}, the file says {playbook.name} v{playbook.version}"
    return None
