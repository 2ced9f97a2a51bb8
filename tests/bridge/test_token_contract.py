"""The CarbonCreditToken contract on its own: roles, batch data, and what ``mint`` accepts.

Runs on the in-process EVM against a registry this test anchors into, so that any leaf (genuine
lock events built by the ledger's domain, and crafted ones) can be proven; the point is what the
contract checks beyond the proof. Reverts are asserted by custom error name and arguments.
"""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD

from anchoring.bridge import TOKEN_CONTRACT, BridgeRejectedError
from anchoring.leaf import encode_leaf
from anchoring.merkle import leaf_hash
from contracts import load_artifact
from ledger.domain.credit_batch import UNITS_PER_GRAM
from tests.bridge.support import (
    BATCH_INFO,
    LOCK_TOPIC,
    MINTER_ROLE,
    REGISTRAR_ROLE,
    LockEvent,
    make_token_world,
    rejected_with,
)

ALICE = to_checksum_address("0x" + "a1" * 20)
BOB = to_checksum_address("0x" + "b0" * 20)
ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def tw():
    return make_token_world()


def reverts(tw, function, signer=None) -> tuple:
    with pytest.raises(BridgeRejectedError) as raised:
        tw.send(function, signer)
    return rejected_with(raised.value)


def mint_reverts(tw, event: LockEvent, **kwargs) -> tuple:
    with pytest.raises(BridgeRejectedError) as raised:
        tw.mint(event, **kwargs)
    return rejected_with(raised.value)


# ------------------------------------------------------------------------------- deployment


def test_deployment_needs_an_admin_and_a_registry_contract(tw):
    artifact = load_artifact(TOKEN_CONTRACT)
    factory = tw.chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    assert reverts(tw, factory.constructor(tw.chain.contract_address, ZERO, "")) == (
        "CarbonCreditTokenInvalidAdmin", (ZERO,))
    assert reverts(tw, factory.constructor(BOB, tw.admin.address, "")) == (
        "CarbonCreditTokenInvalidRegistry", (BOB,))


def test_units_decimals_interfaces_and_token_ids(tw):
    functions = tw.token.functions
    assert functions.decimals().call() == 18
    assert functions.UNITS_PER_GRAM().call() == UNITS_PER_GRAM == 10**18 // 10**6
    assert functions.registry().call() == tw.chain.contract_address
    for interface in ("d9b67a26", "0e89341c", "7965db0b", "01ffc9a7"):  # 1155, URI, AC, 165
        assert functions.supportsInterface(bytes.fromhex(interface)).call()
    batch = uuid4()
    assert functions.tokenIdOf(batch.bytes).call() == batch.int


def test_mint_takes_no_recipient_and_no_amount_from_the_caller(tw):
    mint = next(e for e in tw.token.abi if e.get("name") == "mint" and e["type"] == "function")
    assert [i["name"] for i in mint["inputs"]] == [
        "leaf", "leafIndex", "treeSize", "proof", "messageOffset"]


# ------------------------------------------------------------------------------- batches


def test_only_registrars_register_batches_and_their_data_is_readable(tw):
    batch = uuid4()
    register = tw.token.functions.registerBatch(batch.bytes, BATCH_INFO)
    assert reverts(tw, register, tw.other) == (
        "AccessControlUnauthorizedAccount", (tw.other.address, REGISTRAR_ROLE))
    receipt = tw.send(register)
    (event,) = tw.token.events.BatchRegistered().process_receipt(receipt)
    assert event["args"]["id"] == batch.int and event["args"]["blockLabel"] == BATCH_INFO[1]
    assert tw.token.functions.isBatchRegistered(batch.int).call()
    assert tuple(tw.token.functions.batchInfo(batch.int).call()) == BATCH_INFO
    assert reverts(tw, register) == ("CarbonCreditTokenBatchAlreadyRegistered", (batch.bytes,))
    # the admin delegates registration
    tw.send(tw.token.functions.grantRole(REGISTRAR_ROLE, tw.other.address))
    tw.send(tw.token.functions.registerBatch(uuid4().bytes, BATCH_INFO), tw.other)
    tw.send(tw.token.functions.revokeRole(REGISTRAR_ROLE, tw.other.address))
    assert reverts(tw, tw.token.functions.registerBatch(uuid4().bytes, BATCH_INFO), tw.other)[0] \
        == "AccessControlUnauthorizedAccount"


