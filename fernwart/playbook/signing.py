"""Signed playbook bundles: an Ed25519 signature over the names, versions and SHA-256 hashes of a directory.

The provider signs with a private key kept offline (`fernwart playbooks keygen`, `fernwart playbooks
sign --key K DIR`); an agent configured with the public key (`playbook_signing_key:`) holds only the
playbooks the manifest lists with the file's current hash, so a compromised collector, or anyone who can
write the playbooks directory but not sign, cannot get new code run. The manifest, ``playbooks.sig``
beside the files, is JSON:

    {"format": "fernwart-playbooks-signature/1", "key_id": "3f2a...", "signed_at": "2026-12-03T12:00:00Z",
     "playbooks": [{"file": "disk-full.yaml", "name": "disk-full", "version": 1, "sha256": "..."}],
     "signature": "<base64 of the Ed25519 signature over the canonical JSON of all other keys>"}

Functions here take and return bytes and dicts (callers do the file I/O). `cryptography` is imported
only inside `new_key_pair`, `sign` and `verify`; reading a public key and its id needs no library, so
an agent can check its configured key without loading one (it verifies in a child process, see
`fernwart.agent.playbooks.trust`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MANIFEST = "playbooks.sig"
FORMAT = "fernwart-playbooks-signature/1"
MAX_MANIFEST = 256 * 1024
# DER of an Ed25519 SubjectPublicKeyInfo before its 32 raw key bytes (RFC 8410)
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


class SignatureError(ValueError):
    """A key or manifest that cannot be used, or a signature that does not verify."""


@dataclass(frozen=True)
class SignedEntry:
    file: str
    name: str
    version: int
    sha256: str


def canonical(payload: Mapping[str, Any]) -> bytes:
    """Return the bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_key_pair() -> tuple[bytes, bytes]:
    """Return a fresh (private key PEM, PKCS#8; public key PEM, SubjectPublicKeyInfo)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem


def public_key_bytes(public_pem: bytes) -> bytes:
    """Return the 32 raw bytes of an Ed25519 public key PEM; raise SignatureError for anything else."""
    text = public_pem.decode("ascii", "replace").strip()
    begin, end = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
    if not (text.startswith(begin) and text.endswith(end)):
        raise SignatureError("not a usable public key: expected a PEM 'PUBLIC KEY' "
                             "(from fernwart playbooks keygen)")
    try:
        der = base64.b64decode("".join(text[len(begin):-len(end)].split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("not a usable public key: the PEM body is not base64") from None
    if len(der) != len(_SPKI_PREFIX) + 32 or not der.startswith(_SPKI_PREFIX):
        raise SignatureError("not a usable public key: not an Ed25519 public key")
    return der[len(_SPKI_PREFIX):]


def key_id(public_pem: bytes) -> str:
    """Return a short name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public_key_bytes(public_pem)).hexdigest()[:16]


def sign(entries: list[SignedEntry], private_pem: bytes, now: datetime) -> dict[str, Any]:
    """Return the signed manifest of `entries` (sorted by file)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"not a usable private key: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SignatureError("not an Ed25519 private key")
    public = private.public_key()
    payload: dict[str, Any] = {
        "format": FORMAT,
        "key_id": hashlib.sha256(_raw_public(public)).hexdigest()[:16],
        "signed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "playbooks": [e.__dict__ for e in sorted(entries, key=lambda e: e.file)],
    }
    signature = private.sign(canonical(payload))
    return {**payload, "signature": base64.b64encode(signature).decode()}


def verify(manifest_bytes: bytes, public_pem: bytes) -> dict[str, SignedEntry]:
    """Check the manifest's signature with the public key; return its entries by file name.

    Raises SignatureError when the manifest is malformed, signed by another key, or altered.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(public_key_bytes(public_pem))
    if len(manifest_bytes) > MAX_MANIFEST:
        raise SignatureError(f"{MANIFEST}: larger than {MAX_MANIFEST} bytes")
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureError(f"{MANIFEST}: not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SignatureError(f"{MANIFEST}: not a {FORMAT} manifest")
    payload = {k: v for k, v in manifest.items() if k != "signature"}
    try:
        signature = base64.b64decode(str(manifest.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{MANIFEST}: signature is not base64") from None
    try:
        public.verify(signature, canonical(payload))
    except InvalidSignature:
        raise SignatureError(f"{MANIFEST}: the signature does not verify with the configured key "
                             f"{key_id(public_pem)} (altered, or signed with another key "
                             f"{str(manifest.get('key_id'))[:16]!r})") from None
    entries: dict[str, SignedEntry] = {}
    for raw in manifest.get("playbooks") or []:
        try:
            entry = SignedEntry(str(raw["file"]), str(raw["name"]), int(raw["version"]), str(raw["sha256"]))
        except (KeyError, TypeError, ValueError):
            raise SignatureError(f"{MANIFEST}: malformed entry {raw!r}") from None
        entries[entry.file] = entry
    return entries


def _raw_public(public: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw: bytes = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw
