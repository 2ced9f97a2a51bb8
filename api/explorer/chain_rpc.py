"""A read-only JSON-RPC endpoint to the ledger's chain, for the certificate page's verifier.

The embedded chain (an in-process EVM) has no JSON-RPC endpoint of its own, and a JSON-RPC
node the ledger anchors on is often not reachable from a reader's browser (private network,
credentials in the URL, no CORS). ``POST /explorer/chain/rpc`` answers the six read calls the
browser verifier makes (``static/verify.js``), and nothing else:

``eth_chainId``, ``eth_blockNumber``, ``eth_call`` (``to`` and ``data`` only, at ``latest``),
``eth_getTransactionByHash``, ``eth_getTransactionReceipt``, ``eth_getBlockByNumber``
(without transactions).

Answers are standard JSON-RPC 2.0 (hex quantities, ``0x`` data), trimmed to the fields the
verifier reads. A reverted ``eth_call`` is error ``3`` (as geth and anvil answer it); an
unreachable upstream node is HTTP 502, which the page reports as "not verified against a
chain". This endpoint is a convenience, not a trust anchor: it is the ledger's operator
reporting its own chain. A reader who does not trust the operator points the page at a node
of their own (the RPC URL is editable on the page) and chooses their own trust anchors; see
docs/ANCHORING.md, "The browser verifier".
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from hexbytes import HexBytes
from starlette.concurrency import run_in_threadpool
from web3 import Web3
from web3.exceptions import BlockNotFound, ContractLogicError, TransactionNotFound

from anchoring.chain import JsonRpcChain
from api.deps import RuntimeDep

__all__ = ["ALLOWED_METHODS", "router"]

router = APIRouter()

_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DATA = re.compile(r"^0x(?:[0-9a-fA-F]{2}){0,1024}$")
_QUANTITY = re.compile(r"^0x[0-9a-fA-F]{1,16}$")
_MAX_BODY = 8192
_LOCK = threading.Lock()


class _InvalidParamsError(ValueError):
    pass


class _RevertedError(Exception):
    pass


def _hex(value: Any) -> str | None:
    return None if value is None else HexBytes(value).to_0x_hex()


def _quantity(value: Any) -> str | None:
    return None if value is None else hex(int(value))


def _address(value: Any) -> str | None:
    return None if not value else str(to_checksum_address(value))


def _params(params: Any, count: int) -> list[Any]:
    if not isinstance(params, list) or len(params) < count:
        raise _InvalidParamsError(f"expected {count} parameters")
    return params


def _tx_hash(params: Any) -> HexBytes:
    (value, *_) = _params(params, 1)
    if not isinstance(value, str) or not _HASH.match(value):
        raise _InvalidParamsError("expected a 32-byte transaction hash")
    return HexBytes(value)


def _chain_id(w3: Web3, params: Any) -> str | None:
    return _quantity(w3.eth.chain_id)


def _block_number(w3: Web3, params: Any) -> str | None:
    return _quantity(w3.eth.block_number)


def _call(w3: Web3, params: Any) -> str | None:
    call, *rest = _params(params, 1)
    if (not isinstance(call, dict) or set(call) - {"to", "data"}
            or not isinstance(call.get("to"), str) or not _ADDRESS.match(call["to"])
            or not isinstance(call.get("data", "0x"), str)
            or not _DATA.match(call.get("data", "0x"))
            or rest[:1] not in ([], ["latest"])):
        raise _InvalidParamsError("eth_call takes {to, data} at 'latest' only")
    try:
        result = w3.eth.call({"to": to_checksum_address(call["to"]),
                              "data": HexBytes(call.get("data", "0x"))})
    except ContractLogicError as error:
        raise _RevertedError(str(error)) from None
    except Exception as error:  # eth-tester's TransactionFailed and kin: the call reverted
        if type(error).__module__.startswith("eth_tester"):
            raise _RevertedError(str(error)) from None
        raise
    return _hex(result)


def _transaction(w3: Web3, params: Any) -> dict[str, Any] | None:
    try:
        tx = w3.eth.get_transaction(_tx_hash(params))
    except TransactionNotFound:
        return None
    return {"hash": _hex(tx["hash"]), "from": _address(tx["from"]), "to": _address(tx.get("to")),
            "blockNumber": _quantity(tx.get("blockNumber")),
            "blockHash": _hex(tx.get("blockHash"))}


def _receipt(w3: Web3, params: Any) -> dict[str, Any] | None:
    try:
        receipt = w3.eth.get_transaction_receipt(_tx_hash(params))
    except TransactionNotFound:
        return None
    if receipt is None:
        return None
    return {"transactionHash": _hex(receipt["transactionHash"]),
            "status": _quantity(receipt["status"]),
            "blockNumber": _quantity(receipt["blockNumber"]),
            "blockHash": _hex(receipt["blockHash"]),
            "logs": [{"address": _address(log["address"]),
                      "topics": [_hex(t) for t in log["topics"]],
                      "data": _hex(log["data"]), "logIndex": _quantity(log["logIndex"])}
                     for log in receipt["logs"]]}


def _block(w3: Web3, params: Any) -> dict[str, Any] | None:
    number, *rest = _params(params, 1)
    if not isinstance(number, str) or not _QUANTITY.match(number) or rest[:1] not in ([],
                                                                                      [False]):
        raise _InvalidParamsError("eth_getBlockByNumber takes a hex block number, without "
                             "transactions")
    try:
        block = w3.eth.get_block(int(number, 16))
    except BlockNotFound:
        return None
    return {"number": _quantity(block["number"]), "hash": _hex(block["hash"])}


ALLOWED_METHODS: dict[str, Callable[[Web3, Any], Any]] = {
    "eth_chainId": _chain_id,
    "eth_blockNumber": _block_number,
    "eth_call": _call,
    "eth_getTransactionByHash": _transaction,
    "eth_getTransactionReceipt": _receipt,
    "eth_getBlockByNumber": _block,
}
"""The read calls answered; any other method is JSON-RPC error -32601."""


def _answer(request_id: Any, result: Any = None,
            error: tuple[int, str] | None = None) -> dict[str, Any]:
    if error is not None:
        return {"jsonrpc": "2.0", "id": request_id,
                "error": {"code": error[0], "message": error[1]}}
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


@router.post("/explorer/chain/rpc")
async def chain_rpc(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """One JSON-RPC 2.0 request (no batches), read-only, against the ledger's chain."""
    body = await request.body()
    if len(body) > _MAX_BODY:
        return JSONResponse(_answer(None, error=(-32600, "request too large")), status_code=413)
    try:
        message = json.loads(body)
    except ValueError:
        return JSONResponse(_answer(None, error=(-32700, "parse error")), status_code=400)
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        return JSONResponse(_answer(None, error=(-32600, "one JSON-RPC request object "
                                                 "expected")), status_code=400)
    request_id = message.get("id")
    handler = ALLOWED_METHODS.get(message["method"])
    if handler is None:
        return JSONResponse(_answer(request_id, error=(
            -32601, f"method not offered (read-only: {', '.join(ALLOWED_METHODS)})")))
    chain = runtime.anchoring.chain
    params = message.get("params", [])

    def read() -> Any:
        # py-evm is not thread-safe: reads of the embedded chain are serialised; a JSON-RPC
        # node is not, so a slow node does not hold up the others.
        with contextlib.nullcontext() if isinstance(chain, JsonRpcChain) else _LOCK:
            return handler(chain.w3, params)

    try:
        result = await run_in_threadpool(read)  # web3 blocks: not on the event loop
    except _InvalidParamsError as error:
        return JSONResponse(_answer(request_id, error=(-32602, str(error))))
    except _RevertedError as error:
        return JSONResponse(_answer(request_id, error=(3, f"execution reverted: {error}")))
    except Exception as error:  # the upstream node: unreachable, timed out, answered garbage
        return JSONResponse(_answer(request_id, error=(-32603, f"chain unavailable: "
                                                       f"{type(error).__name__}")),
                            status_code=502)
    return JSONResponse(_answer(request_id, result))
