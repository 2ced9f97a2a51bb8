"""The Ledger application on a real SQLite file: roles, bulk reporting, issuance, trading,
retirement, pledges, imports, points and persistence across restarts."""

import random
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from anchoring.merkle import leaf_hash, root_from_leaf_hashes
from ledger.application import BehaviourReport, Ledger, TradeInstruction
from ledger.domain.credit_batch import LotState
from ledger.domain.errors import (
    BatchNotFoundError,
    ConflictError,
    DuplicateBehaviourError,
    DuplicateRecordError,
    InsufficientBalanceError,
    InvalidStateError,
    MethodologyNotFoundError,
    OverlappingImportError,
    ParticipantNotFoundError,
    PeriodClosedError,
    PermissionDeniedError,
    RecordNotFoundError,
    TradeConflictError,
    ValidationError,
)
from ledger.domain.ids import individual_account_id
from ledger.domain.invariants import check_batch_supply, check_serial_coverage
from ledger.domain.neutrality_claim import NeutralityClaim
from ledger.domain.quantities import parse_quantity
from tests.ledger.conftest import EV, SHA, TONNE, FakeQueries, World, build_world, sqlite_env

WGC_FOOTPRINT = parse_quantity("4,544.76 t")


def event_retirement(claim: UUID | None = None, event: str = "World Gas Conference 2025"):
    details = {"event": event}
    if claim is not None:
        details["claim_id"] = str(claim)
    return {"beneficiary": "World Gas Conference organiser", "purpose": "event_neutrality",
            "jurisdiction": "Beijing", "consumption_period": "2025", "details": details}


def attested_request(world: World, start: str = "2024-09-01", end: str = "2024-10-01") -> UUID:
    request = world.ledger.request_issuance(platform=world.ev_app, methodology_id=world.ev,
                                            period_start=start, period_end=end)
    world.ledger.attest_request(actor=world.verifier, request_id=request,
                                statement="sampled 5 % of sessions against charger logs")
    return request


# ---------------------------------------------------------------------------- roles


def test_platform_and_verifier_cannot_issue(world):
    world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:15:00+08:00")])
    request = attested_request(world)
    for actor in (world.ev_app, world.verifier):
        with pytest.raises(PermissionDeniedError) as raised:
            world.ledger.issue_batch(actor=actor, request_id=request, registry="HBCER")
        assert raised.value.details == {"participant": str(actor), "role": "issuer"}
    assert world.ledger.request(request).status == "attested"


def test_platform_cannot_attest_and_verifier_cannot_report(world):
    world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:15:00+08:00")])
    request = world.ledger.request_issuance(platform=world.ev_app, methodology_id=world.ev,
                                            period_start="2024-09-01", period_end="2024-10-01")
    with pytest.raises(PermissionDeniedError) as raised:
        world.ledger.attest_request(actor=world.ev_app, request_id=request, statement="ok")
    assert raised.value.details["role"] == "verifier"
    with pytest.raises(PermissionDeniedError):
        world.ledger.report_behaviours(platform=world.verifier, reports=[
            world.charge("p-1", "10", "2024-09-04T08:15:00+08:00")])


def test_enterprise_cannot_list_or_settle(world):
    batch = world.project_batch(quantity=100 * TONNE)
    with pytest.raises(PermissionDeniedError) as raised:
        world.ledger.list_for_sale(actor=world.emitter, batch_id=batch, seller=world.emitter,
                                   listing_ref="L-1", quantity=TONNE)
    assert raised.value.details["role"] == "settler"
    trade = TradeInstruction(trade_ref="T-1", listing_ref="L-1", batch_id=batch,
                             seller=world.emitter, buyer=world.organiser, quantity=TONNE,
                             price_per_tonne="34", currency="CNY")
    with pytest.raises(PermissionDeniedError):
        world.ledger.settle_trades(actor=world.emitter, trades=[trade])
    assert world.ledger.batch_view(batch).available(world.emitter) == 100 * TONNE


def test_only_the_pledgee_bank_can_release_its_pledge(world):
    batch = world.project_batch(quantity=100 * TONNE)
    world.ledger.grant_mandate(actor=world.emitter, agent=world.bank, scope="pledge")
    pledge = world.ledger.pledge(actor=world.bank, batch_id=batch, holder=world.emitter,
                                 bank=world.bank, loan_reference="LOAN-7", quantity=60 * TONNE)
    with pytest.raises(PermissionDeniedError) as raised:
        world.ledger.release_pledge(actor=world.other_bank, batch_id=batch, pledge_id=pledge)
    assert raised.value.details == {"pledge": str(pledge), "actor": str(world.other_bank)}
    with pytest.raises(PermissionDeniedError) as raised:  # the pledgor is no lender
        world.ledger.release_pledge(actor=world.emitter, batch_id=batch, pledge_id=pledge)
    assert raised.value.details["role"] == "lender"
    # pledged credits are locked for the whole loan
    with pytest.raises(InsufficientBalanceError):
        world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                              quantity=40 * TONNE + 1)
    assert world.ledger.batch_view(batch).held(LotState.PLEDGED, pledge) == 60 * TONNE

    assert world.ledger.release_pledge(actor=world.bank, batch_id=batch,
                                       pledge_id=pledge) == [[1, 60 * TONNE + 1]]
    assert world.ledger.batch_view(batch).available(world.emitter) == 100 * TONNE
    with pytest.raises(InvalidStateError):
        world.ledger.enforce_pledge(actor=world.bank, batch_id=batch, pledge_id=pledge)


