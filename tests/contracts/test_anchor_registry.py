"""Behaviour of the AnchorRegistry contract, deployed from the committed artifact.

Runs on an in-process chain (eth-tester + py-evm). Reverts are asserted precisely: the raw revert
data is decoded against the custom errors of the contract ABI (name and arguments).
"""

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed
from eth_utils import (
    function_signature_to_4byte_selector,
    get_abi_input_types,
    keccak,
    to_checksum_address,
)
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from contracts import load_artifact

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_ROOT = b"\x00" * 32
DEFAULT_ADMIN_ROLE = b"\x00" * 32
ANCHORER_ROLE = keccak(text="ANCHORER_ROLE")
IACCESSCONTROL_INTERFACE_ID = bytes.fromhex("7965db0b")

# Field positions of the Checkpoint struct as returned by web3.
TREE_SIZE, ANCHORED_AT, BLOCK_NUMBER, ROOT = range(4)


def make_root(seed: int) -> bytes:
    """A non-zero 32-byte root without zero bytes (keeps calldata gas identical across seeds)."""
    return bytes([seed % 255 + 1]) * 32


# --------------------------------------------------------------------------- revert decoding


def revert_data(exc: BaseException) -> bytes:
    """Raw revert data carried by a web3 / eth-tester revert exception."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    # eth-tester stringifies the raw revert bytes: "execution reverted: b'\x13\x0f...'".
    message = str(exc.args[0]) if exc.args else ""
    starts = [i for i in (message.find("b'"), message.find('b"')) if i >= 0]
    assert starts, f"no revert data in {message!r}"
    parsed = ast.literal_eval(message[min(starts) :])
    assert isinstance(parsed, bytes)
    return parsed


def decode_custom_error(abi: list[dict[str, Any]], data: bytes) -> tuple[str, tuple[Any, ...]]:
    """Decode ``data`` into (error name, arguments) using the custom errors of ``abi``."""
    for entry in abi:
        if entry["type"] != "error":
            continue
        types = get_abi_input_types(entry)
        selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
        if data[:4] == selector:
            values = abi_decode(types, data[4:])
            return entry["name"], tuple(
                to_checksum_address(v) if t == "address" else v
                for t, v in zip(types, values, strict=True)
            )
    raise AssertionError(f"revert data {data.hex()} matches no custom error of the ABI")


@contextmanager
def reverts_with(abi: list[dict[str, Any]], error: str, *args: Any) -> Iterator[None]:
    """Assert that the block reverts with custom error ``error(*args)``."""
    with pytest.raises((TransactionFailed, ContractLogicError)) as excinfo:
        yield
    assert decode_custom_error(abi, revert_data(excinfo.value)) == (error, args)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def anchor_registry_artifact() -> dict[str, Any]:
    return load_artifact("AnchorRegistry")


@pytest.fixture
def eth_tester() -> EthereumTester:
    return EthereumTester(PyEVMBackend())


@pytest.fixture
def w3(eth_tester: EthereumTester) -> Web3:
    return Web3(Web3.EthereumTesterProvider(eth_tester))


@pytest.fixture
def admin(w3: Web3) -> str:
    return w3.eth.accounts[0]


@pytest.fixture
def outsider(w3: Web3) -> str:
    return w3.eth.accounts[1]


@pytest.fixture
def operator(w3: Web3) -> str:
    return w3.eth.accounts[2]


def deploy_anchor_registry(w3: Web3, artifact: dict[str, Any], admin: str) -> Contract:
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor(admin).transact({"from": admin})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


@pytest.fixture
def registry(w3: Web3, anchor_registry_artifact: dict[str, Any], admin: str) -> Contract:
    return deploy_anchor_registry(w3, anchor_registry_artifact, admin)


def anchor(registry: Contract, tree_size: int, root: bytes, sender: str) -> TxReceipt:
    tx_hash = registry.functions.anchor(tree_size, root).transact({"from": sender})
    receipt = registry.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return receipt


# --------------------------------------------------------------------------- deployment


def test_deployer_gets_admin_and_anchorer_roles(registry, admin, outsider):
    assert registry.functions.ANCHORER_ROLE().call() == ANCHORER_ROLE
    assert registry.functions.hasRole(DEFAULT_ADMIN_ROLE, admin).call()
    assert registry.functions.hasRole(ANCHORER_ROLE, admin).call()
    assert not registry.functions.hasRole(ANCHORER_ROLE, outsider).call()
    assert registry.functions.getRoleAdmin(ANCHORER_ROLE).call() == DEFAULT_ADMIN_ROLE
    assert registry.functions.supportsInterface(IACCESSCONTROL_INTERFACE_ID).call()
    assert registry.functions.checkpointCount().call() == 0
    with reverts_with(registry.abi, "AnchorRegistryNoCheckpoints"):
        registry.functions.latestCheckpoint().call()


def test_zero_initial_admin_rejected(w3, anchor_registry_artifact, admin):
    factory = w3.eth.contract(
        abi=anchor_registry_artifact["abi"], bytecode=anchor_registry_artifact["bytecode"]
    )
    with reverts_with(factory.abi, "AnchorRegistryInvalidAdmin", ZERO_ADDRESS):
        factory.constructor(ZERO_ADDRESS).transact({"from": admin})


def test_no_function_can_modify_or_delete_checkpoints(anchor_registry_artifact):
    mutating = {
        entry["name"]
        for entry in anchor_registry_artifact["abi"]
        if entry["type"] == "function" and entry["stateMutability"] not in ("view", "pure")
    }
    # anchor() only appends; the rest is OpenZeppelin AccessControl role management.
    assert mutating == {"anchor", "grantRole", "revokeRole", "renounceRole"}


# --------------------------------------------------------------------------- anchoring


def test_deployer_can_anchor_and_event_is_emitted(w3, registry, admin):
    root = make_root(1)
    assert registry.functions.anchor(10, root).call({"from": admin}) == 0  # returned index

    receipt = anchor(registry, 10, root, admin)

    block = w3.eth.get_block(receipt["blockNumber"])
    (event,) = registry.events.CheckpointAnchored().process_receipt(receipt)
    assert event["address"] == registry.address
    assert dict(event["args"]) == {
        "index": 0,
        "treeSize": 10,
        "root": root,
        "anchoredAt": block["timestamp"],
    }
    # index and treeSize are indexed topics, so checkpoints can be looked up by either.
    (log,) = receipt["logs"]
    assert log["topics"][1] == (0).to_bytes(32, "big")
    assert log["topics"][2] == (10).to_bytes(32, "big")

    assert registry.functions.checkpointCount().call() == 1
    checkpoint = registry.functions.checkpoint(0).call()
    assert checkpoint[TREE_SIZE] == 10
    assert checkpoint[ROOT] == root
    assert checkpoint[ANCHORED_AT] == block["timestamp"]
    assert checkpoint[BLOCK_NUMBER] == receipt["blockNumber"]


def test_checkpoints_are_readable_by_anyone(registry, admin, outsider):
    anchor(registry, 3, make_root(1), admin)
    anchor(registry, 7, make_root(2), admin)

    reader = {"from": outsider}
    assert registry.functions.checkpointCount().call(reader) == 2
    assert registry.functions.checkpoint(0).call(reader)[TREE_SIZE] == 3
    assert registry.functions.checkpoint(0).call(reader)[ROOT] == make_root(1)
    latest = registry.functions.latestCheckpoint().call(reader)
    assert latest == registry.functions.checkpoint(1).call(reader)
    assert latest[TREE_SIZE] == 7
    assert latest[ROOT] == make_root(2)
    assert registry.functions.rootOf(3).call(reader) == make_root(1)
    assert registry.functions.rootOf(7).call(reader) == make_root(2)


def test_non_anchorer_is_rejected(registry, admin, outsider):
    anchor(registry, 1, make_root(1), admin)

    with reverts_with(registry.abi, "AccessControlUnauthorizedAccount", outsider, ANCHORER_ROLE):
        registry.functions.anchor(2, make_root(2)).transact({"from": outsider})

    assert registry.functions.checkpointCount().call() == 1


def test_admin_grants_and_revokes_anchorer_role(registry, admin, operator):
    registry.functions.grantRole(ANCHORER_ROLE, operator).transact({"from": admin})
    assert registry.functions.hasRole(ANCHORER_ROLE, operator).call()

    receipt = anchor(registry, 5, make_root(5), operator)
    (event,) = registry.events.CheckpointAnchored().process_receipt(receipt)
    assert event["args"]["treeSize"] == 5
    assert registry.functions.rootOf(5).call() == make_root(5)

    # Holding ANCHORER_ROLE does not allow managing roles.
    with reverts_with(
        registry.abi, "AccessControlUnauthorizedAccount", operator, DEFAULT_ADMIN_ROLE
    ):
        registry.functions.grantRole(ANCHORER_ROLE, operator).transact({"from": operator})

    registry.functions.revokeRole(ANCHORER_ROLE, operator).transact({"from": admin})
    assert not registry.functions.hasRole(ANCHORER_ROLE, operator).call()
    with reverts_with(registry.abi, "AccessControlUnauthorizedAccount", operator, ANCHORER_ROLE):
        registry.functions.anchor(6, make_root(6)).transact({"from": operator})
    assert registry.functions.checkpointCount().call() == 1


def test_first_tree_size_must_be_positive(registry, admin):
    with reverts_with(registry.abi, "AnchorRegistryTreeSizeNotIncreasing", 0, 0):
        registry.functions.anchor(0, make_root(1)).transact({"from": admin})


@pytest.mark.parametrize("tree_size", [100, 99, 1])
def test_tree_size_must_strictly_increase(registry, admin, tree_size):
    anchor(registry, 100, make_root(1), admin)

    with reverts_with(registry.abi, "AnchorRegistryTreeSizeNotIncreasing", tree_size, 100):
        registry.functions.anchor(tree_size, make_root(2)).transact({"from": admin})

    assert registry.functions.checkpointCount().call() == 1
    assert registry.functions.rootOf(100).call() == make_root(1)


def test_zero_root_is_rejected(registry, admin):
    with reverts_with(registry.abi, "AnchorRegistryZeroRoot"):
        registry.functions.anchor(1, ZERO_ROOT).transact({"from": admin})
    assert registry.functions.checkpointCount().call() == 0


# --------------------------------------------------------------------------- lookups


def test_root_of_returns_root_for_exact_tree_size_only(registry, admin):
    for tree_size in (2, 4, 8):
        anchor(registry, tree_size, make_root(tree_size), admin)

    for tree_size in (2, 4, 8):
        assert registry.functions.rootOf(tree_size).call() == make_root(tree_size)
    for tree_size in (0, 1, 3, 9, 2**64 - 1):
        with reverts_with(registry.abi, "AnchorRegistryUnknownTreeSize", tree_size):
            registry.functions.rootOf(tree_size).call()


def test_unknown_checkpoint_index_reverts(registry, admin):
    with reverts_with(registry.abi, "AnchorRegistryUnknownCheckpoint", 0):
        registry.functions.checkpoint(0).call()

    anchor(registry, 1, make_root(1), admin)

    assert registry.functions.checkpoint(0).call()[TREE_SIZE] == 1
    for index in (1, 2**256 - 1):
        with reverts_with(registry.abi, "AnchorRegistryUnknownCheckpoint", index):
            registry.functions.checkpoint(index).call()


# --------------------------------------------------------------------------- gas


def test_anchor_gas_does_not_depend_on_history(registry, admin):
    # Tree sizes 5..250 and make_root() keep the calldata byte profile identical for every call.
    gas_used = [anchor(registry, 5 * i, make_root(i), admin)["gasUsed"] for i in range(1, 51)]

    assert registry.functions.checkpointCount().call() == 50
    # The 1st anchor also initialises the array length slot (zero -> non-zero).
    assert gas_used[0] > gas_used[1]
    assert gas_used[1] == gas_used[49]
    assert len(set(gas_used[1:])) == 1, gas_used