@pytest.mark.parametrize("info", [
    (1989, *BATCH_INFO[1:]), (2101, *BATCH_INFO[1:]), (2024, " \t", *BATCH_INFO[2:]),
    (2024, "X" * 257, *BATCH_INFO[2:]), (*BATCH_INFO[:3], "", BATCH_INFO[4]),
])
def test_invalid_batch_data_is_refused(tw, info):
    batch = uuid4()
    assert reverts(tw, tw.token.functions.registerBatch(batch.bytes, info)) == (
        "CarbonCreditTokenInvalidBatch", (batch.bytes, info[0]))


def test_unknown_batch_has_no_data(tw):
    batch = uuid4()
    assert reverts(tw, tw.token.functions.batchInfo(batch.int)) == (
        "CarbonCreditTokenUnknownBatch", (batch.bytes,))


# ------------------------------------------------------------------------------- minting


def test_a_proven_lock_mints_its_amount_to_its_recipient_once(tw):
    event = tw.lock(ALICE, grams=1_234)
    receipt = tw.mint(event)
    (minted,) = tw.token.events.LockMinted().process_receipt(receipt, errors=DISCARD)
    assert minted["args"]["lockId"] == event.lock_id.bytes
    assert (minted["args"]["recipient"], minted["args"]["amount"]) == (
        ALICE, 1_234 * UNITS_PER_GRAM)
    assert tw.token.functions.balanceOf(ALICE, event.batch_id.int).call() == 1_234 * 10**12
    assert tw.token.functions.totalSupply(event.batch_id.int).call() == 1_234 * 10**12
    assert tw.token.functions.isLockMinted(event.lock_id.bytes).call()
    assert mint_reverts(tw, event) == ("CarbonCreditTokenLockAlreadyMinted",
                                       (event.lock_id.bytes,))


def test_only_minters_mint(tw):
    event = tw.lock(ALICE)
    assert mint_reverts(tw, event, signer=tw.other) == (
        "AccessControlUnauthorizedAccount", (tw.other.address, MINTER_ROLE))
    tw.send(tw.token.functions.grantRole(MINTER_ROLE, tw.other.address))
    tw.mint(event, signer=tw.other)
    tw.send(tw.token.functions.revokeRole(MINTER_ROLE, tw.other.address))
    assert mint_reverts(tw, tw.lock(ALICE), signer=tw.other)[0] == (
        "AccessControlUnauthorizedAccount")
    # and nobody but the admin manages the roles
    assert reverts(tw, tw.token.functions.grantRole(MINTER_ROLE, tw.other.address),
                   tw.other)[0] == "AccessControlUnauthorizedAccount"


@pytest.mark.parametrize(("size", "index"), [
    (1, 0), (2, 0), (2, 1), (3, 2), (5, 4), (7, 3), (8, 7), (9, 8), (33, 32), (100, 64),
])
def test_rfc9162_proofs_verify_on_chain_for_every_tree_shape(size, index):
    tw = make_token_world()  # fresh registry: the lock is leaf `index` of a tree of `size`
    event = tw.lock(ALICE)
    leaves = [uuid4().bytes for _ in range(size)]
    leaves[index] = event.leaf()
    for leaf in leaves[:-1]:
        tw.prover.tree.append(leaf_hash(leaf))
    assert tw.prover.prove(leaves[-1])[1] == size  # anchors the whole tree
    proof = tw.prover.tree.inclusion_proof(index, size)
    mint = tw.token.functions.mint(event.leaf(), index, size, proof, event.message_offset)
    tw.send(mint)
    assert tw.token.functions.isLockMinted(event.lock_id.bytes).call()


def test_proofs_for_other_positions_or_sizes_are_refused(tw):
    event = tw.lock(ALICE)
    index, size, proof = tw.prover.prove(event.leaf(), fillers=6)
    hashed = leaf_hash(event.leaf())
    function = tw.token.functions.mint
    for bad_index, bad_proof in [(index - 1, proof), (index, proof[:-1]),
                                 (index, [*proof, proof[0]]), (index, proof[::-1]),
                                 (size, proof)]:
        assert reverts(tw, function(event.leaf(), bad_index, size, bad_proof,
                                    event.message_offset)) == (
            "CarbonCreditTokenInvalidProof", (hashed, bad_index, size))
    assert reverts(tw, function(event.leaf(), index, size + 1, proof, event.message_offset)) \
        == ("CarbonCreditTokenRootNotAnchored", (size + 1,))
    tw.send(function(event.leaf(), index, size, proof, event.message_offset))


# ------------------------------------------------------------------------------- what is proven


