"""Verify a playbooks directory's signed manifest in a short-lived child process, and remember the answer.

`cryptography` adds about 9 MB to a process that imports it; the agent's budget is 36 MB. So the
long-running agent never imports it: `verified_entries` runs ``python -m fernwart.agent.playbooks.trust``
with the key and the manifest on standard input, and keeps the answer for those exact bytes (the same
manifest and key always verify the same way), so a child runs only when the manifest changes, not per
job. The files' own hashes are compared by the caller on every load.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from typing import Any

from fernwart.playbook.signing import SignatureError, SignedEntry

CHILD_TIMEOUT = 60.0
_answers: dict[str, dict[str, SignedEntry]] = {}  # sha256 of key and manifest -> verified entries
_MAX_ANSWERS = 8


def verified_entries(manifest: bytes, public_pem: bytes) -> dict[str, SignedEntry]:
    """Return the manifest's entries by file if its signature verifies with the key; else SignatureError."""
    digest = hashlib.sha256(public_pem + b"\0" + manifest).hexdigest()
    if digest in _answers:
        return _answers[digest]
    request = json.dumps({"key": public_pem.decode("ascii", "replace"),
                          "manifest": base64.b64encode(manifest).decode()})
    try:
        done = subprocess.run([sys.executable, "-m", "fernwart.agent.playbooks.trust"], input=request,
                              capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)
        answer = json.loads(done.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise SignatureError(f"could not verify the signature: {exc}") from None
    if "error" in answer:
        raise SignatureError(str(answer["error"]))
    entries = {e["file"]: SignedEntry(**e) for e in answer["entries"]}
    if len(_answers) >= _MAX_ANSWERS:
        _answers.clear()
    _answers[digest] = entries
    return entries


def _child(stdin: str) -> dict[str, Any]:
    from fernwart.playbook.signing import verify

    request = json.loads(stdin)
    try:
        entries = verify(base64.b64decode(request["manifest"]), str(request["key"]).encode())
    except SignatureError as exc:
        return {"error": str(exc)}
    except ImportError:
        return {"error": "verifying signatures needs the Python package cryptography "
                         "(pip install 'fernwart[signing]')"}
    return {"entries": [e.__dict__ for e in entries.values()]}


if __name__ == "__main__":
    print(json.dumps(_child(sys.stdin.read())))
