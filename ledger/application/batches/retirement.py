"""Credits leaving circulation by their holder: retirement, export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.domain.errors import ValidationError
from ledger.domain.holding import holding_id
from ledger.domain.participant import Role


class RetirementCommands(BatchCommands):
    """Retirement and export."""

    @batch_command
    def retire(self, *, actor: UUID, batch_id: UUID, quantity: int, beneficiary: str,
               purpose: str, jurisdiction: str, consumption_period: str,
               details: dict[str, Any] | None = None) -> UUID:
        """Retire credits for a beneficiary and purpose. Permanent. With ``claim_id`` in
        ``details`` the retirement also counts toward that neutrality claim, atomically.
        On the holder's holding alone, on its lock (the batch is not read); the first
        retirement of a batch never split splits it."""
        retirement_id = uuid4()
        description = {"beneficiary": beneficiary, "purpose": purpose,
                       "jurisdiction": jurisdiction, "consumption_period": consumption_period,
                       "details": details or {}}
        return self._once_split(batch_id, lambda: self._retire(
            actor, batch_id, retirement_id, quantity, description, details))

    def _retire(self, actor: UUID, batch_id: UUID, retirement_id: UUID, quantity: int,
                description: dict[str, Any], details: dict[str, Any] | None) -> UUID | None:
        """The retirement on the holder's holding; None if the batch was never split."""
        with self._commanding_holdings((holding_id(batch_id, actor),), actor):
            self._actor(actor, Role.HOLDER)
            others = self._counting_claim(details, retirement_id, batch_id, quantity, actor)
            holding = self._own_holding(batch_id, actor)
            if holding is None:
                return None
            holding.retire(retirement_id=retirement_id, quantity=quantity,
                           details=description, actor=actor)
            self.save(holding, *(make() for make in others))
            return retirement_id

    def _counting_claim(self, details: dict[str, Any] | None, retirement_id: UUID,
                        batch_id: UUID, quantity: int,
                        actor: UUID) -> list[Callable[[], Aggregate]]:
        """With ``claim_id`` in ``details``: the claim (which must exist) counting the
        retirement, made when the retirement is saved."""
        claim_ref = (details or {}).get("claim_id")
        if claim_ref is None:
            return []
        try:
            claim_id = UUID(str(claim_ref))
        except ValueError:
            raise ValidationError("claim_id is not a UUID", field="claim_id") from None
        self.claim(claim_id)

        def counted_claim() -> Aggregate:
            claim = self.claim(claim_id)
            claim.count_retirement(retirement_id=retirement_id, batch=batch_id,
                                   quantity=quantity, actor=actor)
            return claim

        return [counted_claim]

    @batch_command
    def export(self, *, actor: UUID, batch_id: UUID, quantity: int, destination: str) -> UUID:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.HOLDER)
            export_id = uuid4()
            self._on_batch(batch_id, lambda b: b.export(
                export_id=export_id, holder=actor, quantity=quantity, destination=destination,
                actor=actor, destinations=self.export_destinations))
            return export_id