def test_enforced_pledge_moves_the_collateral_to_the_bank(world):
    batch = world.project_batch(quantity=100 * TONNE)
    pledge = world.ledger.pledge(actor=world.emitter, batch_id=batch, holder=world.emitter,
                                 bank=world.bank, loan_reference="LOAN-8", quantity=30 * TONNE)
    world.ledger.enforce_pledge(actor=world.bank, batch_id=batch, pledge_id=pledge)
    loaded = world.ledger.batch_view(batch)
    assert loaded.available(world.bank) == 30 * TONNE
    assert loaded.available(world.emitter) == 70 * TONNE


def test_pledge_must_name_a_bank(world):
    batch = world.project_batch(quantity=100 * TONNE)
    with pytest.raises(PermissionDeniedError) as raised:
        world.ledger.pledge(actor=world.emitter, batch_id=batch, holder=world.emitter,
                            bank=world.organiser, loan_reference="LOAN-9", quantity=TONNE)
    assert raised.value.details == {"participant": str(world.organiser), "role": "lender"}


def test_suspended_participant_is_refused_until_reinstated(world):
    batch = world.project_batch(quantity=100 * TONNE)
    world.ledger.suspend_participant(actor=world.operator, participant_id=world.emitter,
                                     reason="court order")
    with pytest.raises(PermissionDeniedError) as raised:
        world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                              quantity=TONNE)
    assert raised.value.details == {"participant": str(world.emitter)}
    with pytest.raises(PermissionDeniedError):
        world.ledger.retire(actor=world.emitter, batch_id=batch, quantity=TONNE,
                            **event_retirement())
    assert world.ledger.batch_view(batch).available(world.emitter) == 100 * TONNE
    world.ledger.reinstate_participant(actor=world.operator, participant_id=world.emitter)
    world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                          quantity=TONNE)
    assert world.ledger.batch_view(batch).available(world.organiser) == TONNE


def test_suspended_platform_cannot_report(world):
    world.ledger.suspend_participant(actor=world.operator, participant_id=world.pay_app,
                                     reason="data quality")
    with pytest.raises(PermissionDeniedError):
        world.report(world.pay_app, [world.charge("p-1", "1", "2024-09-03T00:00:00Z")])


def test_only_an_issuer_manages_participants(world):
    with pytest.raises(PermissionDeniedError):
        world.ledger.suspend_participant(actor=world.bank, participant_id=world.emitter,
                                         reason="x")
    with pytest.raises(PermissionDeniedError):
        world.ledger.register_participant(kind="bank", name="rogue", registered_by=world.bank)
    assert not world.ledger.participant(world.emitter).suspended


def test_unknown_participant_is_reported_as_not_found(world):
    batch = world.project_batch(quantity=10 * TONNE)
    stranger = uuid4()
    with pytest.raises(ParticipantNotFoundError) as raised:
        world.ledger.transfer(actor=stranger, batch_id=batch, recipient=world.organiser,
                              quantity=1)
    assert raised.value.code == "unknown-participant"
    assert raised.value.details == {"id": str(stranger)}
    with pytest.raises(ParticipantNotFoundError):
        world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=stranger,
                              quantity=1)
    with pytest.raises(ParticipantNotFoundError):  # a batch id is not a participant
        world.ledger.participant(batch)


def test_verifier_cannot_receive_credits(world):
    batch = world.project_batch(quantity=10 * TONNE)
    with pytest.raises(PermissionDeniedError) as raised:
        world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.verifier,
                              quantity=1)
    assert raised.value.details == {"participant": str(world.verifier)}


def test_unknown_batch_is_reported_as_not_found(world):
    with pytest.raises(BatchNotFoundError):
        world.ledger.transfer(actor=world.emitter, batch_id=uuid4(), recipient=world.organiser,
                              quantity=1)


def test_individual_is_registered_under_its_pseudonym_once(world):
    person = world.person("wh-7f3a")
    assert person == individual_account_id("wh-7f3a")
    with pytest.raises(DuplicateRecordError):
        world.person("wh-7f3a")
    with pytest.raises(ValidationError):
        world.ledger.register_participant(kind="individual", name="no pseudonym",
                                          registered_by=world.operator)


# ---------------------------------------------------------------------------- behaviours


