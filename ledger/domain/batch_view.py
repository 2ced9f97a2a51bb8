"""A batch with its holdings: the whole of its credits, wherever they live (issue #17).

Once split, a batch holds the lots its own commands made (token locks, exports,
cancellations, listings and pledges made before they moved to holdings, and retirements
made by a burn or by a settlement on the batch), and each account's available credits,
own retirements, pledges and listings (and what it bought retired on delivery) live in
the account's
:class:`~ledger.domain.holding.Holding`. The supply and serial-coverage invariants
(:mod:`ledger.domain.invariants`), ``check``, the bridge's conservation and the tests read
the batch through this view, which answers the batch's own queries over the union.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from ledger.domain.credit_batch import (
    CreditBatch,
    LotState,
    lot_key,
    split_lot_key,
    totals_by_state,
)
from ledger.domain.holding import Holding
from ledger.domain.invariants import InvariantViolationError
from ledger.domain.serials import Range, ranges_total

__all__ = ["BatchView"]


class BatchView:
    """``batch`` and ``holdings`` (every holding of it) read as one batch."""

    def __init__(self, batch: CreditBatch, holdings: Iterable[Holding]) -> None:
        self.batch = batch
        self.holdings: dict[str, Holding] = {}
        lots: dict[str, list[Range]] = dict(batch.lots.items())
        self._holder_of: dict[str, str] = {}
        for holding in holdings:
            if holding.account in self.holdings:
                raise InvariantViolationError(
                    f"two holdings of {holding.account} read twice with {batch.block}")
            self.holdings[holding.account] = holding
            if holding.batch != str(batch.id):
                raise InvariantViolationError(
                    f"holding {holding.id} of batch {holding.batch} read with {batch.block}")
            for key, ranges in holding.lots.items():
                if key in lots:  # the same lot in two places
                    raise InvariantViolationError(
                        f"lot {key} of {batch.block} is held twice")
                lots[key] = ranges
                self._holder_of[key] = holding.account
        self.lots = lots

    def __getattr__(self, name: str) -> Any:  # the batch's description: block, vintage ...
        return getattr(self.batch, name)

    @property
    def id(self) -> UUID:
        return self.batch.id

    @property
    def burns(self) -> Mapping[str, str]:
        """The batch's register of applied on-chain burns (absent in batches snapshotted
        before tokenisation)."""
        return self.batch.__dict__.get("burns", {})  # type: ignore[no-any-return]

    @property
    def retirements(self) -> dict[str, str]:
        """Every retirement of the batch's credits (id -> holder): those made on the batch
        (before its split, on delivery of a trade, of burned tokens) and on its holdings."""
        found = dict(self.batch.retirements.items())
        for key, holder in self._holder_of.items():
            state, ref = split_lot_key(key)
            if state is LotState.RETIRED:
                found[ref] = holder
        return found

    @property
    def pledges(self) -> dict[str, dict[str, Any]]:
        """Every pledge of the batch's credits (id -> holder, bank, loan reference, status):
        those made on the batch (before pledges moved to holdings) and on its holdings."""
        return self._records("pledges", "holder")

    @property
    def listings(self) -> dict[str, dict[str, Any]]:
        """Every listing of the batch's credits (id -> exchange, seller, listing ref, open):
        those made on the batch (before listings moved to holdings) and on its holdings."""
        return self._records("listings", "seller")

    def _records(self, table: str, party: str) -> dict[str, dict[str, Any]]:
        """The batch's ``table`` with every holding's, whose records name the holding's
        account as ``party``."""
        found = dict(getattr(self.batch, table).items())
        for account, holding in self.holdings.items():
            found.update({ref: {**record, party: account}
                          for ref, record in getattr(holding, table).items()})
        return found

    def held(self, state: LotState, ref: UUID | str) -> int:
        return ranges_total(self.lots.get(lot_key(state, ref), []))

    def available(self, account: UUID | str) -> int:
        return self.held(LotState.AVAILABLE, account)

    def totals_by_state(self) -> dict[str, int]:
        return totals_by_state(self.lots)

    def owner_of_lot(self, key: str) -> str:
        holder = self._holder_of.get(key)
        return holder if holder is not None else self.batch.owner_of_lot(key)
