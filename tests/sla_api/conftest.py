"""Fixtures for the SLA API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.services import contracts


@pytest.fixture(autouse=True)
def _fresh_contract_cache() -> Iterator[None]:
    """Forget parsed contracts: their cache key (customer id, revision) repeats across test databases."""
    contracts._cache.clear()
    yield
    contracts._cache.clear()