def test_bulk_report_of_2000_behaviours_rejects_each_duplicate_naming_the_first_record(world):
    rng = random.Random(2024)

    def charge(i: int, ref: str) -> BehaviourReport:
        return BehaviourReport(person=f"p-{i % 300}", methodology_code=EV[0],
                               methodology_version=EV[1], act_identity=f"charger:WH-{i:05d}",
                               activity_amount=f"{i % 40 + 1}.125",
                               occurred_at="2024-09-03T08:15:00+08:00", platform_ref=ref)

    # acts already reported by the other platform, and by this platform in an earlier call
    by_payment_app = [charge(i, f"pay-{i}") for i in range(0, 30)]
    earlier = [charge(i, f"ev-early-{i}") for i in range(30, 60)]
    assert all(r.accepted for r in world.report(world.pay_app, by_payment_app))
    assert all(r.accepted for r in world.report(world.ev_app, earlier))

    fresh = [charge(i, f"ev-{i}") for i in range(60, 1960)]
    within = [charge(i, f"ev-again-{i}") for i in rng.sample(range(60, 1960), 40)]
    again = [charge(i, f"ev-dup-{i}") for i in range(0, 60)]  # across platforms and calls
    reports = fresh + within + again
    rng.shuffle(reports)
    # a within-call duplicate must come after its first record to be "the duplicate"
    first_position = {}
    for position, report in enumerate(reports):
        first_position.setdefault(report.act_identity, position)
    assert len(reports) == 2000

    results = world.report(world.ev_app, reports)

    assert [r.index for r in results] == list(range(2000))
    accepted = [r for r in results if r.accepted]
    rejected = [r for r in results if not r.accepted]
    assert len(accepted) == 1900
    assert len(rejected) == 100
    first_ref = {r.act_identity: r.platform_ref for r in by_payment_app + earlier}
    for report in reports:
        first_ref.setdefault(report.act_identity,
                             reports[first_position[report.act_identity]].platform_ref)
    for result in rejected:
        report = reports[result.index]
        assert isinstance(result.error, DuplicateBehaviourError)
        assert result.error.code == "duplicate-behaviour"
        expected_first = first_ref[report.act_identity]
        assert result.error.details["first_platform_ref"] == expected_first
        assert expected_first in result.error.message
        assert result.behaviour_id is None
        number = int(report.act_identity.rsplit("-", 1)[1])
        if number < 30:
            assert result.error.details["first_platform"] == str(world.pay_app)
        elif number < 60:
            assert result.error.details["first_platform"] == str(world.ev_app)
    for result in accepted:
        report = reports[result.index]
        expected = int(Decimal(report.activity_amount) * 600)
        assert result.reduction_g == expected
        assert world.ledger.repository.get(result.behaviour_id).platform_ref == (
            report.platform_ref)
    # nothing was credited twice: each act is in the behaviour index once
    assert len(world.queries.behaviours) == 60 + 1900
    assert len({b.act_identity for b in world.queries.behaviours}) == 1960


def test_report_with_unknown_methodology_is_rejected_alone(world):
    results = world.report(world.ev_app, [
        world.charge("p-1", "10", "2024-09-03T08:00:00Z"),
        world.charge("p-1", "10", "2024-09-03T09:00:00Z", methodology=("WH-EV-CHARGING", "9")),
        world.charge("p-1", "10", "2024-09-03T10:00:00Z", methodology=("NOPE", "1")),
        world.charge("p-1", "10", "2024-09-03T11:00:00Z"),
    ])
    assert [r.accepted for r in results] == [True, False, False, True]
    assert isinstance(results[1].error, MethodologyNotFoundError)
    assert results[1].error.code == "unknown-methodology"
    assert results[1].error.details == {"code": "WH-EV-CHARGING", "version": "9"}
    assert results[2].error.details == {"code": "NOPE", "version": "1"}


def test_behaviour_outside_methodology_validity_is_rejected(world):
    results = world.report(world.ev_app, [
        world.charge("p-1", "10", "2023-12-31T23:59:59Z"),  # before valid_from
        world.charge("p-1", "10", "2026-01-01T00:00:00Z"),  # at valid_until
        world.charge("p-1", "10", "2025-12-31T23:59:59Z"),
    ])
    assert [r.accepted for r in results] == [False, False, True]
    for result in results[:2]:
        assert isinstance(result.error, ValidationError)
        assert result.error.details["field"] == "occurred_at"


def test_malformed_reports_are_rejected_one_by_one(world):
    good = world.charge("p-1", "12.345", "2024-09-03T08:15:00+08:00")
    results = world.report(world.ev_app, [
        world.charge(" ", "10", "2024-09-03T08:00:00Z"),  # no person
        world.charge("p-1", "ten", "2024-09-03T08:00:00Z"),
        world.charge("p-1", "1.5e-7", "2024-09-03T08:00:00Z"),  # over-precise
        world.charge("p-1", "0.001", "2024-09-03T08:00:00Z"),  # less than a gram
        world.charge("p-1", "10", "2024-09-03T08:00:00"),  # no time zone
        world.charge("p-1", "10", "yesterday"),
        good,
    ])
    assert [r.accepted for r in results] == [False] * 6 + [True]
    fields = [r.error.details.get("field") for r in results[:6]]
    assert fields == ["person", "activity_amount", "activity_amount", "activity_amount",
                      "occurred_at", "occurred_at"]
    assert results[6].reduction_g == 7407


def test_metro_ride_is_credited_in_whole_grams_rounded_down(world):
    [result] = world.report(world.ev_app, [
        world.charge("p-1", "2.37", "2024-09-03T08:00:00Z", methodology=("WH-METRO", "1"))])
    assert result.accepted
    assert result.reduction_g == 168
    behaviour = world.ledger.repository.get(result.behaviour_id)
    assert behaviour.exact_g == "168.744"


