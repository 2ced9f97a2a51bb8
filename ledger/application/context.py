"""How the current command was asked for (:class:`CommandContext`), recorded with its first
save."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from ledger.domain.command_record import idempotency_record_id
from ledger.domain.errors import DuplicateRecordError


class DuplicateRequestError(DuplicateRecordError):
    """The idempotency key was used before: the earlier request was applied already."""

    code = "duplicate-request"


@dataclass
class CommandContext:
    """How the current command was asked for; recorded atomically with its first save."""

    participant: UUID
    command: str
    request_sha256: str
    authentication: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    request_id: str | None = None  # the HTTP request's X-Request-Id
    record_id: UUID | None = None  # set once recorded
    record: Any = None  # the CommandRecord aggregate, extended by later saves
    position: int = 0  # the highest notification id the command's saves were given
    _random_id: UUID | None = None

    @property
    def planned_id(self) -> UUID:
        if self.record_id is not None:
            return self.record_id
        if self.idempotency_key is not None:
            return idempotency_record_id(self.participant, self.idempotency_key)
        if self._random_id is None:
            self._random_id = uuid4()
        return self._random_id


_command_context: ContextVar[CommandContext | None] = ContextVar("command_context",
                                                                 default=None)

