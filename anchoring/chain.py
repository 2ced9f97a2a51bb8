"""Clients of the on-chain ``AnchorRegistry`` (see ``contracts/AnchorRegistry.sol``).

:class:`ChainClient` is the small interface the anchoring service needs; like HTTP transports,
it has interchangeable implementations:

* :class:`InProcessChain`: an embedded, ephemeral Ethereum chain (``eth-tester`` with the py-evm
  backend) in this process. It deploys the registry from the committed artifact on creation,
  from a fresh random account that is its admin and anchorer (so the registry address differs
  from one instance to the next). Nothing is persisted: the chain, the contract and every
  checkpoint vanish with the object, so its anchors prove nothing to a third party. For
  development, tests and demos.
* :class:`JsonRpcChain`: any Ethereum JSON-RPC node (a local dev node, a testnet, mainnet),
  over HTTP with web3. Transactions are signed locally with the anchorer's private key
  (eth-account) and sent raw, so the node holds no key. It deploys the registry (with the key's
  account as admin and anchorer) when no contract address is given.

Errors: everything that means "the chain cannot be reached right now" (connection refused or
reset, timeouts, HTTP errors, no receipt in time) is raised as :class:`ChainUnavailableError`;
a revert of ``anchor`` is raised as :class:`AnchorRejectedError` with the decoded custom error
of the contract ABI (e.g. ``AnchorRegistryTreeSizeNotIncreasing(5, 7)``). Other failures are
:class:`ChainError`.

Confirmations are counted as the number of blocks mined *on top of* the block that includes a
transaction: 0 right after it is mined.
"""

from __future__ import annotations

import ast
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import requests
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import (
    function_signature_to_4byte_selector,
    get_abi_input_types,
    to_checksum_address,
)
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    RequestTimedOut,
    TimeExhausted,
    TransactionNotFound,
    Web3Exception,
)
from web3.types import TxReceipt, Wei

from contracts import load_artifact

