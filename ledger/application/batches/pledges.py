"""Pledges: credits locked as loan collateral, released or enforced by the bank."""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.domain.errors import PermissionDeniedError
from ledger.domain.mandates import MandateScope
from ledger.domain.participant import Role
from ledger.domain.serials import Range


class PledgeCommands(BatchCommands):
    """Pledges of credits as loan collateral."""

    @batch_command
    def pledge(self, *, actor: UUID, batch_id: UUID, holder: UUID, bank: UUID,
               loan_reference: str, quantity: int) -> UUID:
        """Lock credits as loan collateral; registered by the pledgor, or by the bank with a
        ``pledge`` mandate of the pledgor in force (:class:`ConsentRequiredError`
        otherwise)."""
        with self._commanding(batch_id, actor, bank, holder):
            self._actor(actor, Role.LENDER if actor == bank else Role.HOLDER)
            self._actor(bank, Role.LENDER)
            self._holder(holder, "pledgor")
            if actor not in (holder, bank):
                raise PermissionDeniedError(
                    "a pledge is registered by the pledgor or the bank", actor=str(actor))
            pledge_id = uuid4()
            self._with_consent(
                batch_id, holder=holder, agent=actor, scope=MandateScope.PLEDGE,
                quantity=quantity, record=pledge_id, command=lambda b: b.pledge(
                    pledge_id=pledge_id, holder=holder, bank=bank,
                    loan_reference=loan_reference, quantity=quantity, actor=actor))
            return pledge_id

    @batch_command
    def release_pledge(self, *, actor: UUID, batch_id: UUID, pledge_id: UUID) -> list[Range]:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.LENDER)
            return self._on_batch(batch_id, lambda b: b.release_pledge(pledge_id=pledge_id,
                                                                       actor=actor))

    @batch_command
    def enforce_pledge(self, *, actor: UUID, batch_id: UUID, pledge_id: UUID) -> list[Range]:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.LENDER)
            return self._on_batch(batch_id, lambda b: b.enforce_pledge(pledge_id=pledge_id,
                                                                       actor=actor))

