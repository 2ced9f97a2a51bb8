"""Storage backends for the test suites.

Suites that request the ``backend`` fixture (the core ledger and API suites do, through an
autouse fixture in their conftest) run once on SQLite and once on PostgreSQL. Each
PostgreSQL test gets a fresh schema in the database named by
``CARBON_LEDGER_TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``),
dropped afterwards. When no server answers, PostgreSQL tests are skipped with the reason;
with ``CARBON_LEDGER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) they fail instead.
"""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from ledger.runtime import Settings

BACKENDS = ["sqlite", "postgres"]
DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def database_url_for_tests() -> str:
    return os.environ.get("CARBON_LEDGER_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


@cache
def postgres_unavailable_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(database_url_for_tests(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # any failure means: not usable here
        return f"PostgreSQL not reachable at {database_url_for_tests()}: {error}".splitlines()[0]
    return None


def require_postgres() -> None:
    reason = postgres_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CARBON_LEDGER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (CARBON_LEDGER_REQUIRE_POSTGRES=1: PostgreSQL tests are "
                    "mandatory here)")
    pytest.skip(reason)


# Connections a test's PostgreSQL server has room for: far below its max_connections (100).
CONNECTIONS_BEFORE_COLLECTING = 30


def _drop_schema(name: str) -> None:
    """Drop a test's schema. A ledger that a test did not close keeps its pooled connections
    until the garbage collector reaches it; when many are open, collect first, so that the
    suite never exhausts the server's connection slots (as a CI run once did)."""
    import psycopg

    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database()").fetchone()
        if row is not None and row[0] > CONNECTIONS_BEFORE_COLLECTING:
            gc.collect()
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh, empty schema in the test database; dropped after the test."""
    require_postgres()
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        _drop_schema(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on each storage backend: ``Settings()`` picks it up from the
    environment (``CARBON_LEDGER_DATABASE_URL`` / ``_SCHEMA``)."""
    if request.param == "postgres":
        schema = request.getfixturevalue("postgres_schema")
        monkeypatch.setenv("CARBON_LEDGER_DATABASE_URL", database_url_for_tests())
        monkeypatch.setenv("CARBON_LEDGER_DATABASE_SCHEMA", schema)
    else:
        monkeypatch.delenv("CARBON_LEDGER_DATABASE_URL", raising=False)
        monkeypatch.delenv("CARBON_LEDGER_DATABASE_SCHEMA", raising=False)
    yield request.param


@contextlib.contextmanager
def isolated_settings(data_dir: Path) -> Iterator[Settings]:
    """Settings for one more, independent ledger inside a test (e.g. one per hypothesis
    example): a new data directory, and on PostgreSQL a new schema dropped afterwards."""
    settings = Settings(data_dir=data_dir)
    if not settings.is_postgres:
        yield settings
        return
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(database_url_for_tests(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield Settings(data_dir=data_dir, database_schema=name)
    finally:
        _drop_schema(name)
