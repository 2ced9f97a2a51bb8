"""Holdings (issue #17): a split batch and its accounts' holdings keep the supply and serial
invariants together, whatever commands run, and each side refuses what it must."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ledger.domain.batch_view import BatchView
from ledger.domain.credit_batch import CreditBatch, LotState, lot_key
from ledger.domain.errors import (
    DuplicateRecordError,
    InsufficientBalanceError,
    InvalidStateError,
    LedgerError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.holding import Holding, holding_id
from ledger.domain.invariants import (
    InvariantViolationError,
    check_batch_supply,
    check_serial_coverage,
)

OPERATOR = UUID("10000000-0000-4000-8000-000000000000")
HOLDERS = [UUID(f"20000000-0000-4000-8000-00000000000{i}") for i in range(5)]
BANK = UUID("30000000-0000-4000-8000-000000000000")
EXCHANGE = UUID("40000000-0000-4000-8000-000000000000")
SUPPLY = 5_000
RETIREMENT = {"beneficiary": "Hubei emitter", "purpose": "voluntary", "jurisdiction": "CN",
              "consumption_period": "2024", "details": {}}


def _batch(holder: UUID = HOLDERS[0], quantity: int = SUPPLY) -> CreditBatch:
    return CreditBatch.issue(
        uuid4(), block="HBCER-2024-000001", registry="HBCER", vintage=2024,
        methodology=uuid4(), methodology_label="M v1", region="Wuhan", project_type="p",
        quantity=quantity, holder=holder, source={}, behaviours_root=None, actor=OPERATOR,
        serial_start=1_000)


def _split(batch: CreditBatch) -> dict[str, Holding]:
    return {account: Holding.open(batch.id, account, block=batch.block, ranges=ranges)
            for account, ranges in batch.split_holdings().items()}


def _on_batch(batch: CreditBatch, holdings: dict[str, Holding],
              command: Callable[[CreditBatch], Any]) -> Any:
    """What the application does around a batch's own command (its ``_run_on_batch``)."""
    touched = dict(holdings)  # kept only if the command succeeds

    def holding(account: str) -> Holding:
        if account not in touched:
            touched[account] = Holding.open(batch.id, account, block=batch.block)
        return touched[account]

    with batch.holdings_source(lambda a, q, who: holding(a).move_to_batch(q, who)):
        result = command(batch)
    for account, ranges in batch.sweep_to_holdings().items():
        holding(account).move_from_batch(ranges)
    holdings.update(touched)
    return result


def _replayed(aggregate: Any) -> Any:
    return project_aggregate(None, aggregate.collect_events())


# ---------------------------------------------------------------------------- examples


def test_a_split_moves_every_available_lot_to_a_holding_and_keeps_the_rest() -> None:
    batch = _batch()
    holdings = {str(HOLDERS[0]): Holding.open(batch.id, HOLDERS[0], block=batch.block)}
    _on_batch(batch, {}, lambda b: b.transfer(sender=HOLDERS[0], recipient=HOLDERS[1],
                                              quantity=100, actor=HOLDERS[0]))
    _on_batch(batch, {}, lambda b: b.pledge(pledge_id=uuid4(), holder=HOLDERS[1], bank=BANK,
                                            loan_reference="L", quantity=40, actor=BANK))
    holdings = _split(batch)
    assert batch.is_split
    assert set(holdings) == {str(HOLDERS[0]), str(HOLDERS[1])}
    assert [k for k in batch.lots if k.startswith("available/")] == []
    assert holdings[str(HOLDERS[1])].available == 60
    view = BatchView(batch, holdings.values())
    check_batch_supply(view)
    check_serial_coverage(view)
    assert view.totals_by_state()["pledged"] == 40
    with pytest.raises(InvalidStateError):
        batch.split_holdings()


