"""Wheels packed from the running install: the agent's dependencies only, deterministic, checked input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fernwart.deploy import wheels


def test_the_agent_dependencies_and_pip_go_along_and_the_collectors_do_not(
    wheelhouse: wheels.Wheelhouse,
) -> None:
    names = {wheels.normalize(w.name) for w in wheelhouse.dependencies}
    assert {"psutil", "requests", "apscheduler", "pyyaml", "urllib3", "idna", "certifi",
            "charset_normalizer", "tzlocal"} <= names
    assert not names & {"fastapi", "sqlalchemy", "paramiko", "uvicorn", "pydantic", "jinja2", "weasyprint"}
    assert wheelhouse.installer.name == "pip" and wheelhouse.fernwart.name == "fernwart"
    with zipfile.ZipFile(wheelhouse.fernwart.path) as archive:
        listed = archive.namelist()
    assert "fernwart/agent/cli.py" in listed and "fernwart-0.2.0.dist-info/entry_points.txt" in listed
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in listed)
    assert "fernwart-0.2.0.dist-info/RECORD" in listed and "fernwart-0.2.0.dist-info/WHEEL" in listed


def test_packing_twice_gives_the_same_bytes(wheelhouse: wheels.Wheelhouse, tmp_path: Path) -> None:
    again = wheels.collect(tmp_path)
    assert [(w.path.name, w.sha256) for w in again.all] == [(w.path.name, w.sha256) for w in wheelhouse.all]


def test_a_given_wheel_and_wheelhouse_are_used_as_they_are(wheelhouse: wheels.Wheelhouse,
                                                            tmp_path: Path) -> None:
    source = wheelhouse.fernwart.path.parent
    taken = wheels.collect(tmp_path / "out", wheel=wheelhouse.fernwart.path, wheelhouse=source)
    assert taken.fernwart.sha256 == wheelhouse.fernwart.sha256
    assert taken.installer.sha256 == wheelhouse.installer.sha256
    assert sorted(w.sha256 for w in taken.dependencies) == sorted(w.sha256 for w in wheelhouse.dependencies)


def test_bad_wheels_are_named(tmp_path: Path, wheelhouse: wheels.Wheelhouse) -> None:
    fake = tmp_path / "fernwart-0.2.0-py3-none-any.whl"
    fake.write_text("not a zip")
    with pytest.raises(wheels.WheelError, match="not a zip archive"):
        wheels.collect(tmp_path / "a", wheel=fake)
    other = next(w.path for w in wheelhouse.dependencies if w.name.lower() == "psutil")
    with pytest.raises(wheels.WheelError, match="a wheel of psutil, not of fernwart"):
        wheels.collect(tmp_path / "b", wheel=other)
    with pytest.raises(wheels.WheelError, match="not a wheel file name"):
        wheels.collect(tmp_path / "c", wheel=tmp_path / "fernwart.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(wheels.WheelError, match="no .whl files"):
        wheels.collect(tmp_path / "d", wheelhouse=tmp_path / "empty")
