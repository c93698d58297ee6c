"""The process check on a canned process table."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from checks.options import OptionError
from checks.process import ProcessCheck
from checks.status import Status
from tests.checks.fakes import make_probe

TABLE = [
    {"pid": 1, "name": "systemd", "cmdline": ["/sbin/init"], "username": "root"},
    {"pid": 10, "name": "nginx", "cmdline": ["nginx: master process /usr/sbin/nginx"], "username": "root"},
    {"pid": 11, "name": "nginx", "cmdline": ["nginx: worker process"], "username": "www-data"},
    {"pid": 12, "name": "nginx", "cmdline": ["nginx: worker process"], "username": "www-data"},
    {"pid": 13, "name": "python3", "cmdline": None, "username": None},  # access denied: attrs are None
    {"pid": os.getpid(), "name": "nginx", "cmdline": ["nginx"], "username": "www-data"},  # the agent itself
]


def probe() -> object:
    procs = [SimpleNamespace(info=dict(row)) for row in TABLE]
    return make_probe(psutil=SimpleNamespace(process_iter=lambda attrs: iter(procs)))


@pytest.mark.parametrize(
    ("options", "count", "status"),
    [
        ({"process_name": "nginx"}, 3, Status.OK),
        ({"process_name": "nginx", "user": "www-data"}, 2, Status.OK),
        ({"cmdline": "master process"}, 1, Status.OK),
        ({"process_name": "nginx", "max_count": 2}, 3, Status.CRITICAL),
        ({"process_name": "postgres"}, 0, Status.CRITICAL),
        ({"process_name": "postgres", "min_count": 0}, 0, Status.OK),
        ({}, 5, Status.OK),
    ],
)
def test_counts_and_limits(options: dict[str, object], count: int, status: Status) -> None:
    result = ProcessCheck.from_config(options).run(probe())  # type: ignore[arg-type]
    assert (result.metrics[0].value, result.status) == (count, status)


def test_summary_says_what_matched_and_the_limits() -> None:
    result = ProcessCheck.from_config({"process_name": "postgres", "user": "postgres"}).run(probe())  # type: ignore[arg-type]
    assert result.summary == "0 processes matching process_name=postgres user=postgres (min 1)"


def test_warning_range_on_the_count() -> None:
    result = ProcessCheck.from_config({"process_name": "nginx"}, warning="4:").run(probe())  # type: ignore[arg-type]
    assert result.status is Status.WARNING
    assert result.metrics[0].to_text() == "procs=3;4:;;0"


@pytest.mark.parametrize(
    ("options", "key"),
    [({"cmdline": "("}, "cmdline"), ({"min_count": -1}, "min_count"),
     ({"min_count": 3, "max_count": 1}, "max_count"), ({"process_name": ["a"]}, "process_name")],
)
def test_bad_options(options: dict[str, object], key: str) -> None:
    with pytest.raises(OptionError) as caught:
        ProcessCheck.from_config(options)
    assert caught.value.key == key


def test_reads_only_the_attributes_its_criteria_need() -> None:
    asked: list[list[str]] = []

    def process_iter(attrs: list[str]) -> object:
        asked.append(list(attrs))
        return iter([SimpleNamespace(info=dict(row)) for row in TABLE])

    fake = make_probe(psutil=SimpleNamespace(process_iter=process_iter))
    ProcessCheck.from_config({"cmdline": "worker"}).run(fake)  # type: ignore[arg-type]
    ProcessCheck.from_config({"process_name": "nginx", "user": "root"}).run(fake)  # type: ignore[arg-type]
    ProcessCheck.from_config({}).run(fake)  # type: ignore[arg-type]
    assert asked == [["pid", "cmdline"], ["pid", "name", "username"], ["pid"]]