def test_late_report_into_a_claimed_period_is_rejected(world):
    world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:00:00Z")])
    request = world.ledger.request_issuance(platform=world.ev_app, methodology_id=world.ev,
                                            period_start="2024-09-01T00:00:00+08:00",
                                            period_end="2024-10-01T00:00:00+08:00")
    results = world.report(world.ev_app, [
        world.charge("p-2", "10", "2024-09-30T15:59:59Z"),  # still September in Beijing
        world.charge("p-2", "10", "2024-09-30T16:00:00Z"),  # October 1st in Beijing
        world.charge("p-2", "10", "2024-09-10T08:00:00Z", methodology=("WH-METRO", "1")),
    ])
    assert [r.accepted for r in results] == [False, True, True]
    assert isinstance(results[0].error, PeriodClosedError)
    assert results[0].error.details == {"request": str(request)}
    # another platform's schedule is its own
    [other] = world.report(world.pay_app, [world.charge("p-3", "10", "2024-09-10T08:00:00Z")])
    assert other.accepted


# ---------------------------------------------------------------------------- issuance


def test_issuance_flow_numbers_batches_in_sequence(world):
    september = [world.charge(f"p-{i}", f"{i}.5", f"2024-09-{i + 1:02d}T08:00:00Z")
                 for i in range(1, 6)]
    results = world.report(world.ev_app, september)
    world.report(world.ev_app, [world.charge("p-9", "1", "2024-10-02T08:00:00Z")])
    expected = sum(int(Decimal(f"{i}.5") * 600) for i in range(1, 6))
    assert sum(r.reduction_g for r in results) == expected

    request = attested_request(world)
    loaded = world.ledger.request(request)
    assert loaded.quantity == expected
    assert loaded.evidence["behaviour_count"] == 5
    batch_id = world.ledger.issue_batch(actor=world.operator, request_id=request,
                                        registry="HBCER")
    batch = world.ledger.batch_view(batch_id)
    assert batch.block == "HBCER-2024-000001"
    assert batch.quantity == expected
    assert batch.lots == {f"available/{world.ev_app}": [[1, expected + 1]]}
    assert batch.vintage == 2024
    assert batch.methodology_label == "WH-EV-CHARGING v1"
    assert batch.region == "Wuhan"
    assert batch.project_type == "behaviour"
    leaves = [world.ledger.repository.get(r.behaviour_id).leaf() for r in results]
    assert batch.behaviours_root == root_from_leaf_hashes([leaf_hash(x) for x in leaves]).hex()
    assert world.ledger.request(request).status == "issued"
    assert world.ledger.request(request).batch == str(batch_id)

    october = attested_request(world, "2024-10-01", "2024-11-01")
    second = world.ledger.batch_view(world.ledger.issue_batch(actor=world.operator,
                                                         request_id=october,
                                                         registry="HBCER"))
    assert second.block == "HBCER-2024-000002"
    assert second.quantity == 600


def test_issuing_a_request_twice_is_rejected_without_using_a_number(world):
    world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:00:00Z"),
                                world.charge("p-1", "10", "2024-10-03T08:00:00Z")])
    request = attested_request(world)
    world.ledger.issue_batch(actor=world.operator, request_id=request, registry="HBCER")
    with pytest.raises(InvalidStateError) as raised:
        world.ledger.issue_batch(actor=world.operator, request_id=request, registry="HBCER")
    assert raised.value.details == {"status": "issued"}
    october = attested_request(world, "2024-10-01", "2024-11-01")
    batch = world.ledger.issue_batch(actor=world.operator, request_id=october,
                                     registry="HBCER")
    assert world.ledger.batch_view(batch).block == "HBCER-2024-000002"


def test_unattested_request_cannot_be_issued(world):
    world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:00:00Z")])
    request = world.ledger.request_issuance(platform=world.ev_app, methodology_id=world.ev,
                                            period_start="2024-09-01", period_end="2024-10-01")
    with pytest.raises(InvalidStateError) as raised:
        world.ledger.issue_batch(actor=world.operator, request_id=request, registry="HBCER")
    assert raised.value.details == {"status": "requested"}
    world.ledger.reject_request(actor=world.verifier, request_id=request, reason="bad logs")
    with pytest.raises(InvalidStateError):
        world.ledger.attest_request(actor=world.verifier, request_id=request, statement="ok")


def test_request_for_an_empty_period_is_refused_and_leaves_it_open(world):
    with pytest.raises(ValidationError) as raised:
        world.ledger.request_issuance(platform=world.ev_app, methodology_id=world.ev,
                                      period_start="2024-09-01", period_end="2024-10-01")
    assert raised.value.details["field"] == "period"
    [late] = world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:00:00Z")])
    assert late.accepted


def test_overlapping_request_is_refused(world):
    world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:00:00Z")])
    first = attested_request(world)
    with pytest.raises(PeriodClosedError) as raised:
        world.ledger.request_issuance(platform=world.ev_app, methodology_id=world.ev,
                                      period_start="2024-09-15", period_end="2024-10-15")
    assert raised.value.details == {"request": str(first)}


def test_request_with_unknown_methodology_is_refused(world):
    with pytest.raises(MethodologyNotFoundError):
        world.ledger.request_issuance(platform=world.ev_app, methodology_id=uuid4(),
                                      period_start="2024-09-01", period_end="2024-10-01")


def test_project_credits_are_issued_from_a_monitoring_report(world):
    request = world.ledger.request_project_issuance(
        platform=world.ev_app, methodology_id=world.ev, period_start="2024-01-01",
        period_end="2024-07-01", quantity=parse_quantity("43,474 t"),
        project="Conghua village forestry", report_reference="MR-GZ-2024-01",
        report_sha256=SHA)
    world.ledger.attest_request(actor=world.verifier, request_id=request,
                                statement="field visit")
    batch = world.ledger.batch_view(world.ledger.issue_batch(actor=world.operator,
                                                        request_id=request, registry="PHCER"))
    assert batch.block == "PHCER-2024-000001"
    assert batch.quantity == 43_474 * TONNE
    assert batch.project_type == "project"
    assert batch.behaviours_root is None
    assert batch.source["report_reference"] == "MR-GZ-2024-01"
    assert batch.source["report_sha256"] == SHA
    assert batch.available(world.ev_app) == 43_474 * TONNE


