"""The PostgreSQL event recorder, with a faster way to send stored events.

eventsourcing's recorder writes a transaction's events in a pipeline: ``SET LOCAL
lock_timeout``, ``LOCK TABLE … IN EXCLUSIVE MODE`` (so notification ids are committed in
the order they were issued), ``NOTIFY``, then one ``INSERT`` from an array of a composite
type in text format, then ``COMMIT``: two round trips, and psycopg escapes every event's
bytes with a regular expression that the server then parses back (about a fifth of bulk
loading's time).

This recorder does the same work in one server-side function,
``ledger_insert_events_v3(uuid[], int4[], text[], bytea[], uuid[], int4[])``, called in
autocommit mode with its arrays in binary format: one round trip and no escaping. The
function takes the same table lock, notifies the same channel and returns the notification
ids, so readers of the log see exactly what they saw before.

Its last two arrays are the command's *read set* (aggregate ids and the versions the
command decided on; empty for a plain save). Holding the lock, the function first looks
for a newer event of any of them and, if there is one, inserts nothing and raises SQLSTATE
``CL409``, which :meth:`LedgerPostgresRecorder.insert_events` turns into
:class:`~ledger.repository.ReadSetChanged` (see :mod:`ledger.repository`). The check looks
each aggregate up on its own (the repository's newer-events query: a ``LATERAL`` subquery
that PostgreSQL can only run as a primary-key lookup per aggregate). ``_v2`` joined the read
set to the table, and its cached generic plan, made while the table's statistics were
missing or stale, was a hash join over a sequential scan of the whole table: 30 ms a save at
100,000 events.
Earlier functions (``_v1`` without a read set, ``_v2``) are no longer created; databases
that have them keep them unused.

Everything else (reads, subscriptions, retries on connection errors, the translation of a
unique violation into ``IntegrityError``) is the library's.

Selected with ``APPLICATION_RECORDER_TOPIC`` in :meth:`ledger.runtime.Settings.event_store_env`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg.errors
from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.repository import ReadSetChanged
from ledger.storage import newer_events_query

__all__ = ["INSERT_FUNCTION", "LedgerPostgresRecorder"]

INSERT_FUNCTION = "ledger_insert_events_v3"  # a new body gets a new name, never a replace
_SIGNATURE = "(uuid[], int4[], text[], bytea[], uuid[], int4[])"
READ_SET_CHANGED = "CL409"  # the SQLSTATE the function raises for a stale read set


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    checks_read_sets = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = Identifier(self.datastore.schema)
        function = SQL("{schema}.{name}").format(schema=schema,
                                                 name=Identifier(INSERT_FUNCTION))
        self.newer_in_read_set = self.read_set_check(SQL("read_ids"), SQL("read_versions"))
        self._create_function: Composed = SQL(
            "CREATE FUNCTION {function}(ids uuid[], versions int4[], topics text[], "
            "states bytea[], read_ids uuid[], read_versions int4[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $body$ "
            "BEGIN "
            "SET LOCAL lock_timeout = {timeout}; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "IF EXISTS ({check}) THEN "
            "RAISE EXCEPTION 'an aggregate the command read has a newer event' "
            "USING ERRCODE = {stale}; "
            "END IF; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(ids, versions, topics, states) "
            "RETURNING notification_id; "
            "END $body$"
        ).format(function=function, schema=schema, check=self.newer_in_read_set,
                 table=Identifier(self.events_table_name),
                 timeout=Literal(f"{self.datastore.lock_timeout}s"),
                 channel=Identifier(self.channel_name), stale=Literal(READ_SET_CHANGED))
        self._function_exists: Composed = SQL(
            "SELECT to_regprocedure({signature}) IS NOT NULL AS present").format(
            signature=Literal(f'"{self.datastore.schema}".{INSERT_FUNCTION}{_SIGNATURE}'))
        self._invoke: Composed = SQL(
            "SELECT * FROM {function}(%b, %b, %b, %b, %b::uuid[], %b::int4[]) "
            "AS inserted(notification_id)"
        ).format(function=function)

    def read_set_check(self, ids: SQL, versions: SQL) -> Composed:
        """The query of the insert function that finds a newer event of an aggregate of the
        read set (``ids`` and ``versions``: SQL expressions of its arrays): the repository's
        own query for newer events (:func:`ledger.storage.newer_events_query`), which looks
        each aggregate up by key whatever the table's statistics; ``EXISTS`` stops at its
        first row."""
        return newer_events_query(self, ids, versions)

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self._function_exists)
            row = curs.fetchone()
            if row is not None and row["present"]:
                return
        try:
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(self._create_function)
        except (ProgrammingError, IntegrityError) as error:
            # Another process starting at the same moment created it first: that is fine.
            if not isinstance(error.__cause__, (psycopg.errors.DuplicateFunction,
                                                psycopg.errors.UniqueViolation)):
                raise

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], *,
                      read_set: dict[UUID, int] | None = None,
                      **kwargs: Any) -> Sequence[int] | None:
        """Insert the events in one transaction, unless an aggregate of ``read_set`` (id:
        version read) has a newer event: then nothing is inserted and
        :class:`~ledger.repository.ReadSetChanged` is raised."""
        if not stored_events:
            return []
        reads = read_set or {}
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                # autocommit: the call is its own transaction (lock, check, insert, notify)
                curs.execute(self._invoke, (
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                    list(reads), list(reads.values()),
                ), prepare=True)
                return [row["notification_id"] for row in curs.fetchall()]
        except DatabaseError as error:
            if getattr(error.__cause__, "sqlstate", None) == READ_SET_CHANGED:
                raise ReadSetChanged(str(error.__cause__)) from None
            raise
