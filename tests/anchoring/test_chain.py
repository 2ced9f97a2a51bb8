"""Chain clients of the AnchorRegistry (anchoring.chain).

The same tests run on the embedded eth-tester chain and on a real local JSON-RPC node (anvil,
see conftest.py) through the parametrised ``chain`` fixture.
"""

import socket

import pytest
from eth_account import Account
from eth_utils import keccak

from anchoring.chain import (
    AnchorReceipt,
    AnchorRejectedError,
    ChainClient,
    ChainUnavailableError,
    Checkpoint,
    InProcessChain,
    JsonRpcChain,
    decode_revert,
)
from contracts import load_artifact
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY, mine_blocks

ANCHORER_ROLE = keccak(text="ANCHORER_ROLE")
# Account 1 of anvil's default test mnemonic: funded, but holds no role on the registry.
OUTSIDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


def root(seed: int) -> bytes:
    return bytes([seed]) * 32


def test_clients_implement_the_protocol(chain):
    assert isinstance(chain, ChainClient)
    assert chain.contract_address.startswith("0x")
    assert len(chain.contract_address) == 42
    assert chain.chain_id > 0


def test_fresh_registry_is_empty(chain):
    assert chain.checkpoint_count() == 0
    assert chain.latest_checkpoint() is None
    assert chain.root_of(1) is None
    with pytest.raises(AnchorRejectedError) as excinfo:
        chain.checkpoint(0)
    assert (excinfo.value.error, excinfo.value.error_args) == (
        "AnchorRegistryUnknownCheckpoint",
        (0,),
    )


def test_anchor_and_read_back(chain):
    first = chain.anchor(10, root(1))
    second = chain.anchor(25, root(2))

    assert isinstance(first, AnchorReceipt)
    assert (first.index, second.index) == (0, 1)
    assert first.contract_address == second.contract_address == chain.contract_address
    assert first.chain_id == chain.chain_id
    assert first.tx_hash.startswith("0x") and len(first.tx_hash) == 66
    assert second.block_number > first.block_number
    assert chain.checkpoint_count() == 2
    checkpoint = chain.checkpoint(0)
    assert isinstance(checkpoint, Checkpoint)
    assert (checkpoint.tree_size, checkpoint.root, checkpoint.block_number) == (
        10,
        root(1),
        first.block_number,
    )
    assert checkpoint.anchored_at > 0
    assert chain.latest_checkpoint() == chain.checkpoint(1)
    assert chain.latest_checkpoint().tree_size == 25
    assert chain.root_of(10) == root(1)
    assert chain.root_of(25) == root(2)
    assert chain.root_of(11) is None
    assert chain.find_anchor(25, second.block_number) == second
    assert chain.find_anchor(24, second.block_number) is None


def test_reverts_are_decoded(chain):
    chain.anchor(10, root(1))

    with pytest.raises(AnchorRejectedError) as excinfo:
        chain.anchor(10, root(2))
    assert excinfo.value.error == "AnchorRegistryTreeSizeNotIncreasing"
    assert excinfo.value.error_args == (10, 10)
    assert str(excinfo.value) == "AnchorRegistryTreeSizeNotIncreasing(10, 10)"

    with pytest.raises(AnchorRejectedError) as excinfo:
        chain.anchor(11, bytes(32))
    assert (excinfo.value.error, excinfo.value.error_args) == ("AnchorRegistryZeroRoot", ())

    assert chain.checkpoint_count() == 1


def test_confirmations_count_blocks_mined_on_top(chain):
    receipt = chain.anchor(3, root(3))
    assert chain.confirmations(receipt.tx_hash) == 0
    mine_blocks(chain, 1)
    assert chain.confirmations(receipt.tx_hash) == 1
    mine_blocks(chain, 2)
    assert chain.confirmations(receipt.tx_hash) == 3
    assert chain.confirmations("0x" + "ab" * 32) == 0  # unknown transaction


def test_invalid_arguments_are_refused_before_sending(chain):
    with pytest.raises(ValueError):
        chain.anchor(1, b"short")
    with pytest.raises(ValueError):
        chain.anchor(True, root(1))
    assert chain.checkpoint_count() == 0


def test_decode_revert_of_unknown_data():
    abi = load_artifact("AnchorRegistry")["abi"]
    assert decode_revert(abi, b"\xde\xad\xbe\xef") == ("UnknownRevert", (b"\xde\xad\xbe\xef",))


# ------------------------------------------------------------------------------------ in-process


def test_in_process_chain_is_ephemeral():
    one, two = InProcessChain(), InProcessChain()
    one.anchor(1, root(1))
    assert two.checkpoint_count() == 0
    # Each instance deploys from a fresh account, so registries never share an address
    # (anchor records are keyed by chain id and registry address).
    assert one.chain_id == two.chain_id
    assert one.contract_address != two.contract_address
    assert one.account != two.account
    assert one.contract.functions.hasRole(ANCHORER_ROLE, one.account).call()


# ------------------------------------------------------------------------------------ JSON-RPC


def test_json_rpc_chain_reuses_an_existing_registry(anvil_url):
    deployer = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY)
    deployer.anchor(7, root(7))

    again = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY, deployer.contract_address)

    assert again.contract_address == deployer.contract_address
    assert again.latest_checkpoint() == deployer.latest_checkpoint()
    again.anchor(8, root(8))
    assert deployer.checkpoint_count() == 2


def test_json_rpc_account_without_role_is_rejected(anvil_url):
    deployer = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY)
    outsider = JsonRpcChain(anvil_url, OUTSIDER_KEY, deployer.contract_address)

    with pytest.raises(AnchorRejectedError) as excinfo:
        outsider.anchor(1, root(1))

    assert excinfo.value.error == "AccessControlUnauthorizedAccount"
    assert excinfo.value.error_args == (Account.from_key(OUTSIDER_KEY).address, ANCHORER_ROLE)
    assert deployer.checkpoint_count() == 0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_node_is_chain_unavailable():
    with pytest.raises(ChainUnavailableError):
        JsonRpcChain(f"http://127.0.0.1:{closed_port()}", ANVIL_PRIVATE_KEY, timeout=2)


def test_node_going_away_is_chain_unavailable(anvil_url):
    chain = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY)
    chain.anchor(1, root(1))
    chain.w3.provider.endpoint_uri = f"http://127.0.0.1:{closed_port()}"

    for call in (
        lambda: chain.anchor(2, root(2)),
        chain.latest_checkpoint,
        chain.checkpoint_count,
        lambda: chain.root_of(1),
        lambda: chain.confirmations("0x" + "00" * 32),
    ):
        with pytest.raises(ChainUnavailableError):
            call()


def test_timeouts_are_chain_unavailable():
    # A listening socket that never answers: the HTTP request times out.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(ChainUnavailableError):
            JsonRpcChain(f"http://127.0.0.1:{port}", ANVIL_PRIVATE_KEY, timeout=0.5)


def test_anchor_transaction_reports_sender_target_block_and_anchored_logs(chain):
    receipt = chain.anchor(5, b"\x07" * 32)
    tx = chain.anchor_transaction(receipt.tx_hash)
    assert tx is not None and tx.succeeded and tx.canonical
    assert tx.sender == chain.anchorer_address and tx.to == chain.contract_address
    assert tx.block_number == receipt.block_number and tx.confirmations == 0
    [log] = tx.logs
    assert (log.address, log.index, log.tree_size, log.root) == (
        chain.contract_address, receipt.index, 5, b"\x07" * 32)
    assert chain.anchor_transaction("0x" + "ab" * 32) is None
    assert chain.anchor_transaction("not a hash") is None
