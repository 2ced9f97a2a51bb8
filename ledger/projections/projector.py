"""Follows the event store's notification log into the read models, exactly once.

The SQLite recorder of ``eventsourcing`` 9.5 cannot ``subscribe()``, so instead of a
``ProjectionRunner`` the projector polls ``select_notifications`` after its tracked
position. Each page of notifications is applied in one read-model transaction that also
advances ``projection_tracking``; the transaction first takes the write lock (SQLite
``BEGIN IMMEDIATE``, PostgreSQL ``SELECT ... FOR UPDATE``) and re-reads the position, so two
projectors never apply the same event twice, and a crash leaves either the whole page or
none of it applied.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from ledger.application import Ledger
from ledger.projections import schema
from ledger.projections.database import is_sqlite
from ledger.projections.handlers import BULK_HANDLERS, HANDLERS

__all__ = ["Projector", "UnknownEventError"]

TRACKING_NAME = "ledger-views"


class UnknownEventError(RuntimeError):
    """An event in the log has no handler: the read models would silently diverge."""


class Projector:
    def __init__(self, ledger: Ledger, engine: Engine, page_size: int = 1000) -> None:
        self.ledger = ledger
        self.engine = engine
        self.page_size = page_size
        self._lock = threading.Lock()

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
        """Apply every notification not yet applied; returns how many were applied."""
        applied = 0
        with self._lock:
            while True:
                count = self._apply_page()
                applied += count
                if count < self.page_size:
                    return applied

    def _apply_page(self) -> int:
        with self.engine.begin() as conn:
            position = self._position(conn, lock=True)
            notifications = self.ledger.recorder.select_notifications(
                start=position, limit=self.page_size, inclusive_of_start=False)
            if not notifications:
                return 0
            run: list[tuple[Any, int]] = []
            run_name = ""
            for notification in notifications:
                domain_event = self.ledger.mapper.to_domain_event(notification)
                name = type(domain_event).__qualname__
                if run and name != run_name:
                    self._flush(conn, run_name, run)
                    run = []
                run_name = name
                run.append((domain_event, notification.id))
            self._flush(conn, run_name, run)
            conn.execute(update(schema.tracking).where(
                schema.tracking.c.name == TRACKING_NAME).values(
                position=notifications[-1].id))
            return len(notifications)

    @classmethod
    def _flush(cls, conn: Connection, name: str, run: list[tuple[Any, int]]) -> None:
        """Apply a run of consecutive events of one type, set-at-a-time when possible."""
        bulk = BULK_HANDLERS.get(name)
        if bulk is not None and len(run) > 1:
            bulk(conn, run)
            return
        for domain_event, position in run:
            cls._handle(conn, domain_event, position)

    @staticmethod
    def _handle(conn: Connection, domain_event: Any, position: int) -> None:
        name = type(domain_event).__qualname__
        handler = HANDLERS.get(name)
        if handler is None:
            raise UnknownEventError(f"no read-model handler for event {name} at {position}")
        handler(conn, domain_event, position)

    def rebuild(self) -> int:
        """Drop every read model and project the whole log again."""
        with self._lock:
            schema.metadata.drop_all(self.engine)
        self.create_tables()
        return self.catch_up()

    def follow(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Keep the read models up to date until ``stop`` is set."""
        while not stop.is_set():
            self.catch_up()
            stop.wait(interval)
