"""A holding: one account's available credits of one batch, and the retirements, pledges and
listings it made from them, as an aggregate of its own (issue #17).

A batch used to hold every lot of every holder, so every command on it (a transfer between
two of a million holders) read, copied and conflicted on all of them. Once a batch is
*split* (:meth:`CreditBatch.split_holdings`, an event appended to the batch's history, never
a rewrite of it), the ``available/<account>`` lots live here, one aggregate per (batch,
account) with a deterministic id (:func:`holding_id`):

- a transfer touches the sender's and the recipient's holdings only (``Transferred`` on the
  sender's, ``Received`` on the recipient's, saved atomically); commands on distinct
  holders of one batch never conflict;
- a retirement touches the retiring holder's holding only (``Retired``, with the batch's
  ``Retired`` event's fields plus ``batch``): its lot ``retired/<retirement>`` stays here;
- a pledge touches the pledgor's holding only (``Pledged``, with the batch's ``Pledged``
  event's fields plus ``batch``): its lot ``pledged/<pledge>`` stays here, and its release
  (``PledgeReleased``) returns it to the pledgor's available credits; its enforcement
  (``PledgeEnforced``) hands it to the bank, whose holding records ``Received`` in the same
  save;
- a listing escrows the seller's credits on the seller's holding (``Escrowed``, lot
  ``escrowed/<listing>``); its cancellation returns them (``ListingCancelled``); a trade's
  settlement takes them from escrow (``TradeSettled``) to the buyer's holding, saved
  together: ``Received``, or ``ReceivedRetired`` (lot ``retired/<retirement>``, the buyer's)
  when retired on delivery;
- every other command (tokenisation, export, cancellation, and the listings and pledges
  made on the batch before they moved here) is the batch's, as before: the credits it
  takes from an account are first moved from the holding to the batch (``MovedToBatch``
  here, ``MovedFromHolding`` on the batch), and whatever it returns to an account is moved
  on to that account's holding (``MovedToHolding``, ``MovedFromBatch``), in the same save.

The batch's supply and serial-coverage invariants now hold across the batch and its
holdings (:class:`ledger.domain.batch_view.BatchView`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot, event

from ledger.domain.cow_map import copy_sharing_tables, plain_tables
from ledger.domain.credit_batch import LotState, grown_interval, lot_key, split_lot_key
from ledger.domain.errors import (
    DuplicateRecordError,
    InsufficientBalanceError,
    PermissionDeniedError,
    ValidationError,
)
from ledger.domain.ids import uuid5
from ledger.domain.quantities import require_grams
from ledger.domain.records import active_pledge, open_listing, retirement_on_delivery
from ledger.domain.retirement import validate_retirement_details
from ledger.domain.serials import Range, add_ranges, ranges_total, remove_ranges, take_lowest
from ledger.domain.text import check_text

__all__ = ["NS_HOLDING", "Holding", "holding_id"]

NS_HOLDING = UUID("9a4e2c71-3b8d-5f06-a1e9-6d2b7c0f4e35")
"""Namespace of holdings' ids."""


def holding_id(batch_id: UUID | str, account: UUID | str) -> UUID:
    """The id of ``account``'s holding of batch ``batch_id``: derived, so anyone (a command,
    a verifier) finds it from the two without a lookup."""
    return uuid5(NS_HOLDING, f"{batch_id}/{account}")


_TABLES = ("lots", "pledges", "listings")
"""A holding's tables that grow with its history."""


class HoldingSnapshot(Snapshot):
    """A holding's snapshot: its lots stored as the plain mapping they are."""

    @classmethod
    def take(cls, aggregate: Any) -> Any:
        snapshot = super().take(aggregate)
        plain_tables(snapshot.state, _TABLES)
        return snapshot


