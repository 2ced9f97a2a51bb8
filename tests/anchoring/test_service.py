"""The anchoring service (anchoring.service.Anchorer) on a real ledger and real chains."""

import logging
import threading
import time

import pytest
from sqlalchemy import select

from anchoring.chain import ChainUnavailableError, InProcessChain
from anchoring.log import MerkleLog
from anchoring.merkle import verify_inclusion
from anchoring.service import Anchorer, ConsistencyError, merkle_anchors
from tests.anchoring.conftest import add_events, mine_blocks

HOUR = 3600.0


def make_anchorer(merkle_log, chain, engine, **kwargs):
    options = {"every_events": 50, "every_seconds": HOUR, "confirmations": 0}
    options.update(kwargs)
    return Anchorer(merkle_log, chain, engine, **options)


class FlakyChain:
    """Wraps a chain client; while ``down`` every call raises ChainUnavailableError."""

    def __init__(self, chain):
        self.chain = chain
        self.down = False
        self.calls = []

    def __getattr__(self, name):
        attribute = getattr(self.chain, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            self.calls.append(name)
            if self.down:
                raise ChainUnavailableError("connection refused (simulated)")
            return attribute(*args, **kwargs)

        return call


# ------------------------------------------------------------------------------------ triggers


def test_anchors_every_n_events(ledger, merkle_log, chain, store_engine):
    anchorer = make_anchorer(merkle_log, chain, store_engine)

    add_events(ledger, 30)
    status = anchorer.tick(now=0.0)
    assert (status.state, status.tree_size, status.appended) == ("idle", 30, 30)
    assert chain.checkpoint_count() == 0

    add_events(ledger, 20)
    status = anchorer.tick(now=1.0)
    assert status.state == "anchored"
    assert status.anchor.tree_size == 50
    assert status.anchor.root == merkle_log.root(50)
    assert chain.latest_checkpoint().tree_size == 50
    assert chain.root_of(50) == merkle_log.root(50)

    add_events(ledger, 49)
    assert anchorer.tick(now=2.0).state == "idle"
    add_events(ledger, 1)
    status = anchorer.tick(now=3.0)
    assert status.state == "anchored"
    assert status.anchor.tree_size == 100

    add_events(ledger, 120)
    status = anchorer.tick(now=4.0)  # a burst: one anchor for the whole batch
    assert (status.state, status.anchor.tree_size) == ("anchored", 220)
    assert [a.tree_size for a in anchorer.anchors()] == [50, 100, 220]
    assert chain.checkpoint_count() == 3
    for record in anchorer.anchors():
        checkpoint = chain.checkpoint(record.checkpoint_index)
        assert (checkpoint.tree_size, checkpoint.root) == (record.tree_size, record.root)
        assert checkpoint.block_number == record.block_number
        assert record.contract_address == chain.contract_address
        assert record.chain_id == chain.chain_id
        assert record.final  # K = 0


def test_anchors_after_every_seconds_when_there_are_new_events(
    ledger, merkle_log, in_process_chain, store_engine
):
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine, every_seconds=10.0)
    add_events(ledger, 5)
    assert anchorer.tick(now=100.0).state == "idle"  # the clock starts at the first tick
    assert anchorer.tick(now=109.0).state == "idle"
    status = anchorer.tick(now=110.0)
    assert (status.state, status.anchor.tree_size) == ("anchored", 5)
    assert anchorer.tick(now=200.0).state == "idle"  # time passed, but no new event
    add_events(ledger, 1)
    assert anchorer.tick(now=200.0).state == "anchored"  # 90 s since the last anchor
    add_events(ledger, 1)
    assert anchorer.tick(now=209.0).state == "idle"
    assert anchorer.tick(now=210.0).state == "anchored"
    assert [a.tree_size for a in anchorer.anchors()] == [5, 6, 7]


def test_nothing_to_anchor_on_an_empty_log(merkle_log, in_process_chain, store_engine):
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine, every_seconds=0.0)
    assert anchorer.tick(now=0.0).state == "idle"
    assert in_process_chain.checkpoint_count() == 0


# ------------------------------------------------------------------------------------ consistency


