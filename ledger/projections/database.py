"""SQLAlchemy engines for the read models.

SQLite: WAL journal, and every transaction of a writing engine starts with ``BEGIN
IMMEDIATE`` so that two projectors (or a projector and a rebuild) serialise on the write
lock instead of both reading the same tracking position. A *reader* engine (``reader=True``,
for queries) begins deferred transactions instead: in WAL mode readers never wait for the
write lock and each sees one committed snapshot. PostgreSQL serialises writers on ``SELECT
... FOR UPDATE`` of the tracking row instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event

__all__ = ["is_sqlite", "make_engine", "startup_lock"]

_STARTUP_LOCK = 0x63616C64  # advisory lock key serialising schema creation

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, schema: str | None = None, *, reader: bool = False,
                **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        begin = "BEGIN" if reader else "BEGIN IMMEDIATE"
        kwargs["connect_args"] = {"timeout": 30, **kwargs.get("connect_args", {})}
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

        return engine
    if schema is not None:
        if not _IDENTIFIER.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        kwargs.setdefault("connect_args", {})["options"] = f"-csearch_path={schema}"
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if schema is not None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return engine


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Serialise schema creation between processes starting at once. PostgreSQL raises
    "tuple concurrently updated" when two sessions run ``CREATE TABLE IF NOT EXISTS`` for
    the same table at the same moment; SQLite serialises DDL on its file lock already."""
    if is_sqlite(engine):
        yield
        return
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({_STARTUP_LOCK})")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_STARTUP_LOCK})")
            conn.commit()
