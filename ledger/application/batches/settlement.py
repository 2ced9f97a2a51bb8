"""Listings and settlement: an exchange escrows credits for a listing and settles matched
trades.

A listing lives on the seller's holding (:class:`~ledger.domain.holding.Holding`, issue
#17): its id is claimed by a :class:`~ledger.domain.unique_keys.UniqueKey` owned by that
holding, through which cancellation and settlement find it; a settlement moves the credits
from the seller's holding to the buyer's, so listings and trades of different sellers of one
batch never conflict. A listing made on the batch before then (its key owned by the batch,
or no key) is cancelled and settled on the batch, as it was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from ledger.application.batches.common import BatchCommands, batch_command
from ledger.application.context import DuplicateRequestError
from ledger.application.retry import first_attempt
from ledger.domain import ids
from ledger.domain.currencies import check_currency
from ledger.domain.errors import (
    LedgerError,
    RecordNotFoundError,
    TradeConflictError,
    ValidationError,
)
from ledger.domain.holding import Holding, holding_id
from ledger.domain.mandates import MandateScope
from ledger.domain.methodology import PLAIN_DECIMAL
from ledger.domain.participant import Role
from ledger.domain.quantities import require_grams
from ledger.domain.serials import Range
from ledger.domain.text import check_text
from ledger.domain.trade import Trade
from ledger.domain.unique_keys import KeyKind


@dataclass(frozen=True)
class TradeInstruction:
    """One matched trade, as the exchange reports it for settlement."""

    trade_ref: str
    listing_ref: str
    batch_id: UUID
    seller: UUID
    buyer: UUID
    quantity: int
    price_per_tonne: str
    currency: str
    retire_on_delivery: dict[str, Any] | None = None

    def terms(self) -> dict[str, Any]:
        return {
            "listing_ref": self.listing_ref, "batch": str(self.batch_id),
            "seller": str(self.seller), "buyer": str(self.buyer), "quantity": self.quantity,
            "price_per_tonne": self.price_per_tonne, "currency": self.currency,
            "retire_on_delivery": self.retire_on_delivery,
        }


@dataclass(frozen=True)
class TradeResult:
    trade_ref: str
    trade_id: UUID
    settled: bool
    replayed: bool = False
    ranges: list[Range] = field(default_factory=list)
    retirement_id: UUID | None = None
    error: LedgerError | None = None


@dataclass(frozen=True)
class _Settlement:
    """One trade being settled: the instruction and what the ledger decided for it."""

    exchange: UUID
    trade_id: UUID
    instruction: TradeInstruction
    listing_id: UUID
    retirement_id: UUID | None
    claim_id: UUID | None

    def terms(self) -> dict[str, Any]:
        """The arguments of the domain's ``settle_trade`` (a batch's or a holding's)."""
        i = self.instruction
        return dict(trade_id=self.trade_id, trade_ref=i.trade_ref, listing_id=self.listing_id,
                    seller=i.seller, buyer=i.buyer, quantity=i.quantity,
                    price_per_tonne=i.price_per_tonne, currency=i.currency,
                    actor=self.exchange, retirement_id=self.retirement_id,
                    retirement=i.retire_on_delivery)


