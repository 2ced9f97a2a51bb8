"""No accepted event may wedge the read models (issue 15).

Each probe that once made the projector fail forever on an event the domain had accepted
(so that every later write failed and ``serve`` would not start) is refused by the domain
before anything is saved, or accepted in a form the read models hold. Every test ends by
bringing the read models up to date and checking them against the aggregates. Last, events
an older ledger may already hold (saved before these rules) are projected all the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import get_topic
from sqlalchemy import select

from ledger.application import BehaviourReport, Ledger, TradeInstruction
from ledger.checks import check_ledger
from ledger.domain.behaviour import Behaviour
from ledger.domain.credit_batch import CreditBatch, token_pool_id
from ledger.domain.errors import (
    ActivityLimitError,
    DuplicateRecordError,
    LimitExceededError,
    OverlappingImportError,
    ValidationError,
)
from ledger.domain.ids import individual_account_id, listing_id, methodology_id
from ledger.domain.limits import MAX_POINTS, MAX_SERIAL
from ledger.domain.methodology import DEFAULT_MAX_ACTIVITY, Methodology
from ledger.domain.neutrality_claim import NeutralityClaim
from ledger.domain.quantities import MAX_GRAMS
from ledger.projections import schema
from ledger.projections.failures import ProjectionStuckError
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import EV, Cast, make_cast, sessions

RETIRE: dict[str, Any] = {"beneficiary": "Chengdu World Games", "purpose": "event_neutrality",
                          "jurisdiction": "CN-SC", "consumption_period": "2025",
                          "details": {"event": "World Games"}}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LedgerRuntime]:
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as rt:
        yield rt


@pytest.fixture
def cast(runtime: LedgerRuntime) -> Cast:
    return make_cast(runtime.ledger)


def projected(runtime: LedgerRuntime) -> None:
    """The read models take every event saved, and agree with the aggregates."""
    runtime.sync()
    assert runtime.projection_failure is None
    assert runtime.projector.position() == runtime.ledger.recorder.max_notification_id()
    report = check_ledger(runtime)
    assert report.ok, report.problems


def issue(ledger: Ledger, cast: Cast, day: int) -> UUID:
    """A batch of ten sessions of 2024-09-``day``, issued to the platform."""
    ledger.report_behaviours(platform=cast.platform, reports=sessions(10, start=100 * day,
                                                                      day=day))
    request = ledger.request_issuance(platform=cast.platform, methodology_id=cast.methodology,
                                      period_start=f"2024-09-{day:02d}",
                                      period_end=f"2024-09-{day + 1:02d}")
    ledger.attest_request(actor=cast.verifier, request_id=request, statement="verified")
    return ledger.issue_batch(actor=cast.operator, request_id=request, registry="HBCER")


def import_range(runtime: LedgerRuntime, cast: Cast, registry: str, block: str, start: int,
                 end: int, holder: UUID | None = None) -> UUID:
    return runtime.ledger.import_batch(
        actor=cast.operator, external_registry=registry, external_block=block,
        serial_start=start, serial_end=end, holder=holder or cast.holders[0],
        methodology_id=cast.methodology, vintage=2024, region="Chengdu")


# ------------------------------------------------------------------ listing refs


def test_a_listing_ref_names_one_listing_of_the_exchange_whatever_its_batch(runtime, cast):
    ledger = runtime.ledger
    first = issue(ledger, cast, 1)
    second = issue(ledger, cast, 2)  # another batch, same seller
    runtime.sync()
    ledger.grant_mandate(actor=cast.platform, agent=cast.exchange, scope="listing")
    listed = ledger.list_for_sale(actor=cast.exchange, batch_id=first, seller=cast.platform,
                                  listing_ref="L-1", quantity=100)
    recorded = ledger.recorder.max_notification_id()
    with pytest.raises(DuplicateRecordError) as raised:  # the probe: the same ref, batch 2
        ledger.list_for_sale(actor=cast.exchange, batch_id=second, seller=cast.platform,
                             listing_ref="L-1", quantity=100)
    assert raised.value.details["first"] == str(first)
    assert ledger.recorder.max_notification_id() == recorded  # nothing saved
    # ... also once the first listing is cancelled (the ref stays its name)
    ledger.cancel_listing(actor=cast.exchange, batch_id=first, listing_ref="L-1")
    with pytest.raises(DuplicateRecordError):
        ledger.list_for_sale(actor=cast.exchange, batch_id=second, seller=cast.platform,
                             listing_ref="L-1", quantity=100)
    # another exchange's ref of the same text is its own
    other = ledger.register_participant(kind="exchange", name="Other exchange",
                                        registered_by=cast.operator)
    ledger.grant_mandate(actor=cast.platform, agent=other, scope="listing")
    assert ledger.list_for_sale(actor=other, batch_id=second, seller=cast.platform,
                                listing_ref="L-1", quantity=100) != listed
    projected(runtime)
    # and the exchange keeps listing (the next listing once failed forever)
    ledger.list_for_sale(actor=cast.exchange, batch_id=second, seller=cast.platform,
                         listing_ref="L-2", quantity=100)
    projected(runtime)


# ------------------------------------------------------------------ imported block labels


def test_a_second_disjoint_range_of_an_external_block_gets_its_own_label(runtime, cast):
    first = import_range(runtime, cast, "CDCER", "CDCER-2024-000007", 0, 1_000)
    second = import_range(runtime, cast, "CDCER", "CDCER-2024-000007", 1_000, 2_000)
    third = import_range(runtime, cast, "cdcer", " cdcer-2024-000007 ", 5_000, 6_000)
    labels = [runtime.ledger.batch(b).block for b in (first, second, third)]
    assert labels == ["CDCER:CDCER-2024-000007", "CDCER:CDCER-2024-000007#2",
                      "CDCER:CDCER-2024-000007#3"]
    with pytest.raises(OverlappingImportError):
        import_range(runtime, cast, "CDCER", "CDCER-2024-000007", 500, 1_500)
    projected(runtime)
    assert runtime.views.batch_by_block("CDCER:CDCER-2024-000007#2")["id"] == str(second)


def test_labels_that_collide_across_registries_are_refused(runtime, cast):
    import_range(runtime, cast, "X", "Y:Z", 0, 10)
    recorded = runtime.ledger.recorder.max_notification_id()
    with pytest.raises(DuplicateRecordError):
        import_range(runtime, cast, "X:Y", "Z", 0, 10)  # also "X:Y:Z"
    assert runtime.ledger.recorder.max_notification_id() == recorded
    # the n-th range of a block and a block named like it
    import_range(runtime, cast, "R", "B", 0, 10)
    import_range(runtime, cast, "R", "B", 10, 20)  # "R:B#2"
    with pytest.raises(DuplicateRecordError):
        import_range(runtime, cast, "R", "B#2", 0, 10)
    projected(runtime)


def test_an_external_block_named_like_a_local_batch_never_takes_its_label(runtime, cast):
    """Imported labels are always qualified by their registry: a local batch, issued before
    or after, keeps its own label."""
    ledger = runtime.ledger
    issued = issue(ledger, cast, 3)
    assert ledger.batch(issued).block == "HBCER-2024-000001"
    present = import_range(runtime, cast, "HBCER", "HBCER-2024-000001", 0, 10)
    future = import_range(runtime, cast, "HB", "HBCER-2024-000002", 0, 10)
    later = issue(ledger, cast, 4)
    assert ledger.batch(later).block == "HBCER-2024-000002"
    assert ledger.batch(present).block == "HBCER:HBCER-2024-000001"
    assert ledger.batch(future).block == "HB:HBCER-2024-000002"
    projected(runtime)
    assert runtime.views.batch_by_block("HBCER-2024-000002")["id"] == str(later)


@pytest.mark.parametrize(("registry", "block", "field"), [
    ("CDCER", "B" * 200, "external_block"),  # the probe: 200 characters, over the 128 held
    ("CDCER", "B" * 123, "external_block"),  # "CDCER:" + 123 = 129
    ("R" * 65, "B", "external_registry"),
    ("   ", "B", "external_registry"),
    ("CDCER", " ", "external_block"),
])
def test_labels_longer_than_the_read_model_holds_are_refused(runtime, cast, registry, block,
                                                             field):
    recorded = runtime.ledger.recorder.max_notification_id()
    with pytest.raises(ValidationError) as raised:
        import_range(runtime, cast, registry, block, 0, 10)
    assert raised.value.details["field"] == field
    assert runtime.ledger.recorder.max_notification_id() == recorded
    import_range(runtime, cast, "CDCER", "B" * 122, 0, 10)  # exactly 128: held
    projected(runtime)


def test_a_later_range_whose_label_would_be_too_long_is_refused(runtime, cast):
    import_range(runtime, cast, "CDCER", "B" * 122, 0, 10)  # 128
    with pytest.raises(ValidationError):  # "#2" would make 130
        import_range(runtime, cast, "CDCER", "B" * 122, 10, 20)
    projected(runtime)


def test_other_texts_are_bounded_as_their_columns(runtime, cast):
    ledger = runtime.ledger
    with pytest.raises(ValidationError) as raised:
        ledger.import_batch(actor=cast.operator, external_registry="CDCER", external_block="B",
                            serial_start=0, serial_end=10, holder=cast.holders[0],
                            methodology_id=cast.methodology, vintage=2024, region="Chengdu",
                            project_type="p" * 33)
    assert raised.value.details["field"] == "project_type"
    with pytest.raises(ValidationError) as raised:
        ledger.publish_methodology(actor=cast.operator, code="WH-LONG", version="v" * 33,
                                   region="Wuhan", scene="s", activity_unit="kWh",
                                   factor_g_per_unit="1", valid_from="2024-01-01")
    assert raised.value.details["field"] == "version"
    ledger.publish_methodology(actor=cast.operator, code="WH-LONG", version="v" * 32,
                               region="Wuhan", scene="s", activity_unit="kWh",
                               factor_g_per_unit="1", valid_from="2024-01-01")
    projected(runtime)


def test_serials_end_within_64_bits(runtime, cast):
    with pytest.raises(ValidationError) as raised:
        import_range(runtime, cast, "CDCER", "B", MAX_SERIAL - 5, MAX_SERIAL + 5)
    assert raised.value.details["field"] == "serial_end"
    import_range(runtime, cast, "CDCER", "B", MAX_SERIAL - 5, MAX_SERIAL)
    projected(runtime)


# ------------------------------------------------------------------ behaviours and points


def charge(person: str, kwh: str, n: int, methodology: tuple[str, str] = EV) -> BehaviourReport:
    return BehaviourReport(person=person, methodology_code=methodology[0],
                           methodology_version=methodology[1], act_identity=f"session:{n}",
                           activity_amount=kwh, occurred_at="2024-09-03T08:00:00Z",
                           platform_ref=f"ref-{n}")


def test_an_implausible_activity_is_refused_per_item(runtime, cast):
    """The probe: 18 sessions of 999,999,999,999,999.999999 kWh for one person (their points
    passed 2**63 - 1; one credited 600,000 t... per session)."""
    reports = [charge("p", "999999999999999.999999", n) for n in range(18)]
    reports.insert(3, charge("p", "12.5", 100))
    results = runtime.ledger.report_behaviours(platform=cast.platform, reports=reports)
    assert [r.accepted for r in results] == [False] * 3 + [True] + [False] * 15
    for result in results[:3] + results[4:]:
        assert isinstance(result.error, ActivityLimitError)
        assert result.error.code == "activity-above-maximum"
        assert result.error.details["maximum"] == str(DEFAULT_MAX_ACTIVITY)
    projected(runtime)
    assert runtime.ledger.queries.earned_points(individual_account_id("p")) == 7_500


def test_a_methodology_names_its_own_maximum(runtime, cast):
    ledger = runtime.ledger
    ledger.publish_methodology(actor=cast.operator, code="WH-METRO", version="1",
                               region="Wuhan", scene="metro", activity_unit="km",
                               factor_g_per_unit="71.2", valid_from="2024-01-01",
                               max_activity="80")
    metro = ("WH-METRO", "1")
    results = ledger.report_behaviours(platform=cast.platform, reports=[
        charge("p", "80", 1, metro), charge("p", "80.000001", 2, metro)])
    assert [r.accepted for r in results] == [True, False]
    assert results[1].error.details == {"field": "activity_amount", "maximum": "80",
                                        "value": "80.000001"}
    projected(runtime)
    assert {m["code"]: m["max_activity"] for m in runtime.views.methodologies()} == {
        EV[0]: "10000000", "WH-METRO": "80"}


def test_a_persons_points_stay_within_64_bits(runtime, cast):
    """Behaviours each within bounds whose sum for one person would pass 2**63 - 1."""
    ledger = runtime.ledger
    ledger.publish_methodology(actor=cast.operator, code="BIG-FREIGHT", version="1",
                               region="Wuhan", scene="freight", activity_unit="t",
                               factor_g_per_unit="1000000000000", valid_from="2024-01-01")
    big = ("BIG-FREIGHT", "1")
    # 4,000,000 t x 10**12 g = 4e18 g each: two fit, the third would pass 2**63 - 1
    results = ledger.report_behaviours(platform=cast.platform, reports=[
        charge("whale", "4000000", n, big) for n in range(3)] + [charge("minnow", "1", 9, big)])
    assert [r.accepted for r in results] == [True, True, False, True]
    assert isinstance(results[2].error, LimitExceededError)
    assert results[2].error.code == "limit-exceeded"
    projected(runtime)
    # later reports count what the read models hold
    results = ledger.report_behaviours(platform=cast.other_platform, reports=[
        charge("whale", "2000000", 10, big), charge("whale", "1000000", 11, big)])
    assert [r.accepted for r in results] == [False, True]
    projected(runtime)
    whale = runtime.views.carbon_account(individual_account_id("whale"))
    assert whale["earned"] == 9 * 10**18 <= MAX_POINTS


# ------------------------------------------------------------------ claims and supply


def test_claim_totals_stay_within_64_bits(runtime, cast):
    ledger = runtime.ledger
    holder = cast.holders[0]
    half = MAX_GRAMS // 2 + 1
    first = import_range(runtime, cast, "CDCER", "A", 0, half, holder)
    second = import_range(runtime, cast, "CDCER", "B", 0, half, holder)
    claim = ledger.register_claim(actor=holder, event_name="Games", footprint_g=MAX_GRAMS)
    ledger.retire(actor=holder, batch_id=first, quantity=half,
                  **{**RETIRE, "details": {"event": "Games", "claim_id": str(claim)}})
    recorded = ledger.recorder.max_notification_id()
    with pytest.raises(LimitExceededError):
        ledger.retire(actor=holder, batch_id=second, quantity=half,
                      **{**RETIRE, "details": {"event": "Games", "claim_id": str(claim)}})
    assert ledger.recorder.max_notification_id() == recorded
    ledger.retire(actor=holder, batch_id=second, quantity=MAX_GRAMS - half,
                  **{**RETIRE, "details": {"event": "Games", "claim_id": str(claim)}})
    projected(runtime)
    assert ledger.claim(claim).retired_g == MAX_GRAMS
    # supply totals of a registry may pass 2**63 - 1: summed exactly
    (totals,) = runtime.views.supply_totals(registry="CDCER")
    assert totals["issued"] == 2 * half
    assert totals["batches"] == 2


# ------------------------------------------------------------------ old events


def test_a_methodology_published_before_max_activity_gets_the_default(runtime, cast):
    """A stored version 1 ``Published`` (no ``max_activity``) is upcast, never rewritten."""
    ledger = runtime.ledger
    methodology = Methodology.publish(
        methodology_id("OLD-METHOD", "1"), code="OLD-METHOD", version="1", region="Wuhan",
        scene="old", activity_unit="kWh", factor_g_per_unit="600",
        valid_from=datetime(2024, 1, 1, tzinfo=UTC), valid_until=None, actor=cast.operator)
    stored = ledger.mapper.to_stored_event(methodology.collect_events()[0])
    state = json.loads(stored.state)
    del state["max_activity"]
    del state["class_version"]
    old = type(stored)(originator_id=stored.originator_id,
                       originator_version=stored.originator_version, topic=stored.topic,
                       state=json.dumps(state).encode())
    ledger.recorder.insert_events([old])
    loaded = ledger.methodology(methodology.id)
    assert loaded.max_activity == DEFAULT_MAX_ACTIVITY
    assert loaded.max_activity_text is None
    assert ledger.recorder.select_events(methodology.id)[0].state == old.state  # as stored
    results = ledger.report_behaviours(platform=cast.platform, reports=[
        charge("p", "10000000", 1, ("OLD-METHOD", "1")),
        charge("p", "10000000.5", 2, ("OLD-METHOD", "1"))])
    assert [r.accepted for r in results] == [True, False], [r.error for r in results]
    projected(runtime)


def test_events_an_older_ledger_may_hold_are_projected(runtime, cast):
    """Saved past today's rules, as before them: a listing ref reused on another batch, two
    batches of one label, a label longer than 128 characters. The read models take them."""
    ledger = runtime.ledger
    first = issue(ledger, cast, 5)
    second = issue(ledger, cast, 6)
    ledger.grant_mandate(actor=cast.platform, agent=cast.exchange, scope="listing")
    ledger.list_for_sale(actor=cast.exchange, batch_id=first, seller=cast.platform,
                         listing_ref="L-1", quantity=10)
    reused = listing_id(cast.exchange, "L-1")
    batch = ledger.batch(second)
    holding = ledger._holding(second, cast.platform)  # the seller's credits, as commands do
    ranges = holding.move_to_batch(10, "seller")
    batch._moved_from_holding(account=str(cast.platform), quantity=10, ranges=ranges)
    batch._escrowed(listing_id=str(reused), listing_ref="L-1", exchange=str(cast.exchange),
                    seller=str(cast.platform), quantity=10, ranges=ranges,
                    actor=str(cast.exchange))
    ledger.save(batch, holding)
    for block in ("HBCER-2024-000001", "L" * 200):  # a local label again; too long a label
        old = CreditBatch._create(
            CreditBatch.Imported, id=uuid4(), block=block, registry="R" * 70, vintage=2024,
            methodology=str(cast.methodology), methodology_label="WH-EV-CHARGING-V1 v1",
            region="Chengdu", project_type="t" * 40, quantity=10, serial_start=0,
            holder=str(cast.holders[0]), source={"kind": "import"}, behaviours_root=None,
            actor=str(cast.operator))
        ledger.save(old)
    ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
        trade_ref="T-1", listing_ref="L-1", batch_id=second, seller=cast.platform,
        buyer=cast.holders[1], quantity=4, price_per_tonne="50", currency="CNY"))
    ledger.cancel_listing(actor=cast.exchange, batch_id=second, listing_ref="L-1")
    projected(runtime)
    rows = {r["batch"]: r for r in runtime.views._all(select(schema.listings))}
    assert rows[str(first)]["status"] == "open" and rows[str(first)]["sold"] == 0
    assert rows[str(second)]["status"] == "cancelled" and rows[str(second)]["sold"] == 4
    assert runtime.views.batch_by_block("HBCER-2024-000001")["id"] == str(first)


def test_a_token_pool_counts_at_most_64_bits_of_grams() -> None:
    """A pool's row counts everything ever minted into it: credits going round (locked,
    minted, burned back, locked again) once passed 2**63 - 1 there."""
    holder, bridge = uuid4(), uuid4()
    half = MAX_GRAMS // 2 + 1
    batch = CreditBatch.issue(
        uuid4(), block="CDCER:B", registry="CDCER", vintage=2024, methodology=uuid4(),
        methodology_label="M v1", region="Chengdu", project_type="imported", quantity=half,
        holder=holder, source={}, behaviours_root=None, actor=holder)
    token = "0x" + "ab" * 20
    lock = {"holder": holder, "quantity": half, "chain_address": "0x" + "cd" * 20,
            "actor": holder, "chain_id": 1, "token_contract": token}
    first = uuid4()
    batch.lock_for_tokens(lock_id=first, **lock)
    batch.record_token_mint(lock_id=first, chain_reference="0xmint", actor=bridge)
    pool = token_pool_id(batch.id, 1, token)
    batch.unlock_tokens(lock_id=pool, recipient=holder, quantity=half,
                        chain_reference="0xburn", actor=bridge, burn_id="burn-1")
    with pytest.raises(LimitExceededError):  # a second round would count 2 * half
        batch.lock_for_tokens(lock_id=uuid4(), **lock)
    batch.lock_for_tokens(lock_id=uuid4(), **{**lock, "quantity": MAX_GRAMS - half})
    batch.lock_for_tokens(lock_id=uuid4(), **{**lock, "quantity": 1, "chain_id": 2})


def test_a_claims_donations_stay_within_64_bits() -> None:
    claim = NeutralityClaim.register(uuid4(), organiser=uuid4(), event_name="Games",
                                     footprint_g=1, scope="event", actor=uuid4())
    claim.receive_donation(account=uuid4(), points=MAX_GRAMS, actor=uuid4())
    with pytest.raises(LimitExceededError):
        claim.receive_donation(account=uuid4(), points=1, actor=uuid4())


def test_an_old_sum_past_64_bits_stops_the_projector_naming_it(runtime, cast):
    """Points an old log may hold past 2**63 - 1 cannot be held: the projector stops before
    the behaviour that passes it, naming it, on SQLite too (which would have made the sum a
    float, silently)."""
    runtime.sync()
    ledger = runtime.ledger
    account = str(individual_account_id("whale"))

    def saved(n: int) -> Behaviour.Reported:
        event = Behaviour.Reported(
            originator_topic=get_topic(Behaviour), originator_id=uuid4(),
            originator_version=1, timestamp=Behaviour.Reported.create_timestamp(),
            platform=str(cast.platform), platform_ref=f"old-{n}", account=account,
            methodology=str(cast.methodology), scene="ev-charging", act_identity=f"old:{n}",
            activity_amount="1", occurred_at=datetime(2024, 9, 1, tzinfo=UTC),
            reduction_g=5 * 10**18, exact_g=str(5 * 10**18))
        ledger.save(event)
        return event

    saved(1)
    runtime.sync()  # one page each: the sum is made by the database
    second = saved(2)
    with pytest.raises(ProjectionStuckError) as raised:
        runtime.sync()
    assert raised.value.failure.originator_id == str(second.originator_id)
    assert runtime.views.carbon_account(account)["earned"] == 5 * 10**18  # not a float


def test_a_burn_retires_once_whatever_batch_the_bridge_names(runtime, cast):
    """A retirement made by an on-chain burn has an id derived from the burn: the same burn
    named on a second batch once gave two retirements one id (``retirements.id``)."""
    ledger = runtime.ledger
    bridge = ledger.register_participant(kind="registry_operator", name="Bridge",
                                         registered_by=cast.operator, roles=["bridge"])
    token, chain_id = "0x" + "ab" * 20, 31337
    pools = []
    for day in (7, 8):
        batch = issue(ledger, cast, day)
        lock = ledger.lock_for_tokens(actor=cast.platform, batch_id=batch, quantity=1_000,
                                      chain_address="0x" + "cd" * 20, chain_id=chain_id,
                                      token_contract=token)
        ledger.record_token_mint(actor=bridge, batch_id=batch, lock_id=lock,
                                 chain_reference="0xmint")
        pools.append((batch, token_pool_id(batch, chain_id, token)))
    burned = {"quantity": 10, "chain_reference": "0xburn", "burn_id": "burn/1",
              "chain_account": "0x" + "ef" * 20, **RETIRE}
    (first, first_pool), (second, second_pool) = pools
    ledger.retire_tokenised(actor=bridge, batch_id=first, pool_id=first_pool, **burned)
    recorded = ledger.recorder.max_notification_id()
    with pytest.raises(DuplicateRecordError):
        ledger.retire_tokenised(actor=bridge, batch_id=second, pool_id=second_pool, **burned)
    assert ledger.recorder.max_notification_id() == recorded
    ledger.retire_tokenised(actor=bridge, batch_id=second, pool_id=second_pool,
                            **{**burned, "burn_id": "burn/2"})
    projected(runtime)
