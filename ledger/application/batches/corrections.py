"""Registry operator actions on a batch: cancellation, correction."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.domain.participant import Role


class CorrectionCommands(BatchCommands):
    """Cancellation and correction by the registry operator."""

    @batch_command
    def cancel(self, *, actor: UUID, batch_id: UUID, holder: UUID, quantity: int,
               reason: str) -> UUID:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.ISSUER)
            cancellation_id = uuid4()
            self._on_batch(batch_id, lambda b: b.cancel(
                cancellation_id=cancellation_id, holder=holder, quantity=quantity, reason=reason,
                actor=actor))
            return cancellation_id

    @batch_command
    def correct_batch(self, *, actor: UUID, batch_id: UUID, field: str, value: Any,
                      reason: str) -> None:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.ISSUER)
            self._on_batch(batch_id, lambda b: b.correct(field=field, value=value, reason=reason,
                                                         actor=actor))