def test_a_transfer_between_holdings_moves_the_lowest_serials_and_nothing_else() -> None:
    batch = _batch()
    holdings = _split(batch)
    sender = holdings[str(HOLDERS[0])]
    recipient = Holding.open(batch.id, HOLDERS[1], block=batch.block)
    ranges = sender.transfer(recipient=HOLDERS[1], quantity=10, actor=HOLDERS[0])
    recipient.receive(sender=HOLDERS[0], ranges=ranges)
    assert ranges == [[1_000, 1_010]]
    assert recipient.lots == {lot_key(LotState.AVAILABLE, HOLDERS[1]): [[1_000, 1_010]]}
    assert recipient.id == holding_id(batch.id, HOLDERS[1])
    view = BatchView(batch, [sender, recipient])
    check_serial_coverage(view)
    assert view.available(HOLDERS[1]) == 10
    assert view.owner_of_lot(lot_key(LotState.AVAILABLE, HOLDERS[1])) == str(HOLDERS[1])


def test_a_holding_refuses_another_actor_itself_as_recipient_and_an_overdraft() -> None:
    batch = _batch()
    holding = _split(batch)[str(HOLDERS[0])]
    with pytest.raises(PermissionDeniedError):
        holding.transfer(recipient=HOLDERS[1], quantity=1, actor=HOLDERS[1])
    with pytest.raises(ValidationError):
        holding.transfer(recipient=HOLDERS[0], quantity=1, actor=HOLDERS[0])
    with pytest.raises(InsufficientBalanceError, match=r"holds 5000 g available of batch"):
        holding.transfer(recipient=HOLDERS[1], quantity=SUPPLY + 1, actor=HOLDERS[0])
    with pytest.raises(PermissionDeniedError):
        holding.retire(retirement_id=uuid4(), quantity=1, details=RETIREMENT,
                       actor=HOLDERS[1])
    with pytest.raises(ValidationError):
        holding.transfer(recipient=HOLDERS[1], quantity=0, actor=HOLDERS[0])
    assert holding.available == SUPPLY


def test_a_retirement_on_a_holding_is_permanent_and_its_id_unique() -> None:
    batch = _batch()
    holding = _split(batch)[str(HOLDERS[0])]
    retirement = uuid4()
    holding.retire(retirement_id=retirement, quantity=30, details=RETIREMENT,
                   actor=HOLDERS[0])
    with pytest.raises(DuplicateRecordError):
        holding.retire(retirement_id=retirement, quantity=1, details=RETIREMENT,
                       actor=HOLDERS[0])
    view = BatchView(batch, [holding])
    assert view.held(LotState.RETIRED, retirement) == 30
    assert view.retirements == {str(retirement): str(HOLDERS[0])}
    check_batch_supply(view)


def test_a_split_batch_command_needs_the_holdings_source() -> None:
    batch = _batch()
    _split(batch)
    with pytest.raises(RuntimeError, match="split"):
        batch.export(export_id=uuid4(), holder=HOLDERS[0], quantity=1, destination="CCER",
                     actor=HOLDERS[0])
    assert "_holdings_source" not in batch.__dict__


def test_the_view_refuses_a_lot_held_twice_and_a_holding_of_another_batch() -> None:
    batch = _batch()
    holdings = _split(batch)
    twice = Holding.open(batch.id, HOLDERS[0], block=batch.block,
                         ranges=[[1_000, 1_001]])
    with pytest.raises(InvariantViolationError, match="twice"):
        BatchView(batch, [*holdings.values(), twice])
    overlapping = Holding.open(batch.id, HOLDERS[1], block=batch.block,
                               ranges=[[1_000, 1_001]])
    with pytest.raises(InvariantViolationError, match="overlap"):
        check_serial_coverage(BatchView(batch, [*holdings.values(), overlapping]))
    other = _batch()
    with pytest.raises(InvariantViolationError):
        BatchView(other, holdings.values())
    # a holding that lost serials (a tampered history) breaks the invariants, named
    holding = holdings[str(HOLDERS[0])]
    holding.transfer(recipient=HOLDERS[1], quantity=5, actor=HOLDERS[0])  # never received
    with pytest.raises(InvariantViolationError, match="batch-supply"):
        check_batch_supply(BatchView(batch, [holding]))


