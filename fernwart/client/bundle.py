"""`fernwart playbooks keygen|sign`: make an Ed25519 key pair, sign a playbooks directory (offline).

    fernwart playbooks keygen --out /secure/fernwart-playbooks      # writes the key (0600) and KEY.pub
    fernwart playbooks sign --key /secure/fernwart-playbooks playbooks/   # writes playbooks/playbooks.sig

Nothing here talks to the collector: the private key stays on the signing machine, agents get the
public key (`playbook_signing_key:`) and the directory with its `playbooks.sig`. Every playbook is
validated before it is signed; an invalid one signs nothing.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from fernwart.playbook.model import Playbook, PlaybookError, load_playbook
from fernwart.playbook.signing import MANIFEST, SignatureError, SignedEntry, key_id, new_key_pair, sign


def load_reporting(path: Path, label: str) -> Playbook | None:
    """Return the playbook in `path`, or None after printing why it cannot be read or is invalid."""
    try:
        return load_playbook(path.read_bytes(), label)
    except OSError as exc:
        print(f"fernwart: {label}: cannot read: {exc.strerror}", file=sys.stderr)
    except PlaybookError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
    return None


def keygen(out: Path) -> int:
    """Write a new private key to `out` (mode 0600, never over an existing file) and its public key to
    `out`.pub; return the exit code."""
    public_path = out.with_name(out.name + ".pub")
    for path in (out, public_path):
        if path.exists():
            print(f"fernwart: {path} exists; not overwriting a key", file=sys.stderr)
            return 2
    try:
        private_pem, public_pem = new_key_pair()
    except ImportError:
        print("fernwart: signing needs the Python package cryptography", file=sys.stderr)
        return 2
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        print(f"fernwart: cannot write the key: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"private key {out} (keep it offline), public key {public_path} "
          f"(give it to agents as playbook_signing_key:), key id {key_id(public_pem)}")
    return 0


def sign_directory(key: Path, directory: Path, now: datetime | None = None) -> int:
    """Sign every ``*.yaml`` playbook of `directory` with the private key file `key`; write the manifest
    beside them; return the exit code (1 if a playbook is invalid, 2 for a key or usage problem)."""
    try:
        private_pem = key.read_bytes()
    except OSError as exc:
        print(f"fernwart: cannot read the key {key}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    paths = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    if not paths:
        print(f"fernwart: {directory}: no *.yaml playbooks to sign", file=sys.stderr)
        return 2
    entries, bad, names = [], 0, set()
    for path in paths:
        playbook = load_reporting(path, str(path))
        if playbook is None:
            bad += 1
            continue
        if playbook.name in names:
            print(f"{path}: name: {playbook.name!r} is also the name of another file here", file=sys.stderr)
            bad += 1
            continue
        names.add(playbook.name)
        entries.append(SignedEntry(path.name, playbook.name, playbook.version, playbook.digest))
    if bad:
        print(f"fernwart: {bad} invalid playbook(s); nothing signed", file=sys.stderr)
        return 1
    try:
        manifest = sign(entries, private_pem, now or datetime.now(UTC))
    except ImportError:
        print("fernwart: signing needs the Python package cryptography", file=sys.stderr)
        return 2
    except SignatureError as exc:
        print(f"fernwart: {key}: {exc}", file=sys.stderr)
        return 2
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for entry in entries:
        print(f"signed {entry.file}: {entry.name} v{entry.version} sha256:{entry.sha256}")
    print(f"wrote {directory / MANIFEST} ({len(entries)} playbooks, key id {manifest['key_id']})")
    return 0
