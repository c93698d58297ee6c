"""The SSH runner's and SSH facts' pure parts: the command line sent, the pgid line, the fact table."""

from __future__ import annotations

import shlex

import pytest

from fernwart.collector.services.ssh_facts import COMMANDS, NEEDS_AGENT, commands_for
from fernwart.playbook.model import FACTS
from fernwart.ssh import fingerprint_of_blob, remote_command
from fernwart.ssh.runner import _split_pgid


def test_every_word_reaches_the_remote_shell_as_one_word() -> None:
    argv = ["printf", "%s", "a b", "$(id)", "`id`", "; rm -rf /", "'", '"', "*", "\n", "-oProxyCommand=x"]
    line = remote_command(argv, {"PATH": "/usr/bin", "LANG": "C.UTF-8"})
    words = shlex.split(line)
    assert words[:6] == ["setsid", "-w", "sh", "-c", 'echo "fernwart-pgid:$$"; exec "$@"', "fernwart"]
    assert words[6:10] == ["env", "-i", "PATH=/usr/bin", "LANG=C.UTF-8"]
    assert words[10:] == argv
    assert shlex.split(remote_command(["true"]))[6:] == ["true"]  # no environment given: none changed


def test_an_empty_argv_is_refused() -> None:
    with pytest.raises(ValueError):
        remote_command([])


def test_the_pgid_line_is_found_after_noise_from_rc_files() -> None:
    assert _split_pgid(bytearray(b"motd\nfernwart-pgid:4242\nout")) == (4242, b"out")
    assert _split_pgid(bytearray(b"fernwart-pgid:42")) == (None, b"")  # line not complete yet
    assert _split_pgid(bytearray(b"fernwart-pgid:x\n")) == (None, b"")


def test_fingerprints_are_openssh_style() -> None:
    assert fingerprint_of_blob(b"") == "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


def test_every_fact_has_a_command_or_says_it_needs_the_agent() -> None:
    assert set(COMMANDS) | NEEDS_AGENT == set(FACTS) and not set(COMMANDS) & NEEDS_AGENT
    assert commands_for("certificate", {}) is None
    [du] = commands_for("disk_usage", {"path": "/var", "depth": 3, "count": 2})[1:]
    assert du.argv == ["du", "-x", "-k", "-d", "3", "--", "/var"]
    assert du.trim("10\t/var/a\n30\t/var\n20\t/var/b\n") == "  30.0 KiB  /var\n  20.0 KiB  /var/b"
    [unit] = commands_for("unit_status", {"unit": "-H evil"})
    assert unit.argv[-2:] == ["--", "-H evil"]  # an option-like value stays an operand
