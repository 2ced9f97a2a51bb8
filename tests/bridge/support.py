"""Contract-level helpers: a registry and a token on an in-process chain, genuine lock events
built by the ledger's domain and serialised by the event store's mapper, and a prover that
anchors any leaves (the test is the registry's anchorer)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak
from eventsourcing.application import Application
from web3.exceptions import ContractLogicError

from anchoring.bridge import (
    TOKEN_CONTRACT,
    BridgeRejectedError,
    Signer,
    UnlockedSigner,
    _revert_bytes,
    signer_for,
)
from anchoring.chain import InProcessChain, decode_revert
from anchoring.leaf import encode_leaf
from anchoring.merkle import MerkleTree, leaf_hash
from contracts import load_artifact
from ledger.domain.credit_batch import CreditBatch

LOCK_TOPIC = "ledger.domain.credit_batch:CreditBatch.LockedForTokens"
MINTER_ROLE = keccak(text="MINTER_ROLE")
REGISTRAR_ROLE = keccak(text="BATCH_REGISTRAR_ROLE")
MESSAGE = re.compile(rb'[{,]"bridge_message":"([0-9a-f]{384})"')
BATCH_INFO = (2024, "HBCER-2024-000001", "HBCER", "WH-EV-CHARGING-V1 v1", "Wuhan")

_MAPPER = Application(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


@dataclass
class LockEvent:
    """A stored LockedForTokens event: what a leaf is made of."""

    batch_id: UUID
    lock_id: UUID
    version: int
    topic: str
    state: bytes
    position: int = 1
    offset: int | None = None  # kept when the message is replaced by something else

    @property
    def message_offset(self) -> int:
        if self.offset is not None:
            return self.offset
        found = MESSAGE.search(self.state)
        assert found is not None
        return found.start(1)

    @property
    def message(self) -> str:
        return self.state[self.message_offset:self.message_offset + 384].decode()

    def leaf(self) -> bytes:
        return encode_leaf(self.position, self.batch_id, self.version, self.topic, self.state)

    def with_message(self, message: str) -> LockEvent:
        """The same event with another 384-digit message in place (same offsets)."""
        assert len(message) == 384
        offset = self.message_offset
        state = self.state[:offset] + message.encode() + self.state[offset + 384:]
        return LockEvent(self.batch_id, self.lock_id, self.version, self.topic, state,
                         offset=offset)


def genuine_lock(chain_id: int, token: str, recipient: str, grams: int,
                 batch_id: UUID | None = None) -> LockEvent:
    """A lock event exactly as the ledger records it (domain command, event store mapper)."""
    holder = uuid4()
    batch = CreditBatch.issue(
        batch_id or uuid4(), block="HBCER-2024-000001", registry="HBCER", vintage=2024,
        methodology=uuid4(), methodology_label="WH-EV-CHARGING-V1 v1", region="Wuhan",
        project_type="behaviour", quantity=10**12, holder=holder, source={},
        behaviours_root=None, actor=holder)
    lock_id = uuid4()
    batch.lock_for_tokens(lock_id=lock_id, holder=holder, quantity=grams,
                          chain_address=recipient, actor=holder, chain_id=chain_id,
                          token_contract=token)
    stored = _MAPPER.to_stored_event(batch.collect_events()[-1])
    return LockEvent(batch.id, lock_id, stored.originator_version, stored.topic, stored.state)


@dataclass
class Prover:
    """Anchors every leaf it is asked to prove: leaves accumulate in one tree whose new root is
    anchored at each call (tree sizes strictly increase, as the registry requires)."""

    chain: Any
    tree: MerkleTree = field(default_factory=MerkleTree)

    def prove(self, leaf: bytes, fillers: int = 0) -> tuple[int, int, list[bytes]]:
        """Append ``fillers`` random leaves then ``leaf``; anchor; return (index, size, proof)."""
        for _ in range(fillers):
            self.tree.append(leaf_hash(uuid4().bytes))
        index = self.tree.append(leaf_hash(leaf))
        size = self.tree.size
        self.chain.anchor(size, self.tree.root())
        return index, size, self.tree.inclusion_proof(index, size)


@dataclass
class TokenWorld:
    """A registry and a token on an in-process chain; the chain's account administers both."""

    chain: Any
    token: Any
    admin: Signer
    other: UnlockedSigner
    prover: Prover

    @property
    def address(self) -> str:
        return str(self.token.address)

    @property
    def chain_id(self) -> int:
        return int(self.chain.chain_id)

    def send(self, function: Any, signer: Signer | None = None) -> Any:
        """Send from ``signer`` (default: the admin); reverts as decoded BridgeRejectedError."""
        try:
            return (signer or self.admin).send(function)
        except (ContractLogicError, TransactionFailed) as exc:
            data = _revert_bytes(exc)
            assert data is not None, exc
            raise BridgeRejectedError(*decode_revert(self.token.abi, data)) from exc

    def register(self, batch_id: UUID, info: tuple = BATCH_INFO) -> Any:
        return self.send(self.token.functions.registerBatch(batch_id.bytes, info))

    def lock(self, recipient: str, grams: int = 1_000, **kwargs: Any) -> LockEvent:
        event = genuine_lock(self.chain_id, self.address, recipient, grams, **kwargs)
        if not self.token.functions.isBatchRegistered(event.batch_id.int).call():
            self.register(event.batch_id)
        return event

    def mint(self, event: LockEvent, *, leaf: bytes | None = None, offset: int | None = None,
             signer: Signer | None = None, fillers: int = 0) -> Any:
        leaf = event.leaf() if leaf is None else leaf
        index, size, proof = self.prover.prove(leaf, fillers)
        return self.send(self.token.functions.mint(
            leaf, index, size, proof, event.message_offset if offset is None else offset),
            signer)


def make_token_world(chain: Any = None) -> TokenWorld:
    """A token against the registry of ``chain`` (default: a fresh in-process chain), deployed
    by the chain's own account (also the registry's anchorer)."""
    chain = chain if chain is not None else InProcessChain()
    admin = signer_for(chain)
    artifact = load_artifact(TOKEN_CONTRACT)
    factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = admin.send(factory.constructor(chain.contract_address, admin.address, ""))
    token = chain.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
    return TokenWorld(chain=chain, token=token, admin=admin,
                      other=UnlockedSigner(chain.w3, chain.w3.eth.accounts[1]),
                      prover=Prover(chain))


def rejected_with(error: BridgeRejectedError) -> tuple[str, tuple[Any, ...]]:
    return error.error, error.error_args
