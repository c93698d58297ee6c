"""The disk check on canned partitions and statvfs figures."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import pytest

from fernwart.checks.disk import DiskCheck
from fernwart.checks.status import Status
from tests.checks.fakes import make_probe

Part = namedtuple("Part", "device mountpoint fstype opts")
StatVfs = namedtuple("StatVfs", "f_frsize f_blocks f_bfree f_bavail f_files f_ffree")

PARTITIONS = [
    Part("proc", "/proc", "proc", "rw"),
    Part("/dev/sda1", "/", "ext4", "rw"),
    Part("tmpfs", "/run", "tmpfs", "rw"),
    Part("/dev/sda2", "/var", "xfs", "rw"),
    Part("/dev/sda1", "/srv/bind", "ext4", "rw"),  # bind mount of /
    Part("/dev/sdb1", "/data", "btrfs", "rw"),
    Part("/dev/loop0", "/snap/core/1", "squashfs", "ro"),
    Part("none", "/empty", "ext4", "rw"),
]

# 1000 blocks of 1 KiB; free/available/inodes vary per mount
STATS = {
    "/": StatVfs(1024, 1000, 150, 100, 1000, 50),  # space 850/(850+100)=89.5%, inodes 95%
    "/srv/bind": StatVfs(1024, 1000, 150, 100, 1000, 50),
    "/var": StatVfs(1024, 1000, 900, 850, 1000, 900),  # 100/(100+850)=10.5%
    "/data": StatVfs(1024, 1000, 20, 0, 0, 0),  # 100% used, no inode accounting
    "/run": StatVfs(1024, 1000, 1000, 1000, 100, 90),
    "/empty": StatVfs(1024, 0, 0, 0, 0, 0),
}


def probe_for(parts: list[Part] = PARTITIONS) -> object:
    def statvfs(mount: str) -> StatVfs:
        if mount not in STATS:
            raise PermissionError(13, "Permission denied")
        return STATS[mount]

    return make_probe(psutil=SimpleNamespace(disk_partitions=lambda all: parts), statvfs=statvfs)


def test_real_filesystems_only_with_space_and_inodes() -> None:
    result = DiskCheck.from_config().run(probe_for())  # type: ignore[arg-type]
    labels = [m.label for m in result.metrics]
    assert labels == ["/", "/ inodes", "/var", "/var inodes", "/data"]
    assert result.status is Status.CRITICAL
    assert result.summary.startswith("/ 89.5% used (100.0 KiB free), inodes 95.0% used; /data 100.0% used")
    assert result.metrics[0].to_text() == "/=89.47%;80;90;0;100"


def test_include_by_mount_and_missing_mount_is_critical() -> None:
    check = DiskCheck.from_config({"mounts": ["/var", "/run", "/backup"]})
    result = check.run(probe_for())  # type: ignore[arg-type]
    assert [m.label for m in result.metrics] == ["/run", "/run inodes", "/var", "/var inodes"]
    assert result.status is Status.CRITICAL
    assert result.summary.startswith("/backup is not mounted")


def test_include_by_type_and_exclude() -> None:
    only_tmpfs = DiskCheck.from_config({"fs_types": ["tmpfs"]}).run(probe_for())  # type: ignore[arg-type]
    assert [m.label for m in only_tmpfs.metrics] == ["/run", "/run inodes"]
    assert only_tmpfs.status is Status.OK
    excluded = DiskCheck.from_config({"exclude_mounts": ["/"], "exclude_fs_types": ["btrfs"]})
    result = excluded.run(probe_for())  # type: ignore[arg-type]
    assert [m.label for m in result.metrics] == ["/var", "/var inodes", "/srv/bind", "/srv/bind inodes"]


def test_separate_inode_thresholds() -> None:
    check = DiskCheck.from_config({"mounts": ["/"], "inode_warning": "99", "inode_critical": "99.5"},
                                  warning="95", critical="98")
    result = check.run(probe_for())  # type: ignore[arg-type]
    assert result.status is Status.OK
    assert result.metrics[1].to_text() == "'/ inodes'=95%;99;99.5;0;100"


def test_unreadable_mount_is_unknown_and_nothing_matched_is_ok() -> None:
    parts = [Part("/dev/x", "/secret", "ext4", "rw")]
    assert DiskCheck.from_config().run(probe_for(parts)).status is Status.UNKNOWN  # type: ignore[arg-type]
    nothing = DiskCheck.from_config({"fs_types": ["zfs"]}).run(probe_for())  # type: ignore[arg-type]
    assert (nothing.status, nothing.summary) == (Status.OK, "no filesystems matched")


@pytest.mark.parametrize("key", ["mounts", "exclude_mounts", "fs_types", "exclude_fs_types"])
def test_single_string_is_accepted_as_a_list(key: str) -> None:
    assert getattr(DiskCheck.from_config({key: "/x"}).options, key) == ["/x"]
