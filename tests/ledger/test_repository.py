"""LedgerRepository: several cached aggregates brought up to date with one query."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from ledger.application import Ledger
from ledger.domain.holding import Holding, holding_id
from tests.ledger.conftest import TONNE, World, sqlite_env


class Counter(Aggregate):
    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


def two_ledgers(tmp_path: Path) -> tuple[Ledger, Ledger]:
    """Two processes' views of one store (each with its own cache)."""
    env = sqlite_env(tmp_path / "events.sqlite")
    return Ledger(env=env), Ledger(env=env)


def count_reads(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    select = ledger.recorder.select_events

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args or kwargs)
        return select(*args, **kwargs)

    monkeypatch.setattr(ledger.recorder, "select_events", counting)
    return calls


def test_cached_aggregates_catch_up_with_another_writer_in_one_query(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine, theirs = two_ledgers(tmp_path)
    counters = [Counter() for _ in range(3)]
    mine.save(*counters)
    for counter in counters:
        mine.repository.get(counter.id)  # now cached here
    for steps, counter in enumerate(counters):  # the other process moves them on
        other = theirs.repository.get(counter.id)
        for _ in range(steps + 1):
            other.increment()
        theirs.save(other)
    reads = count_reads(mine, monkeypatch)

    with mine.repository.fast_forwarded(*(c.id for c in counters)):
        seen = [mine.repository.get(c.id).count for c in counters]

    assert seen == [1, 2, 3]
    assert reads == []  # one set-at-a-time query, none per aggregate


def test_a_copy_is_handed_out_and_the_cache_is_not_changed_through_it(
        tmp_path: Path) -> None:
    mine, _ = two_ledgers(tmp_path)
    counter = Counter()
    mine.save(counter)
    mine.repository.get(counter.id)
    with mine.repository.fast_forwarded(counter.id):
        copy = mine.repository.get(counter.id)
        copy.increment()  # not saved
        assert mine.repository.get(counter.id).count == 0


def test_outside_the_block_and_after_forgetting_reads_go_to_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine, theirs = two_ledgers(tmp_path)
    counter = Counter()
    mine.save(counter)
    mine.repository.get(counter.id)
    reads = count_reads(mine, monkeypatch)
    with mine.repository.fast_forwarded(counter.id):
        other = theirs.repository.get(counter.id)
        other.increment()
        theirs.save(other)  # written after the block's query
        assert mine.repository.get(counter.id).count == 0  # as of the block's start
        assert reads == []
        mine.repository.forget_fast_forwarded()  # e.g. a command lost a race
        assert mine.repository.get(counter.id).count == 1
        assert len(reads) == 1
    assert mine.repository.get(counter.id).count == 1
    assert len(reads) == 2


def test_aggregates_not_cached_are_read_as_usual(tmp_path: Path) -> None:
    mine, theirs = two_ledgers(tmp_path)
    counter = Counter()
    theirs.save(counter)
    with mine.repository.fast_forwarded(counter.id):
        assert mine.repository.get(counter.id).count == 0


def test_a_command_that_read_a_stale_batch_retries_with_fresh_state(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch moves on in another process after the command read it and before its
    save: the save conflicts (a version collision, or a refused read set where those are
    checked), and the retry must read the batch again, not the copy it first read."""
    batch_id = world.project_batch(quantity=10 * TONNE)
    ledger = world.ledger
    other = Ledger(env=sqlite_env(world.db))
    ledger.batch_view(batch_id)  # cached here
    read = ledger.batch
    writes: list[Any] = []

    def and_then_another_process_writes(aggregate_id: Any) -> Any:
        batch = read(aggregate_id)
        if aggregate_id == batch_id and not writes:
            writes.append(other.export(actor=world.emitter, batch_id=batch_id, quantity=1,
                                       destination="CCER"))
        return batch

    monkeypatch.setattr(ledger, "batch", and_then_another_process_writes)
    ledger.export(actor=world.emitter, batch_id=batch_id, quantity=2, destination="CCER")

    assert writes  # the race happened, and the command still applied once, on fresh state
    batch = ledger.batch_view(batch_id)
    assert batch.totals_by_state()["exported"] == 3
    assert batch.available(world.emitter) == 10 * TONNE - 3


def test_a_command_that_read_a_stale_holding_retries_with_fresh_state(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same race on a holding: a transfer reads the sender's holding, another process
    spends from it before the save, and the retry reads the holding again."""
    batch_id = world.project_batch(quantity=10 * TONNE)
    ledger = world.ledger
    other = Ledger(env=sqlite_env(world.db))
    ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                    quantity=1)  # both holdings cached here
    read = ledger._holding
    writes: list[Any] = []

    def and_then_another_process_writes(batch: Any, account: Any) -> Any:
        holding = read(batch, account)
        if str(account) == str(world.emitter) and not writes:
            writes.append(other.transfer(actor=world.emitter, batch_id=batch_id,
                                         recipient=world.organiser, quantity=2))
        return holding

    monkeypatch.setattr(ledger, "_holding", and_then_another_process_writes)
    ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=world.organiser,
                    quantity=4)

    assert writes
    assert ledger.retries.conflicts + ledger.retries.stale_reads >= 1
    batch = ledger.batch_view(batch_id)
    assert batch.available(world.organiser) == 7
    assert batch.available(world.emitter) == 10 * TONNE - 7


