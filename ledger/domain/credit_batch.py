"""Credit batches: the serial-numbered units of reduction credits and everything that moves them.

A batch is issued with a contiguous block of serials, one per gram: ``[serial_start,
serial_start + quantity)``. At every moment each serial sits in exactly one *lot*:

=============================  ================================================
lot key                        meaning
=============================  ================================================
``available/<account>``        tradable credits of an account
``escrowed/<listing>``         listed on an exchange, held for settlement
``pledged/<pledge>``           collateral for a bank loan
``retired/<retirement>``       retired for a purpose: permanent
``tokenised/<lock>``           locked while represented by on-chain tokens
``exported/<export>``          moved to another registry: gone for good
``cancelled/<cancellation>``   cancelled by the registry operator
=============================  ================================================

Commands check their rules and pick the exact serial ranges to move (lowest serials first);
the decorated event methods only move the ranges the event names, so replaying history
never re-runs today's rules. Role checks (who may issue, settle, lend) are made by the
application against :class:`~ledger.domain.participant.Participant`; the rules that are
facts of the batch itself (only the pledgee bank may release its pledge) are made here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import (
    DuplicateRecordError,
    InsufficientBalanceError,
    InvalidStateError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.quantities import require_grams
from ledger.domain.retirement import validate_retirement_details
from ledger.domain.serials import Range, add_ranges, ranges_total, remove_ranges, take_lowest

__all__ = ["CORRECTABLE_FIELDS", "CreditBatch", "LotState", "lot_key", "split_lot_key"]


class LotState(StrEnum):
    AVAILABLE = "available"
    ESCROWED = "escrowed"
    PLEDGED = "pledged"
    RETIRED = "retired"
    TOKENISED = "tokenised"
    EXPORTED = "exported"
    CANCELLED = "cancelled"


CORRECTABLE_FIELDS = frozenset({"region", "vintage", "project_name"})


def lot_key(state: LotState, ref: UUID | str) -> str:
    return f"{state.value}/{ref}"


def split_lot_key(key: str) -> tuple[LotState, str]:
    state, _, ref = key.partition("/")
    return LotState(state), ref


class CreditBatch(Aggregate):
    """A batch of reduction credits (e.g. ``CDCER-2024-000001``), one serial per gram."""

    class Issued(Aggregate.Created):
        """Issued by this registry from verified behaviours or a monitoring report."""

        block: str
        registry: str
        vintage: int
        methodology: str
        methodology_label: str
        region: str
        project_type: str
        quantity: int
        serial_start: int
        holder: str
        source: dict[str, Any]
        behaviours_root: str | None
        actor: str

    class Imported(Aggregate.Created):
        """Recognised from another registry (跨区域互认); keeps the external serials."""

        block: str
        registry: str
        vintage: int
        methodology: str
        methodology_label: str
        region: str
        project_type: str
        quantity: int
        serial_start: int
        holder: str
        source: dict[str, Any]
        behaviours_root: str | None
        actor: str

    def __init__(
        self,
        block: str,
        registry: str,
        vintage: int,
        methodology: str,
        methodology_label: str,
        region: str,
        project_type: str,
        quantity: int,
        serial_start: int,
        holder: str,
        source: dict[str, Any],
        behaviours_root: str | None,
        actor: str,
    ) -> None:
        self.block = block
        self.registry = registry
        self.vintage = vintage
        self.methodology = methodology
        self.methodology_label = methodology_label
        self.region = region
        self.project_type = project_type
        self.quantity = quantity
        self.serial_start = serial_start
        self.source = source
        self.behaviours_root = behaviours_root
        self.metadata: dict[str, Any] = {"region": region, "vintage": vintage}
        self.lots: dict[str, list[Range]] = {
            lot_key(LotState.AVAILABLE, holder): [[serial_start, serial_start + quantity]]
        }
        self.listings: dict[str, dict[str, Any]] = {}
        self.pledges: dict[str, dict[str, Any]] = {}
        self.retirements: dict[str, str] = {}  # retirement id -> holder
        self.locks: dict[str, dict[str, Any]] = {}
        self.exports: dict[str, str] = {}  # export id -> holder
        self.cancellations: dict[str, str] = {}  # cancellation id -> holder
        self.trades: dict[str, str] = {}  # trade id -> listing id

    # ------------------------------------------------------------------ creation

    @classmethod
    def issue(
        cls,
        batch_id: UUID,
        *,
        block: str,
        registry: str,
        vintage: int,
        methodology: UUID,
        methodology_label: str,
        region: str,
        project_type: str,
        quantity: int,
        holder: UUID,
        source: dict[str, Any],
        behaviours_root: str | None,
        actor: UUID,
        serial_start: int = 1,
        imported: bool = False,
    ) -> CreditBatch:
        require_grams(quantity)
        if isinstance(vintage, bool) or not isinstance(vintage, int) or not 1990 <= vintage <= 2100:
            raise ValidationError(f"vintage must be a year, got {vintage!r}", field="vintage")
        if isinstance(serial_start, bool) or not isinstance(serial_start, int) or serial_start < 0:
            raise ValidationError("serial_start must be a non-negative integer",
                                  field="serial_start")
        if not region.strip():
            raise ValidationError("region must not be empty", field="region")
        return cls._create(
            cls.Imported if imported else cls.Issued,
            id=batch_id,
            block=block,
            registry=registry,
            vintage=vintage,
            methodology=str(methodology),
            methodology_label=methodology_label,
            region=region.strip(),
            project_type=project_type,
            quantity=quantity,
            serial_start=serial_start,
            holder=str(holder),
            source=source,
            behaviours_root=behaviours_root,
            actor=str(actor),
        )

    # ------------------------------------------------------------------ queries

    @property
    def serial_end(self) -> int:
        return self.serial_start + self.quantity

    def held(self, state: LotState, ref: UUID | str) -> int:
        return ranges_total(self.lots.get(lot_key(state, ref), []))

    def available(self, account: UUID | str) -> int:
        return self.held(LotState.AVAILABLE, account)

    def totals_by_state(self) -> dict[str, int]:
        totals = {state.value: 0 for state in LotState}
        for key, ranges in self.lots.items():
            totals[split_lot_key(key)[0].value] += ranges_total(ranges)
        return totals

    def owner_of_lot(self, key: str) -> str:
        """The account a lot belongs to (the seller for escrow, the pledgor for a pledge)."""
        state, ref = split_lot_key(key)
        if state is LotState.AVAILABLE:
            return ref
        if state is LotState.ESCROWED:
            return str(self.listings[ref]["seller"])
        if state is LotState.PLEDGED:
            return str(self.pledges[ref]["holder"])
        if state is LotState.RETIRED:
            return self.retirements[ref]
        if state is LotState.TOKENISED:
            return str(self.locks[ref]["holder"])
        if state is LotState.EXPORTED:
            return self.exports[ref]
        return self.cancellations[ref]

    def _take(self, state: LotState, ref: UUID | str, quantity: int, who: str) -> list[Range]:
        require_grams(quantity)
        held = self.lots.get(lot_key(state, ref), [])
        try:
            return take_lowest(held, quantity)
        except InsufficientBalanceError as error:
            raise InsufficientBalanceError(
                f"{who} holds {ranges_total(held)} g {state.value} of batch {self.block}, "
                f"{quantity} g requested",
                batch=str(self.id),
                state=state.value,
                requested=quantity,
                available=ranges_total(held),
            ) from error

    def _require_new(self, table: dict[str, Any], record_id: UUID, what: str) -> None:
        if str(record_id) in table:
            raise DuplicateRecordError(f"{what} {record_id} already exists in batch {self.block}",
                                       record=str(record_id))

    def _move(self, source: str, target: str, ranges: list[Range]) -> None:
        remaining = remove_ranges(self.lots.get(source, []), ranges)
        if remaining:
            self.lots[source] = remaining
        else:
            self.lots.pop(source, None)
        self.lots[target] = add_ranges(self.lots.get(target, []), ranges)

    # ------------------------------------------------------------------ transfer

    def transfer(self, *, sender: UUID, recipient: UUID, quantity: int, actor: UUID) -> list[Range]:
        """Move available credits from ``sender`` to ``recipient``; returns the serials moved."""
        if actor != sender:
            raise PermissionDeniedError("only the holder may transfer its credits",
                                        actor=str(actor))
        if sender == recipient:
            raise ValidationError("sender and recipient are the same account", field="recipient")
        ranges = self._take(LotState.AVAILABLE, sender, quantity, "sender")
        self._transferred(sender=str(sender), recipient=str(recipient), quantity=quantity,
                          ranges=ranges, actor=str(actor))
        return ranges

    @event("Transferred")
    def _transferred(self, sender: str, recipient: str, quantity: int, ranges: list[Range],
                     actor: str) -> None:
        self._move(lot_key(LotState.AVAILABLE, sender), lot_key(LotState.AVAILABLE, recipient),
                   ranges)

    # ------------------------------------------------------------------ exchange

    def escrow(self, *, listing_id: UUID, listing_ref: str, exchange: UUID, seller: UUID,
               quantity: int, actor: UUID) -> list[Range]:
        """An exchange lists a seller's credits: they are held in escrow until settled or
        the listing is cancelled."""
        if actor != exchange:
            raise PermissionDeniedError("only the exchange may escrow for its listing")
        self._require_new(self.listings, listing_id, "listing")
        if not listing_ref.strip():
            raise ValidationError("listing reference must not be empty", field="listing_ref")
        ranges = self._take(LotState.AVAILABLE, seller, quantity, "seller")
        self._escrowed(listing_id=str(listing_id), listing_ref=listing_ref,
                       exchange=str(exchange), seller=str(seller), quantity=quantity,
                       ranges=ranges, actor=str(actor))
        return ranges

    @event("Escrowed")
    def _escrowed(self, listing_id: str, listing_ref: str, exchange: str, seller: str,
                  quantity: int, ranges: list[Range], actor: str) -> None:
        self.listings[listing_id] = {"exchange": exchange, "seller": seller,
                                     "listing_ref": listing_ref, "open": True}
        self._move(lot_key(LotState.AVAILABLE, seller), lot_key(LotState.ESCROWED, listing_id),
                   ranges)

    def _listing(self, listing_id: UUID, exchange: UUID) -> dict[str, Any]:
        listing = self.listings.get(str(listing_id))
        if listing is None:
            raise RecordNotFoundError(f"no listing {listing_id} in batch {self.block}",
                                      listing=str(listing_id))
        if listing["exchange"] != str(exchange):
            raise PermissionDeniedError("the listing belongs to another exchange",
                                        listing=str(listing_id))
        if not listing["open"]:
            raise InvalidStateError(f"listing {listing['listing_ref']} was cancelled",
                                    listing=str(listing_id))
        return listing

    def cancel_listing(self, *, listing_id: UUID, actor: UUID) -> list[Range]:
        """Return what is left in escrow to the seller."""
        listing = self._listing(listing_id, actor)
        ranges = [list(r) for r in self.lots.get(lot_key(LotState.ESCROWED, listing_id), [])]
        self._listing_cancelled(listing_id=str(listing_id), seller=listing["seller"],
                                quantity=ranges_total(ranges), ranges=ranges, actor=str(actor))
        return ranges

    @event("ListingCancelled")
    def _listing_cancelled(self, listing_id: str, seller: str, quantity: int,
                           ranges: list[Range], actor: str) -> None:
        self.listings[listing_id]["open"] = False
        if ranges:
            self._move(lot_key(LotState.ESCROWED, listing_id),
                       lot_key(LotState.AVAILABLE, seller), ranges)

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
        """Deliver escrowed credits to the buyer against a recorded price; optionally retire
        them for the buyer on delivery."""
        listing = self._listing(listing_id, actor)
        self._require_new(self.trades, trade_id, "trade")
        if listing["seller"] != str(seller):
            raise ValidationError("the seller is not the seller of the listing", field="seller")
        if buyer == seller:
            raise ValidationError("buyer and seller are the same account", field="buyer")
        details = None
        if retirement is not None:
            if retirement_id is None:
                raise ValidationError("retire-on-delivery needs a retirement id",
                                      field="retirement_id")
            self._require_new(self.retirements, retirement_id, "retirement")
            details = validate_retirement_details(**retirement)
        ranges = self._take(LotState.ESCROWED, listing_id, quantity, "the listing")
        self._trade_settled(
            trade_id=str(trade_id), trade_ref=trade_ref, listing_id=str(listing_id),
            exchange=str(actor), seller=str(seller), buyer=str(buyer), quantity=quantity,
            price_per_tonne=price_per_tonne, currency=currency, ranges=ranges,
            retirement_id=str(retirement_id) if details is not None else None,
            retirement=details, actor=str(actor),
        )
        return ranges

    @event("TradeSettled")
    def _trade_settled(self, trade_id: str, trade_ref: str, listing_id: str, exchange: str,
                       seller: str, buyer: str, quantity: int, price_per_tonne: str,
                       currency: str, ranges: list[Range], retirement_id: str | None,
                       retirement: dict[str, Any] | None, actor: str) -> None:
        self.trades[trade_id] = listing_id
        if retirement_id is None:
            target = lot_key(LotState.AVAILABLE, buyer)
        else:
            self.retirements[retirement_id] = buyer
            target = lot_key(LotState.RETIRED, retirement_id)
        self._move(lot_key(LotState.ESCROWED, listing_id), target, ranges)

    # ------------------------------------------------------------------ pledges

    def pledge(self, *, pledge_id: UUID, holder: UUID, bank: UUID, loan_reference: str,
               quantity: int, actor: UUID) -> list[Range]:
        """Lock credits as collateral (质押) for a loan by ``bank``."""
        if actor not in (holder, bank):
            raise PermissionDeniedError("a pledge is registered by the pledgor or the bank")
        if holder == bank:
            raise ValidationError("a holder cannot pledge to itself", field="bank")
        if not loan_reference.strip():
            raise ValidationError("loan reference must not be empty", field="loan_reference")
        self._require_new(self.pledges, pledge_id, "pledge")
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the pledgor")
        self._pledged(pledge_id=str(pledge_id), holder=str(holder), bank=str(bank),
                      loan_reference=loan_reference.strip(), quantity=quantity, ranges=ranges,
                      actor=str(actor))
        return ranges

    @event("Pledged")
    def _pledged(self, pledge_id: str, holder: str, bank: str, loan_reference: str,
                 quantity: int, ranges: list[Range], actor: str) -> None:
        self.pledges[pledge_id] = {"holder": holder, "bank": bank,
                                   "loan_reference": loan_reference, "status": "active"}
        self._move(lot_key(LotState.AVAILABLE, holder), lot_key(LotState.PLEDGED, pledge_id),
                   ranges)

    def _active_pledge(self, pledge_id: UUID, actor: UUID) -> dict[str, Any]:
        pledge = self.pledges.get(str(pledge_id))
        if pledge is None:
            raise RecordNotFoundError(f"no pledge {pledge_id} in batch {self.block}",
                                      pledge=str(pledge_id))
        if pledge["bank"] != str(actor):
            raise PermissionDeniedError("only the pledgee bank may release or enforce a pledge",
                                        pledge=str(pledge_id), actor=str(actor))
        if pledge["status"] != "active":
            raise InvalidStateError(f"pledge {pledge_id} is already {pledge['status']}",
                                    pledge=str(pledge_id), status=pledge["status"])
        return pledge

    def release_pledge(self, *, pledge_id: UUID, actor: UUID) -> list[Range]:
        """The loan was repaid: the credits return to the pledgor."""
        pledge = self._active_pledge(pledge_id, actor)
        ranges = [list(r) for r in self.lots[lot_key(LotState.PLEDGED, pledge_id)]]
        self._pledge_released(pledge_id=str(pledge_id), holder=pledge["holder"],
                              quantity=ranges_total(ranges), ranges=ranges, actor=str(actor))
        return ranges

    @event("PledgeReleased")
    def _pledge_released(self, pledge_id: str, holder: str, quantity: int, ranges: list[Range],
                         actor: str) -> None:
        self.pledges[pledge_id]["status"] = "released"
        self._move(lot_key(LotState.PLEDGED, pledge_id), lot_key(LotState.AVAILABLE, holder),
                   ranges)

    def enforce_pledge(self, *, pledge_id: UUID, actor: UUID) -> list[Range]:
        """The loan defaulted: the credits move to the bank."""
        pledge = self._active_pledge(pledge_id, actor)
        ranges = [list(r) for r in self.lots[lot_key(LotState.PLEDGED, pledge_id)]]
        self._pledge_enforced(pledge_id=str(pledge_id), holder=pledge["holder"],
                              bank=pledge["bank"], quantity=ranges_total(ranges), ranges=ranges,
                              actor=str(actor))
        return ranges

    @event("PledgeEnforced")
    def _pledge_enforced(self, pledge_id: str, holder: str, bank: str, quantity: int,
                         ranges: list[Range], actor: str) -> None:
        self.pledges[pledge_id]["status"] = "enforced"
        self._move(lot_key(LotState.PLEDGED, pledge_id), lot_key(LotState.AVAILABLE, bank),
                   ranges)

    # ------------------------------------------------------------------ retirement

    def retire(self, *, retirement_id: UUID, holder: UUID, quantity: int,
               details: dict[str, Any], actor: UUID) -> list[Range]:
        """Retire (注销) credits for a beneficiary and purpose. Permanent."""
        if actor != holder:
            raise PermissionDeniedError("only the holder may retire its credits")
        self._require_new(self.retirements, retirement_id, "retirement")
        canonical = validate_retirement_details(**details)
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the holder")
        self._retired(retirement_id=str(retirement_id), holder=str(holder), quantity=quantity,
                      ranges=ranges, details=canonical, actor=str(actor))
        return ranges

    @event("Retired")
    def _retired(self, retirement_id: str, holder: str, quantity: int, ranges: list[Range],
                 details: dict[str, Any], actor: str) -> None:
        self.retirements[retirement_id] = holder
        self._move(lot_key(LotState.AVAILABLE, holder), lot_key(LotState.RETIRED, retirement_id),
                   ranges)

    # ------------------------------------------------------------------ tokenisation

    def lock_for_tokens(self, *, lock_id: UUID, holder: UUID, quantity: int,
                        chain_address: str, actor: UUID) -> list[Range]:
        """Lock credits while they are represented by tokens on a chain."""
        if actor != holder:
            raise PermissionDeniedError("only the holder may tokenise its credits")
        self._require_new(self.locks, lock_id, "token lock")
        if not chain_address.strip():
            raise ValidationError("chain address must not be empty", field="chain_address")
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the holder")
        self._locked_for_tokens(lock_id=str(lock_id), holder=str(holder), quantity=quantity,
                                chain_address=chain_address, ranges=ranges, actor=str(actor))
        return ranges

    @event("LockedForTokens")
    def _locked_for_tokens(self, lock_id: str, holder: str, quantity: int, chain_address: str,
                           ranges: list[Range], actor: str) -> None:
        self.locks[lock_id] = {"holder": holder, "chain_address": chain_address}
        self._move(lot_key(LotState.AVAILABLE, holder), lot_key(LotState.TOKENISED, lock_id),
                   ranges)

    def unlock_tokens(self, *, lock_id: UUID, recipient: UUID, quantity: int,
                      chain_reference: str, actor: UUID) -> list[Range]:
        """Tokens were burned on chain: the same quantity becomes available again."""
        if str(lock_id) not in self.locks:
            raise RecordNotFoundError(f"no token lock {lock_id} in batch {self.block}")
        ranges = self._take(LotState.TOKENISED, lock_id, quantity, "the token lock")
        self._tokens_unlocked(lock_id=str(lock_id), recipient=str(recipient), quantity=quantity,
                              chain_reference=chain_reference, ranges=ranges, actor=str(actor))
        return ranges

    @event("TokensUnlocked")
    def _tokens_unlocked(self, lock_id: str, recipient: str, quantity: int,
                         chain_reference: str, ranges: list[Range], actor: str) -> None:
        self._move(lot_key(LotState.TOKENISED, lock_id), lot_key(LotState.AVAILABLE, recipient),
                   ranges)

    # ------------------------------------------------------------------ export, cancellation

    def export(self, *, export_id: UUID, holder: UUID, quantity: int, destination: str,
               actor: UUID) -> list[Range]:
        """Move credits out to another registry for good."""
        if actor != holder:
            raise PermissionDeniedError("only the holder may export its credits")
        self._require_new(self.exports, export_id, "export")
        if not destination.strip():
            raise ValidationError("destination registry must not be empty", field="destination")
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the holder")
        self._exported(export_id=str(export_id), holder=str(holder), quantity=quantity,
                       destination=destination.strip(), ranges=ranges, actor=str(actor))
        return ranges

    @event("Exported")
    def _exported(self, export_id: str, holder: str, quantity: int, destination: str,
                  ranges: list[Range], actor: str) -> None:
        self.exports[export_id] = holder
        self._move(lot_key(LotState.AVAILABLE, holder), lot_key(LotState.EXPORTED, export_id),
                   ranges)

    def cancel(self, *, cancellation_id: UUID, holder: UUID, quantity: int, reason: str,
               actor: UUID) -> list[Range]:
        """The registry operator cancels credits (invalid issuance, buffer). Role checked by
        the application."""
        self._require_new(self.cancellations, cancellation_id, "cancellation")
        if not reason.strip():
            raise ValidationError("a cancellation must give its reason", field="reason")
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the holder")
        self._cancelled(cancellation_id=str(cancellation_id), holder=str(holder),
                        quantity=quantity, reason=reason.strip(), ranges=ranges,
                        actor=str(actor))
        return ranges

    @event("Cancelled")
    def _cancelled(self, cancellation_id: str, holder: str, quantity: int, reason: str,
                   ranges: list[Range], actor: str) -> None:
        self.cancellations[cancellation_id] = holder
        self._move(lot_key(LotState.AVAILABLE, holder),
                   lot_key(LotState.CANCELLED, cancellation_id), ranges)

    def correct(self, *, field: str, value: Any, reason: str, actor: UUID) -> None:
        """Correct a descriptive field of the batch; the original stays in the history."""
        if field not in CORRECTABLE_FIELDS:
            raise ValidationError(
                f"{field!r} cannot be corrected (correctable: "
                f"{', '.join(sorted(CORRECTABLE_FIELDS))})", field="field")
        if field == "vintage" and (isinstance(value, bool) or not isinstance(value, int)
                                   or not 1990 <= value <= 2100):
            raise ValidationError(f"vintage must be a year, got {value!r}", field="value")
        if field != "vintage" and (not isinstance(value, str) or not value.strip()):
            raise ValidationError(f"{field} must be non-empty text", field="value")
        if not reason.strip():
            raise ValidationError("a correction must give its reason", field="reason")
        if self.metadata.get(field) == value:
            raise InvalidStateError(f"{field} is already {value!r}", field=field)
        self._corrected(field=field, previous=self.metadata.get(field), value=value,
                        reason=reason.strip(), actor=str(actor))

    @event("Corrected")
    def _corrected(self, field: str, previous: Any, value: Any, reason: str, actor: str) -> None:
        self.metadata[field] = value
        if field == "region":
            self.region = value
        elif field == "vintage":
            self.vintage = value
