"""Faults of the SQLite event store, injected by wrapping its connections."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eventsourcing.sqlite import SQLiteConnection
from sqlalchemy import Engine, event

__all__ = ["DiskFull", "commit_then_fail"]


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


class DiskFull:
    """A full disk under a SQLite ledger: while ``full``, every write of the event store
    and of ``engines`` (read models, kept responses) fails with ``database or disk is
    full``; reads still work. ``after_next_commit()``: the next event-store commit still
    succeeds, and the disk is full right after it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, engines: list[Engine]) -> None:
        self.full = False
        self._after_commit = False
        real = SQLiteConnection.commit
        outer = self

        def commit(self: SQLiteConnection) -> None:
            if outer.full:
                self.rollback()
                raise sqlite3.OperationalError("database or disk is full")
            real(self)
            if outer._after_commit:
                outer._after_commit, outer.full = False, True

        def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if outer.full and statement.lstrip().split(None, 1)[0].upper() in _WRITES:
                raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(SQLiteConnection, "commit", commit)
        for engine in engines:
            event.listen(engine, "before_cursor_execute", before)

    def after_next_commit(self) -> None:
        self._after_commit = True


_WRITES = {"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE"}
