"""Pages of the event log for the projector, decoded.

A :class:`LogPage` holds each event's position (notification id), class name and the event.
``Behaviour.Reported`` events, by far the most numerous, are read as
:class:`~ledger.projections.handlers.BehaviourRow` straight from their stored JSON when the
store keeps plain JSON (no cipher, no compression): the mapper's generic decoding costs more
than the rest of their projection. On the ``eventsourcing`` SQLite and PostgreSQL recorders
the page is read with the recorder's own query (same table, same condition, same order and
limit, without building ``Notification`` objects) and the database extracts the few fields the
behaviour index needs; any other recorder is read with ``select_notifications``. Every other
event, and a behaviour whose JSON is not of the expected shape, is decoded by the
application's mapper, so both paths give the same rows (the tests compare them).

A rebuild on PostgreSQL reads pages without the behaviour fields (``behaviour_fields=False``):
each behaviour event is then :data:`IN_STORE`, until
:class:`~ledger.projections.pg_behaviours.PostgresRowReader` puts in its place the read-model
row that the server makes from it.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import IO, Any, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.utils import retry

from ledger.application import Ledger
from ledger.projections.behaviour_rows import (
    BEHAVIOUR_REPORTED,
    FIELDS,
    BehaviourRow,
    behaviour_row,
    field,
    made_rows,
)
from ledger.projections.rebuild_helper import parameters

__all__ = ["BEHAVIOUR_NAME", "BEHAVIOUR_REPORTED", "IN_STORE", "LogPage", "LogReader", "Run",
           "log_reader"]

BEHAVIOUR_NAME = "Behaviour.Reported"
_BEHAVIOUR_ROW_LENGTH = len(BehaviourRow._fields)


class InStore:
    """Stands for a ``Behaviour.Reported`` event not read from the event store."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "IN_STORE"


IN_STORE = InStore()

class Run(NamedTuple):
    """Consecutive events of one class, with their positions."""

    name: str
    events: list[Any]
    positions: list[int]


class LogPage:
    """A page of the log, in log order: for each event its position (notification id), its
    class's qualified name (e.g. ``CreditBatch.Transferred``) and the event (a domain event,
    or a :class:`~ledger.projections.handlers.BehaviourRow` for ``Behaviour.Reported``).
    Kept as three lists rather than an object per event: pages hold thousands of events."""

    __slots__ = ("events", "names", "positions")

    def __init__(self) -> None:
        self.positions: list[int] = []
        self.names: list[str] = []
        self.events: list[Any] = []

    def append(self, position: int, name: str, event: Any) -> None:
        self.positions.append(position)
        self.names.append(name)
        self.events.append(event)

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def last_position(self) -> int:
        return self.positions[-1]

    def runs(self) -> Iterator[Run]:
        """The page as runs of consecutive events of the same class."""
        start = 0
        for name, group in groupby(self.names):
            end = start + sum(1 for _ in group)
            yield Run(name, self.events[start:end], self.positions[start:end])
            start = end


class LogReader(Protocol):
    # Whether reading the next page in a second thread while the current one is applied
    # pays: only when the database server does the reading and decoding. In-process SQLite
    # holds the GIL between rows, and the two threads then mostly wait for each other.
    read_ahead: bool

    def read(self, after: int, limit: int) -> LogPage:
        """Up to ``limit`` events after position ``after``, in log order."""
        ...


def _state(recorder: Any, position: int) -> bytes:
    """The stored state of the event at ``position`` (the direct readers leave out the state
    of behaviour events, and need it only for one of an unexpected shape)."""
    (notification,) = recorder.select_notifications(start=position, limit=1)
    return notification.state


class _Decoder:
    """Generic decoding with the application's mapper."""

    read_ahead = False

    def __init__(self, ledger: Ledger) -> None:
        self.mapper = ledger.mapper

    def append_decoded(self, page: LogPage, notification: Notification) -> None:
        domain_event = self.mapper.to_domain_event(notification)
        page.append(notification.id, type(domain_event).__qualname__, domain_event)


class NotificationReader(_Decoder):
    """``select_notifications``; behaviour JSON parsed in Python when ``fast``."""

    def __init__(self, ledger: Ledger, *, fast: bool) -> None:
        super().__init__(ledger)
        self.recorder = ledger.recorder
        self.fast = fast

    def read(self, after: int, limit: int) -> LogPage:
        page = LogPage()
        for notification in self.recorder.select_notifications(
                start=after, limit=limit, inclusive_of_start=False):
            row = self._behaviour_row(notification) if self.fast else None
            if row is None:
                self.append_decoded(page, notification)
            else:
                page.append(notification.id, BEHAVIOUR_NAME, row)
        return page

    @staticmethod
    def _behaviour_row(notification: Notification) -> BehaviourRow | None:
        if notification.topic != BEHAVIOUR_REPORTED:
            return None
        data = json.loads(notification.state)
        values = [field(data, path) for path in FIELDS]
        return behaviour_row(notification.id, str(notification.originator_id), values)


