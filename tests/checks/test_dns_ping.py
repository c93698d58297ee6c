"""The dns and ping checks on fixtures."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from fernwart.checks.dns import DnsCheck
from fernwart.checks.options import OptionError
from fernwart.checks.ping import PingCheck, parse_ping
from fernwart.checks.status import Status
from tests.checks.fakes import FakeRunner, done, make_probe


def answers(*addresses: str) -> list[tuple[object, ...]]:
    return [(socket.AF_INET6 if ":" in a else socket.AF_INET, 1, 6, "", (a, 0)) for a in addresses]


def clock(*values: float) -> object:
    it: Iterator[float] = iter(values)
    return lambda: next(it)


def test_dns_resolves_and_checks_expected_addresses() -> None:
    probe = make_probe(resolve=lambda *a: answers("192.0.2.10", "2001:db8::10", "192.0.2.10"),
                       monotonic=clock(0.0, 0.25))
    ok = DnsCheck.from_config({"query": "www.example", "expected_addresses": ["2001:0db8::10"]}).run(probe)
    assert ok.status is Status.OK
    assert ok.summary == "www.example resolves to 192.0.2.10, 2001:db8::10 in 250 ms"
    assert [m.to_text() for m in ok.metrics] == ["time=0.25s;1;5;0", "addresses=2;;;0"]
    probe = make_probe(resolve=lambda *a: answers("192.0.2.99"), monotonic=clock(0.0, 2.0))
    bad = DnsCheck.from_config({"query": "www.example", "expected_addresses": ["192.0.2.10"]}).run(probe)
    assert bad.status is Status.CRITICAL
    assert bad.summary.startswith("expected 192.0.2.10 not among the answers; www.example resolves")


def test_dns_failure_and_timeout_are_critical() -> None:
    def nxdomain(*args: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    probe = make_probe(resolve=nxdomain, monotonic=clock(0.0, 0.1))
    result = DnsCheck.from_config({"query": "nope.example"}).run(probe)
    assert (result.status, result.summary) == (Status.CRITICAL,
                                               "nope.example does not resolve: Name or service not known")
    release = threading.Event()

    def hang(*args: object) -> list[object]:
        release.wait(5)
        return []

    probe = make_probe(resolve=hang, monotonic=clock(0.0, 0.2), timeout=0.2)
    slow = DnsCheck.from_config({"query": "slow.example"}).run(probe)
    release.set()
    assert (slow.status, slow.summary) == (Status.CRITICAL, "slow.example did not resolve within 0.2s")


def test_dns_bad_expected_address_names_the_item() -> None:
    with pytest.raises(OptionError) as caught:
        DnsCheck.from_config({"query": "x", "expected_addresses": ["192.0.2.1", "www"]})
    assert caught.value.key == "expected_addresses[1]"


IPUTILS = """PING 192.0.2.1 (192.0.2.1) 56(84) bytes of data.
64 bytes from 192.0.2.1: icmp_seq=1 ttl=64 time=120 ms

--- 192.0.2.1 ping statistics ---
5 packets transmitted, 4 received, 20% packet loss, time 803ms
rtt min/avg/max/mdev = 100.051/150.069/200.088/0.018 ms
"""
BUSYBOX = """PING 192.0.2.1 (192.0.2.1): 56 data bytes

--- 192.0.2.1 ping statistics ---
3 packets transmitted, 3 packets received, 0% packet loss
round-trip min/avg/max = 0.061/0.070/0.084 ms
"""
ALL_LOST = """--- 192.0.2.1 ping statistics ---
5 packets transmitted, 0 received, 100% packet loss, time 4096ms
"""


def test_parse_ping_iputils_and_busybox() -> None:
    iputils = parse_ping(IPUTILS)
    assert iputils is not None and (iputils.transmitted, iputils.received, iputils.loss) == (5, 4, 20.0)
    assert iputils.rtt == (100.051, 150.069, 200.088)
    busybox = parse_ping(BUSYBOX)
    assert busybox is not None and busybox.rtt == (0.061, 0.070, 0.084)
    assert parse_ping("ping: unknown host") is None


@pytest.mark.parametrize(
    ("answer", "status", "summary"),
    [
        (done(IPUTILS, 0), Status.WARNING, "192.0.2.1 rta 150.069 ms, 20% packet loss"),
        (done(BUSYBOX, 0), Status.OK, "192.0.2.1 rta 0.070 ms, 0% packet loss"),
        (done(ALL_LOST, 1), Status.CRITICAL, "192.0.2.1 unreachable: 100% packet loss"),
        (done("", 2, stderr="ping: 192.0.2.1: Name or service not known\n"), Status.UNKNOWN,
         "192.0.2.1: ping: 192.0.2.1: Name or service not known"),
        (None, Status.UNKNOWN, "ping cannot be run: ping: not found"),
    ],
)
def test_ping_results(answer: object, status: Status, summary: str) -> None:
    runner = FakeRunner({"ping": answer} if answer else {})  # type: ignore[dict-item]
    result = PingCheck.from_config({"host": "192.0.2.1", "ip_version": 4}).run(make_probe(run=runner))
    assert (result.status, result.summary) == (status, summary)
    if answer:
        assert runner.calls[0] == ("ping", "-n", "-c", "5", "-i", "0.2", "-W", "4", "-4", "192.0.2.1")


def test_ping_loss_metric_carries_its_thresholds() -> None:
    runner = FakeRunner({"ping": done(IPUTILS, 0)})
    result = PingCheck.from_config({"host": "h"}).run(make_probe(run=runner))
    assert [m.to_text() for m in result.metrics] == ["rta=150.069ms;100;500;0", "pl=20%;20;60;0;100"]


@pytest.mark.parametrize(("options", "key"), [({"host": "-f"}, "host"), ({"host": "h", "count": 0}, "count"),
                                              ({"host": "h", "ip_version": 5}, "ip_version")])
def test_ping_bad_options(options: dict[str, object], key: str) -> None:
    with pytest.raises(OptionError) as caught:
        PingCheck.from_config(options)
    assert caught.value.key == key
