"""The memory, swap and load checks on canned psutil figures."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import pytest

from fernwart.checks.load import LoadCheck
from fernwart.checks.memory import MemoryCheck
from fernwart.checks.options import OptionError
from fernwart.checks.status import Status
from fernwart.checks.swap import SwapCheck
from tests.checks.fakes import make_probe

VMem = namedtuple("VMem", "total available percent used free")
Swap = namedtuple("Swap", "total used free percent sin sout")
GiB = 1024**3


@pytest.mark.parametrize(("available", "status"), [(8 * GiB, Status.OK), (1.2 * GiB, Status.WARNING),
                                                   (0.2 * GiB, Status.CRITICAL)])
def test_memory_percent_counts_available_as_free(available: float, status: Status) -> None:
    psutil = SimpleNamespace(virtual_memory=lambda: VMem(16 * GiB, available, 0, 0, 0))
    result = MemoryCheck.from_config().run(make_probe(psutil=psutil))
    assert result.status is status
    used = 100 * (16 * GiB - available) / (16 * GiB)
    assert result.metrics[0].value == round(used, 2)
    assert result.metrics[0].warn == "90" and result.metrics[0].crit == "95"
    assert result.metrics[1].max == 16 * GiB


def test_memory_zero_total_is_unknown() -> None:
    psutil = SimpleNamespace(virtual_memory=lambda: VMem(0, 0, 0, 0, 0))
    assert MemoryCheck.from_config().run(make_probe(psutil=psutil)).status is Status.UNKNOWN


def test_swap_used_percent() -> None:
    psutil = SimpleNamespace(swap_memory=lambda: Swap(4 * GiB, 3 * GiB, GiB, 75.0, 0, 0))
    result = SwapCheck.from_config().run(make_probe(psutil=psutil))
    assert result.status is Status.WARNING
    assert result.summary == "swap 75.0% used (3.0 GiB of 4.0 GiB)"
    assert result.metrics[0].to_text() == "swap=75%;50;80;0;100"


@pytest.mark.parametrize(("no_swap", "status"), [("ok", Status.OK), ("CRITICAL", Status.CRITICAL)])
def test_swap_absent_uses_no_swap_status(no_swap: str, status: Status) -> None:
    psutil = SimpleNamespace(swap_memory=lambda: Swap(0, 0, 0, 0.0, 0, 0))
    result = SwapCheck.from_config({"no_swap": no_swap}).run(make_probe(psutil=psutil))
    assert (result.status, result.summary) == (status, "no swap configured")


def test_swap_bad_no_swap_names_the_key() -> None:
    with pytest.raises(OptionError, match="^no_swap: unknown status 'sometimes'"):
        SwapCheck.from_config({"no_swap": "sometimes"})


def test_load_per_core_by_default() -> None:
    psutil = SimpleNamespace(getloadavg=lambda: (9.0, 4.0, 2.0), cpu_count=lambda: 4)
    result = LoadCheck.from_config().run(make_probe(psutil=psutil))
    assert result.status is Status.WARNING  # 9/4 = 2.25 > 2
    assert result.summary == "load per core (4 CPUs) 2.25, 1.00, 0.50"
    assert [m.to_text() for m in result.metrics] == ["load1=2.25;2;4;0", "load5=1;2;4;0", "load15=0.5;2;4;0"]


def test_load_raw_with_own_thresholds() -> None:
    psutil = SimpleNamespace(getloadavg=lambda: (9.0, 4.0, 2.0), cpu_count=lambda: 4)
    check = LoadCheck.from_config({"per_core": False}, warning="10", critical="8")
    result = check.run(make_probe(psutil=psutil))
    assert result.status is Status.CRITICAL
    assert result.summary == "load 9.00, 4.00, 2.00"


def test_load_unavailable_is_unknown() -> None:
    def broken() -> tuple[float, float, float]:
        raise OSError("no /proc/loadavg")

    psutil = SimpleNamespace(getloadavg=broken, cpu_count=lambda: 1)
    result = LoadCheck.from_config().run(make_probe(psutil=psutil))
    assert result.status is Status.UNKNOWN and "no /proc/loadavg" in result.summary
