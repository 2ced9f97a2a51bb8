"""Transfer of credits between holders."""

from __future__ import annotations

from uuid import UUID

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.domain.participant import Role
from ledger.domain.serials import Range


class TransferCommands(BatchCommands):
    """Transfers between holders."""

    @batch_command
    def transfer(self, *, actor: UUID, batch_id: UUID, recipient: UUID,
                 quantity: int) -> list[Range]:
        with self._commanding(batch_id, actor, recipient):
            self._actor(actor, Role.HOLDER)
            self._holder(recipient, "recipient")
            return self._on_batch(batch_id, lambda b: b.transfer(
                sender=actor, recipient=recipient, quantity=quantity, actor=actor))

