"""The updates check on canned apt, dnf and zypper output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from fernwart.checks.probe import CommandResult
from fernwart.checks.status import Status
from fernwart.checks.updates import (
    UpdatesCheck,
    parse_apt,
    parse_dnf_check_update,
    parse_dnf_security,
    parse_zypper_table,
)
from tests.checks.fakes import FakeRunner, done, make_probe

APT = "\n".join([  # real lines from Debian 12 and Ubuntu 22.04
    "NOTE: This is only a simulation!",
    "Reading package lists...",
    "Inst base-files [12.4+deb12u11] (12.4+deb12u15 Debian:12.15/oldstable [amd64])",
    "Inst libgcrypt20-dev [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable, "
    "Debian-Security:12/oldstable-security [amd64]) []",
    "Inst openssl [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates, "
    "Ubuntu:22.04/jammy-security [amd64])",
    "Conf base-files (12.4+deb12u15 Debian:12.15/oldstable [amd64])",
    "",
])

DNF = """
kernel.x86_64                     5.14.0-362.el9          baseos
openssl-libs.x86_64               1:3.0.7-25.el9          baseos
a-very-long-package-name-that-wraps.noarch
                                  1.2-3.el9               appstream
Obsoleting Packages
grub2-tools.x86_64                1:2.06-70.el9           baseos
    grub2-tools.x86_64            1:2.06-61.el9           @baseos
"""

DNF_SECURITY = """RHSA-2023:1234 Important/Sec. openssl-libs-1:3.0.7-25.el9.x86_64
RHSA-2023:1235 Moderate/Sec.  openssl-libs-1:3.0.7-25.el9.x86_64
RHSA-2023:1236 Important/Sec. kernel-5.14.0-362.el9.x86_64
"""

ZYPPER_UPDATES = """Loading repository data...
Reading installed packages...
S | Repository | Name    | Current Version | Available Version | Arch
--+------------+---------+-----------------+-------------------+-------
v | Update     | curl    | 8.0.1-1.1       | 8.0.1-1.2         | x86_64
v | Update     | openssl | 3.0.8-1.1       | 3.0.8-1.3         | x86_64
"""

ZYPPER_PATCHES = """Repository | Name              | Category | Severity  | Interactive | Status | Summary
-----------+-------------------+----------+-----------+-------------+--------+--------
Update     | openSUSE-2023-123 | security | important | ---         | needed | Security update for openssl
Update     | openSUSE-2023-124 | security | moderate  | ---         | applied | Security update for curl
"""


def test_parse_apt_counts_security_suites() -> None:
    assert parse_apt(APT) == (3, 2, ("base-files", "libgcrypt20-dev", "openssl"))


def test_parse_dnf_and_zypper() -> None:
    assert parse_dnf_check_update(DNF) == (
        "kernel.x86_64", "openssl-libs.x86_64", "a-very-long-package-name-that-wraps.noarch",
    )
    assert parse_dnf_security(DNF_SECURITY) == 2
    assert [row[2] for row in parse_zypper_table(ZYPPER_UPDATES)] == ["curl", "openssl"]


def probe_with(answers: dict[str, CommandResult], files: dict[str, str] | None = None,
               binaries: Sequence[str] = ("apt-get",)) -> object:
    def read_text(path: Path) -> str:
        if files and str(path) in files:
            return files[str(path)]
        raise FileNotFoundError(path)

    return make_probe(run=FakeRunner(answers), read_text=read_text,  # type: ignore[arg-type]
                      which=lambda name: f"/usr/bin/{name}" if name in binaries else None)


def test_apt_security_updates_warn_by_default_and_reboot_required() -> None:
    reboot = {"/var/run/reboot-required": "*** System restart required ***"}
    probe = probe_with({"apt-get": done(APT)}, reboot)
    result = UpdatesCheck.from_config().run(probe)  # type: ignore[arg-type]
    assert result.status is Status.WARNING
    assert result.summary == "apt: 2 security updates; reboot required"
    assert [m.to_text() for m in result.metrics] == ["updates=3;;;0", "security_updates=2;0;;0"]
    assert "libgcrypt20-dev" in result.long_output


def test_apt_nothing_pending_is_ok_and_thresholds_apply() -> None:
    quiet = probe_with({"apt-get": done("Reading package lists...\n")})
    result = UpdatesCheck.from_config().run(quiet)  # type: ignore[arg-type]
    assert (result.status, result.summary) == (Status.OK, "apt: 0 updates pending; 0 security updates")
    check = UpdatesCheck.from_config({"security_critical": "1"}, warning="2")
    result = check.run(probe_with({"apt-get": done(APT)}))  # type: ignore[arg-type]
    assert result.status is Status.CRITICAL


def test_dnf_with_needs_restarting() -> None:
    def dnf(argv: Sequence[str]) -> CommandResult:
        return done(DNF, 100) if "check-update" in argv else done(DNF_SECURITY)

    probe = probe_with({"dnf": dnf, "needs-restarting": done("Reboot is required", 1)},  # type: ignore[dict-item]
                       binaries=("dnf", "needs-restarting"))
    result = UpdatesCheck.from_config().run(probe)  # type: ignore[arg-type]
    assert result.summary == "dnf: 2 security updates; reboot required"
    assert result.metrics[0].value == 3


def test_zypper() -> None:
    def zypper(argv: Sequence[str]) -> CommandResult:
        if "list-updates" in argv:
            return done(ZYPPER_UPDATES)
        return done(ZYPPER_PATCHES) if "list-patches" in argv else done("", 0)

    probe = probe_with({"zypper": zypper})  # type: ignore[dict-item]
    result = UpdatesCheck.from_config({"manager": "zypper"}).run(probe)  # type: ignore[arg-type]
    assert result.summary == "zypper: 1 security updates"
    assert result.metrics[0].value == 2


@pytest.mark.parametrize(
    ("answers", "binaries", "summary"),
    [
        ({}, (), "no supported package manager found (apt-get, dnf, zypper)"),
        ({"apt-get": done("", 100, stderr="E: Could not open lock file\n")}, ("apt-get",),
         "apt-get -s failed (exit 100): E: Could not open lock file"),
        ({"apt-get": done("", -9, timed_out=True)}, ("apt-get",), "apt-get -s timed out after 10s"),
    ],
)
def test_failures_are_unknown(
    answers: dict[str, CommandResult], binaries: tuple[str, ...], summary: str,
) -> None:
    result = UpdatesCheck.from_config().run(probe_with(answers, binaries=binaries))  # type: ignore[arg-type]
    assert (result.status, result.summary) == (Status.UNKNOWN, summary)
