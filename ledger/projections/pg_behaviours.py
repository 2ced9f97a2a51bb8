"""Behaviour rows made by PostgreSQL from the stored events, for rebuilds.

A rebuild on PostgreSQL (event store and read models) reads each page of the log with
:class:`PostgresRowReader`: besides the page itself (read without the behaviour events'
state, see :class:`~ledger.projections.log_reader.PostgresReader`), one ``COPY (SELECT ...)
TO STDOUT`` in which the event store's server extracts every behaviour's fields from
``convert_from(state, 'UTF8')::jsonb`` (one parse a document; ``->>`` on ``::json`` parses
again for every field and measured six times slower) and formats its read-model row. The
projector's transaction loads a run of them with ``COPY behaviours FROM STDIN`` (see
:func:`copy_behaviours`) and adds the points earned per account with one upsert aggregated
from the rows just loaded. Python never decodes a field: each row is one line of COPY text,
passed through. Reading ahead (the reader's connection) thus does the JSON work on one core
while the projector's connection writes the previous page on the other. The same projection
as one ``INSERT ... SELECT`` from the events table in the projector's transaction measured
slower (50,000 against 60,000 events/s, no faster than rows made in Python): the parse then
adds to the writes instead of overlapping them.

The rows are the ones the Python path writes: the same ``->>`` extraction as
:class:`~ledger.projections.log_reader.PostgresReader`, and ``stamp()`` of the two times
written as its fast path does (``+00:00`` text of 25 or 32 characters). A behaviour of any
other shape (another time transcoding or offset, a missing field, grams that are not a plain
integer) gets no row from the server and is decoded by the application's mapper instead.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.utils import retry
from sqlalchemy import Connection, Engine

from ledger.application import Ledger
from ledger.projections.behaviour_rows import DATETIME
from ledger.projections.log_reader import (
    BEHAVIOUR_NAME,
    BEHAVIOUR_REPORTED,
    IN_STORE,
    LogPage,
    PostgresReader,
    log_reader,
)

__all__ = ["PostgresRowReader", "copy_behaviours", "postgres_row_reader"]

# The behaviour table's columns in the order of the COPY text rows (position first: a row's
# position is the text before its first tab).
COLUMNS = ("position", "id", "platform", "platform_ref", "account", "methodology",
           "act_identity", "occurred_at", "reduction_g", "reported_at")


def _stamp(text: str) -> str:
    """SQL for ``stamp()`` of ISO text in the shape the fast path of ``stamp()`` handles."""
    return (f"substr({text}, 1, 19) || '.' || CASE WHEN length({text}) = 32 "
            f"THEN substr({text}, 21, 6) ELSE '000000' END || 'Z'")


def _utc_iso(text: str) -> str:
    return f"right({text}, 6) = '+00:00' AND length({text}) IN (25, 32)"


# The behaviour rows of the events after %(after)s up to %(last)s, in log order. The subqueries
# are fenced (OFFSET 0) so that each document is parsed, and each field extracted, once.
_ROWS = """
COPY (
  SELECT position, id, platform, platform_ref, account, methodology, act_identity,
         {occurred}, reduction_g::bigint, {reported}
  FROM (SELECT notification_id AS position, originator_id::text AS id,
               j->>'platform' AS platform, j->>'platform_ref' AS platform_ref,
               j->>'account' AS account, j->>'methodology' AS methodology,
               j->>'act_identity' AS act_identity, j->>'reduction_g' AS reduction_g,
               j->'occurred_at'->>'_type_' AS occurred_type,
               j->'occurred_at'->>'_data_' AS occurred,
               j->'timestamp'->>'_type_' AS reported_type,
               j->'timestamp'->>'_data_' AS reported
        FROM (SELECT notification_id, originator_id,
                     convert_from(state, 'UTF8')::jsonb AS j
              FROM {{events}}
              WHERE notification_id > %(after)s AND notification_id <= %(last)s
                AND topic = %(topic)s
              OFFSET 0) AS stored
        OFFSET 0) AS fields
  WHERE occurred_type = '{datetime}' AND reported_type = '{datetime}'
    AND {occurred_utc} AND {reported_utc}
    AND reduction_g ~ '^-?[0-9]{{{{1,18}}}}$'
    AND platform IS NOT NULL AND platform_ref IS NOT NULL AND account IS NOT NULL
    AND methodology IS NOT NULL AND act_identity IS NOT NULL
  ORDER BY position
) TO STDOUT WITH (ENCODING 'UTF8')
""".format(occurred=_stamp("occurred"), reported=_stamp("reported"), datetime=DATETIME,
           occurred_utc=_utc_iso("occurred"), reported_utc=_utc_iso("reported"))

_COPY_IN = f"COPY behaviours ({', '.join(COLUMNS)}) FROM STDIN WITH (ENCODING 'UTF8')"
# Points earned by the behaviours at positions first..last (just loaded), added per account as
# ledger.projections.handlers adds them; the account is created on first use.
_ADD_EARNED = (
    "INSERT INTO carbon_accounts (account, earned, redeemed, donated, behaviours) "
    "SELECT account, sum(reduction_g), 0, 0, count(*) FROM behaviours "
    "WHERE position >= %(first)s AND position <= %(last)s GROUP BY account "
    "ON CONFLICT (account) DO UPDATE SET earned = carbon_accounts.earned + excluded.earned, "
    "behaviours = carbon_accounts.behaviours + excluded.behaviours")


class PostgresRowReader:
    """Pages of the log whose well-formed behaviour events are their read-model rows, as
    lines of COPY text (``bytes``, without the newline); every other event decoded as
    :class:`~ledger.projections.log_reader.PostgresReader` decodes it."""

    read_ahead = True

    def __init__(self, ledger: Ledger) -> None:
        from psycopg.sql import SQL, Identifier

        self.pages = PostgresReader(ledger, behaviour_fields=False)
        recorder: Any = ledger.recorder
        self.statement = SQL(_ROWS).format(events=SQL("{schema}.{table}").format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name)))

    def read(self, after: int, limit: int) -> LogPage:
        page = self.pages.read(after, limit)
        wanted = [i for i, event in enumerate(page.events) if event is IN_STORE]
        if not wanted:
            return page
        rows = self._rows(after, page.last_position)
        positions = page.positions
        # The rows are of behaviours among those of the page (the events up to its last
        # position are all committed: the recorder commits them in the order of their
        # positions), in log order: as many rows is the same positions.
        if (len(rows) == len(wanted) and _position(rows[0]) == positions[wanted[0]]
                and _position(rows[-1]) == positions[wanted[-1]]):
            for i, row in zip(wanted, rows, strict=True):
                page.events[i] = row
            return page
        by_position = {_position(row): row for row in rows}
        for i in wanted:
            row = by_position.get(positions[i])
            page.events[i] = row if row is not None else self._decoded(positions[i])
        return page

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _rows(self, after: int, last: int) -> list[bytes]:
        params = {"after": after, "last": last, "topic": BEHAVIOUR_REPORTED}
        with self.pages.datastore.get_connection() as conn, conn.cursor() as cursor, \
                cursor.copy(self.statement, params) as copy:
            data = b"".join(copy)
        return data.split(b"\n")[:-1]

    def _decoded(self, position: int) -> Any:
        """A behaviour of an unexpected shape, decoded by the mapper."""
        (notification,) = self.pages.recorder.select_notifications(start=position, limit=1)
        event = self.pages.mapper.to_domain_event(notification)
        if type(event).__qualname__ != BEHAVIOUR_NAME:
            raise RuntimeError(f"the event at {position} is not a {BEHAVIOUR_NAME}")
        return event


def _position(row: bytes) -> int:
    return int(row[:row.index(b"\t")])


def copy_behaviours(conn: Connection, rows: list[bytes], positions: list[int]) -> None:
    """Load behaviour rows read by :class:`PostgresRowReader`, consecutive in the log (no
    other event between the first and the last position), and add their points."""
    with conn.connection.cursor() as cursor:
        with cursor.copy(_COPY_IN) as copy:
            copy.write(b"\n".join(rows))
            copy.write(b"\n")
        cursor.execute(_ADD_EARNED, {"first": positions[0], "last": positions[-1]})


def postgres_row_reader(ledger: Ledger, engine: Engine) -> PostgresRowReader | None:
    """The reader for a rebuild of read models in PostgreSQL (``engine``) from a log of plain
    JSON in the ``eventsourcing`` PostgreSQL recorder's table; otherwise ``None``."""
    if engine.dialect.name != "postgresql":
        return None
    if not isinstance(log_reader(ledger), PostgresReader):
        return None
    return PostgresRowReader(ledger)
