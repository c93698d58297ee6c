from __future__ import annotations

import threading

import pytest

from fernwart.agent.workers import DaemonPool


def test_reuses_an_idle_worker_and_returns_results_and_errors() -> None:
    pool = DaemonPool(4)
    try:
        assert pool.submit(lambda: 1 + 1).result(5) == 2
        assert pool.submit(lambda: threading.current_thread().daemon).result(5) is True
        failing = pool.submit(int, "x")
        with pytest.raises(ValueError):
            failing.result(5)
        assert pool.threads == 1  # each call found the first worker idle again
    finally:
        pool.shutdown()


def test_a_blocked_worker_does_not_hold_up_the_next_call_and_max_workers_is_kept() -> None:
    release = threading.Event()
    pool = DaemonPool(2)
    try:
        blocked = pool.submit(release.wait, 30)
        assert pool.submit(lambda: "ran").result(5) == "ran"
        assert pool.threads == 2
        pool.submit(lambda: None).result(5)
        assert pool.threads == 2 and not blocked.done()
    finally:
        release.set()
        pool.shutdown()
    assert blocked.result(5) is True


def test_shutdown_without_wait_leaves_a_hung_call_behind_and_refuses_new_ones() -> None:
    release = threading.Event()
    pool = DaemonPool(1)
    hung = pool.submit(release.wait, 30)
    pool.shutdown(wait=False)
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
    assert not hung.done()
    release.set()
    assert hung.result(5) is True


def test_max_workers_must_be_positive() -> None:
    with pytest.raises(ValueError):
        DaemonPool(0)
