from __future__ import annotations

from pathlib import Path

import pytest

from fernwart.deploy import wheels


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> wheels.Wheelhouse:
    """Pack fernwart and the agent's dependencies (and pip) once per session, from this install."""
    return wheels.collect(Path(tmp_path_factory.mktemp("wheels")))
