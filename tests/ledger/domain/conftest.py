"""Domain tests are pure (no storage): they run once, not once per backend."""

from __future__ import annotations

import pytest


@pytest.fixture
def backend() -> str:
    return "none"


@pytest.fixture(autouse=True)
def _every_backend() -> None:
    """Overrides the ledger suites' per-backend autouse fixture."""
