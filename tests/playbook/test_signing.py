"""Signature manifests: what verifies, and each way a bundle is refused (altered, re-signed, other key)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fernwart.playbook.signing import SignatureError, SignedEntry, key_id, new_key_pair, sign, verify

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ENTRIES = [SignedEntry("b.yaml", "b", 2, "b" * 64), SignedEntry("a.yaml", "a", 1, "a" * 64)]


def test_a_signed_manifest_verifies_and_lists_its_entries() -> None:
    private, public = new_key_pair()
    manifest = sign(ENTRIES, private, NOW)
    assert manifest["key_id"] == key_id(public) and manifest["signed_at"] == "2026-12-03T12:00:00Z"
    assert [e["file"] for e in manifest["playbooks"]] == ["a.yaml", "b.yaml"]
    entries = verify(json.dumps(manifest, indent=2).encode(), public)  # formatting is not signed
    assert entries["b.yaml"] == SignedEntry("b.yaml", "b", 2, "b" * 64)


@pytest.mark.parametrize("change", [
    lambda m: m["playbooks"][0].update(sha256="c" * 64),  # a hash replaced by the attacker's file's
    lambda m: m["playbooks"].append({"file": "x.yaml", "name": "x", "version": 1, "sha256": "d" * 64}),
    lambda m: m["playbooks"][1].update(version=3),
    lambda m: m.update(signature=m["signature"][:-4] + "AAA="),
])
def test_any_change_to_the_manifest_breaks_the_signature(change: object) -> None:
    private, public = new_key_pair()
    manifest = sign(ENTRIES, private, NOW)
    change(manifest)  # type: ignore[operator]
    with pytest.raises(SignatureError, match="does not verify|not base64"):
        verify(json.dumps(manifest).encode(), public)


def test_a_manifest_signed_with_another_key_is_refused() -> None:
    private, _ = new_key_pair()
    _, public = new_key_pair()
    with pytest.raises(SignatureError, match="does not verify with the configured key"):
        verify(json.dumps(sign(ENTRIES, private, NOW)).encode(), public)


def test_garbage_is_refused_with_a_reason() -> None:
    _, public = new_key_pair()
    for data, reason in [(b"{", "not JSON"), (b"[]", "not a fernwart"), (b"x" * 300_000, "larger than")]:
        with pytest.raises(SignatureError, match=reason):
            verify(data, public)
    with pytest.raises(SignatureError, match="not a usable public key"):
        verify(b"{}", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    private, _ = new_key_pair()
    with pytest.raises(SignatureError, match="not a usable private key"):
        sign(ENTRIES, public, NOW)
    assert private  # a private key is never taken for a public one, nor the other way
