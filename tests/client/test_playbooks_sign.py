"""`fernwart playbooks keygen|sign`; an agent holds only what the key signed (`fernwart-agent playbooks`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fernwart.agent.config import ConfigError, parse_config
from fernwart.agent.playbooks.library import load_library
from fernwart.client.cli import main
from fernwart.playbook.signing import MANIFEST
from tests.support import REPO


def signed_bundle(tmp_path: Path) -> tuple[Path, Path]:
    """Return (the signed copy of the shipped playbooks, the public key)."""
    bundle = tmp_path / "playbooks"
    shutil.copytree(REPO / "playbooks", bundle)
    assert main(["playbooks", "keygen", "--out", str(tmp_path / "key")], environ={}) == 0
    assert main(["playbooks", "sign", "--key", str(tmp_path / "key"), str(bundle)], environ={}) == 0
    return bundle, tmp_path / "key.pub"


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["playbooks", "keygen", "--out", str(tmp_path / "key")], environ={}) == 0
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "key.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    before = (tmp_path / "key").read_bytes()
    assert main(["playbooks", "keygen", "--out", str(tmp_path / "key")], environ={}) == 2
    assert "exists; not overwriting" in capsys.readouterr().err
    assert (tmp_path / "key").read_bytes() == before


def test_sign_lists_every_playbook_with_name_version_and_hash(tmp_path: Path) -> None:
    bundle, public = signed_bundle(tmp_path)
    manifest = json.loads((bundle / MANIFEST).read_text())
    library = load_library(bundle)
    assert {e["name"]: e["sha256"] for e in manifest["playbooks"]} == {
        p.name: p.digest for p in library.playbooks.values()}
    signed = load_library(bundle, public.read_bytes())
    assert set(signed.playbooks) == set(library.playbooks) and signed.refused == {}


def test_an_invalid_playbook_signs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "playbooks"
    shutil.copytree(REPO / "playbooks", bundle)
    (bundle / "broken.yaml").write_text("name: broken\n")
    assert main(["playbooks", "keygen", "--out", str(tmp_path / "key")], environ={}) == 0
    assert main(["playbooks", "sign", "--key", str(tmp_path / "key"), str(bundle)], environ={}) == 1
    assert "nothing signed" in capsys.readouterr().err and not (bundle / MANIFEST).exists()


def test_a_signing_agent_holds_neither_altered_nor_unsigned_playbooks(tmp_path: Path) -> None:
    bundle, public = signed_bundle(tmp_path)
    key = public.read_bytes()
    disk = bundle / "disk-full.yaml"
    disk.write_text(disk.read_text() + "  - {name: extra, run: [id]}\n")
    shutil.copy(bundle / "high-load.yaml", bundle / "extra.yaml")
    (bundle / "extra.yaml").write_text((bundle / "extra.yaml").read_text().replace("name: high-load",
                                                                                     "name: extra"))
    library = load_library(bundle, key)
    assert "altered since it was signed" in library.refused["disk-full"]
    assert "does not list this file" in library.refused["extra"]
    assert "disk-full" not in library.playbooks and "high-load" in library.playbooks
    (bundle / MANIFEST).write_text((bundle / MANIFEST).read_text().replace('"version": 1', '"version": 2', 1))
    tampered = load_library(bundle, key)
    assert tampered.playbooks == {} and all("does not verify" in why for why in tampered.refused.values())
    (bundle / MANIFEST).unlink()
    assert "cannot read playbooks.sig" in load_library(bundle, key).refused["high-load"]
    assert set(load_library(bundle).playbooks) >= {"disk-full", "extra"}  # without a key: as before


def test_the_agent_config_reads_and_checks_the_public_key(tmp_path: Path) -> None:
    _, public = signed_bundle(tmp_path)
    base = "collector: http://127.0.0.1:1\nhost_id: h\n"
    config = parse_config(base + f"playbook_signing_key: {public.name}\n", tmp_path / "agent.yaml")
    assert config.playbook_signing_key == public.read_bytes()
    (tmp_path / "bad.pub").write_text("not a key")
    with pytest.raises(ConfigError, match="playbook_signing_key: not a usable public key"):
        parse_config(base + "playbook_signing_key: bad.pub\n", tmp_path / "agent.yaml")
    with pytest.raises(ConfigError, match="playbook_signing_key: cannot read"):
        parse_config(base + "playbook_signing_key: missing.pub\n", tmp_path / "agent.yaml")


def test_fernwart_agent_playbooks_names_what_it_does_not_hold(tmp_path: Path) -> None:
    bundle, public = signed_bundle(tmp_path)
    (bundle / "rotate-logs.yaml").write_text((bundle / "rotate-logs.yaml").read_text() + "\n# edited\n")
    config = tmp_path / "agent.yaml"
    config.write_text(f"collector: http://127.0.0.1:1\nhost_id: h\nplaybooks: playbooks\n"
                      f"playbook_signing_key: {public.name}\n")
    done = subprocess.run([str(Path(sys.executable).parent / "fernwart-agent"), "playbooks", "--config",
                           str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "signed by key" in done.stdout and "disk-full v1" in done.stdout
    assert "not held: rotate-logs: rotate-logs.yaml: altered since it was signed" in done.stderr


def test_the_agent_process_never_loads_cryptography_even_when_it_verifies(tmp_path: Path) -> None:
    """cryptography costs ~9 MB of the agent's 36 MB: verification runs in a child process."""
    bundle, public = signed_bundle(tmp_path)
    code = ("import sys\nfrom pathlib import Path\nfrom fernwart.agent import cli, jobs\n"
            "from fernwart.agent.config import parse_config\n"
            "from fernwart.agent.playbooks.library import load_library\n"
            f"config = parse_config('collector: http://127.0.0.1:1\\nhost_id: h\\n"
            f"playbook_signing_key: {public}\\n', {str(tmp_path / 'agent.yaml')!r})\n"
            f"unsigned = load_library(Path({str(REPO / 'playbooks')!r}))\n"
            f"signed = load_library(Path({str(bundle)!r}), config.playbook_signing_key)\n"
            "print(len(unsigned.playbooks), len(signed.playbooks), signed.signed_by is not None,"
            " any(m.split('.')[0] == 'cryptography' for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "13 13 True False"), done.stderr