def _message(tw, event: LockEvent, **changes) -> str:
    """The event's message with some of its six words replaced (raw 32-byte values)."""
    words = [event.message[i:i + 64] for i in range(0, 384, 64)]
    names = ["chain_id", "token", "batch", "lock", "recipient", "amount"]
    for name, value in changes.items():
        words[names.index(name)] = value.hex() if isinstance(value, bytes) else value
    return "".join(words)


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


def test_a_lock_for_another_contract_or_chain_is_refused(tw):
    event = tw.lock(ALICE)
    other = event.with_message(_message(tw, event, token=_address_word(BOB)))
    assert mint_reverts(tw, other) == ("CarbonCreditTokenWrongDestination", (tw.chain_id, BOB))
    elsewhere = event.with_message(_message(tw, event, chain_id=_word(1)))
    assert mint_reverts(tw, elsewhere) == ("CarbonCreditTokenWrongDestination",
                                           (1, tw.address))


def test_a_message_naming_another_batch_or_an_unregistered_batch_is_refused(tw):
    event = tw.lock(ALICE)
    stranger = uuid4()
    mismatch = event.with_message(_message(tw, event, batch=stranger.bytes + bytes(16)))
    assert mint_reverts(tw, mismatch) == ("CarbonCreditTokenBatchMismatch",
                                          (stranger.bytes, event.batch_id.bytes))
    unregistered = tw.lock(ALICE)
    unregistered.batch_id = uuid4()  # recorded by a batch the contract does not know
    unregistered = unregistered.with_message(_message(
        tw, unregistered, batch=unregistered.batch_id.bytes + bytes(16)))
    assert mint_reverts(tw, unregistered) == ("CarbonCreditTokenUnknownBatch",
                                              (unregistered.batch_id.bytes,))


@pytest.mark.parametrize(("change", "recipient", "amount"), [
    ({"amount": _word(UNITS_PER_GRAM + 1)}, ALICE, UNITS_PER_GRAM + 1),
    ({"amount": _word(0)}, ALICE, 0),
    ({"recipient": _word(0)}, ZERO, 1_000 * UNITS_PER_GRAM),
])
def test_locks_of_no_whole_grams_or_to_nobody_are_refused(tw, change, recipient, amount):
    event = tw.lock(ALICE)
    bad = event.with_message(_message(tw, event, **change))
    assert mint_reverts(tw, bad) == ("CarbonCreditTokenInvalidLock", (recipient, amount))


def test_an_event_that_is_not_a_lock_is_refused(tw):
    event = tw.lock(ALICE)
    topic = "ledger.domain.credit_batch:CreditBatch.Retired"
    leaf = encode_leaf(1, event.batch_id, event.version, topic, event.state)
    assert mint_reverts(tw, event, leaf=leaf) == (
        "CarbonCreditTokenNotALockEvent", (keccak(text=topic),))


@pytest.mark.parametrize("damage", ["tag", "length", "short"])
def test_malformed_leaves_are_refused(tw, damage):
    event = tw.lock(ALICE)
    leaf = event.leaf()
    leaf = {"tag": b"carbon-ledger/event-leaf/v2\n" + leaf[28:], "length": leaf + b" ",
            "short": leaf[:60]}[damage]
    assert mint_reverts(tw, event, leaf=leaf) == ("CarbonCreditTokenMalformedLeaf",
                                                  (len(leaf),))


def test_the_message_must_be_the_events_own_field_at_the_given_offset(tw):
    event = tw.lock(ALICE)
    offset = event.message_offset
    for wrong in (offset - 1, offset + 1, 0, 18, len(event.state)):
        assert mint_reverts(tw, event, offset=wrong) == (
            "CarbonCreditTokenMalformedBridgeMessage", (wrong,))
    upper = event.with_message(event.message.upper())
    assert mint_reverts(tw, upper) == ("CarbonCreditTokenMalformedBridgeMessage", (offset,))
    not_hex = event.with_message(event.message[:-1] + "g")
    assert mint_reverts(tw, not_hex) == ("CarbonCreditTokenMalformedBridgeMessage", (offset,))
    dirty = event.with_message(_message(tw, event, recipient=b"\x01" + bytes(11)
                                        + bytes.fromhex(ALICE[2:])))
    assert mint_reverts(tw, dirty) == ("CarbonCreditTokenMalformedBridgeMessage", (offset,))
    dirty_id = event.with_message(_message(tw, event, lock=event.lock_id.bytes + b"\x01" * 16))
    assert mint_reverts(tw, dirty_id) == ("CarbonCreditTokenMalformedBridgeMessage", (offset,))