def test_a_new_participant_and_a_new_holding_are_cached_so_their_first_command_reads_nothing(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A holder that first receives credits then transfers them: its participant and its
    holding were cached when created, so that command asks the store for nothing."""
    ledger = world.ledger
    batch_id = world.project_batch(quantity=TONNE)
    newcomer = ledger.register_participant(kind="enterprise", name="newcomer",
                                           registered_by=world.operator)
    ledger.transfer(actor=world.emitter, batch_id=batch_id, recipient=newcomer, quantity=10)
    holding = holding_id(batch_id, newcomer)
    assert ledger.repository.cache is not None
    cached = ledger.repository.cache.get(holding)
    assert cached.version == 2 and cached.available == 10  # opened, then received
    reads = count_reads(ledger, monkeypatch)

    ledger.transfer(actor=newcomer, batch_id=batch_id, recipient=world.emitter, quantity=4)

    assert reads == []
    assert ledger.batch_view(batch_id).available(newcomer) == 6


def test_what_is_cached_when_created_is_a_copy_of_what_was_saved(tmp_path: Path) -> None:
    mine, theirs = two_ledgers(tmp_path)
    batch_id, account = uuid4(), uuid4()
    opened = Holding.open(batch_id, account, block="B", ranges=[[0, 10]])
    mine.save(opened)
    opened.receive(sender=uuid4(), ranges=[[10, 20]])  # changed after the save, not saved
    assert mine.repository.cache is not None
    cached = mine.repository.cache.get(opened.id)
    assert cached is not opened
    assert (cached.version, cached.available) == (1, 10)
    assert mine.repository.get(opened.id).available == 10
    assert theirs.repository.get(opened.id).available == 10  # as stored


def test_aggregates_not_read_again_are_not_cached_when_created(tmp_path: Path) -> None:
    mine, _ = two_ledgers(tmp_path)
    counter = Counter()
    mine.save(counter)
    assert mine.repository.cache is not None
    with pytest.raises(KeyError):
        mine.repository.cache.get(counter.id)


def test_closing_a_ledger_frees_its_cached_aggregates_without_the_cyclic_collector(
        tmp_path: Path) -> None:
    """The LRU cache's links form cycles; a process that froze them (gc.freeze, as a server
    does at start) would never free them. Closing the ledger unlinks them."""
    mine, theirs = two_ledgers(tmp_path)
    theirs.close()
    counter = Counter()
    mine.save(counter)
    cached = weakref.ref(mine.repository.get(counter.id, deepcopy_from_cache=False))
    gc.disable()
    try:
        mine.close()
        assert cached() is None  # freed by reference counting alone
    finally:
        gc.enable()
    assert mine.repository.cache is not None
    with pytest.raises(KeyError):
        mine.repository.cache.get(counter.id)
