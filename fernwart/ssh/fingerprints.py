"""Host-key fingerprints as OpenSSH prints them: ``SHA256:`` and the unpadded base64 of the key's hash."""

from __future__ import annotations

import base64
import hashlib

import paramiko


def fingerprint(key: paramiko.PKey) -> str:
    """Return the SHA256 fingerprint of `key`, as `ssh-keygen -lf` shows it (``SHA256:...``)."""
    return fingerprint_of_blob(key.asbytes())


def fingerprint_of_blob(blob: bytes) -> str:
    """Return the SHA256 fingerprint of a public key in SSH wire format."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"