def test_same_monitoring_report_cannot_be_requested_twice(world):
    kwargs = {"platform": world.ev_app, "methodology_id": world.ev,
              "period_start": "2024-01-01", "period_end": "2024-07-01",
              "quantity": 2_372 * TONNE, "project": "Shanghai rooftop solar",
              "report_reference": "MR-SH-2024-02", "report_sha256": SHA}
    world.ledger.request_project_issuance(**kwargs)
    with pytest.raises(ConflictError):
        world.ledger.request_project_issuance(**kwargs)


# ---------------------------------------------------------------------------- trading


def listed(world: World, quantity: int, listing_ref: str = "GZ-AUCTION-1") -> UUID:
    batch = world.project_batch(quantity=quantity)
    if not world.ledger.participant(world.emitter).mandates:
        world.ledger.grant_mandate(actor=world.emitter, agent=world.exchange, scope="listing")
    world.ledger.list_for_sale(actor=world.exchange, batch_id=batch, seller=world.emitter,
                               listing_ref=listing_ref, quantity=quantity)
    return batch


def trade(batch: UUID, world: World, ref: str, quantity: int, **overrides) -> TradeInstruction:
    fields = {"trade_ref": ref, "listing_ref": "GZ-AUCTION-1", "batch_id": batch,
              "seller": world.emitter, "buyer": world.organiser, "quantity": quantity,
              "price_per_tonne": "34", "currency": "CNY"}
    fields.update(overrides)
    return TradeInstruction(**fields)


def test_trade_settlement_is_idempotent_per_trade_ref(world):
    batch = listed(world, 100 * TONNE)
    first = world.ledger.settle_trade(actor=world.exchange,
                                      trade=trade(batch, world, "T-1", 40 * TONNE))
    assert first.settled and not first.replayed
    assert first.ranges == [[1, 40 * TONNE + 1]]
    lots = world.ledger.batch_view(batch).lots

    again = world.ledger.settle_trade(actor=world.exchange,
                                      trade=trade(batch, world, "T-1", 40 * TONNE))
    assert again.settled and again.replayed
    assert again.trade_id == first.trade_id
    assert again.ranges == first.ranges
    assert world.ledger.batch_view(batch).lots == lots
    assert world.ledger.batch_view(batch).available(world.organiser) == 40 * TONNE

    with pytest.raises(TradeConflictError) as raised:
        world.ledger.settle_trade(actor=world.exchange,
                                  trade=trade(batch, world, "T-1", 41 * TONNE))
    assert raised.value.code == "trade-conflict"
    assert raised.value.details["trade"] == str(first.trade_id)
    assert raised.value.details["recorded"]["quantity"] == 40 * TONNE
    assert world.ledger.batch_view(batch).lots == lots


def test_bulk_settlement_reports_each_trade_on_its_own(world):
    batch = listed(world, 100 * TONNE)
    retire_on_delivery = event_retirement()
    results = world.ledger.settle_trades(actor=world.exchange, trades=[
        trade(batch, world, "T-1", 30 * TONNE),
        trade(batch, world, "T-2", 80 * TONNE),  # more than is left in escrow
        trade(batch, world, "T-3", TONNE, currency="cny"),
        trade(batch, world, "T-4", TONNE, price_per_tonne="-1"),
        trade(batch, world, "T-5", TONNE, listing_ref="NO-SUCH-LISTING"),
        trade(batch, world, "T-6", 50 * TONNE, retire_on_delivery=retire_on_delivery),
        trade(batch, world, "T-7", TONNE, buyer=world.verifier),
    ])
    assert [r.trade_ref for r in results] == [f"T-{i}" for i in range(1, 8)]
    assert [r.settled for r in results] == [True, False, False, False, False, True, False]
    assert isinstance(results[1].error, InsufficientBalanceError)
    assert results[1].error.details["available"] == 70 * TONNE
    assert results[2].error.details["field"] == "currency"
    assert results[3].error.details["field"] == "price_per_tonne"
    assert isinstance(results[4].error, RecordNotFoundError)
    assert isinstance(results[6].error, PermissionDeniedError)

    loaded = world.ledger.batch_view(batch)
    retirement = results[5].retirement_id
    assert retirement is not None
    assert loaded.available(world.organiser) == 30 * TONNE
    assert loaded.held(LotState.RETIRED, retirement) == 50 * TONNE
    assert loaded.owner_of_lot(f"retired/{retirement}") == str(world.organiser)
    assert loaded.totals_by_state()["escrowed"] == 20 * TONNE
    check_batch_supply(loaded)
    check_serial_coverage(loaded)
    replay = world.ledger.settle_trade(
        actor=world.exchange,
        trade=trade(batch, world, "T-6", 50 * TONNE, retire_on_delivery=retire_on_delivery))
    assert replay.replayed
    assert replay.retirement_id == retirement
    assert world.ledger.batch_view(batch).totals_by_state()["retired"] == 50 * TONNE
    # a failed trade ref is not burned: it can be settled once fixed
    fixed = world.ledger.settle_trade(actor=world.exchange,
                                      trade=trade(batch, world, "T-2", 20 * TONNE))
    assert fixed.settled and not fixed.replayed


