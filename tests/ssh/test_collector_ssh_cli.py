"""`fernwart-collector ssh trust | forget | target | key` as a user runs them, against a real sshd."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import requests

from fernwart.ssh import KnownHosts
from tests.e2e.processes import BIN, Collector
from tests.sshd import SSHServer


def collector(home: Path, *args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    """Run `fernwart-collector ARGS` on the collector home `home`, migrating its database first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERNWART_")}
    env["FERNWART_HOME"] = str(home)
    if not (home / "fernwart.sqlite").exists():  # the CLI creates a database only in migrate and serve
        subprocess.run([str(BIN / "fernwart-collector"), "migrate"], env=env, check=True,
                       capture_output=True, timeout=120)
    return subprocess.run([str(BIN / "fernwart-collector"), *args], env=env, input=answer,
                          capture_output=True, text=True, timeout=120)


def test_trust_records_only_when_confirmed(sshd: SSHServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    known = KnownHosts(home / "ssh" / "known_hosts")
    refused = collector(home, "ssh", "trust", "127.0.0.1", "--port", str(sshd.port), answer="n\n")
    assert refused.returncode == 1, refused.stderr
    assert sshd.host_fingerprint() in refused.stdout and "nothing recorded" in refused.stdout
    assert known.lookup("127.0.0.1", sshd.port) == []
    silent = collector(home, "ssh", "trust", "127.0.0.1", "--port", str(sshd.port))  # no terminal: no
    assert silent.returncode == 1 and known.lookup("127.0.0.1", sshd.port) == []
    confirmed = collector(home, "ssh", "trust", "127.0.0.1", "--port", str(sshd.port), answer="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert [k.fingerprint for k in known.lookup("127.0.0.1", sshd.port)] == [sshd.host_fingerprint()]
    assert stat.S_IMODE(known.path.stat().st_mode) == 0o600
    again = collector(home, "ssh", "trust", "127.0.0.1", "--port", str(sshd.port), "--yes")
    assert again.returncode == 0 and "trusted already" in again.stdout


def test_a_changed_key_is_refused_loudly_until_forgotten(sshd: SSHServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert collector(home, "ssh", "trust", "127.0.0.1", "--port", str(sshd.port), "--yes").returncode == 0
    old = sshd.host_fingerprint()
    sshd.replace_host_key()
    new = sshd.host_fingerprint()
    changed = collector(home, "ssh", "trust", "127.0.0.1", "--port", str(sshd.port), "--yes")
    assert changed.returncode == 2
    assert "HOST KEY CHANGED" in changed.stderr and old in changed.stderr and new in changed.stderr
    known = KnownHosts(home / "ssh" / "known_hosts")
    assert [k.fingerprint for k in known.lookup("127.0.0.1", sshd.port)] == [old]
    forgot = collector(home, "ssh", "forget", "127.0.0.1")
    assert forgot.returncode == 0 and old in forgot.stdout
    assert collector(home, "ssh", "trust", "127.0.0.1", "--port", str(sshd.port), "--yes").returncode == 0
    assert [k.fingerprint for k in known.lookup("127.0.0.1", sshd.port)] == [new]
    assert collector(home, "ssh", "forget", "127.0.0.1").returncode == 0
    assert collector(home, "ssh", "forget", "127.0.0.1").returncode == 2  # nothing left to forget


def test_target_of_an_enrolled_host_is_used_by_trust(sshd: SSHServer, tmp_path: Path) -> None:
    home = tmp_path / "home"
    enrollment = collector(home, "token", "create", "--customer", "Muster GmbH").stdout.split()[-1]
    running = Collector(home)
    running.start()
    try:
        r = requests.post(f"{running.url}/api/v1/enroll", json={"token": enrollment, "hostname": "web01"},
                          timeout=10)
        assert r.status_code == 201, r.text
    finally:
        running.stop()
    bad = collector(home, "ssh", "target", "web01", "--address", "-oProxyCommand=x")
    assert bad.returncode == 2 and "address" in bad.stderr
    done = collector(home, "ssh", "target", "web01", "--address", "127.0.0.1", "--port", str(sshd.port),
                     "--user", sshd.user)
    assert done.returncode == 0, done.stderr
    assert f"{sshd.user}@127.0.0.1 port {sshd.port}, repairs not allowed" in done.stdout
    trusted = collector(home, "ssh", "trust", "web01", "--yes")
    assert trusted.returncode == 0, trusted.stderr
    assert KnownHosts(home / "ssh" / "known_hosts").lookup("127.0.0.1", sshd.port)


def test_trust_says_whether_the_key_matches_what_the_hosts_agent_reported(sshd: SSHServer,
                                                                           tmp_path: Path) -> None:
    home = tmp_path / "home"
    made = collector(home, "token", "create", "--customer", "Muster GmbH", "--uses", "2")
    enrollment = made.stdout.split()[-1]
    key_type = "ssh-ed25519"
    facts = {"hostname": "web01",
             "ssh_host_keys": [{"type": key_type, "fingerprint": sshd.host_fingerprint()}]}
    other = {"hostname": "web02", "ssh_host_keys": [{"type": key_type, "fingerprint": "SHA256:" + "A" * 43}]}
    running = Collector(home)
    running.start()
    try:
        for name, reported in (("web01", facts), ("web02", other)):
            r = requests.post(f"{running.url}/api/v1/enroll",
                              json={"token": enrollment, "hostname": name, "facts": reported}, timeout=10)
            assert r.status_code == 201, r.text
    finally:
        running.stop()
    for name in ("web01", "web02"):
        done = collector(home, "ssh", "target", name, "--address", "127.0.0.1", "--port", str(sshd.port),
                         "--user", sshd.user)
        assert done.returncode == 0, done.stderr
    matching = collector(home, "ssh", "trust", "web01", answer="n\n")
    assert "this matches the fingerprints the host's agent reported" in matching.stdout, matching.stdout
    differing = collector(home, "ssh", "trust", "web02", answer="n\n")
    assert "DOES NOT MATCH" in differing.stdout, differing.stdout


def test_key_is_created_once_private_and_printed_as_an_authorized_keys_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = collector(home, "ssh", "key")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("ecdsa-sha2-nistp256 ") and "created" in first.stderr
    assert stat.S_IMODE((home / "ssh" / "id_ecdsa").stat().st_mode) == 0o600
    second = collector(home, "ssh", "key")
    assert second.stdout == first.stdout and "created" not in second.stderr
