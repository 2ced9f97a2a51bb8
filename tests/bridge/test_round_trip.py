"""Credits to tokens and back, on the in-process EVM and on the anvil JSON-RPC node.

Every step checks conservation: off-chain available + escrowed + pledged + retired + exported +
cancelled + locked-not-yet-minted + on-chain total supply (in grams) = issued, and, once the
watcher has synced, the ledger's token pool equals the on-chain supply and the read models
agree with the aggregates.
"""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from hexbytes import HexBytes

from anchoring.bridge import Bridge, BridgeRejectedError, LockNotProvableError
from anchoring.certificate import build_retirement_certificate, verify_certificate
from anchoring.log import MerkleLog
from anchoring.trust import trust_anchors_of
from ledger.domain.credit_batch import UNITS_PER_GRAM
from ledger.domain.errors import InsufficientBalanceError, InvalidStateError
from ledger.projections.database import make_engine

LOCKED = 300_000  # g = 0.3 t
TO_BOB = 100_000 * UNITS_PER_GRAM + UNITS_PER_GRAM // 2  # 100,000.5 g: a fraction of a gram
REDEEMED = 100_000
RETIRED = 50_000
RETIREMENT = {"beneficiary": "Shu's Group", "purpose": "compliance_offset",
              "purpose_detail": "2023", "jurisdiction": "Hubei", "consumption_period": "2023"}


def lock_and_anchor(world, quantity: int = LOCKED):
    lock_id = world.bridge.lock(holder=world.cast.platform, batch_id=world.batch,
                                quantity=quantity, recipient=world.alice.address)
    world.runtime.anchoring.anchor_now()
    return lock_id


def test_round_trip_lock_mint_transfer_redeem_retire(world):
    bridge, ledger, views = world.bridge, world.runtime.ledger, world.runtime.views
    platform, batch = world.cast.platform, world.batch
    issued = ledger.batch(batch).quantity
    world.assert_conserved()

    # -- tokenise: the holder locks credits for the token contract
    lock_id = bridge.lock(holder=platform, batch_id=batch, quantity=LOCKED,
                          recipient=world.alice.address)
    assert views.balance(platform, batch)["tokenised"] == LOCKED
    assert views.balance(platform, batch)["available"] == issued - LOCKED
    assert world.assert_conserved().locked_not_minted == LOCKED
    with pytest.raises(LockNotProvableError, match="not yet in a final anchored checkpoint"):
        bridge.mint(lock_id)
    # locked credits cannot move off chain meanwhile, nor be unlocked by hand
    with pytest.raises(InsufficientBalanceError):
        ledger.transfer(actor=platform, batch_id=batch, recipient=world.cast.holders[0],
                        quantity=issued - LOCKED + 1)
    with pytest.raises(InvalidStateError):
        ledger.unlock_tokens(actor=world.bridge_actor, batch_id=batch, lock_id=lock_id,
                             recipient=platform, quantity=1, chain_reference="0x1")

    # -- mint with the proof of the anchored lock event
    world.runtime.anchoring.anchor_now()
    minted = bridge.mint(lock_id)
    assert (minted.lock_id, minted.recipient, minted.amount) == (
        lock_id, world.alice.address, LOCKED * UNITS_PER_GRAM)
    assert minted.token_id == Bridge.token_id(batch) and minted.grams == LOCKED
    assert bridge.balance_of(world.alice.address, batch) == LOCKED * UNITS_PER_GRAM
    # minted on chain, not yet seen by the ledger: counted once, on chain
    in_flight = world.assert_conserved(synced=False)
    assert (in_flight.locked_not_minted, in_flight.on_chain, in_flight.pool) == (0, LOCKED, 0)
    assert bridge.sync().minted == 0  # fewer than K confirmations
    assert world.settle().minted == 1
    assert views.balance(world.bridge_actor, batch)["tokenised"] == LOCKED
    world.assert_conserved()

    # -- a fraction moves on chain: nothing changes off chain
    bridge.transfer(world.alice, world.bob.address, batch, TO_BOB)
    assert bridge.balance_of(world.bob.address, batch) == TO_BOB
    world.assert_conserved()

    # -- detokenise: Bob burns 100,000 g back to a ledger account
    holder = world.cast.holders[0]
    bridge.redeem(world.bob, batch, REDEEMED, holder)
    assert world.assert_conserved(synced=False).on_chain == LOCKED - REDEEMED
    report = world.settle()
    assert (report.redeemed, report.rejected) == (1, [])
    assert views.balance(holder, batch)["available"] == REDEEMED
    assert bridge.balance_of(world.bob.address, batch) == UNITS_PER_GRAM // 2  # dust stays
    world.assert_conserved()

    # -- retire on chain: Alice burns 50,000 g for a beneficiary and purpose
    receipt = bridge.retire(world.alice, batch, RETIRED, **RETIREMENT)
    assert world.settle().retired == 1
    conservation = world.assert_conserved()
    assert conservation.off_chain["retired"] == RETIRED
    assert conservation.on_chain == LOCKED - REDEEMED - RETIRED
    retirement = views.retirements(beneficiary="Shu's Group")[-1]
    tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
    assert retirement["quantity"] == RETIRED
    assert retirement["purpose"] == "compliance_offset"
    assert retirement["details"]["compliance_period"] == "2023"
    assert retirement["details"]["chain"] == {"transaction": tx_hash,
                                              "burn_id": bridge.burn_id(1),
                                              "account": world.alice.address}

    # -- the same certificate as an off-chain retirement, pointing at the burn
    world.runtime.anchoring.anchor_now()
    anchoring = world.runtime.anchoring
    cert = json.loads(json.dumps(build_retirement_certificate(
        world.runtime, anchoring.merkle_log, anchoring.anchorer, retirement["id"])))
    checks = verify_certificate(cert, anchoring.chain, trust_anchors_of(anchoring))
    assert [c.name for c in checks if not c.ok] == []
    assert {"content: retirement", "content: chain burn", "chain: checkpoint"} <= {
        c.name for c in checks}
    assert cert["record"]["details"]["chain"]["transaction"] == tx_hash
    cert["record"]["details"]["chain"]["transaction"] = "0x" + "00" * 32
    assert "content: chain burn" in [c.name for c in verify_certificate(cert) if not c.ok]

    # -- exactly once: nothing new, and a watcher with no memory applies nothing twice
    assert world.settle().skipped == 0
    amnesiac = Bridge(world.runtime, bridge.address, actor=world.bridge_actor,
                      confirmations=0, start_block=0,
                      store_engine=make_engine(f"sqlite:///{world.runtime.settings.data_dir}"
                                               "/amnesiac.sqlite"))
    replay = amnesiac.sync()
    assert (replay.minted, replay.redeemed, replay.retired, replay.skipped) == (0, 0, 0, 3)
    assert world.assert_conserved().on_chain == LOCKED - REDEEMED - RETIRED
    assert [e["kind"] for e in bridge.processed_events("applied")] == [
        "minted", "redeemed", "retired"]


