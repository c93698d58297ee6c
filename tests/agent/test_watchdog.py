from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from fernwart.agent.watchdog import Watchdog


@pytest.fixture
def watchdog() -> Iterator[Watchdog]:
    dog = Watchdog()
    dog.start()
    yield dog
    dog.stop()


def test_fires_at_the_deadline_in_its_own_thread(watchdog: Watchdog) -> None:
    fired: list[tuple[float, str]] = []
    done = threading.Event()
    started = time.monotonic()

    def on_timeout() -> None:
        fired.append((time.monotonic() - started, threading.current_thread().name))
        done.set()

    watchdog.watch(0.2, on_timeout)
    assert done.wait(5)
    [(after, thread)] = fired
    assert 0.2 <= after < 2 and thread == "fernwart-watchdog"


def test_cancelled_watch_never_fires_and_an_earlier_watch_wakes_the_thread(watchdog: Watchdog) -> None:
    fired: list[str] = []
    done = threading.Event()
    watchdog.watch(0.1, lambda: fired.append("cancelled")).cancel()
    watchdog.watch(30, lambda: fired.append("late"))  # the thread now sleeps until 30 s from now
    started = time.monotonic()
    watchdog.watch(0.2, lambda: (fired.append("early"), done.set()))
    assert done.wait(5) and time.monotonic() - started < 2
    time.sleep(0.1)
    assert fired == ["early"]


def test_watches_fire_in_deadline_order_and_a_failing_callback_does_not_stop_the_rest(
    watchdog: Watchdog, caplog: pytest.LogCaptureFixture,
) -> None:
    fired: list[str] = []
    done = threading.Event()

    def broken() -> None:
        fired.append("broken")
        raise RuntimeError("boom")

    watchdog.watch(0.3, lambda: (fired.append("second"), done.set()))
    watchdog.watch(0.1, broken)
    assert done.wait(5)
    assert fired == ["broken", "second"]
    assert "watchdog callback failed" in caplog.text


def test_stop_ends_the_thread_with_watches_pending() -> None:
    dog = Watchdog()
    dog.start()
    fired: list[int] = []
    dog.watch(30, lambda: fired.append(1))
    started = time.monotonic()
    dog.stop()
    assert time.monotonic() - started < 2 and fired == []
    assert not any(t.name == "fernwart-watchdog" and t.is_alive() for t in threading.enumerate())
