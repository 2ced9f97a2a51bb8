"""Set-at-a-time questions to the event store that the ``eventsourcing`` recorder API only
answers one aggregate at a time."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Composed, Identifier

__all__ = ["first_events", "newer_events", "newer_events_query", "stored_at"]

_CHUNK = 500


def first_events(recorder: ApplicationRecorder, ids: Iterable[UUID]) -> dict[UUID, StoredEvent]:
    """The first stored event (version 1) of each of ``ids`` that has one (one query per
    500 ids): which aggregates exist, and what created them."""
    wanted = list(ids)
    found: dict[UUID, StoredEvent] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        if isinstance(recorder, SQLiteApplicationRecorder):
            events = _sqlite(recorder, chunk)
        elif isinstance(recorder, PostgresApplicationRecorder):
            events = _postgres(recorder, chunk)
        else:  # any other recorder: ask one aggregate at a time
            events = [e for i in chunk for e in recorder.select_events(i, limit=1)]
        found.update((UUID(str(e.originator_id)), e) for e in events)
    return found


def _sqlite(recorder: SQLiteApplicationRecorder, ids: list[UUID]) -> list[StoredEvent]:
    marks = ",".join("?" * len(ids))
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT originator_id, originator_version, topic, state "
                  f"FROM {recorder.events_table_name} "
                  f"WHERE originator_id IN ({marks}) AND originator_version = 1",
                  [i.hex for i in ids])
        return [StoredEvent(originator_id=UUID(row[0]), originator_version=row[1],
                            topic=row[2], state=row[3]) for row in c.fetchall()]


def _postgres(recorder: PostgresApplicationRecorder, ids: list[UUID]) -> list[StoredEvent]:
    from psycopg.sql import SQL, Identifier

    statement = SQL("SELECT originator_id, originator_version, topic, state "
                    "FROM {schema}.{table} "
                    "WHERE originator_id = ANY(%s) AND originator_version = 1").format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, [ids])
        return [StoredEvent(originator_id=row["originator_id"],
                            originator_version=row["originator_version"],
                            topic=row["topic"], state=bytes(row["state"]))
                for row in curs.fetchall()]


def newer_events(recorder: ApplicationRecorder,
                 versions: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
    """Each aggregate's stored events after the given version, in version order, in one
    query: what fast-forwarding several cached aggregates needs."""
    if isinstance(recorder, PostgresApplicationRecorder):
        events = _newer_postgres(recorder, versions)
    elif isinstance(recorder, SQLiteApplicationRecorder):
        events = _newer_sqlite(recorder, versions)
    else:
        events = [e for i, v in versions.items() for e in recorder.select_events(i, gt=v)]
    found: dict[UUID, list[StoredEvent]] = {i: [] for i in versions}
    for stored in sorted(events, key=lambda e: e.originator_version):
        found[UUID(str(stored.originator_id))].append(stored)
    return found


def _newer_sqlite(recorder: SQLiteApplicationRecorder,
                  versions: dict[UUID, int]) -> list[StoredEvent]:
    where = " OR ".join(["(originator_id = ? AND originator_version > ?)"] * len(versions))
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT originator_id, originator_version, topic, state "
                  f"FROM {recorder.events_table_name} WHERE {where}",
                  [x for i, v in versions.items() for x in (i.hex, v)])
        return [StoredEvent(originator_id=UUID(row[0]), originator_version=row[1],
                            topic=row[2], state=row[3]) for row in c.fetchall()]


def newer_events_query(recorder: PostgresApplicationRecorder, ids: SQL, versions: SQL) -> Composed:
    """:func:`newer_events`' query on PostgreSQL (``ids`` and ``versions``: SQL expressions
    of its two arrays). Each aggregate's events are looked up on their own, by key: the
    ``LATERAL`` subquery with ``OFFSET 0`` is not merged into a join, so no plan scans the
    table, whatever its statistics (a join of the arrays with the table could be planned as
    a hash join over a scan of it, generically, before its statistics exist)."""
    return SQL("SELECT e.originator_id, e.originator_version, e.topic, e.state "
               "FROM unnest({ids}, {versions}) AS w(id, version) "
               "CROSS JOIN LATERAL (SELECT * FROM {schema}.{table} AS s "
               "WHERE s.originator_id = w.id AND s.originator_version > w.version "
               "OFFSET 0) AS e").format(
        ids=ids, versions=versions, schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name))


def _newer_postgres(recorder: PostgresApplicationRecorder,
                    versions: dict[UUID, int]) -> list[StoredEvent]:
    statement = newer_events_query(recorder, SQL("%b::uuid[]"), SQL("%b::int4[]"))
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, [list(versions), list(versions.values())], prepare=True)
        return [StoredEvent(originator_id=row["originator_id"],
                            originator_version=row["originator_version"],
                            topic=row["topic"], state=bytes(row["state"]))
                for row in curs.fetchall()]


def stored_at(recorder: ApplicationRecorder, keys: Iterable[tuple[UUID, int]],
              ) -> dict[tuple[UUID, int], tuple[StoredEvent, int]]:
    """The stored event, and its notification id, at each (aggregate id, version) of
    ``keys`` that has one (one query per 500 keys): whether a save whose outcome is unknown
    (its reply was lost) is in the store."""
    wanted = list(keys)
    found: dict[tuple[UUID, int], tuple[StoredEvent, int]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        if isinstance(recorder, PostgresApplicationRecorder):
            rows = _stored_at_postgres(recorder, chunk)
        elif isinstance(recorder, SQLiteApplicationRecorder):
            rows = _stored_at_sqlite(recorder, chunk)
        else:  # no notification ids to give
            raise TypeError(f"cannot look up stored events in {type(recorder).__name__}")
        found.update(((UUID(str(e.originator_id)), e.originator_version), (e, n))
                     for e, n in rows)
    return found


def _stored_at_sqlite(recorder: SQLiteApplicationRecorder,
                      keys: list[tuple[UUID, int]]) -> list[tuple[StoredEvent, int]]:
    where = " OR ".join(["(originator_id = ? AND originator_version = ?)"] * len(keys))
    with recorder.datastore.transaction(commit=False) as c:
        c.execute(f"SELECT originator_id, originator_version, topic, state, rowid "
                  f"FROM {recorder.events_table_name} WHERE {where}",
                  [x for i, v in keys for x in (i.hex, v)])
        return [(StoredEvent(originator_id=UUID(row[0]), originator_version=row[1],
                             topic=row[2], state=row[3]), row[4]) for row in c.fetchall()]


def _stored_at_postgres(recorder: PostgresApplicationRecorder,
                        keys: list[tuple[UUID, int]]) -> list[tuple[StoredEvent, int]]:
    statement = SQL("SELECT e.originator_id, e.originator_version, e.topic, e.state, "
                    "e.notification_id FROM unnest(%b::uuid[], %b::int4[]) AS w(id, version) "
                    "CROSS JOIN LATERAL (SELECT * FROM {schema}.{table} AS s "
                    "WHERE s.originator_id = w.id AND s.originator_version = w.version "
                    "OFFSET 0) AS e").format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name))
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:
        curs.execute(statement, [[i for i, _ in keys], [v for _, v in keys]])
        return [(StoredEvent(originator_id=row["originator_id"],
                             originator_version=row["originator_version"],
                             topic=row["topic"], state=bytes(row["state"])),
                 row["notification_id"]) for row in curs.fetchall()]
