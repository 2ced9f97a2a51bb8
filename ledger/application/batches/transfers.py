"""Transfer of credits between holders."""

from __future__ import annotations

from uuid import UUID

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.domain.holding import holding_id
from ledger.domain.participant import Role
from ledger.domain.serials import Range


class TransferCommands(BatchCommands):
    """Transfers between holders."""

    @batch_command
    def transfer(self, *, actor: UUID, batch_id: UUID, recipient: UUID,
                 quantity: int) -> list[Range]:
        """Move ``quantity`` g of the actor's available credits of the batch to
        ``recipient``: between their two holdings alone, on their locks (the batch is not
        read, let alone written). The first transfer of a batch never split splits it."""
        return self._once_split(
            batch_id, lambda: self._transfer(actor, batch_id, recipient, quantity))

    def _transfer(self, actor: UUID, batch_id: UUID, recipient: UUID,
                  quantity: int) -> list[Range] | None:
        """The transfer on the two holdings; None if the batch was never split."""
        with self._commanding_holdings(
                (holding_id(batch_id, actor), holding_id(batch_id, recipient)),
                actor, recipient):
            self._actor(actor, Role.HOLDER)
            self._holder(recipient, "recipient")
            sender = self._own_holding(batch_id, actor)
            if sender is None:
                return None
            ranges = sender.transfer(recipient=recipient, quantity=quantity, actor=actor)
            target = self._receiving(batch_id, recipient, sender.block, lambda h: h.receive(
                sender=actor, ranges=ranges))
            self.save(sender, target)
            return ranges
