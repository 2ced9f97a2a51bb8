"""Command records: who asked for a change, how it was authenticated, and what it produced.

A record is saved in the same transaction as the events of the command it describes, so a
request signature is kept with the resulting events, and an idempotency key (whose record id
is ``uuid5(participant, key)``) can never be applied twice: the second save collides with the
first in the event store.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.ids import uuid5

__all__ = ["CommandRecord", "idempotency_record_id"]

_NS = UUID("3a8f0c52-7e19-5b6d-a4c2-91e0d7b5f3a8")


def idempotency_record_id(participant: UUID, idempotency_key: str) -> UUID:
    return uuid5(_NS, f"{participant}\x1f{idempotency_key}")


class CommandRecord(Aggregate):
    class Recorded(Aggregate.Created):
        """Recorded; version 2 holds the HTTP request id (``X-Request-Id``) of the command,
        None for one not asked over HTTP. Version 1 events are upcast with ``request_id``
        None."""

        class_version = 2

        participant: str
        command: str
        request_sha256: str
        authentication: dict[str, Any]
        idempotency_key: str | None
        events: list[list[Any]]
        request_id: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_id"] = None

    @event(Recorded)
    def __init__(self, participant: str, command: str, request_sha256: str,
                 authentication: dict[str, Any], idempotency_key: str | None,
                 events: list[list[Any]], request_id: str | None = None) -> None:
        self.participant = participant
        self.command = command
        self.request_sha256 = request_sha256
        self.authentication = authentication
        self.idempotency_key = idempotency_key
        self.events = events
        self.request_id = request_id

    @classmethod
    def record(cls, record_id: UUID, *, participant: UUID, command: str, request_sha256: str,
               authentication: dict[str, Any], idempotency_key: str | None,
               events: list[list[Any]], request_id: str | None = None) -> CommandRecord:
        return cls._create(cls.Recorded, id=record_id, participant=str(participant),
                           command=command, request_sha256=request_sha256,
                           authentication=authentication, idempotency_key=idempotency_key,
                           events=events, request_id=request_id)

    def add_events(self, events: list[list[Any]]) -> None:
        """A later save of the same command (bulk commands save in several transactions)."""
        self._events_added(events=events)

    @event("EventsAdded")
    def _events_added(self, events: list[list[Any]]) -> None:
        self.events = [*self.events, *events]
