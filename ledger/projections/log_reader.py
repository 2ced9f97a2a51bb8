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

import json
from collections.abc import Iterator, Sequence
from itertools import groupby
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.utils import retry

from ledger.application import Ledger
from ledger.projections.handlers import BehaviourRow, stamp

__all__ = ["BEHAVIOUR_NAME", "BEHAVIOUR_REPORTED", "IN_STORE", "LogPage", "LogReader", "Run",
           "log_reader"]

BEHAVIOUR_REPORTED = "ledger.domain.behaviour:Behaviour.Reported"
BEHAVIOUR_NAME = "Behaviour.Reported"
DATETIME = "datetime_iso"  # the transcoding of datetimes in stored JSON
_JSON = json.JSONDecoder()


class InStore:
    """Stands for a ``Behaviour.Reported`` event not read from the event store."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "IN_STORE"


IN_STORE = InStore()

# The stored fields a behaviour row is made of, in the order of :func:`behaviour_row`.
FIELDS: tuple[tuple[str, ...], ...] = (
    ("platform",), ("platform_ref",), ("account",), ("methodology",), ("act_identity",),
    ("reduction_g",), ("occurred_at", "_type_"), ("occurred_at", "_data_"),
    ("timestamp", "_type_"), ("timestamp", "_data_"),
)


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


def behaviour_row(position: int, behaviour_id: str, values: Sequence[Any]) -> BehaviourRow | None:
    """The behaviour row of the extracted ``values`` (see :data:`FIELDS`), or ``None`` when
    they are not of the expected shape (then the event is decoded generically)."""
    (platform, platform_ref, account, methodology, act_identity, reduction_g, occurred_type,
     occurred_at, timestamp_type, timestamp) = values
    if (occurred_type != DATETIME or timestamp_type != DATETIME or None in values
            or isinstance(reduction_g, float)):  # SQLite reads integers beyond 64 bits as REAL
        return None
    return BehaviourRow(behaviour_id, position, platform, platform_ref, account, methodology,
                        act_identity, stamp(occurred_at), int(reduction_g), stamp(timestamp))


def _field(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _hyphenated(hex_id: str) -> str:
    """``str(UUID(hex_id))`` for the 32 lower-case hex digits the SQLite recorder stores."""
    if len(hex_id) == 32 and hex_id.islower():
        return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
    return str(UUID(hex_id))


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
        values = [_field(data, path) for path in FIELDS]
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
            cursor.execute(self.statement,
                           {"topic": BEHAVIOUR_REPORTED, "after": after, "limit": limit})
            rows = cursor.fetchall()
        page = LogPage()
        decode = _JSON.raw_decode
        for position, originator_id, version, topic, state, fields in rows:
            row = None if fields is None else behaviour_row(
                position, _hyphenated(originator_id), decode(fields)[0])
            if row is not None:
                page.append(position, BEHAVIOUR_NAME, row)
                continue
            if state is None:  # a behaviour not of the expected shape
                state = _state(self.recorder, position)
            self.append_decoded(page, Notification(
                id=position, originator_id=UUID(originator_id), originator_version=version,
                topic=topic, state=state))
        return page


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