__all__ = [
    "AnchorReceipt",
    "AnchorRejectedError",
    "AnchorTransaction",
    "AnchoredLog",
    "ChainClient",
    "ChainError",
    "ChainUnavailableError",
    "Checkpoint",
    "InProcessChain",
    "JsonRpcChain",
    "decode_revert",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONTRACT_NAME = "AnchorRegistry"
HASH_SIZE = 32
_IN_PROCESS_FUNDING = 10**21  # wei (1000 ether) for the in-process anchorer account
# Gas limit of in-process transactions: an anchor uses about a tenth of it.
_IN_PROCESS_GAS = 1_000_000


# ---------------------------------------------------------------------------------- values


@dataclass(frozen=True)
class AnchorReceipt:
    """A mined ``anchor`` transaction.

    ``tx_hash`` is ``0x``-prefixed hex; ``index`` is the position of the new checkpoint in the
    registry (from the ``CheckpointAnchored`` event); ``contract_address`` is checksummed.
    """

    tx_hash: str
    block_number: int
    index: int
    contract_address: str
    chain_id: int


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint stored in the registry: ``root`` commits to the first ``tree_size`` events;
    ``anchored_at`` is the timestamp (Unix seconds) of block ``block_number``."""

    tree_size: int
    root: bytes
    anchored_at: int
    block_number: int


@dataclass(frozen=True)
class AnchoredLog:
    """A ``CheckpointAnchored`` log as found in a transaction receipt: ``address`` is the
    (checksummed) contract that emitted it, whatever contract that is."""

    address: str
    index: int
    tree_size: int
    root: bytes
    anchored_at: int


@dataclass(frozen=True)
class AnchorTransaction:
    """A mined transaction as the chain reports it, for a verifier to compare with a claim.

    ``sender`` and ``to`` are checksummed (``to`` is ``None`` for a deployment); ``succeeded``
    is the receipt's status; ``canonical`` says that the block at ``block_number`` is the block
    the receipt names (``block_hash``); ``confirmations`` counts the blocks mined on top of it;
    ``logs`` are every ``CheckpointAnchored`` log of the receipt, from any contract.
    """

    tx_hash: str
    sender: str
    to: str | None
    succeeded: bool
    block_number: int
    block_hash: str
    canonical: bool
    confirmations: int
    logs: tuple[AnchoredLog, ...]


class ChainError(Exception):
    """A chain operation failed."""


class ChainUnavailableError(ChainError):
    """The chain cannot be reached right now (refused, reset, timed out); retry later."""


class AnchorRejectedError(ChainError):
    """The registry reverted: ``error`` is the custom error name, ``error_args`` its arguments.

    ``error`` is ``"Error"`` or ``"Panic"`` for Solidity's built-in errors, and
    ``"UnknownRevert"`` (with the raw revert data as only argument) if the data matches no
    error of the ABI.
    """

    def __init__(self, error: str, error_args: tuple[Any, ...] = ()) -> None:
        """Record the decoded error."""
        rendered = ", ".join(
            "0x" + value.hex() if isinstance(value, bytes) else repr(value) for value in error_args
        )
        super().__init__(f"{error}({rendered})")
        self.error = error
        self.error_args = error_args


@runtime_checkable
class ChainClient(Protocol):
    """What the anchoring service needs from a chain holding an ``AnchorRegistry``."""

    @property
    def contract_address(self) -> str:
        """Checksummed address of the registry."""
        ...

    @property
    def chain_id(self) -> int:
        """EIP-155 chain id."""
        ...

    def anchor(self, tree_size: int, root: bytes) -> AnchorReceipt:
        """Anchor ``root`` for the first ``tree_size`` events; return the mined receipt."""
        ...

    def checkpoint_count(self) -> int:
        """Number of checkpoints in the registry."""
        ...

    def checkpoint(self, index: int) -> Checkpoint:
        """Checkpoint ``index`` (0-based); :class:`AnchorRejectedError` if there is none."""
        ...

    def latest_checkpoint(self) -> Checkpoint | None:
        """The most recent checkpoint, or ``None`` if nothing is anchored."""
        ...

    def root_of(self, tree_size: int) -> bytes | None:
        """Root anchored for exactly ``tree_size`` events, or ``None``."""
        ...

    def find_anchor(self, tree_size: int, block_number: int) -> AnchorReceipt | None:
        """The anchoring of ``tree_size`` mined in block ``block_number``, from the event log
        (for checkpoints whose receipt was lost), or ``None``."""
        ...

    def confirmations(self, tx_hash: str) -> int:
        """Blocks mined on top of the block including ``tx_hash`` (0 if it is in the latest
        block, pending, unknown or failed)."""
        ...

    @property
    def anchorer_address(self) -> str:
        """Checksummed address of the account this client anchors from."""
        ...

    def anchor_transaction(self, tx_hash: str) -> AnchorTransaction | None:
        """The mined transaction ``tx_hash`` with its ``CheckpointAnchored`` logs (from any
        contract), or ``None`` if the chain does not know it or has not mined it."""
        ...


# ---------------------------------------------------------------------------------- reverts


def _error_selectors(abi: Sequence[Any]) -> dict[bytes, tuple[str, list[str]]]:
    selectors: dict[bytes, tuple[str, list[str]]] = {
        bytes.fromhex("08c379a0"): ("Error", ["string"]),
        bytes.fromhex("4e487b71"): ("Panic", ["uint256"]),
    }
    for entry in abi:
        if entry.get("type") == "error":
            types = list(get_abi_input_types(entry))  # type: ignore[arg-type]
            signature = f"{entry['name']}({','.join(types)})"
            selectors[function_signature_to_4byte_selector(signature)] = (entry["name"], types)
    return selectors


def decode_revert(abi: Sequence[Any], data: bytes) -> tuple[str, tuple[Any, ...]]:
    """Decode revert ``data`` against the custom errors of ``abi`` (plus ``Error(string)`` and
    ``Panic(uint256)``); addresses are checksummed. Unknown data decodes as
    ``("UnknownRevert", (data,))``."""
    known = _error_selectors(abi).get(data[:4])
    if known is None:
        return "UnknownRevert", (data,)
    name, types = known
    try:
        values = abi_decode(types, data[4:])
    except Exception:  # malformed arguments: keep the raw data
        return name, (data[4:],)
    return name, tuple(
        to_checksum_address(value) if kind == "address" else value
        for kind, value in zip(types, values, strict=True)
    )


def _revert_data(exc: BaseException) -> bytes | None:
    """The raw revert data carried by a web3 or eth-tester revert exception, if any."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    if isinstance(data, bytes):
        return data
    # eth-tester only stringifies the raw bytes: "execution reverted: b'\x13\x0f...'".
    message = str(exc.args[0]) if exc.args else ""
    starts = [i for i in (message.find("b'"), message.find('b"')) if i >= 0]
    if not starts:
        return None
    try:
        parsed = ast.literal_eval(message[min(starts) :])
    except (ValueError, SyntaxError):
        return None
    return parsed if isinstance(parsed, bytes) else None


# ---------------------------------------------------------------------------------- clients


class _RegistryClient:
    """The registry calls shared by both clients, over a web3 instance."""

    _unavailable: tuple[type[BaseException], ...] = ()

    def __init__(self, w3: Web3, contract: Contract, chain_id: int) -> None:
        self.w3 = w3
        self.contract = contract
        self._abi: Sequence[Any] = contract.abi
        self._chain_id = chain_id

    @property
    def contract_address(self) -> str:
        """Checksummed address of the registry."""
        return str(self.contract.address)

    @property
    def chain_id(self) -> int:
        """EIP-155 chain id."""
        return self._chain_id

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Map transport failures to :class:`ChainUnavailableError`, reverts to
        :class:`AnchorRejectedError` and other web3 failures to :class:`ChainError`."""
        try:
            yield
        except ChainError:
            raise
        except (ContractLogicError, TransactionFailed) as exc:
            data = _revert_data(exc)
            if data is None:
                raise AnchorRejectedError("UnknownRevert", (str(exc),)) from exc
            raise AnchorRejectedError(*decode_revert(self._abi, data)) from exc
        except self._unavailable as exc:
            raise ChainUnavailableError(f"chain unavailable: {exc}") from exc
        except Web3Exception as exc:
            raise ChainError(str(exc)) from exc

    def _view(self, function: Callable[[], T]) -> T:
        with self._errors():
            return function()

    def anchor(self, tree_size: int, root: bytes) -> AnchorReceipt:
        """Anchor ``root`` for the first ``tree_size`` events and wait for the receipt.

        Raises :class:`AnchorRejectedError` if the registry reverts (e.g. the tree size does not
        increase, the root is zero, the account lacks ``ANCHORER_ROLE``), and
        :class:`ChainUnavailableError` if the node cannot be reached or no receipt arrives in
        time (the transaction may still be mined later).
        """
        if not isinstance(root, bytes) or len(root) != HASH_SIZE:
            raise ValueError("root must be 32 bytes")
        if isinstance(tree_size, bool) or not isinstance(tree_size, int):
            raise ValueError("tree_size must be an int")
        with self._errors():
            receipt = self._transact(self.contract.functions.anchor(tree_size, root))
            if receipt["status"] != 1:
                # Mined but reverted (the state changed since it was simulated): replay it
                # to learn why.
                self.contract.functions.anchor(tree_size, root).call(
                    {"from": self._sender}, block_identifier=receipt["blockNumber"] - 1
                )
                raise AnchorRejectedError("TransactionReverted", (receipt["transactionHash"],))
            events = self.contract.events.CheckpointAnchored().process_receipt(receipt)
        if len(events) != 1:
            raise ChainError(f"expected one CheckpointAnchored event, got {len(events)}")
        return AnchorReceipt(
            tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
            block_number=int(receipt["blockNumber"]),
            index=int(events[0]["args"]["index"]),
            contract_address=self.contract_address,
            chain_id=self.chain_id,
        )

    def checkpoint_count(self) -> int:
        """Number of checkpoints in the registry."""
        return int(self._view(self.contract.functions.checkpointCount().call))

    def checkpoint(self, index: int) -> Checkpoint:
        """Checkpoint ``index`` (0-based).

        Raises :class:`AnchorRejectedError` ``AnchorRegistryUnknownCheckpoint`` if there is none.
        """
        return _checkpoint(self._view(self.contract.functions.checkpoint(index).call))

    def latest_checkpoint(self) -> Checkpoint | None:
        """The most recent checkpoint, or ``None`` if nothing has been anchored."""
        try:
            return _checkpoint(self._view(self.contract.functions.latestCheckpoint().call))
        except AnchorRejectedError as error:
            if error.error == "AnchorRegistryNoCheckpoints":
                return None
            raise

    def root_of(self, tree_size: int) -> bytes | None:
        """Root anchored for exactly ``tree_size`` events, or ``None``."""
        try:
            return bytes(self._view(self.contract.functions.rootOf(tree_size).call))
        except AnchorRejectedError as error:
            if error.error == "AnchorRegistryUnknownTreeSize":
                return None
            raise

    def find_anchor(self, tree_size: int, block_number: int) -> AnchorReceipt | None:
        """The anchoring of ``tree_size`` mined in block ``block_number`` (from its
        ``CheckpointAnchored`` event), or ``None`` if there is none."""
        with self._errors():
            events = self.contract.events.CheckpointAnchored().get_logs(
                argument_filters={"treeSize": tree_size},
                from_block=block_number,
                to_block=block_number,
            )
        for event in events:
            return AnchorReceipt(
                tx_hash=HexBytes(event["transactionHash"]).to_0x_hex(),
                block_number=int(event["blockNumber"]),
                index=int(event["args"]["index"]),
                contract_address=self.contract_address,
                chain_id=self.chain_id,
            )
        return None

    def confirmations(self, tx_hash: str) -> int:
        """Blocks mined on top of the block including ``tx_hash``; 0 if it is in the latest
        block, not mined, unknown or failed."""
        with self._errors():
            try:
                receipt = self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return 0
            if receipt is None or receipt["status"] != 1 or receipt["blockNumber"] is None:
                return 0
            return max(0, int(self.w3.eth.block_number) - int(receipt["blockNumber"]))

    @property
    def anchorer_address(self) -> str:
        """Checksummed address of the account this client anchors from."""
        return to_checksum_address(self._sender)

    def anchor_transaction(self, tx_hash: str) -> AnchorTransaction | None:
        """The mined transaction ``tx_hash`` as the node reports it: sender, target, status,
        block (and whether it is still the canonical block at that height), confirmations and
        every ``CheckpointAnchored`` log of its receipt, decoded whatever contract emitted it
        (the caller decides which contract it trusts). ``None`` if unknown or not mined."""
        try:
            key = HexBytes(tx_hash)
        except (TypeError, ValueError):
            return None
        if len(key) != HASH_SIZE:
            return None
        with self._errors():
            try:
                transaction = self.w3.eth.get_transaction(key)
                receipt = self.w3.eth.get_transaction_receipt(key)
            except TransactionNotFound:
                return None
            if receipt is None or receipt["blockNumber"] is None:
                return None
            number = int(receipt["blockNumber"])
            block = self.w3.eth.get_block(number)
            latest = int(self.w3.eth.block_number)
        to = transaction.get("to")
        return AnchorTransaction(
            tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(),
            sender=to_checksum_address(transaction["from"]),
            to=to_checksum_address(to) if to else None,
            succeeded=receipt["status"] == 1,
            block_number=number,
            block_hash=HexBytes(receipt["blockHash"]).to_0x_hex(),
            canonical=HexBytes(block["hash"]) == HexBytes(receipt["blockHash"]),
            confirmations=max(0, latest - number),
            logs=tuple(_anchored_logs(receipt)),
        )

    # -- implemented by the clients -------------------------------------------------------

    @property
    def _sender(self) -> str:
        raise NotImplementedError

    def _transact(self, function: ContractFunction) -> TxReceipt:
        raise NotImplementedError


_ANCHORED_TOPIC = HexBytes(
    Web3.keccak(text="CheckpointAnchored(uint256,uint64,bytes32,uint64)"))


def _anchored_logs(receipt: TxReceipt) -> Iterator[AnchoredLog]:
    """Decode every ``CheckpointAnchored(uint256 indexed, uint64 indexed, bytes32, uint64)``
    log of ``receipt``, whichever contract emitted it; malformed ones are skipped."""
    for log in receipt["logs"]:
        topics = [HexBytes(t) for t in log["topics"]]
        data = HexBytes(log["data"])
        if len(topics) != 3 or topics[0] != _ANCHORED_TOPIC or len(data) != 2 * HASH_SIZE:
            continue
        yield AnchoredLog(
            address=to_checksum_address(log["address"]),
            index=int.from_bytes(topics[1], "big"),
            tree_size=int.from_bytes(topics[2], "big"),
            root=bytes(data[:HASH_SIZE]),
            anchored_at=int.from_bytes(data[HASH_SIZE:], "big"),
        )


def _checkpoint(value: Any) -> Checkpoint:
    tree_size, anchored_at, block_number, root = value
    return Checkpoint(
        tree_size=int(tree_size),
        root=bytes(root),
        anchored_at=int(anchored_at),
        block_number=int(block_number),
    )


class InProcessChain(_RegistryClient):
    """An embedded, ephemeral chain (eth-tester + py-evm) with a freshly deployed registry.

    Blocks are mined automatically, one per transaction (:meth:`mine_blocks` mines empty
    ones). A fresh random account (:attr:`account`, funded by the first eth-tester account)
    deploys the registry and is its admin and anchorer, so every instance has a registry
    address of its own. Nothing is persisted: the chain, the registry and every checkpoint
    live only as long as this object, so its anchors convince nobody outside this process.
    """

    def __init__(self, private_key: str | None = None) -> None:
        """Start the chain and deploy ``AnchorRegistry`` from the committed artifact.

        With ``private_key`` the anchorer account, and so the registry address and every
        transaction hash, are the same in every instance that replays the same anchors
        (:class:`anchoring.embedded.EmbeddedChain` uses this to persist the embedded chain).
        """
        self.tester = EthereumTester(PyEVMBackend())
        w3 = Web3(Web3.EthereumTesterProvider(self.tester))
        # eth-tester's accounts and chain id are the same in every instance, so a registry
        # deployed by them would have the same address in every instance too; anchor records
        # of a vanished chain would then look like records of the new one. A fresh random
        # account (funded by the first test account) gives every instance its own address.
        self.account = str(self.tester.add_account(private_key or "0x" + secrets.token_hex(32)))
        funder = w3.eth.accounts[0]
        funding = w3.eth.send_transaction(
            {"from": funder, "to": self.account, "value": Wei(_IN_PROCESS_FUNDING)}
        )
        w3.eth.wait_for_transaction_receipt(funding)
        artifact = load_artifact(CONTRACT_NAME)
        factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx_hash = factory.constructor(self.account).transact({"from": self.account})
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1 or not receipt["contractAddress"]:
            raise ChainError("deploying AnchorRegistry on the in-process chain failed")
        contract = w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])
        super().__init__(w3, contract, int(w3.eth.chain_id))

    @property
    def _sender(self) -> str:
        return self.account

    def _transact(self, function: ContractFunction) -> TxReceipt:
        # One simulation (a revert surfaces here, decoded as from gas estimation), then the
        # transaction with a fixed gas limit: web3's gas estimation is a binary search of
        # several executions, about two thirds of an anchor's time on py-evm.
        function.call({"from": self.account})
        tx_hash = function.transact({"from": self.account, "gas": _IN_PROCESS_GAS})
        return self.w3.eth.wait_for_transaction_receipt(tx_hash)

    def mine_blocks(self, count: int = 1) -> None:
        """Mine ``count`` empty blocks."""
        self.tester.mine_blocks(count)

    def __repr__(self) -> str:
        """Show the chain id and the registry address."""
        return f"InProcessChain(chain_id={self.chain_id}, contract={self.contract_address})"


class JsonRpcChain(_RegistryClient):
    """A registry on a chain reached over HTTP JSON-RPC, with locally signed transactions.

    ``private_key`` is the anchorer's key (hex); the account needs ``ANCHORER_ROLE`` on the
    registry at ``contract_address``, or, if no address is given, it deploys a new registry
    (and is then its admin and anchorer; see :attr:`contract_address`). ``timeout`` bounds each
    HTTP request and ``receipt_timeout`` the wait for a transaction to be mined. Failed
    requests are not retried here: the caller retries later on :class:`ChainUnavailableError`.

    Raises :class:`ChainUnavailableError` from the constructor if the node cannot be reached.
    """

    _unavailable = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.HTTPError,
        ProviderConnectionError,
        RequestTimedOut,
        TimeExhausted,
        ConnectionError,
        TimeoutError,
    )

    def __init__(
        self,
        rpc_url: str,
        private_key: str | bytes,
        contract_address: str | None = None,
        *,
        timeout: float = 10.0,
        receipt_timeout: float = 120.0,
        poll_interval: float = 0.1,
    ) -> None:
        """Connect, read the chain id and deploy the registry if ``contract_address`` is
        ``None``."""
        provider = Web3.HTTPProvider(
            rpc_url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
        )
        w3 = Web3(provider)
        self.rpc_url = rpc_url
        self.account = Account.from_key(private_key)
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        artifact = load_artifact(CONTRACT_NAME)
        # _errors() and _transact() are used before super().__init__ (to deploy).
        self.w3 = w3
        self._abi = artifact["abi"]
        with self._errors():
            chain_id = int(w3.eth.chain_id)
        self._chain_id = chain_id
        if contract_address is None:
            factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
            with self._errors():
                receipt = self._transact(factory.constructor(self.account.address))
            if receipt["status"] != 1 or not receipt["contractAddress"]:
                raise ChainError(f"deploying AnchorRegistry on {rpc_url} failed")
            contract_address = str(receipt["contractAddress"])
            logger.info("deployed AnchorRegistry at %s on chain %s", contract_address, chain_id)
        contract = w3.eth.contract(
            address=to_checksum_address(contract_address), abi=artifact["abi"]
        )
        super().__init__(w3, contract, chain_id)

    @property
    def _sender(self) -> str:
        return str(self.account.address)

    def _transact(self, function: Any) -> TxReceipt:
        """Build (simulating it: reverts surface here), sign, send and wait for the receipt."""
        sender = self.account.address
        transaction = function.build_transaction(
            {
                "from": sender,
                "nonce": self.w3.eth.get_transaction_count(sender, "pending"),
                "chainId": self._chain_id,
            }
        )
        signed = self.account.sign_transaction(transaction)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        return self.w3.eth.wait_for_transaction_receipt(
            tx_hash, timeout=self.receipt_timeout, poll_latency=self.poll_interval
        )

    def __repr__(self) -> str:
        """Show the node, the chain id and the registry address."""
        return (
            f"JsonRpcChain({self.rpc_url!r}, chain_id={self.chain_id}, "
            f"contract={self.contract_address})"
        )
