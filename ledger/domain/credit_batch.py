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

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot, event

from ledger.domain.cow_map import copy_sharing_tables, plain_tables
from ledger.domain.destinations import EXPORT_DESTINATIONS, check_destination
from ledger.domain.errors import (
    DuplicateRecordError,
    InsufficientBalanceError,
    InvalidStateError,
    LimitExceededError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.ids import uuid5
from ledger.domain.limits import (
    MAX_BLOCK_LABEL,
    MAX_PROJECT_TYPE,
    MAX_REGISTRY_NAME,
    MAX_SERIAL,
    MAX_TOTAL_G,
    bounded_text,
)
from ledger.domain.quantities import MAX_GRAMS, require_grams
from ledger.domain.records import active_pledge, open_listing, retirement_on_delivery
from ledger.domain.retirement import validate_retirement_details
from ledger.domain.serials import Range, add_ranges, ranges_total, remove_ranges, take_lowest
from ledger.domain.text import MAX_PROSE, check_text

__all__ = [
    "CORRECTABLE_FIELDS",
    "UNITS_PER_GRAM",
    "BridgeLockMessage",
    "CreditBatch",
    "CreditBatchSnapshot",
    "LotState",
    "bridge_lock_message",
    "decode_bridge_lock_message",
    "grams_to_units",
    "grown_interval",
    "lot_key",
    "split_lot_key",
    "token_pool_id",
    "token_retirement_id",
    "totals_by_state",
    "units_to_grams",
]


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


def totals_by_state(lots: Mapping[str, list[Range]]) -> dict[str, int]:
    """Grams by lot state over ``lots`` (a batch's, or a batch's and its holdings')."""
    totals = {state.value: 0 for state in LotState}
    for key, ranges in lots.items():
        totals[split_lot_key(key)[0].value] += ranges_total(ranges)
    return totals


def grown_interval(base: int, lots: int) -> int:
    """Events between snapshots of an aggregate with ``lots`` lots: ``base``, doubled until
    it is at least a quarter of them (see :meth:`CreditBatch.snapshot_interval`)."""
    interval = base
    while interval * 4 < lots:
        interval *= 2
    return interval


# ---------------------------------------------------------------------- tokenisation helpers

UNITS_PER_GRAM = 10**12
"""Token units per gram: tokens have 18 decimals and 1 token is 1 t CO2e (10**6 g)."""

NS_TOKEN_BRIDGE = UUID("3b0f7e52-9c1d-5a8e-b6f4-2d7c9e1a4f60")
"""Namespace of the deterministic ids of token pools and on-chain retirements."""

_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_U256_MAX = 2**256 - 1


def grams_to_units(grams: int) -> int:
    """Token units of ``grams`` g CO2e, exactly: ``grams * 10**12``.

    Raises :class:`ValidationError` unless ``grams`` is a positive whole number of grams (an
    ``int``; ``bool`` and ``float`` are refused).
    """
    return require_grams(grams, "grams") * UNITS_PER_GRAM


def units_to_grams(units: int) -> int:
    """Grams CO2e of ``units`` token units, exactly.

    Raises :class:`ValidationError` unless ``units`` is a positive ``int`` multiple of
    ``10**12`` (a whole number of grams): nothing is rounded away.
    """
    if isinstance(units, bool) or not isinstance(units, int):
        raise ValidationError(f"token amount must be an integer number of units, got {units!r}",
                              field="amount", value=repr(units))
    if units <= 0 or units > _U256_MAX:
        raise ValidationError(f"token amount must be in [1, 2**256), got {units}",
                              field="amount", value=units)
    grams, rest = divmod(units, UNITS_PER_GRAM)
    if rest:
        raise ValidationError(
            f"token amount {units} is not a whole number of grams (10**12 units per gram)",
            field="amount", value=units)
    if grams > MAX_GRAMS:
        raise ValidationError(f"token amount {units} is more than a ledger record can hold "
                              f"({MAX_GRAMS} g)", field="amount", value=str(units))
    return grams


def require_evm_address(value: Any, name: str) -> str:
    """Return ``value`` if it is a ``0x``-prefixed 20-byte hex address, else raise."""
    if not isinstance(value, str) or not _EVM_ADDRESS.fullmatch(value):
        raise ValidationError(f"{name} must be a 0x-prefixed 20-byte hex address, got {value!r}",
                              field=name)
    if int(value, 16) == 0:
        raise ValidationError(f"{name} must not be the zero address", field=name)
    return value


class BridgeLockMessage(NamedTuple):
    """The decoded bridge message of a lock (see :func:`bridge_lock_message`)."""

    chain_id: int
    token_contract: str  # 0x + 40 lower-case hex digits
    batch_id: UUID
    lock_id: UUID
    recipient: str  # 0x + 40 lower-case hex digits
    amount: int  # token units


def bridge_lock_message(*, chain_id: int, token_contract: str, batch_id: UUID, lock_id: UUID,
                        recipient: str, quantity: int) -> str:
    """The bridge message a lock event carries for the token contract to mint from.

    384 lower-case hex digits of ``abi.encode(uint256 chainId, address token, bytes16
    batchId, bytes16 lockId, address recipient, uint256 amount)``, six 32-byte words: integers
    and addresses right-aligned, ``bytes16`` (UUID bytes in network order) left-aligned, and
    ``amount = quantity * 10**12`` token units.
    """
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id <= _U256_MAX:
        raise ValidationError(f"chain id must be a positive integer, got {chain_id!r}",
                              field="chain_id")
    words = [
        chain_id.to_bytes(32, "big"),
        bytes(12) + bytes.fromhex(require_evm_address(token_contract, "token_contract")[2:]),
        batch_id.bytes + bytes(16),
        lock_id.bytes + bytes(16),
        bytes(12) + bytes.fromhex(require_evm_address(recipient, "chain_address")[2:]),
        grams_to_units(quantity).to_bytes(32, "big"),
    ]
    return b"".join(words).hex()


def decode_bridge_lock_message(message: str) -> BridgeLockMessage:
    """Decode a bridge message (the inverse of :func:`bridge_lock_message`)."""
    raw = bytes.fromhex(message)
    if len(raw) != 192:
        raise ValidationError("a bridge message is 192 bytes", field="bridge_message")
    word = [raw[i : i + 32] for i in range(0, 192, 32)]
    return BridgeLockMessage(
        chain_id=int.from_bytes(word[0], "big"),
        token_contract="0x" + word[1][12:].hex(),
        batch_id=UUID(bytes=word[2][:16]),
        lock_id=UUID(bytes=word[3][:16]),
        recipient="0x" + word[4][12:].hex(),
        amount=int.from_bytes(word[5], "big"),
    )


def token_pool_id(batch_id: UUID | str, chain_id: int, token_contract: str) -> UUID:
    """Id of the lot that holds a batch's credits minted on one token contract (its
    ``tokenised/<pool>`` lot): ``uuid5`` of the batch, chain id and contract address."""
    return uuid5(NS_TOKEN_BRIDGE, f"pool\x1f{batch_id}\x1f{chain_id}\x1f{token_contract.lower()}")


def token_retirement_id(burn_id: str) -> UUID:
    """Id of the retirement made by the on-chain burn ``burn_id`` (deterministic)."""
    return uuid5(NS_TOKEN_BRIDGE, f"retirement\x1f{burn_id}")


_SHARED_TABLES = ("lots", "listings", "pledges", "retirements", "locks", "exports",
                  "cancellations", "trades", "burns")
"""The batch's tables that grow with its holders and history: copy-on-write maps (see
:mod:`ledger.domain.cow_map`), so that the copy each command gets costs no more at a million
holders than at a hundred. Their values are replaced, never changed in place."""


class CreditBatchSnapshot(Snapshot):
    """A batch's snapshot: its tables stored as the plain mappings they are."""

    @classmethod
    def take(cls, aggregate: Any) -> Any:
        snapshot = super().take(aggregate)
        plain_tables(snapshot.state, _SHARED_TABLES)
        return snapshot


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
        self.burns: dict[str, str] = {}  # on-chain burn id -> lock or retirement it applied to
        self.split = False  # available credits in holdings (#17); absent in older snapshots

    Snapshot = CreditBatchSnapshot

    def __deepcopy__(self, memo: dict[int, Any]) -> CreditBatch:
        """The copy the aggregate cache hands to each command, in time independent of the
        batch's holders and history: its growing tables are forked (copy-on-write, see
        :data:`_SHARED_TABLES`), the rest (the issued block's description) copied.

        The first copy of a batch read from the store or a snapshot turns its plain tables
        into copy-on-write maps, once."""
        return copy_sharing_tables(self, _SHARED_TABLES, memo)  # type: ignore[no-any-return]

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
        region = check_text(region, "region")
        block = bounded_text(block, "block label", MAX_BLOCK_LABEL, field="block")
        registry = bounded_text(registry, "registry", MAX_REGISTRY_NAME, field="registry")
        project_type = bounded_text(project_type, "project type", MAX_PROJECT_TYPE,
                                    field="project_type")
        if serial_start + quantity > MAX_SERIAL:
            raise ValidationError(f"serials must end at most at {MAX_SERIAL}",
                                  field="serial_start", value=str(serial_start))
        return cls._create(
            cls.Imported if imported else cls.Issued,
            id=batch_id,
            block=block,
            registry=registry,
            vintage=vintage,
            methodology=str(methodology),
            methodology_label=methodology_label,
            region=region,
            project_type=project_type,
            quantity=quantity,
            serial_start=serial_start,
            holder=str(holder),
            source=source,
            behaviours_root=behaviours_root,
            actor=str(actor),
        )

    # ------------------------------------------------------------------ queries

    def snapshot_interval(self, base: int) -> int:
        """Events between snapshots: ``base``, doubled until it is at least a quarter of the
        batch's lots, so that a snapshot (whose size grows with the lots) costs each command
        a constant share, and a cold read replays no more events than the snapshot holds
        quarters of lots. A power-of-two multiple of ``base``: as a batch grows its
        snapshots' versions stay multiples of every smaller interval."""
        return grown_interval(base, len(self.lots))

    @property
    def serial_end(self) -> int:
        return self.serial_start + self.quantity

    def held(self, state: LotState, ref: UUID | str) -> int:
        return ranges_total(self.lots.get(lot_key(state, ref), []))

    def available(self, account: UUID | str) -> int:
        return self.held(LotState.AVAILABLE, account)

    def totals_by_state(self) -> dict[str, int]:
        return totals_by_state(self.lots)

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
        if state is LotState.AVAILABLE and self.is_split:
            # The account's credits are in its holding: the application lent the command a
            # source (see :meth:`holdings_source`) that moves them to the batch first.
            source = self.__dict__.get("_holdings_source")
            if source is None:
                raise RuntimeError(f"batch {self.block} is split: a command taking available "
                                   "credits needs the holdings' source")
            moved = source(str(ref), quantity, who)
            self._moved_from_holding(account=str(ref), quantity=quantity, ranges=moved)
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

    # ------------------------------------------------------------------ holdings (#17)

    @property
    def is_split(self) -> bool:
        """Whether the accounts' available credits live in their holdings
        (:class:`ledger.domain.holding.Holding`) rather than in this batch."""
        return bool(self.__dict__.get("split", False))

    def split_holdings(self) -> dict[str, list[Range]]:
        """Move every account's available credits out to its holding; returns them by
        account, for the holdings the application opens in the same save."""
        if self.is_split:
            raise InvalidStateError(f"batch {self.block} is split already", batch=str(self.id))
        held = {split_lot_key(key)[1]: [list(r) for r in ranges]
                for key, ranges in self.lots.items()
                if key.startswith(LotState.AVAILABLE.value + "/")}
        self._holdings_split(holders=len(held), quantity=sum(map(ranges_total, held.values())))
        return held

    @event("HoldingsSplit")
    def _holdings_split(self, holders: int, quantity: int) -> None:
        for key in [k for k in self.lots if k.startswith(LotState.AVAILABLE.value + "/")]:
            del self.lots[key]
        self.split = True

    @contextmanager
    def holdings_source(self, source: Callable[[str, int, str], list[Range]]) -> Iterator[None]:
        """Within the block, commands on a split batch take an account's available credits
        through ``source(account, quantity, who)`` (which moves them out of the account's
        holding and returns the serials); the source is never part of the batch's state."""
        self.__dict__["_holdings_source"] = source
        try:
            yield
        finally:
            self.__dict__.pop("_holdings_source", None)

    @event("MovedFromHolding")
    def _moved_from_holding(self, account: str, quantity: int, ranges: list[Range]) -> None:
        key = lot_key(LotState.AVAILABLE, account)
        self.lots[key] = add_ranges(self.lots.get(key, []), ranges)

    def sweep_to_holdings(self) -> dict[str, list[Range]]:
        """After a command on a split batch, move what it returned to accounts (a cancelled
        listing, a settled trade, a released pledge ...) on to their holdings; returns it by
        account, for the holdings saved with the batch."""
        if not self.is_split:
            return {}
        swept = {split_lot_key(key)[1]: [list(r) for r in ranges]
                 for key, ranges in self.lots.items()
                 if key.startswith(LotState.AVAILABLE.value + "/")}
        for account, ranges in sorted(swept.items()):
            self._moved_to_holding(account=account, quantity=ranges_total(ranges),
                                   ranges=ranges)
        return swept

    @event("MovedToHolding")
    def _moved_to_holding(self, account: str, quantity: int, ranges: list[Range]) -> None:
        key = lot_key(LotState.AVAILABLE, account)
        remaining = remove_ranges(self.lots.get(key, []), ranges)
        if remaining:
            self.lots[key] = remaining
        else:
            self.lots.pop(key, None)

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
        the listing is cancelled. The seller's consent (the exchange selling its own credits,
        or the seller's listing mandate) is checked by the application on the seller's
        :class:`~ledger.domain.participant.Participant`, saved with this event."""
        if actor != exchange:
            raise PermissionDeniedError("only the exchange may escrow for its listing")
        self._require_new(self.listings, listing_id, "listing")
        check_text(listing_ref, "listing_ref")
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

    def cancel_listing(self, *, listing_id: UUID, actor: UUID) -> list[Range]:
        """Return what is left in escrow to the seller."""
        listing = open_listing(self.listings, listing_id, actor, self.block)
        ranges = [list(r) for r in self.lots.get(lot_key(LotState.ESCROWED, listing_id), [])]
        self._listing_cancelled(listing_id=str(listing_id), seller=listing["seller"],
                                quantity=ranges_total(ranges), ranges=ranges, actor=str(actor))
        return ranges

    @event("ListingCancelled")
    def _listing_cancelled(self, listing_id: str, seller: str, quantity: int,
                           ranges: list[Range], actor: str) -> None:
        self.listings[listing_id] = {**self.listings[listing_id], "open": False}
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
        listing = open_listing(self.listings, listing_id, actor, self.block)
        self._require_new(self.trades, trade_id, "trade")
        if listing["seller"] != str(seller):
            raise ValidationError("the seller is not the seller of the listing", field="seller")
        if buyer == seller:
            raise ValidationError("buyer and seller are the same account", field="buyer")
        details = retirement_on_delivery(retirement_id, retirement)
        if details is not None:
            self._require_new(self.retirements, retirement_id, "retirement")
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
        """Lock credits as collateral (质押) for a loan by ``bank``. Registered by the bank,
        the pledgor's consent (its pledge mandate) is checked by the application on the
        pledgor's :class:`~ledger.domain.participant.Participant`, saved with this event."""
        if actor not in (holder, bank):
            raise PermissionDeniedError("a pledge is registered by the pledgor or the bank")
        if holder == bank:
            raise ValidationError("a holder cannot pledge to itself", field="bank")
        loan_reference = check_text(loan_reference, "loan_reference")
        self._require_new(self.pledges, pledge_id, "pledge")
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the pledgor")
        self._pledged(pledge_id=str(pledge_id), holder=str(holder), bank=str(bank),
                      loan_reference=loan_reference, quantity=quantity, ranges=ranges,
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
        return active_pledge(self.pledges, pledge_id, actor, self.block)

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
        self.pledges[pledge_id] = {**self.pledges[pledge_id], "status": "released"}
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
        self.pledges[pledge_id] = {**self.pledges[pledge_id], "status": "enforced"}
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
    #
    # A lock moves credits from ``available/<holder>`` to ``tokenised/<lock>``. A *bridged* lock
    # (made with a chain id and token contract) carries a bridge message in its event, from which
    # that token contract mints once the event is anchored; when the mint is seen on chain
    # (``TokensMinted``) the credits move on to the batch's *token pool* for that contract,
    # ``tokenised/<pool>`` (:func:`token_pool_id`), which always equals the contract's total
    # supply of the batch. Burns come back from the pool only, each exactly once (by burn id):
    # ``TokensUnlocked`` (to a ledger account) or ``TokensRetired`` (a retirement). A bridged
    # lock can never be unlocked directly: the contract would still mint it.

    def _burns(self) -> dict[str, str]:
        # Batches snapshotted before tokenisation had no burn register.
        return self.__dict__.setdefault("burns", {})

    def tokenised_totals(self) -> dict[str, int]:
        """Tokenised grams by kind: ``locked`` (in lock lots: bridged locks not yet seen minted,
        and locks made without a bridge) and ``minted`` (in token pools, i.e. on chain)."""
        totals = {"locked": 0, "minted": 0}
        for key, ranges in self.lots.items():
            state, ref = split_lot_key(key)
            if state is LotState.TOKENISED:
                kind = "minted" if self.locks[ref].get("pool") else "locked"
                totals[kind] += ranges_total(ranges)
        return totals

    def lock_for_tokens(self, *, lock_id: UUID, holder: UUID, quantity: int,
                        chain_address: str, actor: UUID, chain_id: int | None = None,
                        token_contract: str | None = None) -> list[Range]:
        """Lock credits while they are represented by tokens on a chain.

        With ``chain_id`` and ``token_contract`` the lock is bridged: ``chain_address`` must be
        an EVM address, and the event carries the bridge message (:func:`bridge_lock_message`)
        that lets that token contract mint ``quantity * 10**12`` units to ``chain_address``.
        """
        if actor != holder:
            raise PermissionDeniedError("only the holder may tokenise its credits")
        self._require_new(self.locks, lock_id, "token lock")
        if not chain_address.strip():
            raise ValidationError("chain address must not be empty", field="chain_address")
        bridged = chain_id is not None or token_contract is not None
        if bridged and (chain_id is None or token_contract is None):
            raise ValidationError("a bridged lock names both the chain id and the token contract",
                                  field="token_contract" if token_contract is None else "chain_id")
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the holder")
        message = None
        if chain_id is not None and token_contract is not None:
            message = bridge_lock_message(chain_id=chain_id, token_contract=token_contract,
                                          batch_id=self.id, lock_id=lock_id,
                                          recipient=chain_address, quantity=quantity)
            self._check_pool_total(chain_id, token_contract, quantity)
        self._locked_for_tokens(lock_id=str(lock_id), holder=str(holder), quantity=quantity,
                                chain_address=chain_address, ranges=ranges, actor=str(actor),
                                bridge_message=message)
        return ranges

    def _check_pool_total(self, chain_id: int, token_contract: str, quantity: int) -> None:
        """A token pool counts everything ever minted into it (credits may go round: locked,
        minted, burned back, locked again); refuse a bridged lock that would take that
        count, with every bridged lock made for the pool so far, past ``2**63 - 1`` g."""
        pool = token_pool_id(self.id, chain_id, token_contract)
        total = quantity
        for lock in self.locks.values():
            if message := lock.get("bridge_message"):
                target = decode_bridge_lock_message(message)
                if token_pool_id(self.id, target.chain_id, target.token_contract) == pool:
                    total += target.amount // UNITS_PER_GRAM
        if total > MAX_TOTAL_G:
            raise LimitExceededError(
                f"the token pool of batch {self.block} on chain {chain_id} would count more "
                f"than {MAX_TOTAL_G} g minted", batch=str(self.id), pool=str(pool),
                requested=quantity)

    @event("LockedForTokens")
    def _locked_for_tokens(self, lock_id: str, holder: str, quantity: int, chain_address: str,
                           ranges: list[Range], actor: str, bridge_message: str | None) -> None:
        self.locks[lock_id] = {"holder": holder, "chain_address": chain_address,
                               "bridge_message": bridge_message}
        self._move(lot_key(LotState.AVAILABLE, holder), lot_key(LotState.TOKENISED, lock_id),
                   ranges)

    def record_token_mint(self, *, lock_id: UUID, chain_reference: str,
                          actor: UUID) -> list[Range]:
        """The token contract named by a bridged lock minted it (transaction
        ``chain_reference``): its credits move to the batch's token pool for that contract.
        A lock is minted once."""
        lock = self.locks.get(str(lock_id))
        if lock is None:
            raise RecordNotFoundError(f"no token lock {lock_id} in batch {self.block}",
                                      lock=str(lock_id))
        message = lock.get("bridge_message")
        if not message:
            raise InvalidStateError(f"token lock {lock_id} was not made for a token bridge",
                                    lock=str(lock_id))
        if lock.get("minted"):
            raise DuplicateRecordError(f"token lock {lock_id} was minted already",
                                       record=str(lock_id), chain_reference=lock["minted"])
        if not isinstance(chain_reference, str) or not chain_reference.strip():
            raise ValidationError("the mint's chain reference must not be empty",
                                  field="chain_reference")
        target = decode_bridge_lock_message(message)
        ranges = [list(r) for r in self.lots[lot_key(LotState.TOKENISED, lock_id)]]
        self._tokens_minted(
            lock_id=str(lock_id),
            pool_id=str(token_pool_id(self.id, target.chain_id, target.token_contract)),
            chain_id=target.chain_id, token_contract=target.token_contract,
            quantity=ranges_total(ranges), ranges=ranges, chain_reference=chain_reference,
            actor=str(actor))
        return ranges

    @event("TokensMinted")
    def _tokens_minted(self, lock_id: str, pool_id: str, chain_id: int, token_contract: str,
                       quantity: int, ranges: list[Range], chain_reference: str,
                       actor: str) -> None:
        self.locks[lock_id] = {**self.locks[lock_id], "minted": chain_reference}
        if pool_id not in self.locks:
            self.locks[pool_id] = {"holder": actor, "chain_address": token_contract,
                                   "chain_id": chain_id, "pool": True}
        self._move(lot_key(LotState.TOKENISED, lock_id), lot_key(LotState.TOKENISED, pool_id),
                   ranges)

    def _require_new_burn(self, burn_id: Any) -> str:
        if not isinstance(burn_id, str) or not burn_id.strip():
            raise ValidationError("a burn id must be non-empty text", field="burn_id")
        if burn_id in self._burns():
            raise DuplicateRecordError(f"burn {burn_id} was applied already in batch {self.block}",
                                       record=burn_id)
        return burn_id

    def unlock_tokens(self, *, lock_id: UUID, recipient: UUID, quantity: int,
                      chain_reference: str, actor: UUID,
                      burn_id: str | None = None) -> list[Range]:
        """Tokens were burned on chain: the same quantity becomes available again.

        From a token pool (a bridged lock's credits once minted) every burn is applied once:
        ``burn_id`` is required and a second unlock with it is a :class:`DuplicateRecordError`.
        A bridged lock itself is never unlocked: its credits return through its pool.
        """
        lock = self.locks.get(str(lock_id))
        if lock is None:
            raise RecordNotFoundError(f"no token lock {lock_id} in batch {self.block}")
        if lock.get("bridge_message"):
            raise InvalidStateError(
                f"token lock {lock_id} is bridged: its credits return only by burning tokens "
                "(from the token pool)", lock=str(lock_id))
        if lock.get("pool") or burn_id is not None:
            self._require_new_burn(burn_id)
        if not isinstance(chain_reference, str) or not chain_reference.strip():
            raise ValidationError("the chain reference must not be empty",
                                  field="chain_reference")
        ranges = self._take(LotState.TOKENISED, lock_id, quantity, "the token lock")
        self._tokens_unlocked(lock_id=str(lock_id), recipient=str(recipient), quantity=quantity,
                              chain_reference=chain_reference, ranges=ranges, actor=str(actor),
                              burn_id=burn_id)
        return ranges

    @event("TokensUnlocked")
    def _tokens_unlocked(self, lock_id: str, recipient: str, quantity: int,
                         chain_reference: str, ranges: list[Range], actor: str,
                         burn_id: str | None) -> None:
        if burn_id is not None:
            self._burns()[burn_id] = lock_id
        self._move(lot_key(LotState.TOKENISED, lock_id), lot_key(LotState.AVAILABLE, recipient),
                   ranges)

    def retire_tokenised(self, *, retirement_id: UUID, pool_id: UUID, quantity: int,
                         details: dict[str, Any], chain_reference: str, burn_id: str,
                         chain_account: str, actor: UUID) -> list[Range]:
        """Tokens were burned on chain for a retirement (注销): the credits move from the token
        pool to a retired lot, for the beneficiary and purpose given on chain. Permanent; each
        burn is applied once. The retirement is held by the pool's holder (the bridge) and
        names the chain transaction and the burning address."""
        pool = self.locks.get(str(pool_id))
        if pool is None or not pool.get("pool"):
            raise RecordNotFoundError(f"no token pool {pool_id} in batch {self.block}",
                                      pool=str(pool_id))
        self._require_new(self.retirements, retirement_id, "retirement")
        self._require_new_burn(burn_id)
        canonical = validate_retirement_details(**details)
        if not isinstance(chain_reference, str) or not chain_reference.strip():
            raise ValidationError("the chain reference must not be empty",
                                  field="chain_reference")
        require_evm_address(chain_account, "chain_account")
        ranges = self._take(LotState.TOKENISED, pool_id, quantity, "the token pool")
        self._tokens_retired(retirement_id=str(retirement_id), lock_id=str(pool_id),
                             holder=pool["holder"], quantity=quantity, ranges=ranges,
                             details=canonical, chain_reference=chain_reference,
                             burn_id=burn_id, chain_account=chain_account, actor=str(actor))
        return ranges

    @event("TokensRetired")
    def _tokens_retired(self, retirement_id: str, lock_id: str, holder: str, quantity: int,
                        ranges: list[Range], details: dict[str, Any], chain_reference: str,
                        burn_id: str, chain_account: str, actor: str) -> None:
        self._burns()[burn_id] = retirement_id
        self.retirements[retirement_id] = holder
        self._move(lot_key(LotState.TOKENISED, lock_id),
                   lot_key(LotState.RETIRED, retirement_id), ranges)

    # ------------------------------------------------------------------ export, cancellation

    def export(self, *, export_id: UUID, holder: UUID, quantity: int, destination: str,
               actor: UUID,
               destinations: Mapping[str, str] = EXPORT_DESTINATIONS) -> list[Range]:
        """Move credits out for good to a recognised registry (a code of
        ``destinations``)."""
        if actor != holder:
            raise PermissionDeniedError("only the holder may export its credits")
        self._require_new(self.exports, export_id, "export")
        code = check_destination(destination, destinations)
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the holder")
        self._exported(export_id=str(export_id), holder=str(holder), quantity=quantity,
                       destination=code, ranges=ranges, actor=str(actor))
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
        reason = check_text(reason, "reason", max_length=MAX_PROSE, prose=True)
        ranges = self._take(LotState.AVAILABLE, holder, quantity, "the holder")
        self._cancelled(cancellation_id=str(cancellation_id), holder=str(holder),
                        quantity=quantity, reason=reason, ranges=ranges,
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
        if field != "vintage":
            value = check_text(value, "value")
        reason = check_text(reason, "reason", max_length=MAX_PROSE, prose=True)
        if self.metadata.get(field) == value:
            raise InvalidStateError(f"{field} is already {value!r}", field=field)
        self._corrected(field=field, previous=self.metadata.get(field), value=value,
                        reason=reason, actor=str(actor))

    @event("Corrected")
    def _corrected(self, field: str, previous: Any, value: Any, reason: str, actor: str) -> None:
        self.metadata[field] = value
        if field == "region":
            self.region = value
        elif field == "vintage":
            self.vintage = value
