"""Fixtures of the API suite: a real ledger behind the app, and a world of participants
acting over HTTP.

The ledger runs on each storage backend (``storage`` is the parametrised ``backend``
fixture of ``tests/conftest.py``). The schemathesis run checks the HTTP contract, which does
not depend on the backend, on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import World
from tests.faults.fixtures import FaultyWorld, faulty_world


@pytest.fixture
def storage(backend: str) -> str:
    """The whole API suite runs on SQLite and on PostgreSQL (``backend``,
    tests/conftest.py)."""
    return backend


@pytest.fixture
def runtime(storage: str, tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as rt:
        yield rt


@pytest.fixture
def world(runtime: LedgerRuntime):
    app = create_app(ApiSettings(ledger=runtime.settings), runtime=runtime)
    with TestClient(app) as client:
        yield World.create(runtime, client)


@pytest.fixture
def faulty(storage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           ) -> Iterator[FaultyWorld]:
    """A world whose database connection or disk fails on demand (tests/faults)."""
    with faulty_world(storage, tmp_path, monkeypatch) as made:
        yield made