def test_a_message_smuggled_inside_a_string_value_is_refused(tw):
    """JSON escapes quotes inside strings, so text posing as the field is never the field."""
    event = tw.lock(ALICE)
    evil = _message(tw, event, recipient=_address_word(BOB), amount=_word(10**30))
    state = json.loads(event.state)
    state["chain_address"] = f'x","bridge_message":"{evil}'
    state["bridge_message"] = None
    forged = LockEvent(event.batch_id, event.lock_id, event.version, LOCK_TOPIC,
                       json.dumps(state, separators=(",", ":")).encode())
    offset = forged.state.index(evil.encode())
    assert forged.state[offset - 21:offset] == b'\\"bridge_message\\":\\"'
    assert mint_reverts(tw, forged, offset=offset) == (
        "CarbonCreditTokenMalformedBridgeMessage", (offset,))


# ------------------------------------------------------------------------------- burning


@pytest.fixture
def holder_tokens(tw):
    """The admin holds 100 g of a fresh batch's tokens."""
    event = tw.lock(tw.admin.address, grams=100)
    tw.mint(event)
    return event.batch_id.int


def _retirement(**changes):
    fields = {"beneficiary": "Bank branch", "purpose": "operational_neutrality",
              "purposeDetail": "Yunnan branch 2024", "jurisdiction": "Yunnan",
              "consumptionPeriod": "2024"}
    fields.update(changes)
    return tuple(fields.values())


@pytest.mark.parametrize(("changes", "error"), [
    ({"purpose": "greenwashing"}, ("CarbonCreditTokenUnknownPurpose", ("greenwashing",))),
    ({"beneficiary": "  "}, ("CarbonCreditTokenInvalidRetirement", ("beneficiary",))),
    ({"purposeDetail": ""}, ("CarbonCreditTokenInvalidRetirement", ("purposeDetail",))),
    ({"purpose": "voluntary"}, ("CarbonCreditTokenInvalidRetirement", ("purposeDetail",))),
    ({"jurisdiction": "J" * 257}, ("CarbonCreditTokenInvalidRetirement", ("jurisdiction",))),
    ({"consumptionPeriod": "\n"},
     ("CarbonCreditTokenInvalidRetirement", ("consumptionPeriod",))),
])
def test_retirements_the_ledger_would_refuse_are_refused_on_chain(tw, holder_tokens, changes,
                                                                   error):
    retire = tw.token.functions.retire(holder_tokens, UNITS_PER_GRAM, _retirement(**changes))
    assert reverts(tw, retire) == error


def test_burns_are_numbered_and_carry_what_the_ledger_needs(tw, holder_tokens):
    first = tw.token.functions.burnCount().call()
    account = uuid4()
    receipt = tw.send(tw.token.functions.redeem(holder_tokens, 40 * UNITS_PER_GRAM,
                                                account.bytes))
    (redeemed,) = tw.token.events.TokensRedeemed().process_receipt(receipt, errors=DISCARD)
    assert dict(redeemed["args"]) == {"burnId": first, "id": holder_tokens,
                                      "holder": tw.admin.address,
                                      "ledgerAccount": account.bytes,
                                      "amount": 40 * UNITS_PER_GRAM}
    receipt = tw.send(tw.token.functions.retire(holder_tokens, 60 * UNITS_PER_GRAM,
                                                _retirement(purpose="voluntary",
                                                            purposeDetail="")))
    (retired,) = tw.token.events.TokensRetired().process_receipt(receipt, errors=DISCARD)
    assert retired["args"]["burnId"] == first + 1
    assert retired["args"]["retirement"]["purpose"] == "voluntary"
    assert tw.token.functions.totalSupply(holder_tokens).call() == 0
    assert reverts(tw, tw.token.functions.redeem(holder_tokens, UNITS_PER_GRAM,
                                                 account.bytes))[0] == (
        "ERC1155InsufficientBalance")
    assert reverts(tw, tw.token.functions.redeem(holder_tokens, UNITS_PER_GRAM, bytes(16))) == (
        "CarbonCreditTokenInvalidLedgerAccount", (bytes(16),))


def test_the_artifact_is_committed_and_built_like_the_registry():
    token, registry = load_artifact(TOKEN_CONTRACT), load_artifact("AnchorRegistry")
    assert token["contractName"] == "CarbonCreditToken"
    assert token["settings"] == registry["settings"]
    assert token["settings"]["evmVersion"] == "cancun"
    assert token["compiler"] == registry["compiler"]
    # within the EIP-170 contract size limit
    assert len(bytes.fromhex(token["deployedBytecode"][2:])) < 24_576