def test_mint_with_a_forged_proof_is_rejected(world):
    lock_id = lock_and_anchor(world)
    proof = world.bridge.mint_proof(lock_id)
    forged_path = [bytes(32), *proof.proof[1:]]
    with pytest.raises(BridgeRejectedError) as rejected:
        world.bridge.submit_mint(proof.__class__(**{**proof.__dict__, "proof": forged_path}))
    assert rejected.value.error == "CarbonCreditTokenInvalidProof"
    assert rejected.value.error_args[1:] == (proof.leaf_index, proof.tree_size)
    # a leaf claiming more than was locked: its hash is not under the anchored root
    inflated = proof.leaf.replace(b'"quantity":300000', b'"quantity":900000')
    assert inflated != proof.leaf
    with pytest.raises(BridgeRejectedError) as rejected:
        world.bridge.submit_mint(proof.__class__(**{**proof.__dict__, "leaf": inflated}))
    assert rejected.value.error == "CarbonCreditTokenInvalidProof"
    # another leaf index for the same leaf and path
    with pytest.raises(BridgeRejectedError) as rejected:
        world.bridge.submit_mint(proof.__class__(**{**proof.__dict__,
                                                    "leaf_index": proof.leaf_index - 1}))
    assert rejected.value.error == "CarbonCreditTokenInvalidProof"
    assert world.bridge.total_supply(world.batch) == 0
    world.assert_conserved()