def test_refuses_to_anchor_over_a_forked_history(
    ledger, merkle_log, in_process_chain, store_engine
):
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine)
    add_events(ledger, 50)
    assert anchorer.tick(now=0.0).state == "anchored"
    # Someone with the anchorer role anchors a different history of 60 events.
    add_events(ledger, 10)
    merkle_log.catch_up()
    in_process_chain.anchor(60, b"\x42" * 32)

    add_events(ledger, 50)
    with pytest.raises(ConsistencyError):
        anchorer.tick(now=1.0)
    assert in_process_chain.latest_checkpoint().tree_size == 60  # nothing more anchored
    assert [a.tree_size for a in anchorer.anchors()] == [50]


def test_refuses_when_the_chain_has_more_events_than_the_log(
    ledger, merkle_log, in_process_chain, store_engine
):
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine)
    add_events(ledger, 50)
    in_process_chain.anchor(10_000, b"\x42" * 32)
    with pytest.raises(ConsistencyError):
        anchorer.tick(now=0.0)
    assert in_process_chain.checkpoint_count() == 1


def test_adopts_a_consistent_checkpoint_it_did_not_record(
    ledger, merkle_log, in_process_chain, store_engine
):
    """E.g. an anchor whose receipt was lost to a timeout, then mined."""
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine)
    add_events(ledger, 40)
    merkle_log.catch_up()
    receipt = in_process_chain.anchor(40, merkle_log.root(40))

    add_events(ledger, 50)
    status = anchorer.tick(now=0.0)

    assert (status.state, status.anchor.tree_size) == ("anchored", 90)
    adopted = anchorer.record_for(40)
    assert (adopted.tx_hash, adopted.block_number, adopted.checkpoint_index) == (
        receipt.tx_hash,
        receipt.block_number,
        0,
    )
    assert [a.tree_size for a in anchorer.anchors()] == [40, 90]


# ------------------------------------------------------------------------------------ outage


def test_chain_outage_does_not_stop_the_ledger_and_is_caught_up(
    ledger, merkle_log, in_process_chain, store_engine, caplog
):
    flaky = FlakyChain(in_process_chain)
    anchorer = make_anchorer(merkle_log, flaky, store_engine)
    add_events(ledger, 50)
    assert anchorer.tick(now=0.0).state == "anchored"

    flaky.down = True
    with caplog.at_level(logging.WARNING, logger="anchoring.service"):
        for round_ in range(3):
            add_events(ledger, 60, prefix=f"outage-{round_}")  # commands keep working
            status = anchorer.tick(now=1.0 + round_)
            assert status.state == "chain-unavailable"
            assert "simulated" in status.error
            assert status.tree_size == 50 + 60 * (round_ + 1)  # the log keeps up
    assert "chain unavailable" in caplog.text
    assert ledger.recorder.max_notification_id() == 230

    flaky.down = False
    status = anchorer.tick(now=10.0)
    assert (status.state, status.anchor.tree_size) == ("anchored", 230)
    # Nothing was submitted during the outage; one anchor of the latest root afterwards.
    assert flaky.calls.count("anchor") == 2
    assert [a.tree_size for a in anchorer.anchors()] == [50, 230]  # only the latest root
    assert in_process_chain.root_of(230) == merkle_log.root(230)


# ------------------------------------------------------------------------------------ finality


def test_anchor_is_final_after_k_blocks(ledger, merkle_log, chain, store_engine):
    anchorer = make_anchorer(merkle_log, chain, store_engine, confirmations=2)
    add_events(ledger, 50)
    record = anchorer.tick(now=0.0).anchor
    position = ledger.recorder.max_notification_id()

    assert not record.final
    assert anchorer.anchored_checkpoint_covering(position) is None
    mine_blocks(chain, 1)
    assert anchorer.refresh_confirmations() == 0
    assert not anchorer.record_for(50).final
    assert anchorer.record_for(50).confirmations == 1
    assert anchorer.anchored_checkpoint_covering(position) is None

    mine_blocks(chain, 1)
    status = anchorer.tick(now=1.0)  # ticks refresh confirmations too
    assert status.newly_final == 1
    final = anchorer.record_for(50)
    assert final.final
    assert final.confirmations == 2
    assert anchorer.anchored_checkpoint_covering(position) == final
    with store_engine.connect() as conn:
        assert conn.execute(select(merkle_anchors.c.confirmed)).scalar_one() is True


