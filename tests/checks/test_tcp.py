"""The tcp check: connect errors on fixtures, and real connections on loopback."""

from __future__ import annotations

import socket
import time

import pytest

from fernwart.checks.options import OptionError
from fernwart.checks.status import Status
from fernwart.checks.tcp import TcpCheck
from tests.checks.fakes import make_probe
from tests.checks.servers import tcp_listener
from tests.support import free_port


def failing(exc: Exception) -> object:
    def connect(address: tuple[str, int], timeout: float) -> socket.socket:
        raise exc

    return connect


@pytest.mark.parametrize(
    ("exc", "status", "summary"),
    [
        (ConnectionRefusedError(111, "Connection refused"), Status.CRITICAL, "db:5432: Connection refused"),
        (TimeoutError(), Status.CRITICAL, "db:5432: no connection within 10s"),
        (socket.gaierror(-2, "Name or service not known"), Status.UNKNOWN,
         "cannot resolve db: Name or service not known"),
    ],
)
def test_connect_failures(exc: Exception, status: Status, summary: str) -> None:
    probe = make_probe(connect=failing(exc), monotonic=lambda: 0.0)
    result = TcpCheck.from_config({"host": "db", "port": 5432}).run(probe)
    assert (result.status, result.summary) == (status, summary)


def test_connect_time_against_thresholds() -> None:
    clock = iter([10.0, 11.5])

    class Conn:
        def close(self) -> None:
            pass

    probe = make_probe(connect=lambda address, timeout: Conn(), monotonic=lambda: next(clock))
    result = TcpCheck.from_config({"host": "db", "port": 5432}).run(probe)
    assert result.status is Status.WARNING
    assert result.metrics[0].to_text() == "time=1.5s;1;5;0"


def test_real_loopback_listener_and_closed_port() -> None:
    probe = make_probe(connect=socket.create_connection, monotonic=time.monotonic, timeout=2.0)
    with tcp_listener() as port:
        ok = TcpCheck.from_config({"host": "127.0.0.1", "port": port}).run(probe)
    assert ok.status is Status.OK and ok.summary.startswith(f"127.0.0.1:{port} connected in ")
    closed = TcpCheck.from_config({"host": "127.0.0.1", "port": free_port()}).run(probe)
    assert closed.status is Status.CRITICAL and "refused" in closed.summary


@pytest.mark.parametrize("port", [0, 70000])
def test_port_out_of_range(port: int) -> None:
    with pytest.raises(OptionError, match="^port: expected a port number"):
        TcpCheck.from_config({"host": "x", "port": port})