def test_returns_to_an_account_are_swept_to_its_holding() -> None:
    batch = _batch()
    holdings = _split(batch)
    pledge = uuid4()
    _on_batch(batch, holdings, lambda b: b.pledge(
        pledge_id=pledge, holder=HOLDERS[0], bank=BANK, loan_reference="L", quantity=70,
        actor=BANK))
    _on_batch(batch, holdings, lambda b: b.enforce_pledge(pledge_id=pledge, actor=BANK))
    assert holdings[str(BANK)].available == 70
    assert holdings[str(HOLDERS[0])].available == SUPPLY - 70
    assert [k for k in batch.lots if k.startswith("available/")] == []
    view = BatchView(batch, holdings.values())
    check_serial_coverage(view)
    for aggregate in [batch, *holdings.values()]:  # the events replay to the same state
        assert _replayed(aggregate).lots == aggregate.lots


def test_a_pledge_on_a_holding_locks_its_credits_until_the_bank_closes_it() -> None:
    batch = _batch()
    holdings = _split(batch)
    holder = holdings[str(HOLDERS[0])]
    pledge = uuid4()
    ranges = holder.pledge(pledge_id=pledge, bank=BANK, loan_reference="GL-1", quantity=300,
                           actor=BANK)
    assert ranges == [[1_000, 1_300]] and holder.available == SUPPLY - 300
    assert holder.lots[lot_key(LotState.PLEDGED, pledge)] == [[1_000, 1_300]]
    # pledged credits cannot move: only what is available is transferred or retired
    with pytest.raises(InsufficientBalanceError):
        holder.transfer(recipient=HOLDERS[1], quantity=SUPPLY - 299, actor=HOLDERS[0])
    with pytest.raises(InsufficientBalanceError):
        holder.retire(retirement_id=uuid4(), quantity=SUPPLY - 299, details=RETIREMENT,
                      actor=HOLDERS[0])
    # refusals: someone else, a duplicate id, the pledgor as its own bank, no such pledge,
    # a release by anyone but the bank
    for refused, error in [
            (lambda: holder.pledge(pledge_id=uuid4(), bank=BANK, loan_reference="L",
                                   quantity=1, actor=HOLDERS[1]), PermissionDeniedError),
            (lambda: holder.pledge(pledge_id=pledge, bank=BANK, loan_reference="L",
                                   quantity=1, actor=BANK), DuplicateRecordError),
            (lambda: holder.pledge(pledge_id=uuid4(), bank=HOLDERS[0], loan_reference="L",
                                   quantity=1, actor=HOLDERS[0]), ValidationError),
            (lambda: holder.pledge(pledge_id=uuid4(), bank=BANK, loan_reference="",
                                   quantity=1, actor=BANK), ValidationError),
            (lambda: holder.release_pledge(pledge_id=uuid4(), actor=BANK), RecordNotFoundError),
            (lambda: holder.release_pledge(pledge_id=pledge, actor=HOLDERS[0]),
             PermissionDeniedError),
            (lambda: holder.enforce_pledge(pledge_id=pledge, actor=HOLDERS[1]),
             PermissionDeniedError)]:
        with pytest.raises(error):
            refused()
    assert holder.available == SUPPLY - 300 and len(holder.pledges) == 1
    # enforced: the bank's holding receives the serials; the pledge cannot close again
    enforced = holder.enforce_pledge(pledge_id=pledge, actor=BANK)
    bank = Holding.open(batch.id, BANK, block=batch.block)
    bank.receive(sender=HOLDERS[0], ranges=enforced)
    holdings[str(BANK)] = bank
    assert bank.available == 300 and holder.pledges[str(pledge)]["status"] == "enforced"
    with pytest.raises(InvalidStateError, match="already enforced"):
        holder.release_pledge(pledge_id=pledge, actor=BANK)
    released = uuid4()
    holder.pledge(pledge_id=released, bank=BANK, loan_reference="GL-2", quantity=50,
                  actor=HOLDERS[0])
    holder.release_pledge(pledge_id=released, actor=BANK)
    assert holder.available == SUPPLY - 300
    view = BatchView(batch, holdings.values())
    check_batch_supply(view)
    check_serial_coverage(view)
    replayed = _replayed(holder)
    assert (replayed.lots, replayed.pledges) == (holder.lots, holder.pledges)