def test_cancelled_listing_cannot_be_settled(world):
    batch = listed(world, 10 * TONNE)
    world.ledger.cancel_listing(actor=world.exchange, batch_id=batch,
                                listing_ref="GZ-AUCTION-1")
    [result] = world.ledger.settle_trades(actor=world.exchange,
                                          trades=[trade(batch, world, "T-1", TONNE)])
    assert isinstance(result.error, InvalidStateError)
    assert world.ledger.batch_view(batch).available(world.emitter) == 10 * TONNE


# ---------------------------------------------------------------------------- retirement


def test_retirement_with_a_claim_counts_toward_it_exactly(world):
    batch = world.project_batch(quantity=5_000 * TONNE, holder=world.organiser)
    claim = world.ledger.register_claim(actor=world.organiser,
                                        event_name="World Gas Conference 2025",
                                        footprint_g=WGC_FOOTPRINT)
    first = world.ledger.retire(actor=world.organiser, batch_id=batch,
                                quantity=parse_quantity("4,544.759999 t"),
                                **event_retirement(claim))
    assert world.ledger.claim(claim).retired_g == 4_544_759_999
    assert not world.ledger.claim(claim).met
    second = world.ledger.retire(actor=world.organiser, batch_id=batch, quantity=1,
                                 **event_retirement(claim))
    counted = world.ledger.claim(claim)
    assert counted.met
    assert counted.retired_g == WGC_FOOTPRINT
    assert counted.retirements == [str(first), str(second)]
    loaded = world.ledger.batch_view(batch)
    assert loaded.held(LotState.RETIRED, first) + loaded.held(LotState.RETIRED, second) == (
        WGC_FOOTPRINT)
    with pytest.raises(DuplicateRecordError):
        world.ledger.register_claim(actor=world.organiser,
                                    event_name=" World Gas Conference 2025 ",
                                    footprint_g=WGC_FOOTPRINT)


def test_failed_retirement_does_not_count_toward_the_claim(world):
    batch = world.project_batch(quantity=5 * TONNE, holder=world.organiser)
    claim = world.ledger.register_claim(actor=world.organiser, event_name="CIIE forum 2022",
                                        footprint_g=parse_quantity("5503 kg"))
    with pytest.raises(InsufficientBalanceError):
        world.ledger.retire(actor=world.organiser, batch_id=batch,
                            quantity=parse_quantity("5503 kg"),
                            **event_retirement(claim, "CIIE forum 2022"))
    assert world.ledger.claim(claim).retired_g == 0
    assert world.ledger.claim(claim).version == 1
    assert world.ledger.batch_view(batch).totals_by_state()["retired"] == 0


def test_retirement_is_not_saved_when_counting_it_toward_the_claim_fails(world, monkeypatch):
    batch = world.project_batch(quantity=5 * TONNE, holder=world.organiser)
    claim = world.ledger.register_claim(actor=world.organiser, event_name="rice 2024",
                                        footprint_g=2_500_000)

    def refuse(self, **kwargs):
        raise DuplicateRecordError("refused for the test")

    monkeypatch.setattr(NeutralityClaim, "count_retirement", refuse)
    with pytest.raises(DuplicateRecordError):
        world.ledger.retire(actor=world.organiser, batch_id=batch, quantity=2_500_000,
                            beneficiary="rice co-op", purpose="product_neutrality",
                            jurisdiction="Heilongjiang", consumption_period="2024",
                            details={"product": "carbon-neutral rice", "claim_id": str(claim)})
    loaded = world.ledger.batch_view(batch)
    assert loaded.available(world.organiser) == 5 * TONNE
    assert loaded.retirements == {}


def test_retirement_naming_an_unknown_claim_retires_nothing(world):
    batch = world.project_batch(quantity=5 * TONNE, holder=world.organiser)
    for claim in (uuid4(), "not-a-uuid"):
        with pytest.raises((RecordNotFoundError, ValidationError)):
            world.ledger.retire(actor=world.organiser, batch_id=batch, quantity=TONNE,
                                **event_retirement(claim))
    assert world.ledger.batch_view(batch).available(world.organiser) == 5 * TONNE


def test_retired_credits_cannot_be_transferred_or_retired_again(world):
    batch = world.project_batch(quantity=80 * TONNE)  # Wuhan eco-compensation case
    world.ledger.retire(actor=world.emitter, batch_id=batch, quantity=80 * TONNE,
                        beneficiary="petrol station", purpose="eco_compensation",
                        jurisdiction="Wuhan", consumption_period="2024",
                        details={"case_reference": "WH-ECO-2024-3"})
    with pytest.raises(InsufficientBalanceError):
        world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                              quantity=1)
    with pytest.raises(InsufficientBalanceError):
        world.ledger.retire(actor=world.emitter, batch_id=batch, quantity=1,
                            **event_retirement())


# ---------------------------------------------------------------------------- import, export