class Holding(Aggregate):
    """An account's available credits of one batch, and the retirements made from them.

    A holder that retires often (a platform retiring a gram per cup of coffee) gathers a
    lot per retirement: like a batch's tables, the lots are a copy-on-write map, so the copy
    each command works on costs the same at a million retirements as at one, and snapshots
    come at an interval that grows with the lots (:meth:`snapshot_interval`)."""

    Snapshot = HoldingSnapshot
    class_version = 3
    """Version 2 keeps the holder's pledges (``pledges``), version 3 its listings
    (``listings``): both lived on the batch."""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot of a holding from before pledges lived here: it had none."""
        state["pledges"] = {}

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A snapshot of a holding from before listings lived here: it had none."""
        state["listings"] = {}

    class Opened(Aggregate.Created):
        """Opened when the batch was split (with the account's credits at that moment) or
        when credits first reached the account afterwards (empty)."""

        batch: str
        account: str
        block: str
        ranges: list[Range]

    def __init__(self, batch: str, account: str, block: str, ranges: list[Range]) -> None:
        self.batch = batch
        self.account = account
        self.block = block
        self.lots: dict[str, list[Range]] = {}
        self.pledges: dict[str, dict[str, str]] = {}
        self.listings: dict[str, dict[str, Any]] = {}
        if ranges:
            self.lots[self._available_key] = [list(r) for r in ranges]

    @classmethod
    def open(cls, batch_id: UUID | str, account: UUID | str, *, block: str,
             ranges: list[Range] | None = None) -> Holding:
        return cls._create(cls.Opened, id=holding_id(batch_id, account), batch=str(batch_id),
                           account=str(account), block=block, ranges=ranges or [])

    def __deepcopy__(self, memo: dict[int, Any]) -> Holding:
        return copy_sharing_tables(self, _TABLES, memo)  # type: ignore[no-any-return]

    def snapshot_interval(self, base: int) -> int:
        """As :meth:`CreditBatch.snapshot_interval`: ``base`` doubled until it is at least a
        quarter of the lots."""
        return grown_interval(base, len(self.lots))

    # ------------------------------------------------------------------ queries

    @property
    def _available_key(self) -> str:
        return lot_key(LotState.AVAILABLE, self.account)

    @property
    def available(self) -> int:
        return ranges_total(self.lots.get(self._available_key, []))

    def owner_of_lot(self, key: str) -> str:
        return self.account

    def _take(self, quantity: int, who: str, key: str | None = None) -> list[Range]:
        """The lowest ``quantity`` g of lot ``key`` (the available credits by default)."""
        require_grams(quantity)
        key = key or self._available_key
        state = split_lot_key(key)[0]
        held = self.lots.get(key, [])
        try:
            return take_lowest(held, quantity)
        except InsufficientBalanceError as error:
            raise InsufficientBalanceError(
                f"{who} holds {ranges_total(held)} g {state.value} of batch {self.block}, "
                f"{quantity} g requested",
                batch=self.batch,
                state=state.value,
                requested=quantity,
                available=ranges_total(held),
            ) from error

    def _remove(self, ranges: list[Range], key: str | None = None) -> None:
        """Take ``ranges`` out of lot ``key`` (the available credits by default)."""
        key = key or self._available_key
        remaining = remove_ranges(self.lots.get(key, []), ranges)
        if remaining:
            self.lots[key] = remaining
        else:
            self.lots.pop(key, None)

    def _add(self, key: str, ranges: list[Range]) -> None:
        self.lots[key] = add_ranges(self.lots.get(key, []), ranges)

    # ------------------------------------------------------------------ transfer

    def transfer(self, *, recipient: UUID, quantity: int, actor: UUID) -> list[Range]:
        """Move available credits to ``recipient`` (whose holding records ``Received``)."""
        if str(actor) != self.account:
            raise PermissionDeniedError("only the holder may transfer its credits",
                                        actor=str(actor))
        if str(recipient) == self.account:
            raise ValidationError("sender and recipient are the same account", field="recipient")
        ranges = self._take(quantity, "sender")
        self._transferred(batch=self.batch, sender=self.account, recipient=str(recipient),
                          quantity=quantity, ranges=ranges, actor=str(actor))
        return ranges

    @event("Transferred")
    def _transferred(self, batch: str, sender: str, recipient: str, quantity: int,
                     ranges: list[Range], actor: str) -> None:
        self._remove(ranges)

    def receive(self, *, sender: UUID | str, ranges: list[Range],
                retirement_id: UUID | str | None = None) -> None:
        """The recipient's side of a move saved with the sender's event (``Transferred``,
        ``PledgeEnforced``, ``TradeSettled``); with ``retirement_id``, the buyer's side of a
        trade retired on delivery (:meth:`_receive_retired`)."""
        if retirement_id is not None:
            self._receive_retired(sender=sender, retirement_id=retirement_id, ranges=ranges)
            return
        self._received(sender=str(sender), quantity=ranges_total(ranges), ranges=ranges)

    @event("Received")
    def _received(self, sender: str, quantity: int, ranges: list[Range]) -> None:
        self._add(self._available_key, ranges)

    # ------------------------------------------------------------------ retirement

    def retire(self, *, retirement_id: UUID, quantity: int, details: dict[str, Any],
               actor: UUID) -> list[Range]:
        """Retire (注销) credits for a beneficiary and purpose. Permanent."""
        if str(actor) != self.account:
            raise PermissionDeniedError("only the holder may retire its credits")
        if lot_key(LotState.RETIRED, retirement_id) in self.lots:
            raise DuplicateRecordError(
                f"retirement {retirement_id} already exists in batch {self.block}",
                record=str(retirement_id))
        canonical = validate_retirement_details(**details)
        ranges = self._take(quantity, "the holder")
        self._retired(batch=self.batch, retirement_id=str(retirement_id), holder=self.account,
                      quantity=quantity, ranges=ranges, details=canonical, actor=str(actor))
        return ranges

    @event("Retired")
    def _retired(self, batch: str, retirement_id: str, holder: str, quantity: int,
                 ranges: list[Range], details: dict[str, Any], actor: str) -> None:
        self._remove(ranges)
        self._add(lot_key(LotState.RETIRED, retirement_id), ranges)

    # ------------------------------------------------------------------ pledges

    def pledge(self, *, pledge_id: UUID, bank: UUID, loan_reference: str, quantity: int,
               actor: UUID) -> list[Range]:
        """Lock credits as collateral (质押) for a loan by ``bank``: as
        :meth:`CreditBatch.pledge`, the pledgor's consent checked by the application."""
        if str(actor) not in (self.account, str(bank)):
            raise PermissionDeniedError("a pledge is registered by the pledgor or the bank")
        if str(bank) == self.account:
            raise ValidationError("a holder cannot pledge to itself", field="bank")
        loan_reference = check_text(loan_reference, "loan_reference")
        if str(pledge_id) in self.pledges:
            raise DuplicateRecordError(f"pledge {pledge_id} already exists in batch "
                                       f"{self.block}", record=str(pledge_id))
        ranges = self._take(quantity, "the pledgor")
        self._pledged(batch=self.batch, pledge_id=str(pledge_id), holder=self.account,
                      bank=str(bank), loan_reference=loan_reference, quantity=quantity,
                      ranges=ranges, actor=str(actor))
        return ranges

    @event("Pledged")
    def _pledged(self, batch: str, pledge_id: str, holder: str, bank: str, loan_reference: str,
                 quantity: int, ranges: list[Range], actor: str) -> None:
        self.pledges[pledge_id] = {"bank": bank, "loan_reference": loan_reference,
                                   "status": "active"}
        self._remove(ranges)
        self._add(lot_key(LotState.PLEDGED, pledge_id), ranges)

    def _active_pledge(self, pledge_id: UUID, actor: UUID) -> tuple[dict[str, str], list[Range]]:
        pledge = active_pledge(self.pledges, pledge_id, actor, self.block)
        return pledge, [list(r) for r in self.lots[lot_key(LotState.PLEDGED, pledge_id)]]

    def release_pledge(self, *, pledge_id: UUID, actor: UUID) -> list[Range]:
        """The loan was repaid: the credits return to the pledgor's available credits."""
        _, ranges = self._active_pledge(pledge_id, actor)
        self._pledge_released(batch=self.batch, pledge_id=str(pledge_id), holder=self.account,
                              quantity=ranges_total(ranges), ranges=ranges, actor=str(actor))
        return ranges

    @event("PledgeReleased")
    def _pledge_released(self, batch: str, pledge_id: str, holder: str, quantity: int,
                         ranges: list[Range], actor: str) -> None:
        self._close_pledge(pledge_id, "released", ranges)
        self._add(self._available_key, ranges)

    def enforce_pledge(self, *, pledge_id: UUID, actor: UUID) -> list[Range]:
        """The loan defaulted: the credits leave for the bank, whose holding receives them
        (:meth:`receive`) in the same save."""
        pledge, ranges = self._active_pledge(pledge_id, actor)
        self._pledge_enforced(batch=self.batch, pledge_id=str(pledge_id), holder=self.account,
                              bank=pledge["bank"], quantity=ranges_total(ranges), ranges=ranges,
                              actor=str(actor))
        return ranges

    @event("PledgeEnforced")
    def _pledge_enforced(self, batch: str, pledge_id: str, holder: str, bank: str,
                         quantity: int, ranges: list[Range], actor: str) -> None:
        self._close_pledge(pledge_id, "enforced", ranges)

    def _close_pledge(self, pledge_id: str, status: str, ranges: list[Range]) -> None:
        self.pledges[pledge_id] = {**self.pledges[pledge_id], "status": status}
        self._remove(ranges, lot_key(LotState.PLEDGED, pledge_id))

    # ------------------------------------------------------------------ listings

    def escrow(self, *, listing_id: UUID, listing_ref: str, exchange: UUID, quantity: int,
               actor: UUID) -> list[Range]:
        """An exchange lists the holder's credits: held in escrow (``escrowed/<listing>``)
        until sold or the listing is cancelled; as :meth:`CreditBatch.escrow`, the seller's
        consent checked by the application."""
        if str(actor) != str(exchange):
            raise PermissionDeniedError("only the exchange may escrow for its listing")
        if str(listing_id) in self.listings:
            raise DuplicateRecordError(f"listing {listing_id} already exists in batch "
                                       f"{self.block}", record=str(listing_id))
        check_text(listing_ref, "listing_ref")
        ranges = self._take(quantity, "seller")
        self._escrowed(batch=self.batch, listing_id=str(listing_id), listing_ref=listing_ref,
                       exchange=str(exchange), seller=self.account, quantity=quantity,
                       ranges=ranges, actor=str(actor))
        return ranges

    @event("Escrowed")
    def _escrowed(self, batch: str, listing_id: str, listing_ref: str, exchange: str,
                  seller: str, quantity: int, ranges: list[Range], actor: str) -> None:
        self.listings[listing_id] = {"exchange": exchange, "listing_ref": listing_ref,
                                     "open": True}
        self._remove(ranges)
        self._add(lot_key(LotState.ESCROWED, listing_id), ranges)

    def cancel_listing(self, *, listing_id: UUID, actor: UUID) -> list[Range]:
        """Return what is left in escrow to the holder's available credits."""
        open_listing(self.listings, listing_id, actor, self.block)
        ranges = [list(r) for r in self.lots.get(lot_key(LotState.ESCROWED, listing_id), [])]
        self._listing_cancelled(batch=self.batch, listing_id=str(listing_id),
                                seller=self.account, quantity=ranges_total(ranges),
                                ranges=ranges, actor=str(actor))
        return ranges

    @event("ListingCancelled")
    def _listing_cancelled(self, batch: str, listing_id: str, seller: str, quantity: int,
                           ranges: list[Range], actor: str) -> None:
        self.listings[listing_id] = {**self.listings[listing_id], "open": False}
        if ranges:
            self._remove(ranges, lot_key(LotState.ESCROWED, listing_id))
            self._add(self._available_key, ranges)

    def settle_trade(
        self,
        *,
        trade_id: UUID,
        trade_ref: str,
        listing_id: UUID,
        seller: UUID,
        buyer: UUID,
        quantity: int,
        price_per_tonne: str,
        currency: str,
        actor: UUID,
        retirement_id: UUID | None = None,
        retirement: dict[str, Any] | None = None,
    ) -> list[Range]:
        """Deliver escrowed credits to the buyer (whose holding records ``Received``, or
        ``ReceivedRetired`` when they are retired for the buyer on delivery) against a
        recorded price. A trade id is settled once: the application saves its
        :class:`~ledger.domain.trade.Trade`, whose id derives from it, in the same save."""
        open_listing(self.listings, listing_id, actor, self.block)
        if str(seller) != self.account:
            raise ValidationError("the seller is not the seller of the listing", field="seller")
        if str(buyer) == self.account:
            raise ValidationError("buyer and seller are the same account", field="buyer")
        details = retirement_on_delivery(retirement_id, retirement)
        ranges = self._take(quantity, "the listing", lot_key(LotState.ESCROWED, listing_id))
        self._trade_settled(
            batch=self.batch, trade_id=str(trade_id), trade_ref=trade_ref,
            listing_id=str(listing_id), exchange=str(actor), seller=self.account,
            buyer=str(buyer), quantity=quantity, price_per_tonne=price_per_tonne,
            currency=currency, ranges=ranges,
            retirement_id=str(retirement_id) if details is not None else None,
            retirement=details, actor=str(actor))
        return ranges

    @event("TradeSettled")
    def _trade_settled(self, batch: str, trade_id: str, trade_ref: str, listing_id: str,
                       exchange: str, seller: str, buyer: str, quantity: int,
                       price_per_tonne: str, currency: str, ranges: list[Range],
                       retirement_id: str | None, retirement: dict[str, Any] | None,
                       actor: str) -> None:
        self._remove(ranges, lot_key(LotState.ESCROWED, listing_id))

    def _receive_retired(self, *, sender: UUID | str, retirement_id: UUID | str,
                         ranges: list[Range]) -> None:
        """The buyer's side of a trade retired on delivery, saved with the seller's
        ``TradeSettled``: the retired lot is the buyer's."""
        key = lot_key(LotState.RETIRED, retirement_id)
        if key in self.lots:
            raise DuplicateRecordError(
                f"retirement {retirement_id} already exists in batch {self.block}",
                record=str(retirement_id))
        self._received_retired(sender=str(sender), retirement_id=str(retirement_id),
                               quantity=ranges_total(ranges), ranges=ranges)

    @event("ReceivedRetired")
    def _received_retired(self, sender: str, retirement_id: str, quantity: int,
                          ranges: list[Range]) -> None:
        self._add(lot_key(LotState.RETIRED, retirement_id), ranges)

    # ------------------------------------------------------------------ the batch's commands

    def move_to_batch(self, quantity: int, who: str) -> list[Range]:
        """Hand ``quantity`` g (lowest serials first) to the batch for one of its commands."""
        ranges = self._take(quantity, who)
        self._moved_to_batch(quantity=quantity, ranges=ranges)
        return ranges

    @event("MovedToBatch")
    def _moved_to_batch(self, quantity: int, ranges: list[Range]) -> None:
        self._remove(ranges)

    def move_from_batch(self, ranges: list[Range]) -> None:
        """Take back what one of the batch's commands returned to this account."""
        self._moved_from_batch(quantity=ranges_total(ranges), ranges=ranges)

    @event("MovedFromBatch")
    def _moved_from_batch(self, quantity: int, ranges: list[Range]) -> None:
        self._add(self._available_key, ranges)
