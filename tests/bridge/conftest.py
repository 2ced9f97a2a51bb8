"""Fixtures of the bridge tests: a ledger runtime whose anchoring chain is the in-process EVM or
the anvil JSON-RPC node (re-exported from the anchoring tests), a deployed token contract and
funded token holders."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from web3.types import Wei

from anchoring.bridge import Bridge, LocalSigner
from anchoring.chain import InProcessChain
from ledger.checks import check_ledger
from ledger.runtime import Anchoring, LedgerRuntime, Settings
from tests.anchoring.conftest import (  # noqa: F401  (fixtures re-exported for these tests)
    ANVIL_PRIVATE_KEY,
    CHAIN_KINDS,
    anvil_url,
    mine_blocks,
)
from tests.ledger.projections.scenario import Cast, issue_batch, make_cast

CONFIRMATIONS = 2
FUNDING = 10**19  # wei for each token holder's gas


@dataclass
class World:
    """A ledger with one issued batch, its token contract and two token holders."""

    kind: str
    runtime: LedgerRuntime
    cast: Cast
    batch: UUID
    bridge_actor: UUID
    bridge: Bridge
    alice: LocalSigner
    bob: LocalSigner

    @property
    def chain(self) -> Any:
        return self.runtime.anchoring.chain

    def mine(self, count: int = CONFIRMATIONS) -> None:
        mine_blocks(self.chain, count)

    def settle(self) -> Any:
        """Let the watcher see everything: mine K blocks and sync."""
        self.mine()
        return self.bridge.sync()

    def assert_conserved(self, *, synced: bool = True) -> Any:
        """Every issued gram is counted once, off chain or on chain; with the watcher synced
        the ledger's token pool equals the on-chain supply, and the read models agree."""
        conservation = self.bridge.conservation(self.batch)
        assert conservation.balanced, conservation
        if synced:
            assert conservation.pool == conservation.on_chain, conservation
            report = check_ledger(self.runtime)
            assert report.ok, report.problems
        return conservation


def open_runtime(tmp_path: Path, kind: str, request: pytest.FixtureRequest,
                 monkeypatch: pytest.MonkeyPatch) -> LedgerRuntime:
    """A runtime anchoring on a fresh in-process EVM, or on the session's anvil node."""
    if kind == "in-process":
        monkeypatch.setattr(Anchoring, "_open_chain", staticmethod(lambda _: InProcessChain()))
        return LedgerRuntime(Settings(data_dir=tmp_path / "ledger"))
    url = request.getfixturevalue("anvil_url")
    return LedgerRuntime(Settings(data_dir=tmp_path / "ledger", rpc_url=url,
                                  chain_key=ANVIL_PRIVATE_KEY, confirmations=0))


def funded_signer(chain: Any) -> LocalSigner:
    """A fresh key funded by the node's first (unlocked) account."""
    signer = LocalSigner(chain.w3, "0x" + secrets.token_hex(32), receipt_timeout=30.0)
    w3 = chain.w3
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": signer.address,
                                  "value": Wei(FUNDING)})
    w3.eth.wait_for_transaction_receipt(tx)
    return signer


@pytest.fixture(params=CHAIN_KINDS)
def world(tmp_path: Path, request: pytest.FixtureRequest,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    runtime = open_runtime(tmp_path, request.param, request, monkeypatch)
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast, count=40)
    bridge_actor = ledger.register_participant(kind="registry_operator", name="Token bridge",
                                               registered_by=cast.operator, roles=["bridge"])
    bridge = Bridge.deploy(runtime, actor=bridge_actor, confirmations=CONFIRMATIONS)
    chain = runtime.anchoring.chain
    yield World(kind=request.param, runtime=runtime, cast=cast, batch=batch,
                bridge_actor=bridge_actor, bridge=bridge, alice=funded_signer(chain),
                bob=funded_signer(chain))
    runtime.close()
