"""The RWA tokenisation bridge: ledger credits to on-chain tokens and back, never counted twice.

The token contract is ``contracts/CarbonCreditToken.sol`` (ERC-1155, one token id per credit
batch, 18 decimals, 1 token = 1 t CO2e, so 1 g = 10**12 token units). It reads the roots of the
ledger's event log from the ``AnchorRegistry`` the anchoring service writes to, and mints only
against a *proven* lock (see ``docs/TOKENISATION.md`` for the whole design):

1. **Tokenise.** A holder locks credits for a bridge (:meth:`Bridge.lock`, or
   :meth:`ledger.application.Ledger.lock_for_tokens` (in
   :mod:`ledger.application.batches.tokens`) with ``chain_id`` and
   ``token_contract``). The ``CreditBatch.LockedForTokens`` event carries a *bridge message*
   (:func:`~ledger.domain.credit_batch.bridge_lock_message`): chain id, token contract, batch,
   lock, recipient address and amount in token units. Once the event is in a final anchored
   checkpoint, :meth:`Bridge.mint` submits the event's canonical leaf bytes, its RFC 9162
   inclusion proof against that checkpoint and the offset of the message in the event state;
   the contract verifies the proof against ``rootOf(treeSize)`` with the SHA-256 precompile,
   parses the leaf, checks the event is a lock of a registered batch for this chain and
   contract, and mints the message's amount to the message's recipient, once per lock.
2. **Mint seen.** :meth:`Bridge.sync` (the watcher) reads the contract's logs up to the block
   with ``confirmations`` blocks on top and records each ``LockMinted`` in the ledger
   (``CreditBatch.TokensMinted``): the lock's credits move to the batch's token pool
   ``tokenised/<pool>``, which then equals the contract's total supply of the batch.
3. **Detokenise.** A token holder calls ``redeem(id, amount, ledgerAccount)``; the watcher
   unlocks that quantity from the pool to the account (``CreditBatch.TokensUnlocked``).
4. **Retire on chain.** ``retire(id, amount, (beneficiary, purpose, ...))``; the watcher
   records a retirement from the pool (``CreditBatch.TokensRetired``), whose certificate
   (:func:`anchoring.certificate.build_retirement_certificate`) names the burn transaction.

Burns must be whole grams (the contract reverts ``CarbonCreditTokenAmountNotWholeGrams``;
:func:`units_to_grams` refuses them in Python). Every burn has a sequence number on chain; the
ledger applies each burn id once (a replay is a ``DuplicateRecordError``), and the watcher
keeps its position and every applied chain event in ``bridge_*`` tables of the anchoring
database, so each mint and burn is applied exactly once.

Chains: :class:`~anchoring.chain.InProcessChain` (transactions from its unlocked account) and
:class:`~anchoring.chain.JsonRpcChain` (signed locally with its key), see :func:`signer_for`.
The persistent embedded chain (:class:`~anchoring.embedded.EmbeddedChain`) replays anchors
only, so a token deployed on it would not survive a restart: it is not supported.

Errors::

    BridgeError                    any bridge failure
    ├── BridgeRejectedError         the token contract reverted (decoded custom error)
    └── LockNotProvableError        not a bridged lock of this contract, or not yet anchored
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eth_account import Account
from eth_tester.exceptions import TransactionFailed
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3Exception
from web3.logs import DISCARD
from web3.types import TxReceipt

from anchoring.chain import ChainError, InProcessChain, JsonRpcChain, _revert_data, decode_revert
from anchoring.leaf import leaf_of
from contracts import load_artifact
from ledger.domain.batch_view import BatchView
from ledger.domain.credit_batch import (
    UNITS_PER_GRAM,
    LotState,
    decode_bridge_lock_message,
    grams_to_units,
    split_lot_key,
    token_pool_id,
    units_to_grams,
)
from ledger.domain.errors import (
    ConcurrencyError,
    DuplicateRecordError,
    LedgerError,
    ValidationError,
)
from ledger.domain.participant import Role, require_role
from ledger.domain.retirement import RetirementPurpose
from ledger.projections import schema as views
from ledger.runtime import LedgerRuntime

__all__ = [
    "PURPOSE_DETAIL_FIELDS",
    "TOKEN_CONTRACT",
    "UNITS_PER_GRAM",
    "Bridge",
    "BridgeError",
    "BridgeRejectedError",
    "Conservation",
    "LocalSigner",
    "LockNotProvableError",
    "MintProof",
    "MintReceipt",
    "Signer",
    "SyncReport",
    "UnlockedSigner",
    "bridge_chain_events",
    "bridge_cursors",
    "grams_to_units",
    "metadata",
    "signer_for",
    "units_to_grams",
]

logger = logging.getLogger(__name__)

TOKEN_CONTRACT = "CarbonCreditToken"
"""Name of the token contract's artifact (``contracts/artifacts/CarbonCreditToken.json``)."""

