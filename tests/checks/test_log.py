"""The log check on a real file: offsets across runs, rotation, truncation, partial lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fernwart.checks.log import LogCheck
from fernwart.checks.options import OptionError
from fernwart.checks.probe import Probe
from fernwart.checks.status import Status
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


def test_a_quiet_log_does_not_rewrite_the_state_file(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("x\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "x"})
    check.run(probe)
    state = check.state_file(probe)
    written = state.stat().st_mtime_ns
    os.utime(state, ns=(written - 10**9, written - 10**9))  # so that any rewrite shows
    check.run(probe)
    assert state.stat().st_mtime_ns == written - 10**9
    append(log, "x\n")
    assert check.run(probe).metrics[0].value == 1
    assert state.stat().st_mtime_ns != written - 10**9


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


def test_rename_rotation_reads_the_rotated_files_tail_then_the_new_file(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "kern.log"
    log.write_text("ERROR before the first run\n")
    (tmp_path / "kern.log-20261121.gz").write_text("ERROR in an old compressed file\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    check.run(probe)
    append(log, "ERROR written before the rotation\ninfo\n")
    os.rename(log, tmp_path / "kern.log-20261122")
    log.write_text("ERROR in the new file\n")
    result = check.run(probe)
    assert result.metrics[0].value == 2
    assert result.long_output == "ERROR written before the rotation\nERROR in the new file"
    assert result.summary == f"2 new lines matching 'ERROR' in {log}"
    append(log, "ERROR next\n")
    assert check.run(probe).long_output == "ERROR next"  # continues in the new file, tail not read twice


def test_rotated_file_compressed_or_deleted_says_the_tail_was_missed(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    check.run(probe)
    append(log, "ERROR lost with the old file\n")
    rotated = tmp_path / "app.log.1"
    os.rename(log, rotated)
    log.write_text("ERROR in the new file\n")  # created before the old file goes, as logrotate does
    (tmp_path / "app.log.1.gz").write_bytes(rotated.read_bytes())  # a copy, as gzip leaves it: new inode
    rotated.unlink()
    result = check.run(probe)
    assert (result.metrics[0].value, result.long_output) == (1, "ERROR in the new file")
    assert "rotated file's tail could not be read" in result.summary
    append(log, "ERROR next\n")
    assert "could not be read" not in check.run(probe).summary


def test_rotated_files_last_line_without_newline_counts(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    check.run(probe)
    append(log, "ERROR half")
    assert check.run(probe).metrics[0].value == 0  # still the live file: waits for its newline
    append(log, " and final")
    os.rename(log, tmp_path / "app.log.1")
    log.write_text("ERROR new\nERROR unfinished")
    result = check.run(probe)
    assert result.metrics[0].value == 2
    assert result.long_output == "ERROR half and final\nERROR new"


def test_read_limit_spans_the_rotated_and_the_new_file(
    tmp_path: Path, probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fernwart.checks.log.READ_LIMIT", 20)
    log = tmp_path / "app.log"
    log.write_text("")
    check = LogCheck.from_config({"path": str(log), "pattern": "E"})
    check.run(probe)
    append(log, "E1 aaaa\nE2 aaaa\nE3 aaaa\n")  # 24 bytes: more than one run may read
    os.rename(log, tmp_path / "app.log.1")
    log.write_text("E4\nE5 bbbbbbbbbbb\n")
    # The rotated file is not finished: the 4 bytes left must not go to the new file yet.
    assert check.run(probe).long_output == "E1 aaaa\nE2 aaaa"
    # The tail takes 8 bytes; the 12 left hold "E4" and only part of the E5 line.
    assert check.run(probe).long_output == "E3 aaaa\nE4"
    assert check.run(probe).long_output == "E5 bbbbbbbbbbb"
    assert check.run(probe).metrics[0].value == 0


def test_old_state_file_without_new_fields_still_loads(tmp_path: Path, probe: Probe) -> None:
    log = tmp_path / "app.log"
    log.write_text("ERROR seen\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    state = check.state_file(probe)
    state.parent.mkdir(parents=True)
    st = log.stat()
    state.write_text(json.dumps({"inode": st.st_ino, "device": st.st_dev, "offset": st.st_size}))
    append(log, "ERROR new\n")
    os.rename(log, tmp_path / "app.log.1")
    log.write_text("ERROR newest\n")
    result = check.run(probe)
    assert result.long_output == "ERROR new\nERROR newest"
    assert set(json.loads(state.read_text())) == {"inode", "device", "offset", "head", "head_len"}


def test_a_different_file_on_the_same_inode_is_read_from_its_start(tmp_path: Path, probe: Probe) -> None:
    """An inode number reused by a new file (or a truncated file grown past the offset again) is caught
    by the fingerprint of the first bytes, not taken for the old file."""
    log = tmp_path / "app.log"
    log.write_text("started\n" + "x" * 300 + "\n")
    check = LogCheck.from_config({"path": str(log), "pattern": "ERROR"})
    check.run(probe)
    with log.open("r+") as handle:  # same inode, new content longer than the old offset
        handle.write("ERROR one\n" + "y" * 400 + "\nERROR two\n")
    result = check.run(probe)
    assert (result.metrics[0].value, result.long_output) == (2, "ERROR one\nERROR two")
    append(log, "ERROR three\n")
    assert check.run(probe).long_output == "ERROR three"  # and then it follows the file as usual
