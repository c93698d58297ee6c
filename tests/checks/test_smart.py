"""The smart check on canned smartctl JSON documents."""

from __future__ import annotations

import json
from collections.abc import Sequence

from fernwart.checks.probe import CommandResult
from fernwart.checks.smart import SmartCheck
from fernwart.checks.status import Status
from tests.checks.fakes import FakeRunner, done, make_probe

SCAN = {"devices": [{"name": "/dev/sda", "type": "sat"}, {"name": "/dev/nvme0", "type": "nvme"}]}
ATA_OK = {
    "model_name": "WDC WD40EFRX", "smart_status": {"passed": True}, "temperature": {"current": 34},
    "ata_smart_attributes": {"table": [{"id": 5, "raw": {"value": 0}}, {"id": 197, "raw": {"value": 0}},
                                       {"id": 9, "raw": {"value": 12000}}]},
}
ATA_SECTORS = {**ATA_OK, "ata_smart_attributes": {"table": [{"id": 5, "raw": {"value": 8}},
                                                            {"id": 197, "raw": {"value": 2}}]}}
NVME_OK = {
    "model_name": "Samsung SSD 980", "smart_status": {"passed": True}, "temperature": {"current": 41},
    "nvme_smart_health_information_log": {"critical_warning": 0, "percentage_used": 3, "available_spare": 100,
                                          "available_spare_threshold": 10, "media_errors": 0},
}
NVME_WORN = {**NVME_OK, "temperature": {"current": 70},
             "nvme_smart_health_information_log": {"critical_warning": 4, "percentage_used": 95,
                                                   "available_spare": 5, "available_spare_threshold": 10,
                                                   "media_errors": 3}}


def smartctl(reports: Reports) -> FakeRunner:
    def answer(argv: Sequence[str]) -> CommandResult:
        if "--scan" in argv:
            return done(json.dumps(SCAN))
        report, code = reports[argv[-1]]
        return done(json.dumps(report), code)

    return FakeRunner({"smartctl": answer})


Reports = dict[str, tuple[dict[str, object], int]]


def run(reports: Reports, **options: object) -> tuple[Status, str, list[str]]:
    probe = make_probe(run=smartctl(reports), which=lambda name: "/usr/sbin/smartctl")
    result = SmartCheck.from_config(options).run(probe)
    return result.status, result.summary, [m.to_text() for m in result.metrics]


def test_healthy_disks_from_scan() -> None:
    status, summary, metrics = run({"/dev/sda": (ATA_OK, 0), "/dev/nvme0": (NVME_OK, 0)})
    assert status is Status.OK
    assert summary == "/dev/sda (WDC WD40EFRX) healthy; /dev/nvme0 (Samsung SSD 980) healthy"
    assert metrics[:3] == ["'/dev/sda temperature'=34;55;65", "'/dev/sda reallocated'=0;0;;0",
                           "'/dev/sda pending'=0;0;;0"]


def test_sector_counts_warn_and_failing_disk_is_critical() -> None:
    status, summary, _ = run({"/dev/sda": (ATA_SECTORS, 0)}, devices=["/dev/sda"])
    assert status is Status.WARNING
    assert summary == "/dev/sda (WDC WD40EFRX): 8 reallocated sectors, 2 pending sectors"
    failing = {**ATA_OK, "smart_status": {"passed": False}}
    status, summary, _ = run({"/dev/sda": (failing, 0x08)}, devices=["/dev/sda"])
    assert status is Status.CRITICAL and "SMART self-assessment FAILED" in summary


def test_worn_nvme() -> None:
    status, summary, _ = run({"/dev/nvme0": (NVME_WORN, 0)}, devices=["/dev/nvme0"])
    assert status is Status.CRITICAL
    assert summary == ("/dev/nvme0 (Samsung SSD 980): temperature 70°C, NVMe critical warning 0x4, "
                       "95% of rated endurance used, spare 5% at or below 10%, 3 media errors")


def test_unopenable_device_and_missing_smartctl_are_unknown() -> None:
    message = "Smartctl open device: /dev/sda failed: Permission denied"
    denied = {"smartctl": {"messages": [{"string": message}]}}
    status, summary, _ = run({"/dev/sda": (denied, 0x02)}, devices=["/dev/sda"])
    assert status is Status.UNKNOWN
    assert summary == f"/dev/sda: cannot open the device: {message}"
    result = SmartCheck.from_config().run(make_probe())
    assert result.status is Status.UNKNOWN
    assert result.summary == "smartctl is not installed (install smartmontools)"
