"""Anchors lost in a chain reorg or rollback: the anchorer re-sends them, the audit reports
them (the chain snapshotted and reverted: eth-tester in process, anvil over JSON-RPC)."""

from __future__ import annotations

from typing import Any

from anchoring.audit import audit
from anchoring.chain import InProcessChain
from anchoring.service import Anchorer
from tests.anchoring.conftest import add_events, mine_blocks


def snapshot(chain: Any) -> Any:
    if isinstance(chain, InProcessChain):
        return chain.tester.take_snapshot()
    return chain.w3.provider.make_request("evm_snapshot", [])["result"]


def revert(chain: Any, snapshot_id: Any) -> None:
    if isinstance(chain, InProcessChain):
        chain.tester.revert_to_snapshot(snapshot_id)
    else:
        assert chain.w3.provider.make_request("evm_revert", [snapshot_id])["result"] is True


def anchored_twice(ledger: Any, merkle_log: Any, chain: Any, engine: Any) -> tuple[Anchorer, Any]:
    """Anchors of 5 and 10 events; returns the anchorer and a snapshot taken between them."""
    anchorer = Anchorer(merkle_log, chain, engine, every_events=5, every_seconds=3600,
                        confirmations=0)
    add_events(ledger, 5)
    assert anchorer.tick(now=0.0).state == "anchored"
    before = snapshot(chain)
    add_events(ledger, 5)
    assert anchorer.tick(now=1.0).anchor.tree_size == 10
    return anchorer, before


def test_an_anchor_rolled_back_is_reported_by_the_audit_and_re_sent(
        ledger, merkle_log, chain, store_engine):
    anchorer, before = anchored_twice(ledger, merkle_log, chain, store_engine)
    lost = anchorer.record_for(10)
    revert(chain, before)
    assert chain.checkpoint_count() == 1

    report = audit(ledger.recorder, merkle_log, anchorer, chain)
    assert not report.tampering
    assert any(f"{lost.tx_hash}" in p and "is not in the registry" in p
               for p in report.anchoring)
    assert any(f"{lost.tx_hash}" in p and "transaction is not on chain" in p
               for p in report.anchoring)

    anchorer.every_events = 1_000  # no trigger is due: the lost anchor is re-sent anyway
    status = anchorer.tick(now=2.0)
    assert status.state == "anchored" and status.anchor.tree_size == 10
    assert chain.checkpoint_count() == 2
    assert chain.root_of(10) == merkle_log.root(10)
    assert [a.tree_size for a in anchorer.anchors()] == [5, 10]
    assert anchorer.tick(now=3.0).state == "idle"
    assert audit(ledger.recorder, merkle_log, anchorer, chain).ok


def test_every_anchor_rolled_back_is_re_sent_as_one(ledger, merkle_log, chain, store_engine):
    anchorer = Anchorer(merkle_log, chain, store_engine, every_events=5,
                        every_seconds=3600, confirmations=0)
    before = snapshot(chain)
    add_events(ledger, 5)
    anchorer.tick(now=0.0)
    add_events(ledger, 6)
    anchorer.tick(now=1.0)
    revert(chain, before)
    assert chain.checkpoint_count() == 0
    status = anchorer.tick(now=2.0)
    assert (status.state, status.anchor.tree_size) == ("anchored", 11)
    assert [a.tree_size for a in anchorer.anchors()] == [11]
    assert audit(ledger.recorder, merkle_log, anchorer, chain).ok


def test_an_anchor_re_mined_in_another_block_is_adopted_with_its_new_receipt(
        ledger, merkle_log, in_process_chain, store_engine):
    chain = in_process_chain
    anchorer, before = anchored_twice(ledger, merkle_log, chain, store_engine)
    old = anchorer.record_for(10)
    revert(chain, before)
    mine_blocks(chain, 3)
    receipt = chain.anchor(10, merkle_log.root(10))  # the same checkpoint, in a later block
    assert receipt.block_number != old.block_number

    report = audit(ledger.recorder, merkle_log, anchorer, chain)
    assert any("differs from the registry's checkpoint 1" in p for p in report.anchoring)

    assert anchorer.tick(now=2.0).state == "idle"  # nothing to re-send
    new = anchorer.record_for(10)
    assert (new.block_number, new.tx_hash) == (receipt.block_number, receipt.tx_hash)
    assert chain.checkpoint_count() == 2
    assert audit(ledger.recorder, merkle_log, anchorer, chain).ok


def test_an_anchor_missing_for_less_than_lost_after_is_not_re_sent(
        ledger, merkle_log, in_process_chain, store_engine):
    """A node lagging behind its peers misses recent anchors for a while: they are re-sent
    only once missing for ``lost_after`` seconds."""
    chain = in_process_chain
    anchorer, before = anchored_twice(ledger, merkle_log, chain, store_engine)
    anchorer.lost_after = 10.0
    revert(chain, before)
    assert anchorer.tick(now=2.0).state == "idle"
    assert anchorer.tick(now=11.0).state == "idle"
    assert [a.tree_size for a in anchorer.anchors()] == [5, 10]
    status = anchorer.tick(now=12.0)
    assert (status.state, status.anchor.tree_size) == ("anchored", 10)
    assert chain.checkpoint_count() == 2


def test_an_anchor_seen_again_is_kept_and_its_grace_restarts(ledger, merkle_log,
                                                             in_process_chain, store_engine):
    chain = in_process_chain
    anchorer, before = anchored_twice(ledger, merkle_log, chain, store_engine)
    anchorer.lost_after = 10.0
    revert(chain, before)
    assert anchorer.tick(now=2.0).state == "idle"  # missing since 2
    chain.anchor(10, merkle_log.root(10))  # the node sees it again
    assert anchorer.tick(now=20.0).state == "idle"
    assert anchorer.record_for(10).block_number == chain.latest_checkpoint().block_number
    revert(chain, before)
    assert anchorer.tick(now=21.0).state == "idle"  # missing again: a new grace, from 21
    assert anchorer.tick(now=30.0).state == "idle"
    assert anchorer.tick(now=31.0).state == "anchored"
    assert chain.checkpoint_count() == 2
