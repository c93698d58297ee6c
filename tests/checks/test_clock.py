"""The clock check: SNTP arithmetic on canned replies, a real loopback responder, timedatectl."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from fernwart.checks.clock import ClockCheck, SntpError, offset_and_delay, request_packet
from fernwart.checks.probe import udp_exchange, utc_now
from fernwart.checks.status import Status
from tests.checks.fakes import NOW, FakeRunner, done, make_probe
from tests.checks.servers import ntp_timestamp, sntp_reply, sntp_server
from tests.support import free_port


def reply_at(request: bytes, receive: float, transmit: float, **fields: int) -> bytes:
    reply = bytearray(sntp_reply(request, **fields))
    reply[32:40] = ntp_timestamp(receive)
    reply[40:48] = ntp_timestamp(transmit)
    return bytes(reply)


def test_offset_and_delay_follow_rfc_4330() -> None:
    sent, received = NOW, NOW + timedelta(seconds=0.2)
    request = request_packet(sent)
    # server 5 s ahead; 0.05 s each way, 0.1 s inside the server
    reply = reply_at(request, NOW.timestamp() + 5.05, NOW.timestamp() + 5.15)
    offset, delay = offset_and_delay(request, reply, sent, received)
    assert offset == pytest.approx(5.0, abs=1e-6)
    assert delay == pytest.approx(0.1, abs=1e-6)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda r: r[:40], "reply of 40 bytes"),
        (lambda r: bytes([r[0] & 0xF8 | 3]) + r[1:], "mode 3"),
        (lambda r: r[:24] + bytes(8) + r[32:], "originate timestamp differs"),
        (lambda r: r[:1] + b"\x00" + r[2:12] + b"RATE" + r[16:], "kiss-of-death 'RATE'"),
        (lambda r: bytes([r[0] | 0xC0]) + r[1:], "leap indicator 3"),
    ],
)
def test_unusable_replies(mangle: object, message: str) -> None:
    request = request_packet(NOW)
    reply = mangle(sntp_reply(request))  # type: ignore[operator]
    with pytest.raises(SntpError, match=message):
        offset_and_delay(request, reply, NOW, NOW)


def test_check_with_fixture_exchange() -> None:
    clock = iter([NOW, NOW + timedelta(seconds=0.02)])

    def exchange(address: str, port: int, payload: bytes, timeout: float) -> bytes:
        assert (address, port) == ("192.0.2.1", 123)
        return reply_at(payload, NOW.timestamp() + 2.01, NOW.timestamp() + 2.01)

    probe = make_probe(now=lambda: next(clock), udp_exchange=exchange,
                       resolve=lambda *a, **k: [(2, 2, 17, "", ("192.0.2.1", 123))])
    result = ClockCheck.from_config({"server": "ntp.example"}).run(probe)
    assert result.status is Status.WARNING
    assert result.summary == "offset +2.0000s from ntp.example (stratum 2)"
    assert result.metrics[0].to_text() == "offset=2s;1;60"


def test_negative_offset_is_judged_by_its_size() -> None:
    def exchange(address: str, port: int, payload: bytes, timeout: float) -> bytes:
        return reply_at(payload, NOW.timestamp() - 90, NOW.timestamp() - 90)

    probe = make_probe(udp_exchange=exchange, resolve=lambda *a, **k: [(2, 2, 17, "", ("192.0.2.1", 123))])
    assert ClockCheck.from_config({"server": "x"}).run(probe).status is Status.CRITICAL


@pytest.mark.parametrize(("offset", "status"), [(0.0, Status.OK), (3.0, Status.WARNING)])
def test_real_sntp_exchange_on_loopback(offset: float, status: Status) -> None:
    probe = make_probe(now=utc_now, udp_exchange=udp_exchange, resolve=socket.getaddrinfo, timeout=2.0)
    with sntp_server(offset) as port:
        result = ClockCheck.from_config({"server": "127.0.0.1", "port": port}).run(probe)
    assert result.status is status
    assert result.metrics[0].value == pytest.approx(offset, abs=0.1)


def test_no_answer_is_critical() -> None:
    probe = make_probe(now=utc_now, udp_exchange=udp_exchange, resolve=socket.getaddrinfo, timeout=0.3)
    result = ClockCheck.from_config({"server": "127.0.0.1", "port": free_port()}).run(probe)
    assert result.status is Status.CRITICAL
    assert result.summary in ("no answer from 127.0.0.1 within 0.3s", "127.0.0.1: Connection refused")


@pytest.mark.parametrize(
    ("answer", "status", "summary"),
    [
        (done("NTPSynchronized=yes\nNTP=yes\n"), Status.OK, "system clock is synchronised (NTP)"),
        (done("NTPSynchronized=no\nNTP=no\n"), Status.WARNING,
         "system clock is not synchronised (no NTP service active)"),
        (done("", 1, stderr="System has not been booted with systemd as init system (PID 1).\n"),
         Status.UNKNOWN, "timedatectl cannot tell the sync state (System has not been booted with systemd"),
        (None, Status.UNKNOWN, "timedatectl is not available; set server: to query an NTP server instead"),
    ],
)
def test_system_sync_state(answer: object, status: Status, summary: str) -> None:
    runner = FakeRunner({"timedatectl": answer} if answer else {})  # type: ignore[dict-item]
    result = ClockCheck.from_config().run(make_probe(run=runner))
    assert result.status is status and result.summary.startswith(summary)
