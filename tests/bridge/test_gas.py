"""Gas of a proven mint when the ledger's log holds 60,000 events.

The lock events are genuine ones (ledger domain command, event store mapper) placed at leaves
1,000 and 2,000 of a tree of 60,000 leaves whose root is anchored in the registry, so their
inclusion proofs have the full depth of 16 hashes. The first mint of a batch also initialises
its supply counters; a second one of the same batch does not.
"""

from __future__ import annotations

import pytest

from anchoring.chain import InProcessChain, JsonRpcChain
from anchoring.merkle import MerkleTree, leaf_hash
from tests.bridge.conftest import ANVIL_PRIVATE_KEY, CHAIN_KINDS
from tests.bridge.support import make_token_world

EVENTS = 60_000
POSITIONS = (1_000, 2_000)
RECIPIENT = "0x" + "a1" * 20


@pytest.mark.parametrize("kind", CHAIN_KINDS)
def test_gas_of_a_mint_with_a_proof_at_60k_events(kind, request):
    if kind == "in-process":
        chain = InProcessChain()
    else:
        chain = JsonRpcChain(request.getfixturevalue("anvil_url"), ANVIL_PRIVATE_KEY,
                             receipt_timeout=30.0)
    tw = make_token_world(chain)
    first = tw.lock(RECIPIENT, grams=2_000 * 10**6)  # the Hubei 2,000 t
    second = tw.lock(RECIPIENT, grams=80 * 10**6, batch_id=first.batch_id)
    leaves = [leaf_hash(i.to_bytes(8, "big")) for i in range(EVENTS)]
    for position, event in zip(POSITIONS, (first, second), strict=True):
        leaves[position] = leaf_hash(event.leaf())
    tree = MerkleTree(leaves)
    chain.anchor(EVENTS, tree.root())
    gas = []
    for position, event in zip(POSITIONS, (first, second), strict=True):
        proof = tree.inclusion_proof(position)
        assert len(proof) == 16
        receipt = tw.send(tw.token.functions.mint(event.leaf(), position, EVENTS, proof,
                                                  event.message_offset))
        gas.append(int(receipt["gasUsed"]))
    print(f"\nmint gas at {EVENTS:,} events on {kind}: first of its batch {gas[0]:,}, "
          f"next {gas[1]:,} (leaf {len(first.leaf())} bytes, proof 16 hashes)")
    assert gas[0] < 230_000 and gas[1] < gas[0]
