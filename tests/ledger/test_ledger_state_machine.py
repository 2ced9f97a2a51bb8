"""Random accepted commands never wedge the read models (issue 15).

A hypothesis state machine drives the :class:`~ledger.application.Ledger` with the commands
that once made the projector fail forever on an accepted event, mixed with the ordinary ones:
several batches (issued from behaviours and imported), two exchanges and several registries,
listings with reused refs, imports with colliding labels, long names and serials near 2**63,
huge and implausible amounts, behaviours, transfers, retirements (some counted toward a
neutrality claim), pledges, cancellations. A refused command (a :class:`LedgerError`) is
fine; after every step the projector brings the read models up to date, and any event it
cannot apply fails the run. The read models are compared with the aggregates after every
step (supply, serials, balances: ``check_ledger``) and the points of each person with the
behaviours the ledger accepted.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger.application import BehaviourReport, TradeInstruction
from ledger.checks import check_ledger
from ledger.domain.errors import LedgerError
from ledger.domain.ids import individual_account_id
from ledger.domain.quantities import MAX_GRAMS
from ledger.runtime import LedgerRuntime
from tests.conftest import isolated_settings
from tests.ledger.projections.scenario import EV, make_cast

BIG = ("BIG-FREIGHT", "1")  # 10**12 g per t: a few behaviours reach 2**63
TIGHT = ("WH-METRO", "1")  # at most 80 km a ride
PEOPLE = ["ada", "bo", "chen"]
REFS = ["L-1", "L-2", " L-1", "l-1"]
REGISTRIES = ["X", "X:Y", "HBCER", "HB", "CDCER", "R" * 64, "R" * 65, "  "]
BLOCKS = ["Y:Z", "Z", "HBCER-2024-000001", "HBCER-2024-000002", "B", "B#2", "B" * 57,
          "B" * 122, "B" * 200, "Ω-区块"]
AMOUNTS = st.sampled_from(["12.5", "80", "80.000001", "4000000", "10000000", "10000000.5",
                           "999999999999999.999999", "0.000001", "9223372"])
QUANTITIES = st.one_of(st.integers(min_value=1, max_value=50),
                       st.sampled_from([10**6, MAX_GRAMS // 2 + 1, MAX_GRAMS, MAX_GRAMS + 1]))
SERIALS = st.sampled_from([0, 10, 20, 1_000, MAX_GRAMS // 2, MAX_GRAMS - 10, MAX_GRAMS,
                           MAX_GRAMS + 1])
HOLDER = st.integers(0, 10_000)  # an index into the holders so far, modulo their number
RETIRE: dict[str, Any] = {"beneficiary": "B", "purpose": "voluntary", "jurisdiction": "CN",
                          "consumption_period": "2025"}


class LedgerMachine(RuleBasedStateMachine):
    batches = Bundle("batches")

    def __init__(self) -> None:
        super().__init__()
        self.stack = ExitStack()
        data_dir = Path(self.stack.enter_context(tempfile.TemporaryDirectory()))
        fresh = self.stack.enter_context(isolated_settings(data_dir / "ledger"))
        self.runtime = self.stack.enter_context(LedgerRuntime(fresh))
        self.ledger = self.runtime.ledger
        self.accepted: dict[str, int] = {}  # points of each person, by accepted behaviour
        self.acts = 0
        self.days = 0

    def teardown(self) -> None:
        self.stack.close()

    @initialize(target=batches)
    def cast_of_participants(self) -> Any:
        ledger = self.ledger
        self.cast = cast = make_cast(ledger)
        self.exchanges = [cast.exchange, ledger.register_participant(
            kind="exchange", name="Other exchange", registered_by=cast.operator)]
        self.holders = [cast.platform, *cast.holders]
        ledger.publish_methodology(actor=cast.operator, code=BIG[0], version=BIG[1],
                                   region="Wuhan", scene="freight", activity_unit="t",
                                   factor_g_per_unit="1000000000000",
                                   valid_from="2024-01-01")
        ledger.publish_methodology(actor=cast.operator, code=TIGHT[0], version=TIGHT[1],
                                   region="Wuhan", scene="metro", activity_unit="km",
                                   factor_g_per_unit="71.2", valid_from="2024-01-01",
                                   max_activity="80")
        self.claim = ledger.register_claim(actor=cast.holders[0], event_name="Games",
                                           footprint_g=MAX_GRAMS)
        return self._issue(count=3)

    # ------------------------------------------------------------------ helpers

    def _holder(self, index: int) -> UUID:
        return self.holders[index % len(self.holders)]

    def _refused(self, command: Any) -> Any:
        try:
            return command()
        except LedgerError:
            return None

    def _issue(self, count: int) -> UUID | None:
        """Report ``count`` sessions on a new day and issue them as a batch."""
        self.days += 1
        day = f"2024-{1 + self.days // 28:02d}-{1 + self.days % 28:02d}"
        self._report([("ada", "12.5", EV)] * count, day)
        cast, ledger = self.cast, self.ledger

        def issue() -> UUID:
            request = ledger.request_issuance(
                platform=cast.platform, methodology_id=cast.methodology,
                period_start=f"{day}T00:00:00Z", period_end=f"{day}T23:59:59Z")
            ledger.attest_request(actor=cast.verifier, request_id=request, statement="ok")
            return ledger.issue_batch(actor=cast.operator, request_id=request,
                                      registry="HBCER")

        return self._refused(issue)

    def _report(self, items: list[tuple[str, str, tuple[str, str]]], day: str) -> None:
        reports = []
        for person, amount, methodology in items:
            self.acts += 1
            reports.append(BehaviourReport(
                person=person, methodology_code=methodology[0],
                methodology_version=methodology[1], act_identity=f"act:{self.acts}",
                activity_amount=amount, occurred_at=f"{day}T08:00:00Z",
                platform_ref=f"ref-{self.acts}"))
        results = self.ledger.report_behaviours(platform=self.cast.platform, reports=reports)
        for report, result in zip(reports, results, strict=True):
            if result.accepted:
                self.accepted[report.person] = (self.accepted.get(report.person, 0)
                                                + result.reduction_g)

    # ------------------------------------------------------------------ rules

    @rule(target=batches, count=st.integers(min_value=1, max_value=3))
    def issue_batch(self, count: int) -> Any:
        return self._issue(count)

    @rule(target=batches, registry=st.sampled_from(REGISTRIES), block=st.sampled_from(BLOCKS),
          start=SERIALS, size=QUANTITIES, holder=HOLDER)
    def import_batch(self, registry: str, block: str, start: int, size: int,
                     holder: int) -> Any:
        return self._refused(lambda: self.ledger.import_batch(
            actor=self.cast.operator, external_registry=registry, external_block=block,
            serial_start=start, serial_end=start + size, holder=self._holder(holder),
            methodology_id=self.cast.methodology, vintage=2024, region="Chengdu",
            project_type="imported"))

    @rule(items=st.lists(st.tuples(st.sampled_from(PEOPLE), AMOUNTS,
                                   st.sampled_from([EV, BIG, TIGHT])), min_size=1, max_size=4))
    def report_behaviours(self, items: list[tuple[str, str, tuple[str, str]]]) -> None:
        self._report(items, "2025-06-01")

    @rule(batch=batches, sender=HOLDER, recipient=HOLDER,
          quantity=QUANTITIES)
    def transfer(self, batch: UUID | None, sender: int, recipient: int, quantity: int) -> None:
        if batch is not None:
            self._refused(lambda: self.ledger.transfer(
                actor=self._holder(sender), batch_id=batch,
                recipient=self._holder(recipient), quantity=quantity))

    @rule(batch=batches, giver=HOLDER, count=st.integers(1, 120))
    def hand_out(self, batch: UUID | None, giver: int, count: int) -> None:
        """One holder gives 1 g to each of ``count`` new holders: batches of many holders
        (issue #17), whose copies and snapshots the invariants then check."""
        sender = self._holder(giver)
        for _ in range(count):
            holder = self.ledger.register_participant(
                kind="enterprise", name=f"Holder {len(self.holders)}",
                registered_by=self.cast.operator)
            self.holders.append(holder)
            if batch is None or not self._refused(lambda holder=holder: self.ledger.transfer(
                    actor=sender, batch_id=batch, recipient=holder, quantity=1)):
                break  # the giver has run out (or there is no batch)

    @rule(batch=batches, exchange=st.integers(0, 1), seller=HOLDER,
          ref=st.sampled_from(REFS), quantity=QUANTITIES)
    def list_for_sale(self, batch: UUID | None, exchange: int, seller: int, ref: str,
                      quantity: int) -> None:
        if batch is not None:
            self._refused(lambda: self.ledger.list_for_sale(
                actor=self.exchanges[exchange], batch_id=batch, seller=self._holder(seller),
                listing_ref=ref, quantity=quantity))

    @rule(batch=batches, exchange=st.integers(0, 1), ref=st.sampled_from(REFS))
    def cancel_listing(self, batch: UUID | None, exchange: int, ref: str) -> None:
        if batch is not None:
            self._refused(lambda: self.ledger.cancel_listing(
                actor=self.exchanges[exchange], batch_id=batch, listing_ref=ref))

    @rule(batch=batches, exchange=st.integers(0, 1), ref=st.sampled_from(REFS),
          seller=HOLDER, buyer=HOLDER, quantity=QUANTITIES,
          trade=st.integers(0, 5), retire=st.booleans())
    def settle_trade(self, batch: UUID | None, exchange: int, ref: str, seller: int,
                     buyer: int, quantity: int, trade: int, retire: bool) -> None:
        if batch is None:
            return
        instruction = TradeInstruction(
            trade_ref=f"T-{trade}", listing_ref=ref, batch_id=batch,
            seller=self._holder(seller), buyer=self._holder(buyer), quantity=quantity,
            price_per_tonne="50", currency="CNY",
            retire_on_delivery={**RETIRE, "details": {"claim_id": str(self.claim)}}
            if retire else None)
        self._refused(lambda: self.ledger.settle_trade(actor=self.exchanges[exchange],
                                                       trade=instruction))

    @rule(batch=batches, holder=HOLDER, quantity=QUANTITIES, counted=st.booleans())
    def retire(self, batch: UUID | None, holder: int, quantity: int, counted: bool) -> None:
        if batch is not None:
            details = {"claim_id": str(self.claim)} if counted else {}
            self._refused(lambda: self.ledger.retire(
                actor=self._holder(holder), batch_id=batch, quantity=quantity,
                **{**RETIRE, "details": details}))

    @rule(batch=batches, holder=HOLDER, quantity=QUANTITIES, release=st.booleans())
    def pledge(self, batch: UUID | None, holder: int, quantity: int, release: bool) -> None:
        if batch is None:
            return
        pledge = self._refused(lambda: self.ledger.pledge(
            actor=self._holder(holder), batch_id=batch, holder=self._holder(holder),
            bank=self.cast.bank, loan_reference="loan", quantity=quantity))
        if pledge is not None:
            command = self.ledger.release_pledge if release else self.ledger.enforce_pledge
            self._refused(lambda: command(actor=self.cast.bank, batch_id=batch,
                                          pledge_id=pledge))

    @rule(batch=batches, holder=HOLDER, quantity=QUANTITIES)
    def cancel(self, batch: UUID | None, holder: int, quantity: int) -> None:
        if batch is not None:
            self._refused(lambda: self.ledger.cancel(
                actor=self.cast.operator, batch_id=batch, holder=self._holder(holder),
                quantity=quantity, reason="buffer"))

    @rule(points=QUANTITIES)
    def donate(self, points: int) -> None:
        person = self._refused(lambda: self.ledger.register_participant(
            kind="individual", name="ada", pseudonym="ada", registered_by=self.cast.operator))
        account = person or individual_account_id("ada")
        self._refused(lambda: self.ledger.donate_points(actor=account, points=points,
                                                        claim_id=self.claim))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def read_models_follow(self) -> None:
        if not hasattr(self, "cast"):
            return
        self.runtime.sync()  # raises ProjectionStuckError: a failure of the run
        assert self.runtime.projection_failure is None
        assert self.runtime.projector.lag() == 0
        report = check_ledger(self.runtime)
        assert report.ok, report.problems
        for person, points in self.accepted.items():
            earned = self.runtime.views.carbon_account(individual_account_id(person))
            assert earned["earned"] == points <= MAX_GRAMS


def test_random_accepted_commands_never_wedge_the_read_models() -> None:
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=6, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
