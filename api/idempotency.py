"""The first response to each idempotency key, kept so that a retry gets it again.

The key itself is recorded by the ledger, atomically with the command's events (the
``CommandRecord`` whose id is ``uuid5(participant, key)``), so a key can never be applied
twice. This API-owned table (its own ``MetaData``, in the read-model database) keeps the
response that was sent, so that a retry of the same request gets the same status and body.
Rebuilding the read models does not touch it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

__all__ = ["IdempotencyStore", "StoredResponse", "metadata"]

metadata = MetaData()

responses = Table(
    "api_idempotent_responses", metadata,
    Column("participant", String(36), primary_key=True),
    Column("idempotency_key", String(200), primary_key=True),
    Column("request_fingerprint", String(64), nullable=False),
    Column("command", Text, nullable=False),
    Column("record_id", String(36)),  # the command record, when the command saved events
    Column("status", Integer, nullable=False),
    Column("media_type", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", String(40), nullable=False),
)


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    command: str
    record_id: str | None
    status: int
    media_type: str
    body: bytes


class IdempotencyStore:
    """Kept responses, written through ``engine`` and looked up through ``reader`` (on
    SQLite a reader does not queue behind writers; by default the same engine)."""

    def __init__(self, engine: Engine, reader: Engine | None = None) -> None:
        self.engine = engine
        self.reader = reader or engine

    def create_table(self) -> None:
        metadata.create_all(self.engine)

    def get(self, participant: UUID, key: str) -> StoredResponse | None:
        c = responses.c
        with self.reader.connect() as conn:
            row = conn.execute(select(responses).where(
                c.participant == str(participant), c.idempotency_key == key)).first()
        if row is None:
            return None
        return StoredResponse(fingerprint=row.request_fingerprint, command=row.command,
                              record_id=row.record_id, status=row.status,
                              media_type=row.media_type, body=row.body)

    def put(self, participant: UUID, key: str, response: StoredResponse) -> None:
        """Keep the first response; a concurrent duplicate (which the ledger refused) is
        ignored."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(responses).values(
                    participant=str(participant), idempotency_key=key,
                    request_fingerprint=response.fingerprint, command=response.command,
                    record_id=response.record_id, status=response.status,
                    media_type=response.media_type, body=response.body,
                    created_at=datetime.now(UTC).isoformat()))
        except IntegrityError:
            pass
