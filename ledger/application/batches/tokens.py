"""The token bridge: credits locked for tokenisation, minted, unlocked, retired from the
token pool."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.domain.credit_batch import token_retirement_id
from ledger.domain.participant import Role
from ledger.domain.serials import Range
from ledger.domain.unique_keys import KeyKind


class TokenCommands(BatchCommands):
    """The token bridge's commands."""

    @batch_command
    def lock_for_tokens(self, *, actor: UUID, batch_id: UUID, quantity: int,
                        chain_address: str, chain_id: int | None = None,
                        token_contract: str | None = None) -> UUID:
        """Lock credits for tokenisation; returns the lock id.

        With ``chain_id`` and ``token_contract`` the lock is bridged: that token contract can
        mint ``quantity * 10**12`` token units to ``chain_address`` once the lock event is
        anchored (see :mod:`anchoring.bridge`)."""
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.HOLDER)
            lock_id = uuid4()
            self._on_batch(batch_id, lambda b: b.lock_for_tokens(
                lock_id=lock_id, holder=actor, quantity=quantity, chain_address=chain_address,
                actor=actor, chain_id=chain_id, token_contract=token_contract))
            return lock_id

    # ------------------------------------------------------------------ token bridge

    @batch_command
    def record_token_mint(self, *, actor: UUID, batch_id: UUID, lock_id: UUID,
                          chain_reference: str) -> list[Range]:
        """The bridge saw a bridged lock minted on chain (with enough confirmations): its
        credits move to the batch's token pool. A lock is recorded as minted once
        (:class:`DuplicateRecordError` after that)."""
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.BRIDGE)
            return self._on_batch(batch_id, lambda b: b.record_token_mint(
                lock_id=lock_id, chain_reference=chain_reference, actor=actor))

    @batch_command
    def unlock_tokens(self, *, actor: UUID, batch_id: UUID, lock_id: UUID, recipient: UUID,
                      quantity: int, chain_reference: str,
                      burn_id: str | None = None) -> list[Range]:
        """The bridge saw tokens burned on chain for ledger account ``recipient``: that
        quantity becomes available to it. A burn id is applied once
        (:class:`DuplicateRecordError` after that)."""
        with self._commanding(batch_id, actor, recipient):
            self._actor(actor, Role.BRIDGE)
            self._holder(recipient, "recipient")
            return self._on_batch(batch_id, lambda b: b.unlock_tokens(
                lock_id=lock_id, recipient=recipient, quantity=quantity,
                chain_reference=chain_reference, actor=actor, burn_id=burn_id))

    @batch_command
    def retire_tokenised(self, *, actor: UUID, batch_id: UUID, pool_id: UUID, quantity: int,
                         beneficiary: str, purpose: str, jurisdiction: str,
                         consumption_period: str, details: dict[str, Any] | None,
                         chain_reference: str, burn_id: str, chain_account: str) -> UUID:
        """The bridge saw tokens burned on chain for a retirement: the credits are retired
        from the token pool. Permanent. The retirement id derives from the burn id
        (:func:`~ledger.domain.credit_batch.token_retirement_id`) and a burn is applied once
        (:class:`DuplicateRecordError` after that)."""
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.BRIDGE)
            retirement_id = token_retirement_id(burn_id)

            def claimed_retirement() -> Aggregate:
                """The retirement's id derives from the burn: one retirement per burn,
                whatever the batch named with it."""
                return self._claim_key(KeyKind.RETIREMENT, str(retirement_id), batch_id, (
                    f"burn {burn_id} was applied already as retirement {retirement_id}"))

            description = {"beneficiary": beneficiary, "purpose": purpose,
                           "jurisdiction": jurisdiction, "consumption_period": consumption_period,
                           "details": details or {}}
            self._on_batch(batch_id, lambda b: b.retire_tokenised(
                retirement_id=retirement_id, pool_id=pool_id, quantity=quantity,
                details=description, chain_reference=chain_reference, burn_id=burn_id,
                chain_account=chain_account, actor=actor), claimed_retirement)
            return retirement_id