PURPOSE_DETAIL_FIELDS: dict[str, str | None] = {
    RetirementPurpose.COMPLIANCE_OFFSET.value: "compliance_period",
    RetirementPurpose.EVENT_NEUTRALITY.value: "event",
    RetirementPurpose.OPERATIONAL_NEUTRALITY.value: "subject",
    RetirementPurpose.PRODUCT_NEUTRALITY.value: "product",
    RetirementPurpose.ECO_COMPENSATION.value: "case_reference",
    RetirementPurpose.DONATION.value: "recipient",
    RetirementPurpose.VOLUNTARY.value: None,
}
"""The retirement detail field that the on-chain ``purposeDetail`` fills, per purpose (the
ledger's required field of that purpose; ``voluntary`` has none)."""

_MESSAGE = re.compile(rb'[{,]"bridge_message":"([0-9a-f]{384})"')
_LOG_CHUNK = 2_000  # blocks per eth_getLogs request
_BigInt = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()
"""The watcher's tables (created by :meth:`Bridge.create_tables`), in the anchoring database."""

bridge_cursors = Table(
    "bridge_cursors",
    metadata,
    Column("chain_id", String(78), primary_key=True),
    Column("contract_address", String(42), primary_key=True),
    Column("next_block", BigInteger, nullable=False),  # first block not yet scanned
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

bridge_chain_events = Table(
    "bridge_chain_events",
    metadata,
    Column("id", _BigInt, primary_key=True, autoincrement=True),
    Column("chain_id", String(78), nullable=False),
    Column("contract_address", String(42), nullable=False),
    Column("kind", String(16), nullable=False),  # minted | redeemed | retired
    Column("key", String(64), nullable=False),  # lock id, or burn number
    Column("block_number", BigInteger, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("token_id", String(78), nullable=False),  # the batch's token id
    Column("grams", BigInteger, nullable=False),  # amount minted or burned
    Column("status", String(16), nullable=False),  # applied | rejected
    Column("error", Text),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("chain_id", "contract_address", "kind", "key"),
)


# ---------------------------------------------------------------------------------- errors


class BridgeError(Exception):
    """A bridge operation failed."""


class BridgeRejectedError(BridgeError):
    """The token contract reverted: ``error`` is the custom error's name (e.g.
    ``CarbonCreditTokenLockAlreadyMinted``), ``error_args`` its decoded arguments."""

    def __init__(self, error: str, error_args: tuple[Any, ...] = ()) -> None:
        """Record the decoded error."""
        rendered = ", ".join(
            "0x" + value.hex() if isinstance(value, bytes) else repr(value) for value in error_args
        )
        super().__init__(f"{error}({rendered})")
        self.error = error
        self.error_args = error_args


class LockNotProvableError(BridgeError):
    """The lock cannot be proven to this contract (yet): it is not a bridged lock for it, or
    its event is not in a final anchored checkpoint."""


# ---------------------------------------------------------------------------------- signers


class Signer(Protocol):
    """Sends transactions from one account and waits for them to be mined."""

    @property
    def address(self) -> str:
        """Checksummed address of the account."""
        ...

    def send(self, function: Any) -> TxReceipt:
        """Send a contract call or constructor (``ContractFunction``/``ContractConstructor``);
        return the receipt. Reverts raise ``ContractLogicError`` or ``TransactionFailed``."""
        ...


class UnlockedSigner:
    """Sends from an account the node holds unlocked (eth-tester's accounts)."""

    def __init__(self, w3: Web3, address: str) -> None:
        """Send as ``address`` through ``w3``."""
        self.w3 = w3
        self._address = to_checksum_address(address)

    @property
    def address(self) -> str:
        """Checksummed address of the account."""
        return self._address

    def send(self, function: Any) -> TxReceipt:
        """``transact`` from the account and wait for the receipt."""
        tx_hash = function.transact({"from": self._address})
        return self.w3.eth.wait_for_transaction_receipt(tx_hash)


class LocalSigner:
    """Signs transactions locally with a private key (eth-account) and sends them raw, so the
    node never holds the key. Works with any node, eth-tester included."""

    def __init__(self, w3: Web3, private_key: str | bytes, *, receipt_timeout: float = 120.0,
                 poll_interval: float = 0.1) -> None:
        """Sign with ``private_key`` and send through ``w3``."""
        self.w3 = w3
        self.account = Account.from_key(private_key)
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval

    @property
    def address(self) -> str:
        """Checksummed address of the account."""
        return str(self.account.address)

    def send(self, function: Any) -> TxReceipt:
        """Build (simulating it: reverts surface here), sign, send and wait for the receipt."""
        transaction = function.build_transaction(
            {
                "from": self.address,
                "nonce": self.w3.eth.get_transaction_count(self.address, "pending"),
                "chainId": int(self.w3.eth.chain_id),
            }
        )
        signed = self.account.sign_transaction(transaction)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        return self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_interval
        )


def signer_for(chain: Any) -> Signer:
    """The signer of a chain client's own account: the unlocked account of an
    :class:`~anchoring.chain.InProcessChain`, the key of a :class:`~anchoring.chain.JsonRpcChain`.
    """
    if isinstance(chain, InProcessChain):
        return UnlockedSigner(chain.w3, chain.account)
    if isinstance(chain, JsonRpcChain):
        return LocalSigner(chain.w3, chain.account.key, receipt_timeout=chain.receipt_timeout,
                           poll_interval=chain.poll_interval)
    raise TypeError(
        f"the bridge needs an InProcessChain or a JsonRpcChain, not {type(chain).__name__} "
        "(the embedded chain persists anchors only)"
    )


# ---------------------------------------------------------------------------------- values


@dataclass(frozen=True)
class MintProof:
    """Everything :meth:`Bridge.submit_mint` sends to ``mint``: the lock event's canonical
    ``leaf`` bytes, its ``leaf_index``, the anchored ``tree_size`` (whose ``root`` the contract
    reads from the registry), the RFC 9162 inclusion ``proof`` and ``message_offset``, the
    offset of the bridge message's first hex digit in the event state."""

    lock_id: UUID
    batch_id: UUID
    leaf: bytes
    leaf_index: int
    tree_size: int
    root: bytes
    proof: list[bytes]
    message_offset: int


@dataclass(frozen=True)
class MintReceipt:
    """A mined ``mint``: what the contract minted (from its ``LockMinted`` event)."""

    tx_hash: str
    block_number: int
    gas_used: int
    lock_id: UUID
    token_id: int
    recipient: str
    amount: int  # token units

    @property
    def grams(self) -> int:
        """The minted amount in grams."""
        return units_to_grams(self.amount)


@dataclass
class SyncReport:
    """What one :meth:`Bridge.sync` did: the blocks scanned (``None`` if none were final yet),
    the chain events applied to the ledger by kind, those already applied before (skipped),
    and those the ledger rejected (``(kind, key, error)``; they need an operator)."""

    from_block: int | None = None
    to_block: int | None = None
    minted: int = 0
    redeemed: int = 0
    retired: int = 0
    skipped: int = 0
    rejected: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Conservation:
    """Where the grams of a batch are, off chain and on this bridge's chain and contract.

    ``off_chain`` holds the ledger's available, escrowed, pledged, retired, exported and
    cancelled grams; ``locked_not_minted`` the grams of locks the contract has not minted (and
    of locks made without a bridge); ``on_chain`` the contract's total supply of the batch in
    grams; ``burns_in_flight`` the grams burned on chain that the ledger has not applied yet
    (awaiting confirmations, or rejected and awaiting an operator); ``other_tokens`` the grams
    locked for or pooled on other token contracts; ``pool`` the ledger's token pool for the
    contract (equal to ``on_chain`` once the watcher has applied every mint and burn).
    Conservation is ``sum(off_chain) + locked_not_minted + on_chain + burns_in_flight +
    other_tokens == issued``.
    """

    issued: int
    off_chain: dict[str, int]
    locked_not_minted: int
    on_chain: int
    burns_in_flight: int
    pool: int
    other_tokens: int = 0

    @property
    def total(self) -> int:
        """Every gram counted once: off chain, locked not minted, on chain, burned but not yet
        applied, and on other contracts."""
        return (sum(self.off_chain.values()) + self.locked_not_minted + self.on_chain
                + self.burns_in_flight + self.other_tokens)

    @property
    def balanced(self) -> bool:
        """Whether every issued gram is counted exactly once."""
        return self.total == self.issued


# ---------------------------------------------------------------------------------- bridge


def _now() -> datetime:
    return datetime.now(UTC)


class Bridge:
    """The token contract of one ledger on one chain: deploy or attach it, register batches,
    lock and mint with proofs, and watch burns (see the module documentation).

    ``runtime`` is the ledger (its anchoring supplies the Merkle log, the anchorer and the
    database of the watcher's tables); ``chain`` holds the registry (default: the runtime's
    anchoring chain) and ``token_address`` the token contract. ``actor`` is the ledger
    participant with the ``bridge`` role that records mints and burns; ``signer`` sends the
    operator's transactions (default :func:`signer_for` the chain). The watcher applies chain
    events once ``confirmations`` blocks are mined on top of them, scanning from
    ``start_block`` the first time. Thread-safe (one lock).
    """

    def __init__(
        self,
        runtime: LedgerRuntime,
        token_address: str,
        *,
        actor: UUID,
        chain: Any = None,
        signer: Signer | None = None,
        confirmations: int = 2,
        start_block: int = 0,
        store_engine: Engine | None = None,
    ) -> None:
        """Attach to the token at ``token_address``; creates the watcher's tables."""
        if confirmations < 0 or start_block < 0:
            raise ValueError("confirmations and start_block must be non-negative")
        self.runtime = runtime
        self.chain = chain if chain is not None else runtime.anchoring.chain
        self.signer = signer if signer is not None else signer_for(self.chain)
        self.w3: Web3 = self.chain.w3
        artifact = _artifact()
        self.token: Contract = self.w3.eth.contract(
            address=to_checksum_address(token_address), abi=artifact["abi"]
        )
        self.actor = actor
        self.confirmations = confirmations
        self.chain_id = int(self.chain.chain_id)
        self.engine = store_engine if store_engine is not None else runtime.anchoring.engine
        self._start_block = start_block
        self._lock = threading.RLock()
        self.create_tables()

    @classmethod
    def deploy(
        cls,
        runtime: LedgerRuntime,
        *,
        actor: UUID,
        chain: Any = None,
        signer: Signer | None = None,
        confirmations: int = 2,
        uri: str = "",
        store_engine: Engine | None = None,
    ) -> Bridge:
        """Deploy a token contract reading the roots of ``chain``'s registry, with the signer's
        account as admin, batch registrar and minter; return the bridge attached to it."""
        chain = chain if chain is not None else runtime.anchoring.chain
        signer = signer if signer is not None else signer_for(chain)
        artifact = _artifact()
        factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        with _reverts(artifact["abi"]):
            receipt = signer.send(
                factory.constructor(chain.contract_address, signer.address, uri)
            )
        if receipt["status"] != 1 or not receipt["contractAddress"]:
            raise BridgeError("deploying CarbonCreditToken failed")
        logger.info("deployed CarbonCreditToken at %s", receipt["contractAddress"])
        return cls(runtime, str(receipt["contractAddress"]), actor=actor, chain=chain,
                   signer=signer, confirmations=confirmations,
                   start_block=int(receipt["blockNumber"]), store_engine=store_engine)

    @property
    def address(self) -> str:
        """Checksummed address of the token contract."""
        return str(self.token.address)

    def create_tables(self) -> None:
        """Create the ``bridge_*`` tables if they do not exist."""
        metadata.create_all(self.engine)

    # -- transactions ------------------------------------------------------------------------

    def send(self, function: Any, signer: Signer | None = None) -> TxReceipt:
        """Send a token contract call from ``signer`` (default: the operator) and wait for it.

        Raises :class:`BridgeRejectedError` with the decoded custom error if it reverts.
        """
        signer = signer if signer is not None else self.signer
        with _reverts(self.token.abi):
            receipt = signer.send(function)
            if receipt["status"] != 1:
                # Mined but reverted (the state changed since it was simulated): replay it.
                function.call({"from": signer.address},
                              block_identifier=receipt["blockNumber"] - 1)
                raise BridgeRejectedError("TransactionReverted",
                                          (HexBytes(receipt["transactionHash"]).to_0x_hex(),))
        return receipt

    # -- batches -----------------------------------------------------------------------------

    @staticmethod
    def token_id(batch_id: UUID) -> int:
        """Token id of a batch: its UUID's 128 bits as an integer (``tokenIdOf`` on chain)."""
        return batch_id.int

    def is_batch_registered(self, batch_id: UUID) -> bool:
        """Whether the batch is registered on the token contract."""
        return bool(self.token.functions.isBatchRegistered(self.token_id(batch_id)).call())

    def register_batch(self, batch_id: UUID) -> str | None:
        """Register a ledger batch (vintage, block label, registry, methodology, region) on the
        contract; return the transaction hash, or ``None`` if it was registered already."""
        if self.is_batch_registered(batch_id):
            return None
        batch = self.runtime.ledger.batch(batch_id)
        info = (int(batch.vintage), batch.block, batch.registry, batch.methodology_label,
                batch.region)
        receipt = self.send(self.token.functions.registerBatch(batch_id.bytes, info))
        return HexBytes(receipt["transactionHash"]).to_0x_hex()

    def batch_info(self, batch_id: UUID) -> dict[str, Any]:
        """The batch's data as registered on chain."""
        with _reverts(self.token.abi):
            vintage, block, registry, methodology, region = self.token.functions.batchInfo(
                self.token_id(batch_id)).call()
        return {"vintage": int(vintage), "block": block, "registry": registry,
                "methodology": methodology, "region": region}

    # -- tokenising --------------------------------------------------------------------------

    def lock(self, *, holder: UUID, batch_id: UUID, quantity: int, recipient: str) -> UUID:
        """Lock ``quantity`` g of ``holder``'s credits in the ledger for this contract, to be
        minted to ``recipient``; registers the batch on chain first if needed. Returns the
        lock id. Mint with :meth:`mint` once the lock event is anchored and final."""
        self.register_batch(batch_id)
        lock_id = self.runtime.ledger.lock_for_tokens(
            actor=holder, batch_id=batch_id, quantity=quantity,
            chain_address=to_checksum_address(recipient), chain_id=self.chain_id,
            token_contract=self.address)
        self.runtime.sync()
        return lock_id

    def mint_proof(self, lock_id: UUID) -> MintProof:
        """Build the proof of a bridged lock for ``mint``: its event's leaf bytes and RFC 9162
        inclusion proof against the smallest final anchored checkpoint that contains it.

        Raises :class:`LockNotProvableError` if the lock is not a bridged lock for this contract
        or its event is not yet in a final anchored checkpoint.
        """
        self.runtime.sync()
        with self.runtime.engine.connect() as conn:
            row = conn.execute(select(views.bridge_locks).where(
                views.bridge_locks.c.id == str(lock_id))).first()
        if row is None:
            raise LockNotProvableError(f"{lock_id} is not a bridged token lock")
        if not self._targets_me(row.bridge_message):
            target = decode_bridge_lock_message(row.bridge_message)
            raise LockNotProvableError(
                f"lock {lock_id} is for {target.token_contract} on chain {target.chain_id}, "
                f"not for this bridge ({self.address} on chain {self.chain_id})")
        anchoring = self.runtime.anchoring
        merkle_log = anchoring.merkle_log
        merkle_log.catch_up()
        position = int(row.position)
        anchor = anchoring.anchorer.anchored_checkpoint_covering(position)
        if anchor is None:
            raise LockNotProvableError(
                f"the event of lock {lock_id} (position {position}) is not yet in a final "
                "anchored checkpoint; anchor and wait for confirmations first")
        notifications = self.runtime.ledger.recorder.select_notifications(start=position, limit=1)
        if not notifications or notifications[0].id != position:
            raise BridgeError(f"no stored event at position {position}")
        notification = notifications[0]
        index = merkle_log.index_of(position)
        if index is None:
            raise BridgeError(f"event {position} is not in the Merkle log")
        found = list(_MESSAGE.finditer(notification.state))
        if len(found) != 1 or found[0].group(1).decode() != row.bridge_message:
            raise BridgeError(f"the stored state of lock event {position} does not hold its "
                              "bridge message as plain JSON (compressed or encrypted store?)")
        return MintProof(
            lock_id=lock_id,
            batch_id=UUID(row.batch),
            leaf=leaf_of(notification),
            leaf_index=index,
            tree_size=anchor.tree_size,
            root=anchor.root,
            proof=merkle_log.inclusion_proof(index, anchor.tree_size),
            message_offset=found[0].start(1),
        )

    def submit_mint(self, proof: MintProof) -> MintReceipt:
        """Send ``mint`` with ``proof``; return what the contract minted.

        Raises :class:`BridgeRejectedError`, e.g. ``CarbonCreditTokenInvalidProof``,
        ``CarbonCreditTokenRootNotAnchored`` or ``CarbonCreditTokenLockAlreadyMinted``.
        """
        receipt = self.send(self.token.functions.mint(
            proof.leaf, proof.leaf_index, proof.tree_size, proof.proof, proof.message_offset))
        events = self.token.events.LockMinted().process_receipt(receipt, errors=DISCARD)
        if len(events) != 1:
            raise BridgeError(f"expected one LockMinted event, got {len(events)}")
        args = events[0]["args"]
        return MintReceipt(
            tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
            block_number=int(receipt["blockNumber"]),
            gas_used=int(receipt["gasUsed"]),
            lock_id=UUID(bytes=bytes(args["lockId"])),
            token_id=int(args["id"]),
            recipient=str(args["recipient"]),
            amount=int(args["amount"]),
        )

    def mint(self, lock_id: UUID) -> MintReceipt:
        """Prove and mint a bridged lock (:meth:`mint_proof` then :meth:`submit_mint`)."""
        return self.submit_mint(self.mint_proof(lock_id))

    def is_lock_minted(self, lock_id: UUID) -> bool:
        """Whether the contract has minted the lock."""
        return bool(self.token.functions.isLockMinted(lock_id.bytes).call())

    # -- reading balances --------------------------------------------------------------------

    def total_supply(self, batch_id: UUID) -> int:
        """The contract's total supply of the batch, in token units."""
        return int(self.token.functions.totalSupply(self.token_id(batch_id)).call())

    def total_supply_g(self, batch_id: UUID) -> int:
        """The contract's total supply of the batch, in grams (always whole grams)."""
        units = self.total_supply(batch_id)
        return 0 if units == 0 else units_to_grams(units)

    def balance_of(self, address: str, batch_id: UUID) -> int:
        """Token units of the batch held by ``address``."""
        return int(self.token.functions.balanceOf(to_checksum_address(address),
                                                  self.token_id(batch_id)).call())

    def pool_id(self, batch_id: UUID) -> UUID:
        """Id of the batch's token pool for this contract (its ``tokenised/<pool>`` lot)."""
        return token_pool_id(batch_id, self.chain_id, self.address)

    def _targets_me(self, message: str) -> bool:
        target = decode_bridge_lock_message(message)
        return target.chain_id == self.chain_id and target.token_contract == self.address.lower()

    def conservation(self, batch_id: UUID) -> Conservation:
        """Where the batch's grams are, from the ledger aggregate and the chain."""
        batch = self.runtime.ledger.batch_view(batch_id)
        own_pool = str(self.pool_id(batch_id))
        off_chain = {state.value: 0 for state in LotState if state is not LotState.TOKENISED}
        locked_not_minted = pool = other = 0
        for key, ranges in batch.lots.items():
            state, ref = split_lot_key(key)
            grams = sum(end - start for start, end in ranges)
            lock = batch.locks.get(ref, {}) if state is LotState.TOKENISED else {}
            message = lock.get("bridge_message")
            if state is not LotState.TOKENISED:
                off_chain[state.value] += grams
            elif lock.get("pool"):
                if ref == own_pool:
                    pool += grams
                else:
                    other += grams
            elif message and not self._targets_me(message):
                other += grams
            elif not (message and self.is_lock_minted(UUID(ref))):
                locked_not_minted += grams
        return Conservation(issued=batch.quantity, off_chain=off_chain,
                            locked_not_minted=locked_not_minted,
                            on_chain=self.total_supply_g(batch_id),
                            burns_in_flight=self._burns_in_flight(batch), pool=pool,
                            other_tokens=other)

    def _burns_in_flight(self, batch: BatchView) -> int:
        """Grams of the batch burned on chain and not applied by the ledger: burns in blocks
        the watcher has not processed yet, and burns it processed but the ledger rejected."""
        token_id = self.token_id(batch.id)
        applied = batch.burns
        pending = 0
        for log in self._logs(self.next_block(), int(self.w3.eth.block_number)):
            if log["event"] != "LockMinted" and int(log["args"]["id"]) == token_id and (
                    self.burn_id(int(log["args"]["burnId"])) not in applied):
                pending += units_to_grams(int(log["args"]["amount"]))
        c = bridge_chain_events.c
        ck = self._contract_key()
        with self.engine.connect() as conn:
            rejected = conn.execute(select(c.key, c.grams).where(
                c.chain_id == ck["chain_id"], c.contract_address == ck["contract_address"],
                c.token_id == str(token_id), c.status == "rejected",
                c.kind.in_(("redeemed", "retired")))).all()
        pending += sum(int(grams) for key, grams in rejected
                       if self.burn_id(int(key)) not in applied)
        return pending

    # -- token holders' operations -----------------------------------------------------------

    def transfer(self, signer: Signer, to: str, batch_id: UUID, units: int) -> TxReceipt:
        """Transfer ``units`` token units of the batch from ``signer`` to ``to`` (any amount:
        fractions of a gram may move on chain; only burns must be whole grams)."""
        return self.send(self.token.functions.safeTransferFrom(
            signer.address, to_checksum_address(to), self.token_id(batch_id), units, b""),
            signer)

    def redeem(self, signer: Signer, batch_id: UUID, grams: int, account: UUID) -> TxReceipt:
        """Burn ``grams`` g of ``signer``'s tokens of the batch, to be credited to ledger
        account ``account`` once the watcher sees the burn."""
        return self.send(self.token.functions.redeem(
            self.token_id(batch_id), grams_to_units(grams), account.bytes), signer)

    def retire(self, signer: Signer, batch_id: UUID, grams: int, *, beneficiary: str,
               purpose: str, jurisdiction: str, consumption_period: str,
               purpose_detail: str = "") -> TxReceipt:
        """Burn ``grams`` g of ``signer``'s tokens of the batch to retire them for
        ``beneficiary`` and ``purpose`` (``purpose_detail`` fills the purpose's required
        field, see :data:`PURPOSE_DETAIL_FIELDS`). Permanent."""
        retirement = (beneficiary, purpose, purpose_detail, jurisdiction, consumption_period)
        return self.send(self.token.functions.retire(
            self.token_id(batch_id), grams_to_units(grams), retirement), signer)

    # -- watching ----------------------------------------------------------------------------

    def _contract_key(self) -> dict[str, str]:
        return {"chain_id": str(self.chain_id), "contract_address": self.address}

    def next_block(self) -> int:
        """The first block the watcher has not scanned yet."""
        key = self._contract_key()
        with self.engine.connect() as conn:
            value = conn.execute(select(bridge_cursors.c.next_block).where(
                bridge_cursors.c.chain_id == key["chain_id"],
                bridge_cursors.c.contract_address == key["contract_address"],
            )).scalar_one_or_none()
        return self._start_block if value is None else int(value)

    def _advance(self, next_block: int) -> None:
        key = self._contract_key()
        with self.engine.begin() as conn:
            done = conn.execute(update(bridge_cursors).where(
                bridge_cursors.c.chain_id == key["chain_id"],
                bridge_cursors.c.contract_address == key["contract_address"],
                bridge_cursors.c.next_block < next_block,
            ).values(next_block=next_block, updated_at=_now())).rowcount
            if not done:
                exists = conn.execute(select(bridge_cursors.c.next_block).where(
                    bridge_cursors.c.chain_id == key["chain_id"],
                    bridge_cursors.c.contract_address == key["contract_address"],
                )).first()
                if exists is None:
                    conn.execute(insert(bridge_cursors).values(
                        **key, next_block=next_block, updated_at=_now()))

    def sync(self) -> SyncReport:
        """Apply to the ledger every mint and burn of the contract that has ``confirmations``
        blocks on top of it and was not applied before, in chain order.

        Mints become ``TokensMinted``, redemptions ``TokensUnlocked`` and retirements
        ``TokensRetired``. A chain event the ledger rejects (e.g. a redemption naming an
        account that is not a holder) is recorded as ``rejected`` with the error and reported;
        the others go on. Each chain event is applied exactly once: the ledger refuses a second
        application (a lock is minted once, a burn id is applied once) and the watcher records
        the position it scanned up to and every event it processed.
        """
        with self._lock:
            require_role(self.runtime.ledger.participant(self.actor), Role.BRIDGE)
            report = SyncReport()
            final = int(self.w3.eth.block_number) - self.confirmations
            start = self.next_block()
            if final < start:
                return report
            report.from_block, report.to_block = start, final
            for log in self._logs(start, final):
                self._process(log, report)
            self._advance(final + 1)
            self.runtime.sync()
            return report

    def _logs(self, start: int, end: int) -> list[Any]:
        found: list[Any] = []
        for first in range(start, end + 1, _LOG_CHUNK):
            last = min(end, first + _LOG_CHUNK - 1)
            for name in ("LockMinted", "TokensRedeemed", "TokensRetired"):
                found.extend(self.token.events[name]().get_logs(from_block=first, to_block=last))
        found.sort(key=lambda log: (int(log["blockNumber"]), int(log["logIndex"])))
        return found

    def _process(self, log: Any, report: SyncReport) -> None:
        name, args = log["event"], log["args"]
        if name == "LockMinted":
            kind, key = "minted", str(UUID(bytes=bytes(args["lockId"])))
        else:
            kind = "redeemed" if name == "TokensRedeemed" else "retired"
            key = str(int(args["burnId"]))
        if self._processed(kind, key):
            report.skipped += 1
            return
        apply: Callable[[], None] = {
            "minted": lambda: self._apply_mint(log),
            "redeemed": lambda: self._apply_redeem(log),
            "retired": lambda: self._apply_retire(log),
        }[kind]
        status, error = "applied", None
        try:
            apply()
            setattr(report, kind, getattr(report, kind) + 1)
        except DuplicateRecordError:
            # Applied before (by another watcher, or before a crash): the ledger refuses it
            # again, so it is applied exactly once.
            report.skipped += 1
        except ConcurrencyError:
            raise  # transient: retried at the next sync
        except LedgerError as failure:
            status, error = "rejected", f"[{failure.code}] {failure}"
            logger.error("the ledger rejected %s %s of %s: %s", kind, key, self.address, error)
            report.rejected.append((kind, key, error))
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(bridge_chain_events).values(
                    **self._contract_key(), kind=kind, key=key,
                    block_number=int(log["blockNumber"]), log_index=int(log["logIndex"]),
                    tx_hash=HexBytes(log["transactionHash"]).to_0x_hex(),
                    token_id=str(int(args["id"])), grams=units_to_grams(int(args["amount"])),
                    status=status,
                    error=error, processed_at=_now()))
        except SQLIntegrityError:
            pass  # recorded concurrently

    def _processed(self, kind: str, key: str) -> bool:
        ck = self._contract_key()
        c = bridge_chain_events.c
        with self.engine.connect() as conn:
            return conn.execute(select(c.id).where(
                c.chain_id == ck["chain_id"], c.contract_address == ck["contract_address"],
                c.kind == kind, c.key == key)).first() is not None

    def burn_id(self, burn_number: int) -> str:
        """The ledger's burn id of the contract's burn ``burn_number`` (unique across chains
        and contracts): ``eip155:<chain id>:<contract>/burn/<number>``."""
        return f"eip155:{self.chain_id}:{self.address.lower()}/burn/{burn_number}"

    def _apply_mint(self, log: Any) -> None:
        args = log["args"]
        self.runtime.ledger.record_token_mint(
            actor=self.actor, batch_id=UUID(int=int(args["id"])),
            lock_id=UUID(bytes=bytes(args["lockId"])),
            chain_reference=HexBytes(log["transactionHash"]).to_0x_hex())

    def _apply_redeem(self, log: Any) -> None:
        args = log["args"]
        batch_id = UUID(int=int(args["id"]))
        self.runtime.ledger.unlock_tokens(
            actor=self.actor, batch_id=batch_id, lock_id=self.pool_id(batch_id),
            recipient=UUID(bytes=bytes(args["ledgerAccount"])),
            quantity=units_to_grams(int(args["amount"])),
            chain_reference=HexBytes(log["transactionHash"]).to_0x_hex(),
            burn_id=self.burn_id(int(args["burnId"])))

    def _apply_retire(self, log: Any) -> None:
        args = log["args"]
        batch_id = UUID(int=int(args["id"]))
        beneficiary, purpose, detail, jurisdiction, period = _retirement_fields(
            args["retirement"])
        if purpose not in PURPOSE_DETAIL_FIELDS:
            raise ValidationError(f"unknown retirement purpose {purpose!r}", field="purpose")
        detail_field = PURPOSE_DETAIL_FIELDS[purpose]
        details = {detail_field: detail} if detail_field is not None else {}
        self.runtime.ledger.retire_tokenised(
            actor=self.actor, batch_id=batch_id, pool_id=self.pool_id(batch_id),
            quantity=units_to_grams(int(args["amount"])), beneficiary=beneficiary,
            purpose=purpose, jurisdiction=jurisdiction, consumption_period=period,
            details=details, chain_reference=HexBytes(log["transactionHash"]).to_0x_hex(),
            burn_id=self.burn_id(int(args["burnId"])), chain_account=str(args["holder"]))

    def processed_events(self, status: str | None = None) -> list[dict[str, Any]]:
        """The chain events the watcher processed for this contract (optionally only those
        with ``status`` ``"applied"`` or ``"rejected"``), in chain order."""
        ck = self._contract_key()
        c = bridge_chain_events.c
        query = select(bridge_chain_events).where(
            c.chain_id == ck["chain_id"], c.contract_address == ck["contract_address"])
        if status is not None:
            query = query.where(c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(c.block_number, c.log_index)).all()
        return [dict(row._mapping) for row in rows]

    def __repr__(self) -> str:
        """Show the token contract and chain."""
        return f"Bridge(token={self.address}, chain_id={self.chain_id})"