class SQLiteReader(_Decoder):
    """The SQLite recorder's table read directly; SQLite's ``json_extract`` picks the behaviour
    fields (one parse per document, returned as one small JSON array: cheaper than extracting
    each field, which parses the document again) and leaves out the state of those events."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)
        recorder: Any = ledger.recorder
        self.recorder = recorder
        self.datastore = recorder.datastore
        paths = ", ".join("'$." + ".".join(path) + "'" for path in FIELDS)
        self.statement = (
            "SELECT rowid, originator_id, originator_version, topic, "
            "CASE WHEN topic = :topic THEN NULL ELSE state END, CASE WHEN topic = :topic "
            f"THEN json_extract(CAST(state AS TEXT), {paths}) END FROM "
            f"{recorder.events_table_name} WHERE rowid > :after ORDER BY rowid LIMIT :limit")

    def read(self, after: int, limit: int) -> LogPage:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.sqlite_cursor.row_factory = None  # plain tuples: this cursor is ours
            cursor.execute(self.statement, parameters(after, limit))
            return self.page(made_rows(cursor.fetchall()))

    def page(self, items: list[BehaviourRow | tuple[Any, ...]]) -> LogPage:
        """The page of the items of :func:`~ledger.projections.behaviour_rows.made_rows`:
        behaviour rows as they are (or made again from their plain tuples), every other event
        (and a behaviour not of the expected shape) decoded by the mapper."""
        page = LogPage()
        make = BehaviourRow._make
        for item in items:
            if type(item) is BehaviourRow:
                page.append(item.position, BEHAVIOUR_NAME, item)
                continue
            if len(item) == _BEHAVIOUR_ROW_LENGTH:  # from the helper process, a plain tuple
                page.append(item[1], BEHAVIOUR_NAME, make(item))
                continue
            position, originator_id, version, topic, state = item
            if state is None:  # a behaviour not of the expected shape
                state = _state(self.recorder, position)
            self.append_decoded(page, Notification(
                id=position, originator_id=UUID(originator_id), originator_version=version,
                topic=topic, state=state))
        return page


class SQLiteHelperReader(SQLiteReader):
    """:class:`SQLiteReader` with the query and the behaviour rows made in a helper process,
    for rebuilds of large logs on the second CPU.

    A rebuild on SQLite is CPU-bound in one process: about a third of it extracting and
    converting behaviour fields, which need nothing of the projector. The helper (a spawned
    process with its own connection to the event store's file, used only to read) runs the same
    query and builds the same :class:`BehaviourRow` values, and sends them back pickled;
    this process decodes the other events with the mapper as before. ``read_ahead``: the
    projector asks for the next page while it applies one, and waits on the pipe without
    holding the GIL. Spawning costs about a second, so the projector uses this reader only
    for rebuilds of at least :attr:`Projector.helper_min_events` events. Call :meth:`close`
    when done.
    """

    read_ahead = True

    def __init__(self, ledger: Ledger, db_file: Path) -> None:
        super().__init__(ledger)
        self._helper = subprocess.Popen(
            [sys.executable, "-m", "ledger.projections.rebuild_helper", str(db_file),
             self.statement], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read(self, after: int, limit: int) -> LogPage:
        requests, answers = self._pipes()
        try:
            pickle.dump((after, limit), requests)
            requests.flush()
            kind, payload = pickle.load(answers)
        except (EOFError, BrokenPipeError):
            raise RebuildHelperError(
                f"the rebuild's helper process ended (exit code {self._helper.wait()})"
            ) from None
        if kind != "rows":
            raise RebuildHelperError(f"the rebuild's helper process failed: {payload}")
        return self.page(payload)

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        requests, answers = self._helper.stdin, self._helper.stdout
        if requests is None or answers is None:
            raise RebuildHelperError("the rebuild's helper process has no pipes")
        return requests, answers

    def close(self) -> None:
        """End the helper process (it ends at the end of its input)."""
        helper = self._helper
        if helper.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                helper.stdin.close()
        try:
            helper.wait(timeout=10)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        if helper.stdout is not None:
            helper.stdout.close()


class RebuildHelperError(RuntimeError):
    """The rebuild's helper process ended or could not read the log."""


def sqlite_file_of(ledger: Ledger) -> Path | None:
    """The event store's file when ``ledger`` reads it with :class:`SQLiteReader` and it is
    a file another process can open; else ``None``."""
    reader = log_reader(ledger)
    if type(reader) is not SQLiteReader:
        return None
    pool = reader.datastore.pool
    if pool.is_sqlite_memory_mode or pool.db_name.startswith("file:"):
        return None
    path = Path(pool.db_name)
    return path if path.is_file() else None


class PostgresReader(_Decoder):
    """The PostgreSQL recorder's table read directly; the server extracts the behaviour
    fields as columns (``jsonb``), so they arrive as plain values, and leaves out the state
    of those events. With ``behaviour_fields=False`` it reads neither their fields nor their
    state: each is :data:`IN_STORE`."""

    read_ahead = True

    def __init__(self, ledger: Ledger, *, behaviour_fields: bool = True) -> None:
        from psycopg.sql import SQL, Identifier

        super().__init__(ledger)
        recorder: Any = ledger.recorder
        self.recorder = recorder
        self.datastore = recorder.datastore
        self.uuid_ids = self.datastore.originator_id_type == "uuid"
        self.behaviour_fields = behaviour_fields
        if behaviour_fields:
            columns = ", ".join(
                "j" + "".join(f"->'{key}'" for key in path[:-1]) + f"->>'{path[-1]}'"
                for path in FIELDS)
            select = ("SELECT notification_id, originator_id::text, originator_version, topic, "
                      "CASE WHEN j IS NULL THEN state END, j IS NOT NULL, " + columns + " FROM ("
                      "SELECT *, CASE WHEN topic = %(topic)s THEN convert_from(state, 'UTF8')"
                      "::jsonb END AS j FROM {schema}.{table} WHERE notification_id > %(after)s "
                      "ORDER BY notification_id LIMIT %(limit)s) AS page ORDER BY notification_id")
        else:
            select = ("SELECT notification_id, CASE WHEN b THEN NULL ELSE originator_id::text END, "
                      "originator_version, CASE WHEN b THEN NULL ELSE topic END, "
                      "CASE WHEN b THEN NULL ELSE state END, b FROM ("
                      "SELECT *, topic = %(topic)s AS b FROM {schema}.{table} "
                      "WHERE notification_id > %(after)s ORDER BY notification_id "
                      "LIMIT %(limit)s) AS page ORDER BY notification_id")
        self.statement = SQL(select).format(schema=Identifier(self.datastore.schema),
                                            table=Identifier(recorder.events_table_name))

    def read(self, after: int, limit: int) -> LogPage:
        page = LogPage()
        fields = self.behaviour_fields
        for row in self._select(after, limit):
            position, originator_id, version, topic, state, is_behaviour = row[:6]
            if is_behaviour and not fields:
                page.append(position, BEHAVIOUR_NAME, IN_STORE)
                continue
            behaviour = behaviour_row(position, originator_id, row[6:]) if is_behaviour else None
            if behaviour is not None:
                page.append(position, BEHAVIOUR_NAME, behaviour)
                continue
            if state is None:  # a behaviour not of the expected shape
                state = _state(self.recorder, position)
            self.append_decoded(page, Notification(
                id=position, originator_id=UUID(originator_id) if self.uuid_ids else originator_id,
                originator_version=version, topic=topic, state=bytes(state)))
        return page

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _select(self, after: int, limit: int) -> list[tuple[Any, ...]]:
        from psycopg.rows import tuple_row

        params = {"topic": BEHAVIOUR_REPORTED, "after": after, "limit": limit}
        with self.datastore.get_connection() as conn, \
                conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(self.statement, params, prepare=True)
            return cursor.fetchall()


def _plain_json(ledger: Ledger) -> bool:
    mapper = ledger.mapper
    return getattr(mapper, "cipher", None) is None and getattr(mapper, "compressor", None) is None


def log_reader(ledger: Ledger, *, fast: bool = True) -> LogReader:
    """The fastest reader that decodes ``ledger``'s log exactly as its mapper would; with
    ``fast=False``, every event goes through the mapper."""
    if not (fast and _plain_json(ledger)):
        return NotificationReader(ledger, fast=False)
    from eventsourcing.postgres import PostgresApplicationRecorder
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    select = type(ledger.recorder).select_notifications
    if select is SQLiteApplicationRecorder.select_notifications:
        return SQLiteReader(ledger)
    if select is PostgresApplicationRecorder.select_notifications:
        return PostgresReader(ledger)
    return NotificationReader(ledger, fast=True)
