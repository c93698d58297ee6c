"""The SSH runner against a real OpenSSH server on a loopback port (tests/sshd.py)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from fernwart.ssh import (
    AuthFailed,
    ConnectionRefused,
    Credentials,
    HostKeyChanged,
    KnownHosts,
    SSHTarget,
    UnknownHostKey,
    connect,
    read_bounded,
    remote_glob,
    remote_realpath,
    scan_host_key,
)
from fernwart.ssh import fingerprint as fingerprint_of
from tests.sshd import SSHServer, keygen
from tests.support import free_port


def _trusted(sshd: SSHServer, tmp_path: Path) -> KnownHosts:
    known = KnownHosts(tmp_path / "collector" / "known_hosts")
    known.add("127.0.0.1", sshd.port, scan_host_key("127.0.0.1", sshd.port))
    return known


def _target(sshd: SSHServer) -> SSHTarget:
    return SSHTarget("127.0.0.1", sshd.port, sshd.user)


def test_unknown_host_key_is_refused_with_its_fingerprint(sshd: SSHServer, tmp_path: Path) -> None:
    known = KnownHosts(tmp_path / "known_hosts")
    with pytest.raises(UnknownHostKey) as caught:
        connect(_target(sshd), known, Credentials(key_file=sshd.client_key))
    assert caught.value.fingerprint == sshd.host_fingerprint()
    assert caught.value.key_type == "ssh-ed25519"
    assert sshd.host_fingerprint() in str(caught.value)
    assert not known.path.exists()  # nothing learned on first use


def test_scan_shows_the_fingerprint_ssh_keygen_prints(sshd: SSHServer) -> None:
    assert fingerprint_of(scan_host_key("127.0.0.1", sshd.port)) == sshd.host_fingerprint()


def test_trusted_key_file_is_private_and_named_as_openssh_names_it(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    assert stat.S_IMODE(known.path.stat().st_mode) == 0o600
    assert known.path.read_text().startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    [entry] = known.lookup("127.0.0.1", sshd.port)
    assert entry.fingerprint == sshd.host_fingerprint()
    assert [k.fingerprint for k in known.forget("127.0.0.1")] == [sshd.host_fingerprint()]
    assert known.lookup("127.0.0.1", sshd.port) == []


def test_trust_then_run_an_argv_exactly_as_given(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    with connect(_target(sshd), known, Credentials(key_file=sshd.client_key)) as ssh:
        ran = ssh.run(["printf", "%s|", "a b", "$(id)", "'; rm -rf /", "*"], time.monotonic() + 30, 4096)
    assert ran.exit_status == 0 and not ran.timed_out and not ran.truncated
    assert ran.stdout == b"a b|$(id)|'; rm -rf /|*|"  # no word was split, expanded or run
    assert ran.duration > 0


def test_exit_status_and_both_streams_kept_apart(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    with connect(_target(sshd), known, Credentials(key_file=sshd.client_key)) as ssh:
        ran = ssh.run(["sh", "-c", "echo out; echo err >&2; exit 3"], time.monotonic() + 30, 4096)
        missing = ssh.run(["no-such-program-here"], time.monotonic() + 30, 4096)
    assert (ran.exit_status, ran.stdout, ran.stderr) == (3, b"out\n", b"err\n")
    assert "out\n[stderr]\nerr\n" == ran.output()
    assert missing.exit_status == 127


def test_environment_is_reduced_to_the_given_set(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    with connect(_target(sshd), known, Credentials(key_file=sshd.client_key)) as ssh:
        ran = ssh.run(["env"], time.monotonic() + 30, 4096, environment={"PATH": "/usr/bin:/bin", "A": "1"})
    assert sorted(ran.stdout.decode().split()) == ["A=1", "PATH=/usr/bin:/bin"]


def test_timeout_kills_the_remote_process_group(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    marker, pids = tmp_path / "still-running", tmp_path / "pids"
    # a child in the background, too: the whole group goes at the deadline (the server is this machine,
    # so the test looks at the processes directly)
    script = f"sleep 300 & echo $$ $! > {pids}; echo started; sleep 2; touch {marker}; wait"
    with connect(_target(sshd), known, Credentials(key_file=sshd.client_key)) as ssh:
        began = time.monotonic()
        ran = ssh.run(["sh", "-c", script], time.monotonic() + 1.0, 4096)
    assert ran.timed_out and ran.exit_status is None
    assert ran.stdout == b"started\n"  # the output so far is kept
    assert time.monotonic() - began < 20
    for pid in map(int, pids.read_text().split()):
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"process {pid} outlived the deadline"
    assert not marker.exists()  # the script never got past its sleep


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_output_cap_truncates_and_drains_without_blocking(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    with connect(_target(sshd), known, Credentials(key_file=sshd.client_key)) as ssh:
        # 8 MB on each stream at once: a runner reading one stream only would deadlock here
        ran = ssh.run(["sh", "-c", "head -c 8000000 /dev/zero & head -c 8000000 /dev/zero >&2; wait"],
                      time.monotonic() + 120, 1000)
    assert ran.exit_status == 0 and not ran.timed_out
    assert ran.truncated and len(ran.stdout) + len(ran.stderr) == 1000


def test_changed_host_key_is_refused_naming_both_fingerprints(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    old = sshd.host_fingerprint()
    sshd.replace_host_key()
    new = sshd.host_fingerprint()
    with pytest.raises(HostKeyChanged) as caught:
        connect(_target(sshd), known, Credentials(key_file=sshd.client_key))
    assert (caught.value.old, caught.value.new) == (old, new)
    assert old in str(caught.value) and new in str(caught.value) and "CHANGED" in str(caught.value)
    assert [k.fingerprint for k in known.lookup("127.0.0.1", sshd.port)] == [old]  # not overwritten


def test_a_key_not_authorized_fails_authentication(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    stranger = keygen(tmp_path / "stranger")
    with pytest.raises(AuthFailed, match="authentication as"):
        connect(_target(sshd), known, Credentials(key_file=stranger))


def test_nothing_listening_is_connection_refused(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(ConnectionRefused, match=f"port {port} refused"):
        connect(SSHTarget("127.0.0.1", port), KnownHosts(tmp_path / "k"), Credentials(key_file=tmp_path))


def test_put_file_and_bounded_reads_over_sftp(sshd: SSHServer, tmp_path: Path) -> None:
    known = _trusted(sshd, tmp_path)
    local = tmp_path / "local.txt"
    local.write_text("".join(f"line {i}\n" for i in range(1000)))
    remote = tmp_path / "remote" / "copied.txt"
    remote.parent.mkdir()
    os.symlink(remote, remote.parent / "link.txt")
    with connect(_target(sshd), known, Credentials(key_file=sshd.client_key)) as ssh:
        ssh.put_file(local, str(remote), 0o640)
        with ssh.open_sftp() as sftp:
            assert remote_glob(sftp, f"{remote.parent}/*.txt") == [f"{remote.parent}/copied.txt",
                                                                   f"{remote.parent}/link.txt"]
            assert remote_realpath(sftp, str(remote.parent / "link.txt")) == str(remote)
            assert read_bounded(sftp, str(remote), 4096, tail=2) == "line 998\nline 999"
            assert read_bounded(sftp, str(remote), 4096, head=1) == "line 0"
            assert len(read_bounded(sftp, str(remote), 100)) <= 100
    assert stat.S_IMODE(remote.stat().st_mode) == 0o640
    assert remote.read_text() == local.read_text()