def _retirement_fields(value: Any) -> tuple[str, str, str, str, str]:
    """The five fields of the ``Retirement`` tuple of a ``TokensRetired`` log, in order."""
    if isinstance(value, Mapping):
        names = ("beneficiary", "purpose", "purposeDetail", "jurisdiction", "consumptionPeriod")
        return tuple(str(value[name]) for name in names)  # type: ignore[return-value]
    beneficiary, purpose, detail, jurisdiction, period = value
    return str(beneficiary), str(purpose), str(detail), str(jurisdiction), str(period)


def _artifact() -> dict[str, Any]:
    return load_artifact(TOKEN_CONTRACT)


def _revert_bytes(exc: BaseException) -> bytes | None:
    """The raw revert data of a revert exception.

    web3's eth-tester provider re-raises eth-tester's ``TransactionFailed`` (whose argument is
    the raw revert data) as ``TransactionFailed("execution reverted: <reason>")``, decoding the
    data as if it were ``Error(string)``: a custom error with one ``string`` argument then
    loses its selector. The original exception is the new one's ``__context__``, so the raw
    data is taken from there first.
    """
    seen: BaseException | None = exc
    while seen is not None:
        first = seen.args[0] if seen.args else None
        if isinstance(first, Exception) and first.args:
            first = first.args[0]
        if isinstance(first, bytes):
            return first
        seen = seen.__context__
    return _revert_data(exc)


@contextmanager
def _reverts(abi: Any) -> Iterator[None]:
    """Map contract reverts to :class:`BridgeRejectedError` (decoded against ``abi``) and
    other web3 failures to :class:`BridgeError`."""
    try:
        yield
    except BridgeError:
        raise
    except (ContractLogicError, TransactionFailed) as exc:
        data = _revert_bytes(exc)
        if data is None:
            raise BridgeRejectedError("UnknownRevert", (str(exc),)) from exc
        raise BridgeRejectedError(*decode_revert(abi, data)) from exc
    except (Web3Exception, TransactionNotFound, ChainError) as exc:
        raise BridgeError(str(exc)) from exc
