"""Pledges: credits locked as loan collateral, released or enforced by the bank.

A pledge lives on the pledgor's holding (:class:`~ledger.domain.holding.Holding`, issue
#17), so pledges of different holders of one batch never conflict; its id is claimed by a
:class:`~ledger.domain.unique_keys.UniqueKey` owned by that holding, through which the bank's
release or enforcement finds it. A pledge made on the batch before then (its id claimed by
no key) is released or enforced on the batch, as it was made.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.domain.errors import PermissionDeniedError, RecordNotFoundError
from ledger.domain.holding import Holding, holding_id
from ledger.domain.mandates import MandateScope
from ledger.domain.participant import Role
from ledger.domain.serials import Range
from ledger.domain.unique_keys import KeyKind, UniqueKey


class PledgeCommands(BatchCommands):
    """Pledges of credits as loan collateral."""

    @batch_command
    def pledge(self, *, actor: UUID, batch_id: UUID, holder: UUID, bank: UUID,
               loan_reference: str, quantity: int) -> UUID:
        """Lock credits as loan collateral; registered by the pledgor, or by the bank with a
        ``pledge`` mandate of the pledgor in force (:class:`ConsentRequiredError`
        otherwise). On the pledgor's holding alone; the first pledge of a batch never split
        splits it."""
        pledge_id = uuid4()
        return self._once_split(batch_id, lambda: self._pledge(
            actor, batch_id, holder, bank, loan_reference, quantity, pledge_id))

    def _pledge(self, actor: UUID, batch_id: UUID, holder: UUID, bank: UUID,
                loan_reference: str, quantity: int, pledge_id: UUID) -> UUID | None:
        """The pledge on the pledgor's holding; None if the batch was never split."""
        with self._commanding_holdings((holding_id(batch_id, holder),), actor, bank, holder):
            self._actor(actor, Role.LENDER if actor == bank else Role.HOLDER)
            self._actor(bank, Role.LENDER)
            self._holder(holder, "pledgor")
            if actor not in (holder, bank):
                raise PermissionDeniedError(
                    "a pledge is registered by the pledgor or the bank", actor=str(actor))
            holding = self._own_holding(batch_id, holder)
            if holding is None:
                return None
            grantors = self._consent(batch_id, holder=holder, agent=actor,
                                     scope=MandateScope.PLEDGE, quantity=quantity,
                                     record=pledge_id)
            holding.pledge(pledge_id=pledge_id, bank=bank, loan_reference=loan_reference,
                           quantity=quantity, actor=actor)
            key = UniqueKey.claim(KeyKind.PLEDGE, str(pledge_id), holding.id)
            self.save(holding, *grantors, key)
            return pledge_id

    @batch_command
    def release_pledge(self, *, actor: UUID, batch_id: UUID, pledge_id: UUID) -> list[Range]:
        """The loan was repaid: the credits return to the pledgor."""
        return self._on_record(KeyKind.PLEDGE, pledge_id, batch_id, actor, Role.LENDER,
                               lambda a: a.release_pledge(pledge_id=pledge_id, actor=actor))

    @batch_command
    def enforce_pledge(self, *, actor: UUID, batch_id: UUID, pledge_id: UUID) -> list[Range]:
        """The loan defaulted: the credits move to the bank."""
        pledgor = self._keyed_holding(KeyKind.PLEDGE, pledge_id, batch_id)
        if pledgor is None:
            with self._commanding(batch_id, actor):
                self._actor(actor, Role.LENDER)
                return self._on_batch(batch_id, lambda b: b.enforce_pledge(
                    pledge_id=pledge_id, actor=actor))
        with self._commanding_holdings((pledgor, holding_id(batch_id, actor)), actor):
            self._actor(actor, Role.LENDER)
            holding = self._get(pledgor, Holding, RecordNotFoundError, "holding")
            ranges = holding.enforce_pledge(pledge_id=pledge_id, actor=actor)
            bank = self._receiving(batch_id, actor, holding.block, lambda h: h.receive(
                sender=holding.account, ranges=ranges))
            self.save(holding, bank)
            return ranges
