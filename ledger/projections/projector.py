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
import json
import threading
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from ledger.application import Ledger
from ledger.projections import schema
from ledger.projections.database import is_sqlite
from ledger.projections.handlers import BULK_HANDLERS, HANDLERS

__all__ = ["Projector", "UnknownEventError"]

TRACKING_NAME = "ledger-views"


BEHAVIOUR_REPORTED = "ledger.domain.behaviour:Behaviour.Reported"
_loads = json.loads


def _transcoded_datetime(value: dict[str, str]) -> str:
    if value.get("_type_") != "datetime_iso":
        raise ValueError(f"not a transcoded datetime: {value!r}")
    return value["_data_"]


class ReportedBehaviour(NamedTuple):
    """The fields of ``Behaviour.Reported`` the read models use, decoded from stored JSON
    (the two times are kept as their ISO text, which :func:`stamp` reads directly)."""

    originator_id: UUID
    timestamp: str
    platform: str
    platform_ref: str
    account: str
    methodology: str
    act_identity: str
    occurred_at: str
    reduction_g: int

    @classmethod
    def from_state(cls, notification: Any) -> ReportedBehaviour:
        data = _loads(notification.state)
        return cls(
            originator_id=notification.originator_id,
            timestamp=_transcoded_datetime(data["timestamp"]),
            platform=data["platform"], platform_ref=data["platform_ref"],
            account=data["account"], methodology=data["methodology"],
            act_identity=data["act_identity"],
            occurred_at=_transcoded_datetime(data["occurred_at"]),
            reduction_g=int(data["reduction_g"]),
        )


class UnknownEventError(RuntimeError):
    """An event in the log has no handler: the read models would silently diverge."""


class Projector:
    def __init__(self, ledger: Ledger, engine: Engine, page_size: int = 5000) -> None:
        self.ledger = ledger
        self.engine = engine
        self.page_size = page_size
        mapper = ledger.mapper
        self.fast_decoding = (getattr(mapper, "cipher", None) is None
                              and getattr(mapper, "compressor", None) is None)
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
                domain_event, name = self._decode(notification)
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

    def _decode(self, notification: Any) -> tuple[Any, str]:
        """The domain event of a notification, and its class name. Behaviour reports, by far
        the most numerous events, are read straight from their JSON when the store keeps
        plain JSON (no cipher, no compression): the mapper's generic decoding costs more than
        the rest of their projection."""
        if notification.topic == BEHAVIOUR_REPORTED and self.fast_decoding:
            return ReportedBehaviour.from_state(notification), "Behaviour.Reported"
        domain_event = self.ledger.mapper.to_domain_event(notification)
        return domain_event, type(domain_event).__qualname__

    @classmethod
    def _flush(cls, conn: Connection, name: str, run: list[tuple[Any, int]]) -> None:
        """Apply a run of consecutive events of one type, set-at-a-time when possible."""
        bulk = BULK_HANDLERS.get(name)
        if bulk is not None:
            bulk(conn, run)
            return
        for domain_event, position in run:
            cls._handle(conn, name, domain_event, position)

    @staticmethod
    def _handle(conn: Connection, name: str, domain_event: Any, position: int) -> None:
        handler = HANDLERS.get(name)
        if handler is None:
            raise UnknownEventError(f"no read-model handler for event {name} at {position}")
        handler(conn, domain_event, position)

    def rebuild(self) -> int:
        """Drop every read model and project the whole log again. Secondary indexes of the
        behaviour index are created after the replay (a bulk load), not maintained row by
        row during it."""
        with self._lock:
            schema.metadata.drop_all(self.engine)
        self.create_tables()
        deferred = list(schema.behaviours.indexes)
        with self.engine.begin() as conn:
            for index in deferred:
                index.drop(conn)
        try:
            return self.catch_up()
        finally:
            with self.engine.begin() as conn:
                for index in deferred:
                    index.create(conn, checkfirst=True)

    def follow(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Keep the read models up to date until ``stop`` is set."""
        while not stop.is_set():
            self.catch_up()
            stop.wait(interval)