def test_replayed_mint_of_the_same_lock_is_rejected(world):
    lock_id = lock_and_anchor(world)
    first = world.bridge.mint_proof(lock_id)
    world.bridge.submit_mint(first)
    with pytest.raises(BridgeRejectedError) as rejected:
        world.bridge.submit_mint(first)
    assert rejected.value.error == "CarbonCreditTokenLockAlreadyMinted"
    assert rejected.value.error_args == (lock_id.bytes,)
    # proven again against a later, larger anchored tree: still the same lock
    world.bridge.lock(holder=world.cast.platform, batch_id=world.batch, quantity=1,
                      recipient=world.bob.address)
    world.runtime.anchoring.anchor_now()
    second = world.bridge.mint_proof(lock_id)
    later = world.runtime.anchoring.anchorer.latest_anchor()
    second = second.__class__(**{**second.__dict__, "tree_size": later.tree_size,
                                 "proof": world.runtime.anchoring.merkle_log.inclusion_proof(
                                     second.leaf_index, later.tree_size)})
    assert second.tree_size > first.tree_size
    with pytest.raises(BridgeRejectedError) as rejected:
        world.bridge.submit_mint(second)
    assert rejected.value.error == "CarbonCreditTokenLockAlreadyMinted"
    assert world.bridge.total_supply_g(world.batch) == LOCKED
    world.settle()
    world.assert_conserved()


def test_mint_against_a_root_that_is_not_anchored_is_rejected(world):
    lock_id = lock_and_anchor(world)
    proof = world.bridge.mint_proof(lock_id)
    # more events, in the local log but not anchored: a valid proof against an unanchored root
    world.runtime.ledger.transfer(actor=world.cast.platform, batch_id=world.batch,
                                  recipient=world.cast.holders[1], quantity=5)
    merkle_log: MerkleLog = world.runtime.anchoring.merkle_log
    merkle_log.catch_up()
    size = merkle_log.size
    assert size > proof.tree_size
    unanchored = proof.__class__(**{**proof.__dict__, "tree_size": size,
                                    "root": merkle_log.root(size),
                                    "proof": merkle_log.inclusion_proof(proof.leaf_index, size)})
    with pytest.raises(BridgeRejectedError) as rejected:
        world.bridge.submit_mint(unanchored)
    assert (rejected.value.error, rejected.value.error_args) == (
        "CarbonCreditTokenRootNotAnchored", (size,))
    assert not world.bridge.is_lock_minted(lock_id)
    world.assert_conserved()


@pytest.mark.parametrize("units", [UNITS_PER_GRAM + 1, UNITS_PER_GRAM // 2, 0])
def test_burns_of_other_than_whole_grams_are_rejected_on_chain(world, units):
    lock_id = lock_and_anchor(world, quantity=10)
    world.bridge.mint(lock_id)
    token, batch_token = world.bridge.token, Bridge.token_id(world.batch)
    attempts = [
        token.functions.redeem(batch_token, units, world.cast.holders[0].bytes),
        token.functions.retire(batch_token, units, ("Someone", "voluntary", "", "Hubei", "2024")),
    ]
    for attempt in attempts:
        with pytest.raises(BridgeRejectedError) as rejected:
            world.bridge.send(attempt, world.alice)
        assert (rejected.value.error, rejected.value.error_args) == (
            "CarbonCreditTokenAmountNotWholeGrams", (units,))
    assert world.bridge.total_supply_g(world.batch) == 10
    assert world.settle().redeemed == 0
    world.assert_conserved()


@pytest.mark.parametrize("world", ["in-process"], indirect=True)
def test_a_burn_the_ledger_rejects_is_held_in_flight_until_an_operator_applies_it(world):
    lock_id = lock_and_anchor(world, quantity=1_000)
    world.bridge.mint(lock_id)
    world.settle()
    stranger = uuid4()  # not a ledger account
    world.bridge.redeem(world.alice, world.batch, 400, stranger)
    report = world.settle()
    assert report.redeemed == 0
    assert [(kind, key) for kind, key, _ in report.rejected] == [("redeemed", "0")]
    assert "unknown-participant" in report.rejected[0][2]
    held = world.assert_conserved(synced=False)
    assert (held.burns_in_flight, held.pool, held.on_chain) == (400, 1_000, 600)
    # the operator credits the holder who asked for it, under the same burn id
    world.runtime.ledger.unlock_tokens(
        actor=world.bridge_actor, batch_id=world.batch, lock_id=world.bridge.pool_id(world.batch),
        recipient=world.cast.holders[2], quantity=400, chain_reference="operator: burn 0",
        burn_id=world.bridge.burn_id(0))
    assert world.assert_conserved().burns_in_flight == 0
    assert world.settle().redeemed == 0
    assert [e["status"] for e in world.bridge.processed_events()] == ["applied", "rejected"]
