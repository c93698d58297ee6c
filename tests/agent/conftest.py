from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fernwart.agent.outbox import Outbox
from fernwart.checks import registry
from tests.agent import fakes
from tests.agent.collector_stub import CollectorStub
from tests.agent.helpers import T0


@pytest.fixture(autouse=True)
def fake_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test-local check types (the plugin mechanism: an entry in CHECK_TYPES)."""
    for name, dotted in fakes.FAKE_TYPES.items():
        monkeypatch.setitem(registry.CHECK_TYPES, name, dotted)


@pytest.fixture
def standins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the default check types enrollment writes with test stand-ins."""
    for name, dotted in fakes.DEFAULT_STANDINS.items():
        monkeypatch.setitem(registry.CHECK_TYPES, name, dotted)


@pytest.fixture
def hang_release() -> Iterator[None]:
    """Let HangCheck hang during the test, and release it afterwards so no thread outlives the test."""
    fakes.RELEASE.clear()
    yield
    fakes.RELEASE.set()


@pytest.fixture
def collector() -> Iterator[CollectorStub]:
    stub = CollectorStub()
    stub.start()
    yield stub
    stub.stop()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite", now=lambda: T0)
    yield box
    box.close()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "agent.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