def test_a_listing_on_a_holding_escrows_until_sold_or_cancelled() -> None:
    batch = _batch()
    holdings = _split(batch)
    seller = holdings[str(HOLDERS[0])]
    listing = uuid4()
    seller.escrow(listing_id=listing, listing_ref="L-1", exchange=EXCHANGE, quantity=500,
                  actor=EXCHANGE)
    assert seller.available == SUPPLY - 500
    buyer = Holding.open(batch.id, HOLDERS[1], block=batch.block)

    def settle(**changes: Any) -> list[list[int]]:
        terms: dict[str, Any] = dict(
            trade_id=uuid4(), trade_ref="T", listing_id=listing, seller=HOLDERS[0],
            buyer=HOLDERS[1], quantity=100, price_per_tonne="40", currency="CNY",
            actor=EXCHANGE)
        return seller.settle_trade(**{**terms, **changes})  # type: ignore[no-any-return]

    for refused, error in [
            (lambda: seller.escrow(listing_id=uuid4(), listing_ref="L-2", exchange=EXCHANGE,
                                   quantity=1, actor=HOLDERS[0]), PermissionDeniedError),
            (lambda: seller.escrow(listing_id=listing, listing_ref="L-1", exchange=EXCHANGE,
                                   quantity=1, actor=EXCHANGE), DuplicateRecordError),
            (lambda: settle(actor=BANK), PermissionDeniedError),
            (lambda: settle(listing_id=uuid4()), RecordNotFoundError),
            (lambda: settle(seller=HOLDERS[1]), ValidationError),
            (lambda: settle(buyer=HOLDERS[0]), ValidationError),
            (lambda: settle(quantity=501), InsufficientBalanceError),
            (lambda: settle(retirement=RETIREMENT), ValidationError),  # no retirement id
            (lambda: seller.cancel_listing(listing_id=listing, actor=BANK),
             PermissionDeniedError)]:
        with pytest.raises(error):
            refused()
    assert seller.lots[lot_key(LotState.ESCROWED, listing)] == [[1_000, 1_500]]
    buyer.receive(sender=HOLDERS[0], ranges=settle())
    retirement = uuid4()
    buyer.receive(sender=HOLDERS[0], retirement_id=retirement,
                  ranges=settle(retirement_id=retirement, retirement=RETIREMENT))
    with pytest.raises(DuplicateRecordError):
        buyer.receive(sender=HOLDERS[0], retirement_id=retirement, ranges=[[0, 1]])
    assert buyer.available == 100
    assert buyer.lots[lot_key(LotState.RETIRED, retirement)] == [[1_100, 1_200]]
    assert seller.cancel_listing(listing_id=listing, actor=EXCHANGE) == [[1_200, 1_500]]
    with pytest.raises(InvalidStateError, match="was cancelled"):
        settle()
    holdings[str(HOLDERS[1])] = buyer
    view = BatchView(batch, holdings.values())
    check_batch_supply(view)
    check_serial_coverage(view)
    assert view.retirements == {str(retirement): str(HOLDERS[1])}
    assert view.listings[str(listing)]["seller"] == str(HOLDERS[0])
    for holding in (seller, buyer):
        replayed = _replayed(holding)
        assert (replayed.lots, replayed.listings) == (holding.lots, holding.listings)


def test_a_holding_snapshot_taken_before_pledges_lived_there_is_upcast() -> None:
    """Version 1 of a holding's state had no pledges, version 2 no listings: a version 1
    snapshot reads as having none of either."""
    holding = Holding.open(uuid4(), HOLDERS[0], block="B", ranges=[[0, 10]])
    snapshot = Holding.Snapshot.take(holding)
    assert snapshot.state["class_version"] == 3
    v1 = Holding.Snapshot(originator_id=snapshot.originator_id,
                          originator_version=snapshot.originator_version,
                          timestamp=snapshot.timestamp, topic=snapshot.topic,
                          state={k: v for k, v in snapshot.state.items()
                                 if k not in ("pledges", "listings", "class_version")})
    restored = v1.mutate(None)
    assert restored.pledges == {} and restored.listings == {}
    assert restored.lots == holding.lots
    restored.pledge(pledge_id=uuid4(), bank=BANK, loan_reference="L", quantity=4,
                    actor=HOLDERS[0])
    assert restored.available == 6


# ---------------------------------------------------------------------------- property