def test_overlapping_import_is_rejected_and_adjacent_import_accepted(world):
    def import_range(start: int, end: int) -> UUID:
        return world.ledger.import_batch(
            actor=world.operator, external_registry="CDCER",
            external_block="CDCER-2024-000007", serial_start=start, serial_end=end,
            holder=world.organiser, methodology_id=world.ev, vintage=2024, region="Chengdu")

    first = import_range(1_000_000, 7_000_000_000)  # 6,999 t donated to the World Games
    imported = world.ledger.batch_view(first)
    assert imported.lots == {f"available/{world.organiser}": [[1_000_000, 7_000_000_000]]}
    assert imported.block.endswith("CDCER-2024-000007")
    assert imported.registry == "CDCER"
    assert imported.source["external_block"] == "CDCER-2024-000007"
    with pytest.raises(OverlappingImportError) as raised:
        import_range(6_999_999_999, 8_000_000_000)
    assert raised.value.details == {"registry": "CDCER", "block": "CDCER-2024-000007",
                                    "batch": str(first)}
    adjacent = import_range(7_000_000_000, 8_000_000_000)
    assert world.ledger.batch_view(adjacent).quantity == 1_000_000_000


def test_only_an_issuer_can_import(world):
    with pytest.raises(PermissionDeniedError):
        world.ledger.import_batch(actor=world.exchange, external_registry="CDCER",
                                  external_block="B", serial_start=0, serial_end=10,
                                  holder=world.organiser, methodology_id=world.ev,
                                  vintage=2024, region="Chengdu")


def test_exported_credits_cannot_be_transferred(world):
    batch = world.project_batch(quantity=10 * TONNE)
    world.ledger.export(actor=world.emitter, batch_id=batch, quantity=6 * TONNE,
                        destination="CCER")
    with pytest.raises(InsufficientBalanceError) as raised:
        world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                              quantity=4 * TONNE + 1)
    assert raised.value.details["available"] == 4 * TONNE
    assert world.ledger.batch_view(batch).totals_by_state()["exported"] == 6 * TONNE


def test_tokenised_credits_cannot_be_retired(world):
    batch = world.project_batch(quantity=10 * TONNE)
    world.ledger.lock_for_tokens(actor=world.emitter, batch_id=batch, quantity=10 * TONNE,
                                 chain_address="0x" + "ab" * 20)
    with pytest.raises(InsufficientBalanceError):
        world.ledger.retire(actor=world.emitter, batch_id=batch, quantity=1,
                            **event_retirement())


def test_issuer_cancels_and_corrects_a_batch(world):
    batch = world.project_batch(quantity=10 * TONNE)
    with pytest.raises(PermissionDeniedError):
        world.ledger.cancel(actor=world.emitter, batch_id=batch, holder=world.emitter,
                            quantity=1, reason="buffer")
    world.ledger.cancel(actor=world.operator, batch_id=batch, holder=world.emitter,
                        quantity=TONNE, reason="invalid issuance")
    world.ledger.correct_batch(actor=world.operator, batch_id=batch, field="region",
                               value="Guangzhou", reason="wrong region")
    loaded = world.ledger.batch_view(batch)
    assert loaded.totals_by_state()["cancelled"] == TONNE
    assert loaded.region == "Guangzhou"


# ---------------------------------------------------------------------------- points


def test_points_can_be_redeemed_and_donated_only_up_to_what_was_earned(world):
    person = world.person("wh-7f3a")
    world.report(world.ev_app, [world.charge("wh-7f3a", "12.345", "2024-09-03T08:00:00Z")])
    assert world.queries.earned_points(person) == 7407
    claim = world.ledger.register_claim(actor=world.organiser, event_name="HQ 2024",
                                        footprint_g=324 * TONNE)

    world.ledger.redeem_points(actor=person, points=7000, reward="metro ticket")
    with pytest.raises(InsufficientBalanceError) as raised:
        world.ledger.redeem_points(actor=person, points=408, reward="coupon")
    assert raised.value.details == {"requested": 408, "available": 407}
    world.ledger.donate_points(actor=person, points=407, claim_id=claim)
    assert world.ledger.claim(claim).donated_points == 407
    assert not world.ledger.claim(claim).met  # points do not neutralise
    with pytest.raises(InsufficientBalanceError):
        world.ledger.donate_points(actor=person, points=1, claim_id=claim)
    assert world.ledger.claim(claim).donated_points == 407

    # more behaviours, more points
    world.report(world.ev_app, [world.charge("wh-7f3a", "1", "2024-09-04T08:00:00Z")])
    world.ledger.redeem_points(actor=person, points=600, reward="coupon")
    with pytest.raises(InsufficientBalanceError):
        world.ledger.redeem_points(actor=person, points=1, reward="coupon")


def test_points_of_an_unregistered_person_cannot_be_spent(world):
    world.report(world.ev_app, [world.charge("ghost", "10", "2024-09-03T08:00:00Z")])
    with pytest.raises(ParticipantNotFoundError):
        world.ledger.redeem_points(actor=individual_account_id("ghost"), points=1,
                                   reward="coupon")


# ---------------------------------------------------------------------------- persistence


