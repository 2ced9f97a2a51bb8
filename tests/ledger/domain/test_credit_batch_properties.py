"""Property-based tests of CreditBatch: random command sequences against a simple model.

After every step the supply invariants hold, the per-(account, state) totals of the
aggregate equal those of a plain-dict model, the collected events replay into an identical
aggregate, and the events survive a JSON round trip through an eventsourcing application
(POPO persistence, the same mapper and transcoder the ledger uses for SQLite).
"""

import copy
from collections import Counter
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ledger.application import Ledger
from ledger.domain.credit_batch import CreditBatch, LotState, split_lot_key
from ledger.domain.errors import (
    InsufficientBalanceError,
    InvalidStateError,
    LedgerError,
    PermissionDeniedError,
    ValidationError,
)
from ledger.domain.invariants import check_batch_supply, check_serial_coverage

OPERATOR = UUID("10000000-0000-4000-8000-000000000000")
HOLDERS = [UUID(f"20000000-0000-4000-8000-00000000000{i}") for i in range(4)]
BANKS = [UUID(f"30000000-0000-4000-8000-00000000000{i}") for i in range(2)]
EXCHANGE = UUID("40000000-0000-4000-8000-000000000000")
ACCOUNTS = [*HOLDERS, *BANKS, EXCHANGE]
SUPPLY = 10_000
RETIREMENT = {"beneficiary": "Hubei emitter", "purpose": "compliance_offset",
              "jurisdiction": "Hubei", "consumption_period": "2023",
              "details": {"compliance_period": "2023"}}

accounts = st.sampled_from(ACCOUNTS)
holders = st.sampled_from(HOLDERS)
banks = st.sampled_from(BANKS)


def _is_range_pair(obj: object) -> bool:
    return isinstance(obj, list) and len(obj) == 2 and all(type(x) is int for x in obj)


def _shared_containers(a: object, b: object, path: str) -> list[tuple[str, object]]:
    """Mutable containers that two copies share (``a is b``), with where they sit."""
    if not isinstance(a, dict | list):
        return []
    if a is b:
        return [(path, a)]
    if isinstance(a, dict):
        return [hit for key in a for hit in _shared_containers(a[key], b[key], f"{path}.{key}")]
    return [hit for i, (x, y) in enumerate(zip(a, b, strict=True))
            for hit in _shared_containers(x, y, f"{path}[{i}]")]


class CreditBatchMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.app = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.model: Counter[tuple[str, str]] = Counter()
        self.listings: list[tuple[UUID, UUID]] = []  # (listing id, seller)
        self.pledges: list[tuple[UUID, UUID, UUID]] = []  # (pledge id, holder, bank)
        self.locks: list[tuple[UUID, UUID]] = []  # (lock id, holder)
        self.replica: CreditBatch | None = None
        self.snapshots_seen = 0

    # ------------------------------------------------------------------ helpers

    def move(self, owner_from: UUID, state_from: LotState, owner_to: UUID,
             state_to: LotState, quantity: int) -> None:
        self.model[(str(owner_from), state_from.value)] -= quantity
        self.model[(str(owner_to), state_to.value)] += quantity

    def held(self, owner: UUID, state: LotState = LotState.AVAILABLE) -> int:
        return self.model[(str(owner), state.value)]

    def draw_owner(self, data: st.DataObject, candidates: list[UUID]) -> UUID:
        """Usually an account that has available credits, sometimes any account."""
        funded = [a for a in candidates if self.held(a) > 0]
        if funded and data.draw(st.integers(0, 4), label="prefer funded") > 0:
            return data.draw(st.sampled_from(funded), label="owner")
        return data.draw(st.sampled_from(candidates), label="owner")

    @staticmethod
    def draw_quantity(data: st.DataObject, held: int) -> int:
        """Mostly at most what is held, sometimes more than anybody holds."""
        return data.draw(st.one_of(st.integers(1, max(1, held)), st.integers(1, SUPPLY + 100)),
                         label="quantity")

    def draw_listing(self, data: st.DataObject) -> tuple[UUID, UUID]:
        open_ = [x for x in self.listings if self.batch.listings[str(x[0])]["open"]]
        if open_ and data.draw(st.integers(0, 4), label="prefer open") > 0:
            return data.draw(st.sampled_from(open_), label="listing")
        return data.draw(st.sampled_from(self.listings), label="listing")

    def rejected(self, error: type[LedgerError], command, **expected_details) -> None:
        """The command must fail with ``error`` and leave the aggregate untouched."""
        before = (copy.deepcopy(self.batch.lots), self.batch.version)
        with pytest.raises(error) as raised:
            command()
        assert (self.batch.lots, self.batch.version) == before
        for key, value in expected_details.items():
            assert raised.value.details[key] == value

    def available_command(self, quantity: int, owner: UUID, command, state_to: LotState,
                          owner_to: UUID | None = None) -> None:
        """A command that takes ``quantity`` from ``owner``'s available lot."""
        available = self.held(owner)
        if quantity > available:
            self.rejected(InsufficientBalanceError, command, requested=quantity,
                          available=available, state="available")
            return
        ranges = command()
        assert sum(end - start for start, end in ranges) == quantity
        self.move(owner, LotState.AVAILABLE, owner_to or owner, state_to, quantity)

    # ------------------------------------------------------------------ rules

    @initialize(holder=holders)
    def issue(self, holder: UUID) -> None:
        self.batch = CreditBatch.issue(
            uuid4(), block="HBCER-2024-000001", registry="HBCER", vintage=2024,
            methodology=uuid4(), methodology_label="WH-EV-CHARGING v1", region="Wuhan",
            project_type="behaviour", quantity=SUPPLY, holder=holder, source={},
            behaviours_root=None, actor=OPERATOR, serial_start=1_000)
        self.model[(str(holder), "available")] = SUPPLY

    @rule(data=st.data(), recipient=accounts)
    def transfer(self, data: st.DataObject, recipient: UUID) -> None:
        sender = self.draw_owner(data, ACCOUNTS)
        quantity = self.draw_quantity(data, self.held(sender))

        def command():
            return self.batch.transfer(sender=sender, recipient=recipient, quantity=quantity,
                                       actor=sender)

        if sender == recipient:
            self.rejected(ValidationError, command, field="recipient")
            return
        self.available_command(quantity, sender, command, LotState.AVAILABLE, recipient)

    @rule(data=st.data())
    def escrow(self, data: st.DataObject) -> None:
        seller = self.draw_owner(data, ACCOUNTS)
        quantity = self.draw_quantity(data, self.held(seller))
        listing_id = uuid4()
        self.available_command(quantity, seller, lambda: self.batch.escrow(
            listing_id=listing_id, listing_ref=f"L-{listing_id.hex[:6]}", exchange=EXCHANGE,
            seller=seller, quantity=quantity, actor=EXCHANGE), LotState.ESCROWED)
        if str(listing_id) in self.batch.listings:
            self.listings.append((listing_id, seller))

    @precondition(lambda self: self.listings)
    @rule(data=st.data())
    def cancel_listing(self, data: st.DataObject) -> None:
        listing_id, seller = self.draw_listing(data)

        def command():
            return self.batch.cancel_listing(listing_id=listing_id, actor=EXCHANGE)

        if not self.batch.listings[str(listing_id)]["open"]:
            self.rejected(InvalidStateError, command, listing=str(listing_id))
            return
        escrowed = self.batch.held(LotState.ESCROWED, listing_id)
        ranges = command()
        assert sum(end - start for start, end in ranges) == escrowed
        self.move(seller, LotState.ESCROWED, seller, LotState.AVAILABLE, escrowed)

    @precondition(lambda self: self.listings)
    @rule(data=st.data(), buyer=accounts, retire=st.booleans())
    def settle_trade(self, data: st.DataObject, buyer: UUID, retire: bool) -> None:
        listing_id, seller = self.draw_listing(data)
        escrowed = self.batch.held(LotState.ESCROWED, listing_id)
        quantity = self.draw_quantity(data, escrowed)
        retirement_id = uuid4() if retire else None

        def command():
            return self.batch.settle_trade(
                trade_id=uuid4(), trade_ref="T", listing_id=listing_id, seller=seller,
                buyer=buyer, quantity=quantity, price_per_tonne="34", currency="CNY",
                actor=EXCHANGE, retirement_id=retirement_id,
                retirement=RETIREMENT if retire else None)

        if not self.batch.listings[str(listing_id)]["open"]:
            self.rejected(InvalidStateError, command, listing=str(listing_id))
        elif buyer == seller:
            self.rejected(ValidationError, command, field="buyer")
        elif quantity > escrowed:
            self.rejected(InsufficientBalanceError, command, state="escrowed",
                          available=escrowed, requested=quantity)
        else:
            ranges = command()
            assert sum(end - start for start, end in ranges) == quantity
            target = LotState.RETIRED if retire else LotState.AVAILABLE
            self.move(seller, LotState.ESCROWED, buyer, target, quantity)
            if retire:
                assert self.batch.held(LotState.RETIRED, retirement_id) == quantity

    @rule(data=st.data(), bank=banks, by_bank=st.booleans())
    def pledge(self, data: st.DataObject, bank: UUID, by_bank: bool) -> None:
        holder = self.draw_owner(data, HOLDERS)
        quantity = self.draw_quantity(data, self.held(holder))
        pledge_id = uuid4()
        self.available_command(quantity, holder, lambda: self.batch.pledge(
            pledge_id=pledge_id, holder=holder, bank=bank, loan_reference="LOAN-1",
            quantity=quantity, actor=bank if by_bank else holder), LotState.PLEDGED)
        if str(pledge_id) in self.batch.pledges:
            self.pledges.append((pledge_id, holder, bank))

    def _settle_pledge(self, data: st.DataObject, enforce: bool) -> None:
        active = [p for p in self.pledges if self.batch.pledges[str(p[0])]["status"] == "active"]
        choices = active if active and data.draw(st.booleans(), label="prefer active") else (
            self.pledges)
        pledge_id, holder, bank = data.draw(st.sampled_from(choices), label="pledge")
        # usually the pledgee bank, sometimes the other bank or the pledgor
        actor = data.draw(st.sampled_from([bank, bank, bank, *BANKS, holder]), label="actor")
        method = self.batch.enforce_pledge if enforce else self.batch.release_pledge

        def command():
            return method(pledge_id=pledge_id, actor=actor)

        if actor != bank:
            self.rejected(PermissionDeniedError, command, pledge=str(pledge_id))
        elif self.batch.pledges[str(pledge_id)]["status"] != "active":
            self.rejected(InvalidStateError, command, pledge=str(pledge_id))
        else:
            quantity = self.batch.held(LotState.PLEDGED, pledge_id)
            assert 0 < quantity <= self.held(holder, LotState.PLEDGED)
            command()
            self.move(holder, LotState.PLEDGED, bank if enforce else holder,
                      LotState.AVAILABLE, quantity)

    @precondition(lambda self: self.pledges)
    @rule(data=st.data())
    def release_pledge(self, data: st.DataObject) -> None:
        self._settle_pledge(data, enforce=False)

    @precondition(lambda self: self.pledges)
    @rule(data=st.data())
    def enforce_pledge(self, data: st.DataObject) -> None:
        self._settle_pledge(data, enforce=True)

    @rule(data=st.data())
    def retire(self, data: st.DataObject) -> None:
        holder = self.draw_owner(data, ACCOUNTS)
        quantity = self.draw_quantity(data, self.held(holder))
        self.available_command(quantity, holder, lambda: self.batch.retire(
            retirement_id=uuid4(), holder=holder, quantity=quantity, details=RETIREMENT,
            actor=holder), LotState.RETIRED)

    @rule(data=st.data())
    def lock_for_tokens(self, data: st.DataObject) -> None:
        holder = self.draw_owner(data, ACCOUNTS)
        quantity = self.draw_quantity(data, self.held(holder))
        lock_id = uuid4()
        self.available_command(quantity, holder, lambda: self.batch.lock_for_tokens(
            lock_id=lock_id, holder=holder, quantity=quantity, chain_address="0xpool",
            actor=holder), LotState.TOKENISED)
        if str(lock_id) in self.batch.locks:
            self.locks.append((lock_id, holder))

    @precondition(lambda self: self.locks)
    @rule(data=st.data(), recipient=accounts)
    def unlock_tokens(self, data: st.DataObject, recipient: UUID) -> None:
        lock_id, holder = data.draw(st.sampled_from(self.locks), label="lock")
        locked = self.batch.held(LotState.TOKENISED, lock_id)
        quantity = self.draw_quantity(data, locked)

        def command():
            return self.batch.unlock_tokens(lock_id=lock_id, recipient=recipient,
                                            quantity=quantity, chain_reference="0xburn",
                                            actor=OPERATOR)

        if quantity > locked:
            self.rejected(InsufficientBalanceError, command, state="tokenised",
                          available=locked, requested=quantity)
            return
        command()
        self.move(holder, LotState.TOKENISED, recipient, LotState.AVAILABLE, quantity)

    @rule(data=st.data())
    def export(self, data: st.DataObject) -> None:
        holder = self.draw_owner(data, ACCOUNTS)
        quantity = self.draw_quantity(data, self.held(holder))
        self.available_command(quantity, holder, lambda: self.batch.export(
            export_id=uuid4(), holder=holder, quantity=quantity, destination="CCER",
            actor=holder), LotState.EXPORTED)

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        holder = self.draw_owner(data, ACCOUNTS)
        quantity = self.draw_quantity(data, self.held(holder))
        self.available_command(quantity, holder, lambda: self.batch.cancel(
            cancellation_id=uuid4(), holder=holder, quantity=quantity, reason="buffer",
            actor=OPERATOR), LotState.CANCELLED)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def supply_is_conserved_and_serials_cover_the_block(self) -> None:
        check_batch_supply(self.batch)
        check_serial_coverage(self.batch)
        assert self.batch.totals_by_state()["available"] + sum(
            q for (_, state), q in self.model.items() if state != "available"
        ) == SUPPLY

    @invariant()
    def lots_agree_with_the_model(self) -> None:
        actual: Counter[tuple[str, str]] = Counter()
        for key, ranges in self.batch.lots.items():
            state, _ = split_lot_key(key)
            actual[(self.batch.owner_of_lot(key), state.value)] += sum(e - s for s, e in ranges)
        assert +actual == +self.model  # unary plus drops zero entries
        assert all(q >= 0 for q in self.model.values())

    @invariant()
    def a_copy_shares_no_container_but_the_never_mutated_range_pairs(self) -> None:
        copied = copy.deepcopy(self.batch)
        assert vars(copied) == vars(self.batch)
        shared = _shared_containers(vars(copied), vars(self.batch), "batch")
        assert all(_is_range_pair(obj) for path, obj in shared), shared

    @invariant()
    def history_replays_and_survives_json(self) -> None:
        recordings = self.app.save(self.batch)
        events = [recording.domain_event for recording in recordings]
        for domain_event in events:
            self.replica = domain_event.mutate(self.replica)
        assert self.replica.version == self.batch.version
        assert self.replica.lots == self.batch.lots
        for name in ("listings", "pledges", "retirements", "locks", "exports",
                     "cancellations", "trades"):
            assert getattr(self.replica, name) == getattr(self.batch, name), name
        reloaded = self.app.repository.get(self.batch.id)
        assert reloaded.version == self.batch.version
        assert reloaded.lots == self.batch.lots
        assert reloaded.pledges == self.batch.pledges
        assert reloaded.listings == self.batch.listings


CreditBatchMachine.TestCase.settings = settings(
    max_examples=80, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCreditBatchMachine = CreditBatchMachine.TestCase