def test_anchored_checkpoint_covering(ledger, merkle_log, in_process_chain, store_engine):
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine)
    add_events(ledger, 50)
    anchorer.tick(now=0.0)
    add_events(ledger, 50)
    anchorer.tick(now=1.0)
    add_events(ledger, 10)
    anchorer.tick(now=2.0)
    notifications = ledger.recorder.select_notifications(start=1, limit=1000)

    def covering(index):
        return anchorer.anchored_checkpoint_covering(notifications[index].id)

    assert covering(0).tree_size == 50
    assert covering(49).tree_size == 50
    assert covering(50).tree_size == 100
    assert covering(99).tree_size == 100
    assert covering(100) is None  # recorded, not anchored yet
    assert anchorer.anchored_checkpoint_covering(10**6) is None  # no such event

    # Everything a certificate needs verifies against the chain.
    record = covering(73)
    index = merkle_log.index_of(notifications[73].id)
    proof = merkle_log.inclusion_proof(index, record.tree_size)
    anchored_root = in_process_chain.root_of(record.tree_size)
    assert verify_inclusion(
        merkle_log.leaf_hash(index), index, record.tree_size, proof, anchored_root
    )


def test_records_of_another_registry_are_ignored(ledger, merkle_log, store_engine):
    first = make_anchorer(merkle_log, InProcessChain(), store_engine)
    add_events(ledger, 50)
    assert first.tick(now=0.0).state == "anchored"

    # Restarted on a new (ephemeral) chain: the old records do not count there.
    second = make_anchorer(merkle_log, InProcessChain(), store_engine)
    assert second.anchors() == []
    assert second.anchored_checkpoint_covering(1) is None
    status = second.tick(now=0.0)
    assert (status.state, status.anchor.tree_size) == ("anchored", 50)
    assert len(first.anchors()) == len(second.anchors()) == 1


def test_state_survives_a_restart(ledger, store_url, in_process_chain):
    from ledger.projections.database import make_engine

    engine = make_engine(store_url)
    first = make_anchorer(MerkleLog(ledger, engine), in_process_chain, engine)
    add_events(ledger, 50)
    first.tick(now=0.0)
    add_events(ledger, 30)
    first.tick(now=1.0)
    engine.dispose()

    engine = make_engine(store_url)
    log = MerkleLog(ledger, engine)
    second = make_anchorer(log, in_process_chain, engine)
    assert log.size == 80
    assert [a.tree_size for a in second.anchors()] == [50]
    add_events(ledger, 20)
    assert second.tick(now=2.0).anchor.tree_size == 100
    engine.dispose()


# ------------------------------------------------------------------------------------ run loop


def test_run_loop_anchors_until_stopped(ledger, merkle_log, in_process_chain, store_engine):
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine, every_events=12)
    stop = threading.Event()
    thread = threading.Thread(target=anchorer.run, args=(stop, 0.02))
    thread.start()

    def wait_for_checkpoints(count):
        deadline = time.monotonic() + 20
        while in_process_chain.checkpoint_count() < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return in_process_chain.checkpoint_count()

    try:
        add_events(ledger, 12)
        assert wait_for_checkpoints(1) == 1
        add_events(ledger, 12, prefix="q")
        assert wait_for_checkpoints(2) == 2
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    assert [a.tree_size for a in anchorer.anchors()] == [12, 24]


def test_run_loop_stops_on_a_forked_history(ledger, merkle_log, in_process_chain, store_engine):
    anchorer = make_anchorer(merkle_log, in_process_chain, store_engine, every_events=1)
    add_events(ledger, 5)
    in_process_chain.anchor(3, b"\x13" * 32)
    with pytest.raises(ConsistencyError):
        anchorer.run(threading.Event(), 0.01)


def test_invalid_configuration(merkle_log, in_process_chain, store_engine):
    with pytest.raises(ValueError):
        make_anchorer(merkle_log, in_process_chain, store_engine, every_events=0)
    with pytest.raises(ValueError):
        make_anchorer(merkle_log, in_process_chain, store_engine, confirmations=-1)
