"""POST /explorer/chain/rpc: the read-only JSON-RPC view of the ledger's chain that the
certificate page reads by default (no browser needed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from web3 import Web3

from anchoring.trust import trust_anchors_of


def rpc(live_server: str, method: str, params: Any = None,
        raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    body = raw if raw is not None else json.dumps(
        {"jsonrpc": "2.0", "id": 7, "method": method, "params": params or []}).encode()
    request = urllib.request.Request(f"{live_server}/explorer/chain/rpc", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def anchor(ledger_world: dict[str, Any]) -> Any:
    return ledger_world["runtime"].anchoring.anchorer.anchors()[-1]


def test_the_read_calls_answer_standard_json_rpc(live_server, ledger_world, anchor):
    trust = trust_anchors_of(ledger_world["runtime"].anchoring)
    status, answer = rpc(live_server, "eth_chainId")
    assert status == 200 and answer["id"] == 7 and int(answer["result"], 16) == trust.chain_id
    assert int(rpc(live_server, "eth_blockNumber")[1]["result"], 16) >= anchor.block_number
    tx = rpc(live_server, "eth_getTransactionByHash", [anchor.tx_hash])[1]["result"]
    assert tx["from"] == trust.anchorers[0] and tx["to"] == trust.registry
    receipt = rpc(live_server, "eth_getTransactionReceipt", [anchor.tx_hash])[1]["result"]
    assert receipt["status"] == "0x1" and int(receipt["blockNumber"], 16) == anchor.block_number
    topic = Web3.keccak(text="CheckpointAnchored(uint256,uint64,bytes32,uint64)").to_0x_hex()
    assert [log["topics"][0] for log in receipt["logs"]] == [topic]
    block = rpc(live_server, "eth_getBlockByNumber", [receipt["blockNumber"], False])[1]
    assert block["result"]["hash"] == receipt["blockHash"]
    root_of = Web3.keccak(text="rootOf(uint64)")[:4].hex() + f"{anchor.tree_size:064x}"
    call = rpc(live_server, "eth_call", [{"to": trust.registry, "data": "0x" + root_of},
                                         "latest"])[1]
    assert call["result"] == "0x" + anchor.root.hex()


def test_a_reverted_call_is_error_3_and_an_unknown_transaction_null(live_server, ledger_world):
    trust = trust_anchors_of(ledger_world["runtime"].anchoring)
    root_of = Web3.keccak(text="rootOf(uint64)")[:4].hex() + f"{987654:064x}"
    answer = rpc(live_server, "eth_call", [{"to": trust.registry, "data": "0x" + root_of}])[1]
    assert answer["error"]["code"] == 3
    assert rpc(live_server, "eth_getTransactionByHash", ["0x" + "ab" * 32])[1]["result"] is None
    assert rpc(live_server, "eth_getTransactionReceipt", ["0x" + "ab" * 32])[1]["result"] is None


@pytest.mark.parametrize("method", ["eth_sendTransaction", "eth_sendRawTransaction",
                                    "eth_accounts", "eth_sign", "debug_traceTransaction",
                                    "evm_mine", "personal_unlockAccount"])
def test_nothing_but_the_read_calls_is_offered(live_server, method):
    status, answer = rpc(live_server, method, [{}])
    assert status == 200 and answer["error"]["code"] == -32601


@pytest.mark.parametrize(("method", "params"), [
    ("eth_call", [{"to": "0x" + "11" * 20, "data": "0x", "from": "0x" + "22" * 20}]),
    ("eth_call", [{"to": "0x" + "11" * 20, "data": "0x", "value": "0x1"}]),
    ("eth_call", [{"to": "0x" + "11" * 20, "data": "0x"}, "0x1"]),
    ("eth_call", [{"to": "nowhere", "data": "0x"}]),
    ("eth_getTransactionByHash", ["0x1234"]),
    ("eth_getBlockByNumber", ["latest", True]),
    ("eth_getBlockByNumber", ["0x1", True]),
    ("eth_getTransactionReceipt", []),
])
def test_malformed_parameters_are_error_32602(live_server, method, params):
    status, answer = rpc(live_server, method, params)
    assert status == 200 and answer["error"]["code"] == -32602


def test_not_one_request_object_is_refused(live_server):
    assert rpc(live_server, "", raw=b"{not json")[0] == 400
    status, answer = rpc(live_server, "", raw=json.dumps(
        [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}]).encode())
    assert status == 400 and answer["error"]["code"] == -32600
    assert rpc(live_server, "", raw=b"[" + b" " * 10_000 + b"]")[0] == 413
