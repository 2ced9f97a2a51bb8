"""Database outages: recognised, answered 503 with ``Retry-After``, and not lost.

An outage is any error whose chain (``__cause__``/``__context__``) holds a connection-level
failure of a database driver: the event store's ``OperationalError``/``InterfaceError``
(eventsourcing's, raised after its own retries), SQLAlchemy's and psycopg's (the read
models, the Merkle log; a connection pool that timed out), or SQLite's operational errors
(``disk I/O error``, ``database or disk is full``, ``attempt to write a readonly
database``, ``database is locked``, ``unable to open database file``). They become the
problem ``database-unavailable`` (503, ``Retry-After``): the request may be repeated when
the database is back, never an ``internal-error``.

A write whose command was applied (its events committed) but whose answer could not be
made (the read models could not catch up, or the response could not be kept) is *parked*
here under the caller and its ``Idempotency-Key``: the retry with the same key finishes
it (catch-up, shape, keep) and answers it as a replay. Parked answers live in the server
process; see docs/DESIGN.md ("Lost replies and outages") for what a restart loses.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import psycopg
import sqlalchemy.exc
from eventsourcing import persistence

from api.errors import DatabaseUnavailableError

__all__ = ["OUTAGE_TYPES", "Parked", "UnfinishedAnswers", "is_outage", "outage_error"]

OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    persistence.OperationalError, persistence.InterfaceError,
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError,
)
_NOT_OUTAGES = ("no such table", "no such column", "syntax error")  # bugs, not outages


def is_outage(error: BaseException | None) -> bool:
    """Whether ``error`` (or an error it was raised from) is a database outage."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OUTAGE_TYPES) and not any(
                text in str(error).lower() for text in _NOT_OUTAGES):
            return True
        if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
    return False


def outage_error(error: BaseException, record: str | None = None) -> DatabaseUnavailableError:
    """The problem for an outage; ``record`` names the command record of a write that was
    applied before the outage hit."""
    if record is None:
        return DatabaseUnavailableError(
            "the database is unavailable; retry later (with the same Idempotency-Key for a "
            "write)", reason=type(error).__name__)
    return DatabaseUnavailableError(
        f"the command was applied (command record {record}) but its answer could not be "
        "made while the database is unavailable; retry with the same Idempotency-Key to get "
        "it, never without one", reason=type(error).__name__, record=record, applied=True)


@dataclass(frozen=True)
class Parked:
    """An applied write's unfinished answer."""

    fingerprint: str
    command: str
    record_id: str | None
    position: int | None
    finish: Callable[[], object]


class UnfinishedAnswers:
    """Parked answers by (participant, idempotency key); the oldest are dropped beyond
    ``capacity`` (their retries then get ``request-incomplete``, as after a restart)."""

    capacity = 10_000

    def __init__(self) -> None:
        self._parked: OrderedDict[tuple[UUID, str], Parked] = OrderedDict()
        self._lock = threading.Lock()

    def park(self, participant: UUID, key: str, parked: Parked) -> None:
        with self._lock:
            self._parked[(participant, key)] = parked
            while len(self._parked) > self.capacity:
                self._parked.popitem(last=False)

    def take(self, participant: UUID, key: str) -> Parked | None:
        with self._lock:
            return self._parked.pop((participant, key), None)

    def __len__(self) -> int:
        return len(self._parked)
