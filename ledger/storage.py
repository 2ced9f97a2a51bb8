"""Set-at-a-time questions to the event store that the ``eventsourcing`` recorder API only
answers one aggregate at a time."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder

__all__ = ["existing_originators"]

_CHUNK = 500


def existing_originators(recorder: ApplicationRecorder, ids: Iterable[UUID]) -> set[UUID]:
    """Which of ``ids`` already have events in the store (one query per 500 ids)."""
    wanted = list(ids)
    found: set[UUID] = set()
    module = type(recorder).__module__
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        if module == "eventsourcing.sqlite":
            found |= _sqlite(recorder, chunk)
        elif module == "eventsourcing.postgres":
            found |= _postgres(recorder, chunk)
        else:  # any other recorder: ask one aggregate at a time
            found |= {i for i in chunk if recorder.select_events(i, limit=1)}
    return found


def _sqlite(recorder: ApplicationRecorder, ids: list[UUID]) -> set[UUID]:
    table = recorder.events_table_name  # type: ignore[attr-defined]
    marks = ",".join("?" * len(ids))
    with recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
        c.execute(f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id IN ({marks})",
                  [i.hex for i in ids])
        return {UUID(row[0]) for row in c.fetchall()}


def _postgres(recorder: ApplicationRecorder, ids: list[UUID]) -> set[UUID]:
    from psycopg.sql import SQL, Identifier

    statement = SQL("SELECT DISTINCT originator_id FROM {schema}.{table} "
                    "WHERE originator_id = ANY(%s)").format(
        schema=Identifier(recorder.datastore.schema),  # type: ignore[attr-defined]
        table=Identifier(recorder.events_table_name))  # type: ignore[attr-defined]
    with recorder.datastore.get_connection() as conn, conn.cursor() as curs:  # type: ignore[attr-defined]
        curs.execute(statement, [ids])
        return {UUID(str(row["originator_id"])) for row in curs.fetchall()}