class SplitBatchMachine(RuleBasedStateMachine):
    """Random commands on a split batch and its holdings, as the application runs them;
    after each: supply and serial coverage hold over the view, per-account totals equal a
    plain model, and refused commands change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.batch = _batch()
        _on_batch(self.batch, {}, lambda b: b.transfer(
            sender=HOLDERS[0], recipient=HOLDERS[1], quantity=1_000, actor=HOLDERS[0]))
        self.holdings = _split(self.batch)
        self.model: Counter[tuple[str, str]] = Counter({
            (str(HOLDERS[0]), "available"): SUPPLY - 1_000,
            (str(HOLDERS[1]), "available"): 1_000})
        self.pledges: list[tuple[UUID, str, int, bool]] = []  # (id, holder, g, on holding)
        self.listings: list[tuple[UUID, str]] = []  # open listings: (id, seller)

    def _attempt(self, command: Callable[[], Any]) -> bool:
        before = self._state()
        try:
            command()
        except LedgerError:
            # a refused command leaves nothing behind (the application discards the copies;
            # here the aggregates were changed only if the refusal came after an event)
            assert self._state() == before
            return False
        return True

    def _state(self) -> Any:
        return ({k: list(v) for k, v in self.batch.lots.items()},
                {a: {k: list(v) for k, v in h.lots.items()} for a, h in self.holdings.items()})

    def _holding(self, account: UUID) -> Holding:
        key = str(account)
        return self.holdings.get(key) or Holding.open(self.batch.id, account,
                                                      block=self.batch.block)

    @rule(sender=st.sampled_from(HOLDERS), recipient=st.sampled_from(HOLDERS),
          quantity=st.integers(1, 1_500))
    def transfer(self, sender: UUID, recipient: UUID, quantity: int) -> None:
        source, target = self._holding(sender), self._holding(recipient)

        def command() -> None:
            ranges = source.transfer(recipient=recipient, quantity=quantity, actor=sender)
            target.receive(sender=sender, ranges=ranges)
            self.holdings[str(sender)], self.holdings[str(recipient)] = source, target

        if self._attempt(command):
            self.model[(str(sender), "available")] -= quantity
            self.model[(str(recipient), "available")] += quantity

    @rule(holder=st.sampled_from(HOLDERS), quantity=st.integers(1, 800))
    def retire(self, holder: UUID, quantity: int) -> None:
        holding = self._holding(holder)

        def command() -> None:
            holding.retire(retirement_id=uuid4(), quantity=quantity, details=RETIREMENT,
                           actor=holder)
            self.holdings[str(holder)] = holding

        if self._attempt(command):
            self.model[(str(holder), "available")] -= quantity
            self.model[(str(holder), "retired")] += quantity

    @rule(holder=st.sampled_from(HOLDERS), quantity=st.integers(1, 800))
    def pledge(self, holder: UUID, quantity: int) -> None:
        """A pledge as the application makes it now: on the pledgor's holding."""
        holding, pledge = self._holding(holder), uuid4()

        def command() -> None:
            holding.pledge(pledge_id=pledge, bank=BANK, loan_reference="L",
                           quantity=quantity, actor=BANK)
            self.holdings[str(holder)] = holding

        if self._attempt(command):
            self.model[(str(holder), "available")] -= quantity
            self.model[(str(holder), "pledged")] += quantity
            self.pledges.append((pledge, str(holder), quantity, True))

    @rule(holder=st.sampled_from(HOLDERS), quantity=st.integers(1, 800))
    def pledge_on_batch(self, holder: UUID, quantity: int) -> None:
        """A pledge as a batch's own command (before pledges moved to holdings)."""
        pledge = uuid4()
        if self._attempt(lambda: _on_batch(self.batch, self.holdings, lambda b: b.pledge(
                pledge_id=pledge, holder=holder, bank=BANK, loan_reference="L",
                quantity=quantity, actor=BANK))):
            self.model[(str(holder), "available")] -= quantity
            self.model[(str(holder), "pledged")] += quantity
            self.pledges.append((pledge, str(holder), quantity, False))

    @rule(enforce=st.booleans(), data=st.data())
    def close_pledge(self, enforce: bool, data: st.DataObject) -> None:
        if not self.pledges:
            return
        pledge, holder, quantity, on_holding = self.pledges.pop(
            data.draw(st.integers(0, len(self.pledges) - 1)))
        if on_holding:
            holding = self.holdings[holder]
            if enforce:
                ranges = holding.enforce_pledge(pledge_id=pledge, actor=BANK)
                bank = self._holding(BANK)
                bank.receive(sender=holder, ranges=ranges)
                self.holdings[str(BANK)] = bank
            else:
                holding.release_pledge(pledge_id=pledge, actor=BANK)
            with pytest.raises(InvalidStateError):  # closed once
                holding.release_pledge(pledge_id=pledge, actor=BANK)
        else:
            close = self.batch.enforce_pledge if enforce else self.batch.release_pledge
            _on_batch(self.batch, self.holdings, lambda b: close(pledge_id=pledge, actor=BANK))
        self.model[(holder, "pledged")] -= quantity
        self.model[(str(BANK) if enforce else holder, "available")] += quantity

    @rule(seller=st.sampled_from(HOLDERS), quantity=st.integers(1, 800))
    def list_for_sale(self, seller: UUID, quantity: int) -> None:
        holding, listing = self._holding(seller), uuid4()

        def command() -> None:
            holding.escrow(listing_id=listing, listing_ref=f"L-{listing}", exchange=EXCHANGE,
                           quantity=quantity, actor=EXCHANGE)
            self.holdings[str(seller)] = holding

        if self._attempt(command):
            self.model[(str(seller), "available")] -= quantity
            self.model[(str(seller), "escrowed")] += quantity
            self.listings.append((listing, str(seller)))

    @rule(buyer=st.sampled_from(HOLDERS), quantity=st.integers(1, 500), retire=st.booleans(),
          data=st.data())
    def settle(self, buyer: UUID, quantity: int, retire: bool, data: st.DataObject) -> None:
        if not self.listings:
            return
        listing, seller = data.draw(st.sampled_from(self.listings))
        holding, target = self.holdings[seller], self._holding(buyer)
        retirement = uuid4() if retire else None

        def command() -> None:
            ranges = holding.settle_trade(
                trade_id=uuid4(), trade_ref="T", listing_id=listing, seller=UUID(seller),
                buyer=buyer, quantity=quantity, price_per_tonne="40", currency="CNY",
                actor=EXCHANGE, retirement_id=retirement,
                retirement=RETIREMENT if retire else None)
            target.receive(sender=seller, ranges=ranges, retirement_id=retirement)
            self.holdings[str(buyer)] = target

        if self._attempt(command):
            self.model[(seller, "escrowed")] -= quantity
            self.model[(str(buyer), "retired" if retire else "available")] += quantity

    @rule(data=st.data())
    def cancel_listing(self, data: st.DataObject) -> None:
        if not self.listings:
            return
        listing, seller = self.listings.pop(data.draw(st.integers(0, len(self.listings) - 1)))
        left = self.holdings[seller].cancel_listing(listing_id=listing, actor=EXCHANGE)
        self.model[(seller, "escrowed")] -= sum(e - s for s, e in left)
        self.model[(seller, "available")] += sum(e - s for s, e in left)
        with pytest.raises(InvalidStateError):  # cancelled once
            self.holdings[seller].cancel_listing(listing_id=listing, actor=EXCHANGE)

    @rule(holder=st.sampled_from(HOLDERS), quantity=st.integers(1, 800))
    def export(self, holder: UUID, quantity: int) -> None:
        if self._attempt(lambda: _on_batch(self.batch, self.holdings, lambda b: b.export(
                export_id=uuid4(), holder=holder, quantity=quantity, destination="CCER",
                actor=holder))):
            self.model[(str(holder), "available")] -= quantity
            self.model[(str(holder), "exported")] += quantity

    @invariant()
    def invariants_hold_across_the_batch_and_its_holdings(self) -> None:
        view = BatchView(self.batch, self.holdings.values())
        check_batch_supply(view)
        check_serial_coverage(view)
        totals: Counter[tuple[str, str]] = Counter()
        for key, ranges in view.lots.items():
            state = key.partition("/")[0]
            totals[(view.owner_of_lot(key), state)] += sum(e - s for s, e in ranges)
        assert +totals == +self.model
        assert not [k for k in self.batch.lots if k.startswith("available/")]


SplitBatchMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestSplitBatch = SplitBatchMachine.TestCase
