"""Snapshots taken from the instance just saved are exactly the recorded state."""

from __future__ import annotations

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot

from ledger.application import Ledger
from ledger.domain.credit_batch import CreditBatch
from ledger.domain.holding import Holding, holding_id
from tests.ledger.conftest import TONNE, FakeQueries, World, sqlite_env


def test_a_batch_snapshot_equals_the_state_replayed_from_its_events(world: World) -> None:
    ledger = world.ledger
    batch_id = world.project_batch(quantity=100 * TONNE)
    interval = ledger.snapshotting_intervals[CreditBatch]
    for i in range(interval + 5):  # two events each: across two intervals
        if i % 7 == 3:
            ledger.cancel(actor=world.operator, batch_id=batch_id, holder=world.emitter,
                          quantity=5, reason=f"double-counted {i}")
        else:
            ledger.export(actor=world.emitter, batch_id=batch_id, quantity=1_000 + i,
                          destination="CCER")

    snapshots = list(ledger.snapshots.get(batch_id))
    assert [s.originator_version for s in snapshots] == [interval, 2 * interval]
    for snapshot in snapshots:
        replayed = project_aggregate(
            None, ledger.events.get(batch_id, lte=snapshot.originator_version))
        assert snapshot.state == CreditBatch.Snapshot.take(replayed).state
    assert ledger.batch(batch_id).totals_by_state() == \
        project_aggregate(None, ledger.events.get(batch_id)).totals_by_state()


def test_a_holding_snapshot_equals_the_state_replayed_from_its_events(world: World) -> None:
    ledger = world.ledger
    batch_id = world.project_batch(quantity=100 * TONNE)
    interval = ledger.snapshotting_intervals[Holding]
    people = [world.person(f"p-{i}") for i in range(4)]
    for i in range(interval * 2 + 5):  # across two intervals of the emitter's holding
        if i % 5 == 4:  # a pledge, as the holding's own (version 2 of its state)
            ledger.pledge(actor=world.emitter, batch_id=batch_id, holder=world.emitter,
                          bank=world.bank, loan_reference=f"loan-{i}", quantity=5 + i)
        elif i % 5 == 2:
            ledger.retire(actor=world.emitter, batch_id=batch_id, quantity=10 + i,
                          beneficiary="Shu's Group", purpose="voluntary", jurisdiction="CN",
                          consumption_period="2024")
        else:
            ledger.transfer(actor=world.emitter, batch_id=batch_id,
                            recipient=people[i % 4], quantity=1_000 + i)

    holding = holding_id(batch_id, world.emitter)
    snapshots = list(ledger.snapshots.get(holding))
    assert [s.originator_version for s in snapshots] == [interval, 2 * interval]
    for snapshot in snapshots:
        replayed = project_aggregate(
            None, ledger.events.get(holding, lte=snapshot.originator_version))
        assert snapshot.state == Holding.Snapshot.take(replayed).state
    restarted = Ledger(env=sqlite_env(world.db), queries=FakeQueries())
    try:
        assert restarted.batch_view(batch_id).lots == ledger.batch_view(batch_id).lots
    finally:
        restarted.close()


def test_a_batch_of_many_lots_is_snapshotted_at_its_grown_interval(world: World) -> None:
    """A batch's snapshots grow with its own lots (exports, pledges, listings: holders'
    credits are in their holdings), so they come less often (a constant share of each
    command): each snapshot's version is a multiple of the interval its batch had, and is
    exactly the recorded state."""
    ledger = world.ledger
    batch_id = world.project_batch(quantity=100 * TONNE)
    base = ledger.snapshotting_intervals[CreditBatch]
    for _ in range(320):
        ledger.export(actor=world.emitter, batch_id=batch_id, quantity=1_000,
                      destination="CCER")

    versions = [s.originator_version for s in ledger.snapshots.get(batch_id)]
    last = ledger.batch_view(batch_id).version
    assert len(ledger.batch(batch_id).lots) == 320
    assert len(versions) < last // base  # some multiples of the base were skipped
    for version in versions:
        replayed = project_aggregate(None, ledger.events.get(batch_id, lte=version))
        assert version % replayed.snapshot_interval(base) == 0
    snapshot = list(ledger.snapshots.get(batch_id))[-1]
    replayed = project_aggregate(None, ledger.events.get(batch_id,
                                                         lte=snapshot.originator_version))
    assert snapshot.state == CreditBatch.Snapshot.take(replayed).state


def test_a_batch_snapshotted_by_an_earlier_version_is_read_and_moved(world: World) -> None:
    """Snapshots written before the copy-on-write tables (the library's own snapshot class,
    plain dicts) still restore a batch that takes commands, in a restarted ledger."""
    ledger = world.ledger
    batch_id = world.project_batch(quantity=TONNE)
    for _ in range(3):
        ledger.export(actor=world.emitter, batch_id=batch_id, quantity=10, destination="CCER")
    replayed = project_aggregate(None, ledger.events.get(batch_id))
    ledger.snapshots.put([Snapshot.take(replayed)])  # as 0.1 wrote them
    ledger.close()
    restarted = Ledger(env=sqlite_env(world.db), queries=FakeQueries())
    try:
        restarted.export(actor=world.emitter, batch_id=batch_id, quantity=7,
                         destination="CCER")
        batch = restarted.batch(batch_id)
        assert batch.totals_by_state()["exported"] == 37
        assert batch.totals_by_state() == \
            project_aggregate(None, restarted.events.get(batch_id)).totals_by_state()
        assert type(next(iter(restarted.snapshots.get(batch_id, desc=True)))) is Snapshot
    finally:
        restarted.close()


def test_a_holding_of_many_retirements_is_copied_shared_and_snapshotted_less_often(
        world: World) -> None:
    """A holder retiring a gram at a time gathers a lot per retirement: its holding's copies
    share them (copy-on-write) and its snapshots come at an interval grown with them, each
    exactly the recorded state."""
    ledger = world.ledger
    batch_id = world.project_batch(quantity=TONNE)
    holding = holding_id(batch_id, world.emitter)
    base = ledger.snapshotting_intervals[Holding]
    for _ in range(320):
        ledger.retire(actor=world.emitter, batch_id=batch_id, quantity=1, beneficiary="B",
                      purpose="voluntary", jurisdiction="CN", consumption_period="2024")
    current = ledger.repository.get(holding)
    assert len(current.lots) == 321
    assert type(current.lots).__name__ == "CopyOnWriteMap"
    versions = [s.originator_version for s in ledger.snapshots.get(holding)]
    assert versions and len(versions) < current.version // base
    for version in versions:
        replayed = project_aggregate(None, ledger.events.get(holding, lte=version))
        assert version % replayed.snapshot_interval(base) == 0
    last = list(ledger.snapshots.get(holding))[-1]
    replayed = project_aggregate(None, ledger.events.get(holding, lte=last.originator_version))
    assert last.state == Holding.Snapshot.take(replayed).state
