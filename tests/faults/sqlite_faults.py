"""Faults of the SQLite event store, injected by wrapping its connections."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eventsourcing.sqlite import SQLiteConnection

__all__ = ["commit_then_fail"]


@contextmanager
def commit_then_fail(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> Iterator[list[int]]:
    """The next ``times`` commits of the event store commit, then raise as if the reply
    were lost (``disk I/O error``). Yields a list that counts the faults injected."""
    real = SQLiteConnection.commit
    injected: list[int] = []

    def commit(self: SQLiteConnection) -> None:
        real(self)
        if len(injected) < times:
            injected.append(1)
            raise sqlite3.OperationalError("disk I/O error (injected after the commit)")

    monkeypatch.setattr(SQLiteConnection, "commit", commit)
    try:
        yield injected
    finally:
        monkeypatch.setattr(SQLiteConnection, "commit", real)