def test_data_survives_a_restart(world):
    batch = world.project_batch(quantity=1_000 * TONNE)
    for _ in range(30):  # 60 more events on each holding: past the snapshot interval of 50
        world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                              quantity=TONNE)
        world.ledger.transfer(actor=world.organiser, batch_id=batch, recipient=world.emitter,
                              quantity=TONNE // 2)
    pledge = world.ledger.pledge(actor=world.emitter, batch_id=batch, holder=world.emitter,
                                 bank=world.bank, loan_reference="LOAN-1", quantity=100 * TONNE)
    before = world.ledger.batch_view(batch)
    # issued, split by the hand-over (a transfer between holdings); the pledge is the
    # pledgor's holding's (#17), the batch does not change
    assert before.version == 2
    emitter = before.holdings[str(world.emitter)]
    assert emitter.version == 63  # opened, received, 60 transfers, pledged
    assert list(world.ledger.snapshots.get(emitter.id))  # a snapshot was taken

    restarted = Ledger(env=sqlite_env(world.db), queries=FakeQueries())
    after = restarted.batch_view(batch)
    assert after.version == before.version
    assert after.holdings[str(world.emitter)].version == emitter.version
    assert after.lots == before.lots
    assert after.available(world.organiser) == 15 * TONNE
    assert after.available(world.emitter) == 885 * TONNE
    assert after.pledges[str(pledge)]["status"] == "active"
    assert restarted.participant(world.emitter).name == "舒氏集团"
    # and the restarted ledger keeps working on the same history
    restarted.release_pledge(actor=world.bank, batch_id=batch, pledge_id=pledge)
    assert world.ledger.batch_view(batch).available(world.emitter) == 985 * TONNE


def test_a_second_ledger_on_the_same_file_sees_duplicates_and_claimed_periods(tmp_path):
    db = tmp_path / "events.db"
    world = build_world(db)
    [first] = world.report(world.ev_app, [world.charge("p-1", "10", "2024-09-03T08:00:00Z",
                                                       act="charger:WH-1|0903", ref="r-1")])
    assert first.accepted
    world.ledger.request_issuance(platform=world.ev_app, methodology_id=world.ev,
                                  period_start="2024-09-01", period_end="2024-10-01")
    other = Ledger(env=sqlite_env(db), queries=world.queries)
    results = other.report_behaviours(platform=world.pay_app, reports=[
        world.charge("p-1", "10", "2024-09-03T08:00:00Z", act="charger:WH-1|0903", ref="x")])
    assert results[0].error.details["first_platform_ref"] == "r-1"
    results = other.report_behaviours(platform=world.ev_app, reports=[
        world.charge("p-1", "10", "2024-09-04T08:00:00Z")])
    assert isinstance(results[0].error, PeriodClosedError)


# ---------------------------------------------------------------------------- known bugs


def test_methodology_can_be_superseded_by_a_later_version(world):
    v2 = world.ledger.publish_methodology(actor=world.operator, code=EV[0], version="2",
                                          region="Wuhan", scene="ev_charging",
                                          activity_unit="kWh", factor_g_per_unit="650",
                                          valid_from="2025-01-01")
    world.ledger.supersede_methodology(actor=world.operator, methodology_id=world.ev,
                                       successor_id=v2)
    [old] = world.report(world.ev_app, [world.charge("p-1", "10", "2025-02-01T00:00:00Z")])
    assert isinstance(old.error, ValidationError)


def test_report_with_non_text_act_identity_is_rejected_alone(world):
    bad = BehaviourReport(person="p-1", methodology_code=EV[0], methodology_version=EV[1],
                          act_identity=None, activity_amount="10",
                          occurred_at="2024-09-03T08:00:00Z", platform_ref="r-bad")
    results = world.ledger.report_behaviours(platform=world.ev_app, reports=[
        world.charge("p-1", "10", "2024-09-03T09:00:00Z"), bad])
    assert [r.accepted for r in results] == [True, False]
    assert isinstance(results[1].error, ValidationError)


def test_report_with_absurdly_long_amount_is_rejected_alone(world):
    results = world.ledger.report_behaviours(platform=world.ev_app, reports=[
        world.charge("p-1", "10", "2024-09-03T09:00:00Z"),
        world.charge("p-1", "9" * 99, "2024-09-03T10:00:00Z", methodology=("WH-METRO", "1")),
    ])
    assert [r.accepted for r in results] == [True, False]
    assert isinstance(results[1].error, ValidationError)


def test_an_event_carrying_a_nul_character_is_refused_and_nothing_is_written(world):
    before = world.ledger.recorder.max_notification_id()
    with pytest.raises(ValidationError) as raised:
        world.ledger.register_participant(kind="enterprise", name="nul\x00corp",
                                          registered_by=world.operator)
    assert raised.value.details["field"] == "name"
    batch = world.project_batch(quantity=10 * TONNE)
    before = world.ledger.recorder.max_notification_id()
    with pytest.raises(ValidationError) as raised:
        world.ledger.retire(actor=world.emitter, batch_id=batch, quantity=1,
                            beneficiary="b", purpose="voluntary", jurisdiction="Wuhan",
                            consumption_period="2024", details={"note": "bad\x00"})
    assert raised.value.details["field"] == "note"
    assert "U+0000" in str(raised.value)
    assert world.ledger.recorder.max_notification_id() == before


def test_a_bulk_report_refuses_only_the_item_with_a_nul_character(world):
    good = world.charge("p1", "10", "2024-09-02T10:00:00+08:00")
    bad = world.charge("p2", "10", "2024-09-02T11:00:00+08:00", ref="rec\x00")
    results = world.report(world.ev_app, [good, bad])
    assert [r.accepted for r in results] == [True, False]
    assert results[1].error.details["field"] == "platform_ref"