class SettlementCommands(BatchCommands):
    """Listings and trade settlement."""

    @batch_command
    def list_for_sale(self, *, actor: UUID, batch_id: UUID, seller: UUID, listing_ref: str,
                      quantity: int) -> UUID:
        """The exchange escrows a seller's credits for a listing; returns the listing id.
        Unless the exchange sells its own credits, the seller must have granted it a
        ``listing`` mandate in force (:class:`ConsentRequiredError` otherwise). On the
        seller's holding alone; the first listing of a batch never split splits it."""
        listing_id = ids.listing_id(actor, listing_ref)
        return self._once_split(batch_id, lambda: self._list(
            actor, batch_id, seller, listing_ref, quantity, listing_id))

    def _list(self, exchange: UUID, batch_id: UUID, seller: UUID, listing_ref: str,
              quantity: int, listing_id: UUID) -> UUID | None:
        """The listing on the seller's holding; None if the batch was never split."""
        with self._commanding_holdings((holding_id(batch_id, seller),), exchange, seller):
            self._actor(exchange, Role.SETTLER)
            self._holder(seller, "seller")
            holding = self._own_holding(batch_id, seller)
            if holding is None:
                return None
            grantors = self._consent(batch_id, holder=seller, agent=exchange,
                                     scope=MandateScope.LISTING, quantity=quantity,
                                     record=listing_id)
            holding.escrow(listing_id=listing_id, listing_ref=listing_ref, exchange=exchange,
                           quantity=quantity, actor=exchange)
            # an exchange's listing ref names one listing, whatever its batch; the claim's
            # owner is the holding, where cancellation and settlement find the listing
            claimed = self._claim_key(KeyKind.LISTING, str(listing_id), holding.id, (
                f"listing ref {listing_ref!r} of this exchange is already used"))
            self.save(holding, *grantors, claimed)
            return listing_id

    @batch_command
    def cancel_listing(self, *, actor: UUID, batch_id: UUID, listing_ref: str) -> list[Range]:
        """What is left in escrow returns to the seller."""
        listing_id = ids.listing_id(actor, listing_ref)
        return self._on_record(KeyKind.LISTING, listing_id, batch_id, actor, Role.SETTLER,
                               lambda a: a.cancel_listing(listing_id=listing_id, actor=actor))

    def settle_trades(self, *, actor: UUID,
                      trades: Sequence[TradeInstruction]) -> list[TradeResult]:
        """Settle matched trades, each on its own; a trade id seen before returns the result
        of its first settlement and delivers nothing again."""
        self._actor(actor, Role.SETTLER)
        results = []
        for instruction in trades:
            trade_id = ids.trade_id(actor, instruction.trade_ref)
            try:
                results.append(self._settle(actor, trade_id, instruction))
            except DuplicateRequestError:
                raise  # the whole request was applied before: not a per-trade outcome
            except LedgerError as error:
                results.append(TradeResult(trade_ref=instruction.trade_ref, trade_id=trade_id,
                                           settled=False, error=error))
        return results

    def settle_trade(self, *, actor: UUID, trade: TradeInstruction) -> TradeResult:
        result = self.settle_trades(actor=actor, trades=[trade])[0]
        if result.error is not None:
            raise result.error
        return result

    def _replayed(self, trade_id: UUID, instruction: TradeInstruction) -> TradeResult:
        recorded = self.trade(trade_id)
        if recorded.terms != instruction.terms():
            raise TradeConflictError(
                f"trade {instruction.trade_ref} was settled before with different terms",
                trade=str(trade_id), recorded=recorded.terms)
        return TradeResult(
            trade_ref=instruction.trade_ref, trade_id=trade_id, settled=True, replayed=True,
            ranges=recorded.ranges,
            retirement_id=UUID(recorded.retirement_id) if recorded.retirement_id else None)

    def _settle(self, exchange: UUID, trade_id: UUID,
                instruction: TradeInstruction) -> TradeResult:
        """Settle one trade; a trade settled before is replayed, whatever settling it again
        would decide now. Whether it was is asked only when this settlement is refused (a
        new trade's id is absent from the store, and on SQLite reading an absent aggregate
        costs a snapshot lookup of about a millisecond once snapshots are large) or when its
        save collides with the first one's :class:`Trade` record (:meth:`_settled`)."""
        try:
            return self._settle_new(exchange, trade_id, instruction)
        except DuplicateRequestError:
            raise  # the whole request was applied before: its own answer
        except LedgerError:
            if self._exists(trade_id):
                return self._replayed(trade_id, instruction)
            raise

    def _settle_new(self, exchange: UUID, trade_id: UUID,
                    instruction: TradeInstruction) -> TradeResult:
        check_text(instruction.trade_ref, "trade_ref")
        check_text(instruction.listing_ref, "listing_ref")
        require_grams(instruction.quantity)
        self._validate_price(instruction.price_per_tonne, instruction.currency)
        retirement_id = uuid4() if instruction.retire_on_delivery is not None else None
        listing_id = ids.listing_id(exchange, instruction.listing_ref)
        claim_id = self._claim_of(instruction.retire_on_delivery)
        seller = self._keyed_holding(KeyKind.LISTING, listing_id, instruction.batch_id)
        settlement = _Settlement(exchange, trade_id, instruction, listing_id, retirement_id,
                                 claim_id)
        if seller is not None:
            return self._retrying(lambda: self._settle_on_holdings(settlement, seller),
                                  what="the settlement")
        with self._batch_locks.holding(instruction.batch_id):
            return self._retrying(lambda: self._settle_on_batch(settlement),
                                  what="the settlement")

    def _settle_on_holdings(self, s: _Settlement, seller_id: UUID) -> TradeResult:
        """One attempt at a settlement of a listing on the seller's holding: the escrowed
        credits leave it (``TradeSettled``) for the buyer's holding (``Received``, or
        ``ReceivedRetired`` when retired on delivery), saved together; the batch is not
        read. The buyer is read with the holdings (no query of its own in a first attempt
        where the store checks read sets)."""
        batch_id, buyer_id = s.instruction.batch_id, s.instruction.buyer
        with self._commanding_holdings((seller_id, holding_id(batch_id, buyer_id)),
                                       s.exchange, buyer_id):
            self._holder(buyer_id, "buyer")
            # settled meanwhile by a concurrent request (a first attempt's save would
            # collide with its Trade record: see _settled)
            if not first_attempt() and self._exists(s.trade_id):
                return self._replayed(s.trade_id, s.instruction)
            seller = self._get(seller_id, Holding, RecordNotFoundError, "holding")
            ranges = seller.settle_trade(**s.terms())
            buyer = self._receiving(batch_id, buyer_id, seller.block, lambda h: h.receive(
                sender=seller.account, ranges=ranges, retirement_id=s.retirement_id))
            return self._settled(s, ranges, seller, buyer)

    def _settle_on_batch(self, s: _Settlement) -> TradeResult:
        """One attempt at a settlement of a listing made on the batch (before listings moved
        to holdings)."""
        self._holder(s.instruction.buyer, "buyer")
        batch = self.batch(s.instruction.batch_id)
        if str(s.trade_id) in batch.trades:  # settled meanwhile by a concurrent request
            return self._replayed(s.trade_id, s.instruction)
        ranges, holdings = self._run_on_batch(batch, lambda b: b.settle_trade(**s.terms()))
        return self._settled(s, ranges, batch, *holdings)

    def _settled(self, s: _Settlement, ranges: list[Range],
                 *aggregates: Aggregate) -> TradeResult:
        """Save the settlement's ``aggregates`` with its :class:`Trade` record (whose id
        derives from the trade id: a concurrent settlement of the same trade collides) and
        the neutrality claim a retirement on delivery counts toward."""
        instruction = s.instruction
        trade = Trade.record(s.trade_id, exchange=s.exchange, trade_ref=instruction.trade_ref,
                             terms=instruction.terms(), batch=instruction.batch_id,
                             ranges=ranges, retirement_id=s.retirement_id)
        claims = []
        if s.claim_id is not None and s.retirement_id is not None:
            claim = self.claim(s.claim_id)  # retired on delivery for a neutrality claim
            claim.count_retirement(retirement_id=s.retirement_id, batch=instruction.batch_id,
                                   quantity=instruction.quantity, actor=s.exchange)
            claims.append(claim)
        try:
            self.save(*aggregates, trade, *claims)
        except IntegrityError:
            if self._exists(s.trade_id):  # settled meanwhile by a concurrent request
                return self._replayed(s.trade_id, instruction)
            raise  # another conflict: the trade is attempted again
        return TradeResult(trade_ref=instruction.trade_ref, trade_id=s.trade_id, settled=True,
                           ranges=ranges, retirement_id=s.retirement_id)

    def _claim_of(self, retirement: dict[str, Any] | None) -> UUID | None:
        """The neutrality claim a retire-on-delivery counts toward, if it names one."""
        details = (retirement or {}).get("details") or {}
        reference = details.get("claim_id") if isinstance(details, dict) else None
        if reference is None:
            return None
        try:
            claim_id = UUID(str(reference))
        except ValueError:
            raise ValidationError("claim_id is not a UUID", field="claim_id") from None
        self.claim(claim_id)
        return claim_id

    @staticmethod
    def _validate_price(price: str, currency: str) -> None:
        if not isinstance(price, str) or not PLAIN_DECIMAL.fullmatch(price):
            raise ValidationError(f"price {price!r} is not a plain decimal number",
                                  field="price_per_tonne")
        try:
            value = Decimal(price)
        except Exception:
            raise ValidationError(f"price {price!r} is not a decimal number",
                                  field="price_per_tonne") from None
        if not value.is_finite() or value < 0:
            raise ValidationError("price must be zero or more", field="price_per_tonne")
        check_currency(currency)

