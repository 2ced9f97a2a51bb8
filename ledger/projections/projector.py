"""Follows the event store's notification log into the read models, exactly once.

The SQLite recorder of ``eventsourcing`` 9.5 cannot ``subscribe()``, so instead of a
``ProjectionRunner`` the projector polls the notification log after its tracked position
(see :mod:`ledger.projections.log_reader`). Each page of notifications is applied in one
read-model transaction that also advances ``projection_tracking``; the transaction first takes
the write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``SELECT ... FOR UPDATE``) and re-reads
the position, so two projectors never apply the same event twice, and a crash leaves either
the whole page or none of it applied.

A rebuild drops the read models and replays the log in larger pages, with the behaviour
index's secondary indexes created once at the end. On PostgreSQL (event store and read
models) the rebuild's reader has the event store's server make the behaviour rows, which the
page's transaction loads with ``COPY`` (see :mod:`ledger.projections.pg_behaviours`); every
other event goes through its handler, in log order. Its pages commit one by one like any other
catch-up, so a rebuild that crashes leaves consistent read models at some position, which
catching up completes; if the process was killed before the end, the deferred indexes are
missing until a rebuild runs to its end. Nothing is made less durable for a rebuild: in WAL
mode SQLite already commits without syncing (only checkpoints sync), and ``synchronous=OFF``
showed no clear gain while risking, on power loss, a corrupt file that a rebuild cannot
repair.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Index, insert, select, update
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from ledger.application import Ledger
from ledger.projections import schema
from ledger.projections.database import is_sqlite
from ledger.projections.failures import ProjectionFailure, ProjectionStuckError, one_line
from ledger.projections.handlers import BULK_HANDLERS, HANDLERS, INDEXES_USED
from ledger.projections.log_reader import (
    BEHAVIOUR_NAME,
    LogPage,
    LogReader,
    Run,
    SQLiteHelperReader,
    log_reader,
    sqlite_file_of,
)
from ledger.projections.pg_behaviours import (
    PostgresRowReader,
    copy_behaviours,
    postgres_row_reader,
)

__all__ = ["ProjectionFailure", "ProjectionStuckError", "Projector", "UnknownEventError"]

TRACKING_NAME = "ledger-views"
logger = logging.getLogger(__name__)


class ReadAhead(NamedTuple):
    """A page of the log read before the write lock was taken: the events after ``after``."""

    after: int
    page: LogPage


class UnknownEventError(RuntimeError):
    """An event in the log has no handler: the read models would silently diverge."""


class Projector:
    def __init__(self, ledger: Ledger, engine: Engine, page_size: int = 5000,
                 rebuild_page_size: int = 20_000) -> None:
        self.ledger = ledger
        self.engine = engine
        self.page_size = page_size
        # A rebuild is a bulk load: fewer, larger transactions.
        self.rebuild_page_size = rebuild_page_size
        mapper = ledger.mapper
        # Behaviour events read straight from their JSON (see log_reader); set to False to
        # decode every event with the mapper.
        self.fast_decoding = (getattr(mapper, "cipher", None) is None
                              and getattr(mapper, "compressor", None) is None)
        self._readers = {fast: log_reader(ledger, fast=fast) for fast in (True, False)}
        # Whether a rebuild on PostgreSQL has the server make the behaviour rows (with
        # fast_decoding; see pg_behaviours); set to False to make them in Python.
        self.rebuild_rows_by_server = True
        self._row_reader = postgres_row_reader(ledger, engine)
        # A rebuild of at least this many events on an SQLite file has a helper process read
        # the log and make the behaviour rows, on the second CPU (see SQLiteHelperReader).
        self.helper_min_events = 200_000
        self._rebuild_reader: LogReader | None = None  # during a rebuild
        self._lock = threading.Lock()
        # A position the read models are known to have reached (committed by this projector,
        # or found by it under the write lock); saves a query after each catch-up.
        self.reached = 0
        self._deferred_indexes: list[Index] = []  # during a rebuild
        # The event the read models could not apply, while they are stuck before it.
        self.failure: ProjectionFailure | None = None

    def create_tables(self) -> None:
        """Apply pending schema migrations and create the tracking row."""
        from ledger.projections.migrations import migrate

        migrate(self.engine)
        schema.metadata.create_all(self.engine)  # after a rebuild dropped them
        with self.engine.begin() as conn:
            exists = conn.execute(select(schema.tracking.c.position).where(
                schema.tracking.c.name == TRACKING_NAME)).first()
            if exists is None:
                with contextlib.suppress(SQLIntegrityError):  # another process was first
                    conn.execute(insert(schema.tracking).values(name=TRACKING_NAME, position=0))

    def position(self) -> int:
        with self.engine.connect() as conn:
            return self._position(conn, lock=False)

    def _position(self, conn: Connection, *, lock: bool) -> int:
        query = select(schema.tracking.c.position).where(
            schema.tracking.c.name == TRACKING_NAME)
        if lock and not is_sqlite(self.engine):
            query = query.with_for_update()
        return int(conn.execute(query).scalar_one())

    def lag(self) -> int:
        """How many notifications are recorded but not yet projected."""
        return max(0, (self.ledger.recorder.max_notification_id() or 0) - self.position())

    def catch_up(self) -> int:
        """Apply every notification not yet applied; returns how many were applied.

        Raises :class:`ProjectionStuckError` naming the event if one cannot be applied (the
        events before it are applied)."""
        with self._lock:
            return self._catch_up(self.page_size)

    def _catch_up(self, page_size: int) -> int:
        applied = 0
        while True:
            try:
                count = self._apply_page(page_size)
            except Exception:  # found again event by event, then reported
                count = self._apply_singly(page_size)
            applied += count
            if count < page_size:
                self.failure = None
                return applied

    def _apply_singly(self, limit: int) -> int:
        """After a page failed (rolled back): apply up to ``limit`` events one at a time,
        each decoded by the mapper, so that an event that fails alone is named exactly
        (:class:`ProjectionStuckError`); if none does (the failure was transient), returns
        how many were applied."""
        applied = 0
        while applied < limit:
            after = self.position()
            try:
                count = self._apply_page(1, reader=self._readers[False])
            except Exception as error:
                raise ProjectionStuckError(self._failed(after, error)) from error
            if not count:
                break
            applied += count
        return applied

    def _failed(self, after: int, error: Exception) -> ProjectionFailure:
        """Record (and log, once) that the event after position ``after`` failed."""
        notifications = self.ledger.recorder.select_notifications(
            start=after, limit=1, inclusive_of_start=False)
        if notifications:
            n = notifications[0]
            failure = ProjectionFailure(
                position=n.id, topic=n.topic, originator_id=str(n.originator_id),
                originator_version=n.originator_version, error=one_line(error))
        else:
            failure = ProjectionFailure(position=after + 1, topic="?", originator_id="?",
                                        originator_version=0, error=one_line(error))
        if failure != self.failure:
            logger.error("read models stuck: %s", failure.describe(), exc_info=error)
        self.failure = failure
        return failure

    def _catch_up_reading_ahead(self, page_size: int) -> int:
        """:meth:`_catch_up`, reading the next page of the log in a second thread while the
        current one is applied, so that reading and decoding (done by the event store's
        database server) overlap writing. The log is immutable up to its last committed event,
        so a page read ahead from position P is the page :meth:`_apply_page` would read there
        (or a prefix of it); it is applied only if the tracked position, re-read under the
        write lock, is still P, and otherwise read again."""
        applied = 0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="projector-read") as pool:
            after = self.position()
            ahead = pool.submit(self.reader.read, after, page_size)
            while True:
                try:
                    page = ahead.result()
                    next_after = page.last_position if page else after
                    ahead = pool.submit(self.reader.read, next_after, page_size)
                    count = self._apply_page(page_size, ahead=ReadAhead(after, page))
                except Exception:  # located and reported without reading ahead
                    return applied + self._catch_up(page_size)
                applied += count
                if count < page_size:
                    return applied
                after = next_after

    @property
    def reader(self) -> LogReader:
        if self._rebuild_reader is not None:
            return self._rebuild_reader
        return self._readers[self.fast_decoding]

    def _reader_for_rebuild(self) -> PostgresRowReader | SQLiteHelperReader | None:
        if self.rebuild_rows_by_server and self.fast_decoding and self._row_reader is not None:
            return self._row_reader
        db_file = sqlite_file_of(self.ledger) if self.fast_decoding else None
        if (db_file is not None
                and (self.ledger.recorder.max_notification_id() or 0) >= self.helper_min_events):
            return SQLiteHelperReader(self.ledger, db_file)
        return None

    def _apply_page(self, page_size: int, ahead: ReadAhead | None = None,
                    reader: LogReader | None = None) -> int:
        with self.engine.begin() as conn:
            position = self._position(conn, lock=True)
            if ahead is not None and ahead.after == position:
                page = ahead.page
            else:
                page = (reader or self.reader).read(position, page_size)
            reached = position
            if page:
                for run in page.runs():
                    self._create_indexes_used(conn, run.name)
                    self._flush(conn, run)
                reached = page.last_position
                conn.execute(update(schema.tracking).where(
                    schema.tracking.c.name == TRACKING_NAME).values(position=reached))
        self.reached = max(self.reached, reached)  # committed
        return len(page)

    def _create_indexes_used(self, conn: Connection, name: str) -> None:
        """Create the deferred indexes that the handler of ``name`` queries (rolled back with
        the page if it fails: the rebuild then creates every index at its end)."""
        used = INDEXES_USED.get(name, ())
        for index in [i for i in self._deferred_indexes if i.name in used]:
            index.create(conn, checkfirst=True)
            self._deferred_indexes.remove(index)

    def _flush(self, conn: Connection, run: Run) -> None:
        """Apply a run of consecutive events of one type, set-at-a-time when possible."""
        if run.name == BEHAVIOUR_NAME and self._rebuild_reader is not None:
            self._flush_behaviours(conn, run)
        else:
            self._flush_events(conn, run)

    def _flush_events(self, conn: Connection, run: Run) -> None:
        bulk = BULK_HANDLERS.get(run.name)
        if bulk is not None:
            bulk(conn, run.events, run.positions)
            return
        for domain_event, position in zip(run.events, run.positions, strict=True):
            self._handle(conn, run.name, domain_event, position)

    def _flush_behaviours(self, conn: Connection, run: Run) -> None:
        """Behaviours read by the rebuild's row reader: rows made by the server (COPY text)
        loaded as they are, the others (decoded by the mapper) through the handler; each
        consecutive stretch in turn."""
        start = 0
        for rows, group in groupby(run.events, key=lambda event: type(event) is bytes):
            end = start + sum(1 for _ in group)
            events, positions = run.events[start:end], run.positions[start:end]
            if rows:
                copy_behaviours(conn, events, positions)
            else:
                self._flush_events(conn, Run(run.name, events, positions))
            start = end

    @staticmethod
    def _handle(conn: Connection, name: str, domain_event: Any, position: int) -> None:
        handler = HANDLERS.get(name)
        if handler is None:
            raise UnknownEventError(f"no read-model handler for event {name} at {position}")
        handler(conn, domain_event, position)

    def rebuild(self) -> int:
        """Drop every read model and project the whole log again, in pages of
        :attr:`rebuild_page_size`. Secondary indexes of the behaviour index are created after
        the replay (a bulk load), not maintained row by row during it, except those a handler
        queries (see ``INDEXES_USED``), created when first needed."""
        with self._lock:
            schema.metadata.drop_all(self.engine)
        self.create_tables()
        deferred = list(schema.behaviours.indexes)
        with self.engine.begin() as conn:
            for index in deferred:
                index.drop(conn)
        try:
            with self._lock:
                self._deferred_indexes = list(deferred)
                self._rebuild_reader = self._reader_for_rebuild()
                if self.reader.read_ahead:
                    return self._catch_up_reading_ahead(self.rebuild_page_size)
                return self._catch_up(self.rebuild_page_size)
        finally:
            self._deferred_indexes = []
            if isinstance(self._rebuild_reader, SQLiteHelperReader):
                self._rebuild_reader.close()
            self._rebuild_reader = None
            with self.engine.begin() as conn:
                for index in deferred:
                    index.create(conn, checkfirst=True)

    def follow(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Keep the read models up to date until ``stop`` is set."""
        while not stop.is_set():
            self.catch_up()
            stop.wait(interval)
