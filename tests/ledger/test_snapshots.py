"""Snapshots taken from the instance just saved are exactly the recorded state."""

from __future__ import annotations

from eventsourcing.application import project_aggregate
from eventsourcing.domain import Snapshot

from ledger.application import Ledger
from ledger.domain.credit_batch import CreditBatch
from tests.ledger.conftest import TONNE, FakeQueries, World, sqlite_env


def test_a_batch_snapshot_equals_the_state_replayed_from_its_events(world: World) -> None:
    ledger = world.ledger
    batch_id = world.project_batch(quantity=100 * TONNE)
    interval = ledger.snapshotting_intervals[CreditBatch]
    recipients = [world.organiser, world.bank, world.exchange]
    for i in range(interval * 2 + 5):  # across two intervals, with listings and pledges
        if i % 7 == 3:
            ledger.pledge(actor=world.emitter, batch_id=batch_id, holder=world.emitter,
                          bank=world.bank, loan_reference=f"loan-{i}", quantity=5)
        else:
            ledger.transfer(actor=world.emitter, batch_id=batch_id,
                            recipient=recipients[i % 3], quantity=1_000 + i)

    snapshots = list(ledger.snapshots.get(batch_id))
    assert [s.originator_version for s in snapshots] == [interval, 2 * interval]
    for snapshot in snapshots:
        replayed = project_aggregate(
            None, ledger.events.get(batch_id, lte=snapshot.originator_version))
        assert snapshot.state == CreditBatch.Snapshot.take(replayed).state
    assert ledger.batch(batch_id).totals_by_state() == \
        project_aggregate(None, ledger.events.get(batch_id)).totals_by_state()


def test_a_batch_of_many_holders_is_snapshotted_at_its_grown_interval(world: World) -> None:
    """A batch's snapshots grow with its lots, so they come less often (a constant share
    of each command): each snapshot's version is a multiple of the interval its batch had,
    and is exactly the recorded state."""
    ledger = world.ledger
    batch_id = world.project_batch(quantity=100 * TONNE)
    base = ledger.snapshotting_intervals[CreditBatch]
    for i in range(320):
        ledger.transfer(actor=world.emitter, batch_id=batch_id,
                        recipient=world.person(f"holder-{i}"), quantity=1_000)

    versions = [s.originator_version for s in ledger.snapshots.get(batch_id)]
    last = ledger.batch(batch_id).version
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
    for i in range(3):
        ledger.transfer(actor=world.emitter, batch_id=batch_id,
                        recipient=world.person(f"p-{i}"), quantity=10)
    replayed = project_aggregate(None, ledger.events.get(batch_id))
    ledger.snapshots.put([Snapshot.take(replayed)])  # as 0.1 wrote them
    ledger.close()
    restarted = Ledger(env=sqlite_env(world.db), queries=FakeQueries())
    try:
        restarted.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                           quantity=7)
        batch = restarted.batch(batch_id)
        assert batch.available(world.organiser) == 7
        assert batch.totals_by_state() == \
            project_aggregate(None, restarted.events.get(batch_id)).totals_by_state()
        assert type(next(iter(restarted.snapshots.get(batch_id, desc=True)))) is Snapshot
    finally:
        restarted.close()
