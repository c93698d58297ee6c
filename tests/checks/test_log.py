"""The log check on a real file: offsets across runs, rotation, truncation, partial lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checks.log import LogCheck
from checks.options import OptionError
from checks.probe import Probe
from checks.status import Status
from tests.checks.fakes import make_probe


@pytest.fixture
def probe(tmp_path: Path) -> Probe:
    return make_probe(tmp_path)


def append(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


def test_first_run_starts_at_the_end_then_counts_new_lines(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("ERROR old\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    first = check.run(probe)
    assert (first.status, first.metrics[0].value) == (Status.OK, 0)
    append(log, "info\nERROR disk full\nERROR again\n")
    second = check.run(probe)
    assert second.status is Status.WARNING
    assert second.summary == f"2 new lines matching 'ERROR' in {log}"
    assert second.long_output == "ERROR disk full\nERROR again"
    assert check.run(probe).metrics[0].value == 0


def test_state_survives_a_new_check_instance(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    LogCheck.from_config({"path": str(log), "pattern": "x"}).run(probe)
    append(log, "x1\n")
    assert LogCheck.from_config({"path": str(log), "pattern": "x"}).run(probe).metrics[0].value == 1


def test_from_start_and_exclude(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "kern.log"
    log.write_text("I/O error sda\nI/O error sdb ata1: hard resetting\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "I/O error", "exclude": "hard resetting",
                                  "from_start": True}, critical="0")
    result = check.run(probe)
    assert (result.status, result.metrics[0].value) == (Status.CRITICAL, 1)


def test_rotation_by_rename_and_copytruncate(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("start\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    check.run(probe)
    os.rename(log, tmp_path / "app.log.1")
    log.write_text("ERROR in the new file\n")
    assert check.run(probe).metrics[0].value == 1
    append(log, "more\nmore\n")
    check.run(probe)
    log.write_text("ERROR after truncation\n")  # shorter than the offset: copytruncate
    assert check.run(probe).metrics[0].value == 1


def test_incomplete_last_line_waits_for_its_newline(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    check.run(probe)
    append(log, "ERROR half")
    assert check.run(probe).metrics[0].value == 0
    append(log, " done\n")
    result = check.run(probe)
    assert result.metrics[0].value == 1 and result.long_output == "ERROR half done"


def test_missing_file_is_unknown_and_damaged_state_restarts(tmp_path: Path, probe: Probe) -> None:
    check = LogCheck.from_config({"path": str(tmp_path / "nope.log"), "pattern": "x"})
    assert check.run(probe).status is Status.UNKNOWN
    log = tmp_path / "app.log"
    log.write_text("x\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "x"})
    state = check.state_file(probe)
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    assert check.run(probe).metrics[0].value == 0  # treated as a first run


def test_bad_pattern_names_the_key() -> None:
    with pytest.raises(OptionError) as caught:
        LogCheck.from_config({"path": "/x", "pattern": "ok", "exclude": "(("})
    assert caught.value.key == "exclude"
