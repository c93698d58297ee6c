"""The uptime and raid checks on fixtures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from fernwart.checks.raid import RaidCheck, parse_mdstat
from fernwart.checks.status import Status
from fernwart.checks.uptime import UptimeCheck
from tests.checks.fakes import NOW, make_probe


@pytest.mark.parametrize(
    ("uptime", "status", "summary"),
    [
        (timedelta(days=3, hours=4), Status.OK, "up 3d 4h"),
        (timedelta(minutes=7), Status.WARNING, "rebooted 7m ago"),
    ],
)
def test_uptime(uptime: timedelta, status: Status, summary: str) -> None:
    psutil = SimpleNamespace(boot_time=lambda: (NOW - uptime).timestamp())
    result = UptimeCheck.from_config().run(make_probe(psutil=psutil))
    assert result.status is status and result.summary.startswith(summary)
    assert result.metrics[0].value == uptime.total_seconds()


HEALTHY = """Personalities : [raid1] [raid6] [raid5] [raid4]
md0 : active raid1 sdb1[1] sda1[0]
      1048512 blocks super 1.2 [2/2] [UU]

md1 : active raid5 sdc1[0] sdd1[1] sde1[3]
      2093056 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/3] [UUU]
      [==>..................]  check = 12.6% (132096/1046528) finish=0.1min speed=132096K/sec

unused devices: <none>
"""

DEGRADED = """Personalities : [raid1]
md0 : active raid1 sdb1[1](F) sda1[0]
      1048512 blocks super 1.2 [2/1] [U_]

md2 : active raid1 sdf1[2] sdg1[0]
      1048512 blocks super 1.2 [2/1] [U_]
      [=====>...............]  recovery = 27.3% (286208/1048512) finish=0.4min speed=95402K/sec

md3 : active raid1 sdh1[1] sdi1[0]
      1048512 blocks super 1.2 [2/2] [UU]
      resync=DELAYED

md4 : inactive sdj1[0](S)
      1048512 blocks super 1.2
"""


def test_parse_mdstat() -> None:
    arrays = {a.name: a for a in parse_mdstat(HEALTHY + DEGRADED.replace("md0", "md9"))}
    assert arrays["md0"].level == "raid1" and arrays["md0"].map == "UU"
    assert (arrays["md1"].activity, arrays["md1"].progress) == ("check", 12.6)
    assert arrays["md9"].failed_members == 1
    assert arrays["md3"].activity == "resync" and arrays["md3"].progress is None
    assert arrays["md4"].state == "inactive"


def run(text: str | None, **options: object) -> tuple[Status, str, int]:
    def read_text(path: Path) -> str:
        assert str(path) == "/proc/mdstat"
        if text is None:
            raise FileNotFoundError(path)
        return text

    result = RaidCheck.from_config(options).run(make_probe(read_text=read_text))
    return result.status, result.summary, len(result.metrics)


def test_healthy_arrays_and_a_scrub_are_ok() -> None:
    status, summary, metrics = run(HEALTHY)
    assert status is Status.OK
    assert summary == "md0 (raid1) [UU] ok; md1 (raid5) [UUU] ok, check 12.6%"
    assert metrics == 4


def test_degraded_failed_rebuilding_inactive() -> None:
    status, summary, _ = run(DEGRADED)
    assert status is Status.CRITICAL
    assert summary == ("md0 (raid1) degraded [U_], 1 failed; md2 (raid1) degraded [U_], recovery 27.3%; "
                       "md4 is inactive; md3 (raid1), resync pending")


def test_no_md_driver_and_required_arrays() -> None:
    assert run(None)[:2] == (Status.OK, "no md arrays")
    assert run(None, arrays=["md0"])[:2] == (Status.CRITICAL, "md0 missing")
