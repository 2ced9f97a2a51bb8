"""Tokenisation over HTTP: a holder locks its own credits, the lock is minted on chain with
its proof once anchored, the watcher records it; every refusal is a precise problem."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anchoring.bridge import Bridge
from anchoring.chain import InProcessChain
from anchoring.tokens import ACTOR_ENV, CONFIRMATIONS_ENV, TOKEN_ENV
from api import ApiSettings, create_app
from ledger.domain.credit_batch import grams_to_units
from ledger.runtime import Anchoring, LedgerRuntime, Settings
from tests.api.support import World, assert_problem

RECIPIENT = "0x" + "5a" * 20


@pytest.fixture
def chain_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LedgerRuntime]:
    """A ledger anchoring on an in-process EVM (the embedded chain cannot hold a token)."""
    monkeypatch.setattr(Anchoring, "_open_chain", staticmethod(lambda _: InProcessChain()))
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        yield runtime


@pytest.fixture
def world(chain_runtime: LedgerRuntime) -> Iterator[World]:
    app = create_app(ApiSettings(ledger=chain_runtime.settings), runtime=chain_runtime)
    with TestClient(app) as client:
        yield World.create(chain_runtime, client)


@pytest.fixture
def bridge(world: World, monkeypatch: pytest.MonkeyPatch) -> Bridge:
    ledger = world.ledger
    actor = ledger.register_participant(kind="registry_operator", name="Token bridge",
                                        registered_by=world.operator.id, roles=["bridge"])
    bridge = Bridge.deploy(world.runtime, actor=actor, confirmations=0)
    monkeypatch.setenv(TOKEN_ENV, bridge.address)
    monkeypatch.setenv(ACTOR_ENV, str(actor))
    monkeypatch.setenv(CONFIRMATIONS_ENV, "0")
    return bridge


def lock(world: World, actor: Any, batch: Any, quantity: Any = 300_000,
         recipient: str = RECIPIENT, **kwargs: Any):
    return world.api.post(actor, "/tokens/locks", json={
        "batch_id": str(batch), "quantity_g": quantity, "recipient": recipient}, **kwargs)


def test_lock_mint_and_watch_over_http(world: World, bridge: Bridge):
    api = world.api
    holder = world.actors["enterprise"]
    batch = world.project_batch(holder, "1 t")
    response = lock(world, holder, batch, "300 kg")
    assert response.status_code == 201, response.text
    body = response.json()
    lock_id = body["id"]
    assert (body["holder"], body["quantity_g"], body["minted"]) == (str(holder.id), 300_000,
                                                                    False)
    assert body["token_contract"].lower() == bridge.address.lower()
    assert body["chain_id"] == bridge.chain_id
    balance = world.balance(holder, batch)
    assert (balance["available"], balance["tokenised"]) == (700_000, 300_000)
    # Not before the lock event is anchored.
    assert_problem(api.post(holder, f"/tokens/locks/{lock_id}/mint"), 409, "lock-not-provable")
    world.runtime.anchoring.anchor_now()
    # Nobody but the holder, the bridge or the registry mints it.
    stranger = world.actors["individual"]
    assert_problem(api.post(stranger, f"/tokens/locks/{lock_id}/mint"), 403, "forbidden")
    assert_problem(api.get(stranger, f"/tokens/locks/{lock_id}"), 403, "forbidden")
    minted = api.post(holder, f"/tokens/locks/{lock_id}/mint")
    assert minted.status_code == 200, minted.text
    receipt = minted.json()
    assert receipt["quantity_g"] == 300_000
    assert int(receipt["amount_units"]) == grams_to_units(300_000)
    assert receipt["recipient"].lower() == RECIPIENT
    assert bridge.balance_of(RECIPIENT, batch) == grams_to_units(300_000)
    # Once only.
    again = assert_problem(api.post(holder, f"/tokens/locks/{lock_id}/mint"), 409,
                           "token-contract-rejected")
    assert again["details"]["error"] == "CarbonCreditTokenLockAlreadyMinted"
    # The watcher: the bridge or the registry, never a holder.
    assert_problem(api.post(holder, "/tokens/sync"), 403, "forbidden")
    synced = api.post(world.operator, "/tokens/sync")
    assert synced.status_code == 200, synced.text
    assert synced.json()["minted"] == 1 and synced.json()["rejected"] == []
    status = api.get(holder, f"/tokens/locks/{lock_id}").json()
    assert status["minted"] and status["minted_transaction"] == receipt["transaction"]
    assert world.balance(holder, batch)["tokenised"] == 0  # now in the bridge's token pool
    conservation = bridge.conservation(batch)
    assert conservation.balanced and conservation.pool == conservation.on_chain == 300_000


def test_a_holder_locks_only_its_own_available_credits(world: World, bridge: Bridge):
    holder = world.actors["enterprise"]
    batch = world.project_batch(holder, "1 t")
    other = world.actors["platform"]
    assert_problem(lock(world, other, batch), 409, "insufficient-balance")
    assert_problem(lock(world, holder, batch, 2_000_000), 409, "insufficient-balance")
    assert_problem(world.api.post(None, "/tokens/locks", json={
        "batch_id": str(batch), "quantity_g": 1, "recipient": RECIPIENT}), 401,
        "invalid-api-key")
    for recipient in ("0x" + "5a" * 19, "5a" * 20, "0x" + "zz" * 20):
        assert_problem(lock(world, holder, batch, recipient=recipient), 422, "validation-error")
    assert_problem(lock(world, holder, batch, 1.5), 422, "validation-error")
    assert world.balance(holder, batch)["tokenised"] == 0  # nothing written
    assert_problem(world.api.get(holder, "/tokens/locks/00000000-0000-0000-0000-000000000001"),
                   404, "unknown-record")


def test_without_a_token_contract_the_routes_say_so(world: World,
                                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    holder = world.actors["enterprise"]
    batch = world.project_batch(holder, "1 t")
    assert_problem(lock(world, holder, batch), 409, "tokens-not-configured")
    assert_problem(world.api.post(world.operator, "/tokens/sync"), 409, "tokens-not-configured")
    assert world.balance(holder, batch)["tokenised"] == 0
