"""Named supply invariants, pure functions that can be run against any batch at any time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.domain.errors import LedgerError
from ledger.domain.serials import normalise, ranges_total

if TYPE_CHECKING:
    from ledger.domain.batch_view import BatchView
    from ledger.domain.credit_batch import CreditBatch

__all__ = ["InvariantViolationError", "check_batch_supply", "check_serial_coverage"]


class InvariantViolationError(LedgerError):
    """Raised when stored history breaks a supply invariant: a bug or tampering."""

    code = "invariant-violation"


def check_batch_supply(batch: CreditBatch | BatchView) -> None:
    """``batch-supply``: issued = available + escrowed + pledged + retired + tokenised +
    exported + cancelled, over the batch and its holdings (a :class:`BatchView`; a batch
    alone only if it was never split)."""
    totals = batch.totals_by_state()
    if sum(totals.values()) != batch.quantity:
        raise InvariantViolationError(
            f"batch-supply broken for {batch.block}: {totals} vs {batch.quantity}")


def check_serial_coverage(batch: CreditBatch | BatchView) -> None:
    """``serial-coverage``: lots (of the batch and its holdings) are disjoint and together
    cover exactly the issued block."""
    every = [r for ranges in batch.lots.values() for r in ranges]
    if any(not ranges for ranges in batch.lots.values()):
        raise InvariantViolationError(f"empty lot kept in {batch.block}")
    try:
        merged = normalise(every)
    except ValueError as error:
        raise InvariantViolationError(f"serial ranges overlap in {batch.block}: {error}") from None
    if merged != [[batch.serial_start, batch.serial_end]]:
        raise InvariantViolationError(f"serial-coverage broken for {batch.block}: {merged}")
    if ranges_total(every) != batch.quantity:
        raise InvariantViolationError(f"serial total differs from quantity in {batch.block}")
