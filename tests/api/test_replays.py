"""Replayed signed requests: a captured signed write, sent again within the signature
window, never writes again.

Before, the signature (``CARBON-LEDGER-SIG-V1``) bound no nonce: the same signed bytes with
a new Idempotency-Key, or none, were a new, valid request, and a second transfer,
retirement or settlement was made. Now a signed write is ``CARBON-LEDGER-SIG-V2``, which
covers its Idempotency-Key, and the key is recorded atomically with the command: sent again
with the same key it writes nothing (the first answer, replayed); with another key or none
its signature does not verify, or binds nothing (``signature-unbound``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import delete

from api.auth import canonical_string, sign_request
from api.idempotency import responses
from tests.api.support import World, assert_problem

T = 1_000_000


def _state(world: World) -> int:
    world.runtime.sync()
    return world.runtime.ledger.recorder.max_notification_id() or 0


def _send(world: World, actor: Any, path: str, body: bytes,
          headers: dict[str, str]) -> Any:
    return world.api.client.post(path, content=body, headers={
        "Authorization": f"Bearer {actor.secret}", "Content-Type": "application/json",
        **headers})


def _writes(world: World) -> dict[str, tuple[Any, str, dict[str, Any]]]:
    """Signed writes of every signing kind: (actor, path, body)."""
    bank, exchange = world.actors["bank"], world.actors["exchange"]
    batch = world.project_batch(bank, "100 t")
    exchange_batch = world.project_batch(world.actors["enterprise"], "100 t")
    world.runtime.ledger.grant_mandate(actor=world.actors["enterprise"].id, agent=exchange.id,
                                       scope="listing")
    world.runtime.ledger.list_for_sale(actor=exchange.id, batch_id=exchange_batch,
                                       seller=world.actors["enterprise"].id,
                                       listing_ref="L-1", quantity=10 * T)
    world.runtime.sync()
    return {
        "transfer": (bank, "/transfers", {"batch_id": str(batch), "quantity_g": T,
                                          "recipient": str(world.actors["enterprise"].id)}),
        "retire": (bank, "/retirements", {
            "batch_id": str(batch), "quantity_g": T, "beneficiary": "Bank of Wuhan",
            "jurisdiction": "CN-HB", "consumption_period": "2024",
            "purpose": {"kind": "voluntary"}}),
        "settle": (exchange, "/trades/settlements", {"trades": [{
            "trade_ref": "T-1", "listing_ref": "L-1", "batch_id": str(exchange_batch),
            "seller": str(world.actors["enterprise"].id), "buyer": str(bank.id),
            "quantity_g": T, "price_per_tonne": "50", "currency": "CNY"}]}),
        "claim": (world.operator, "/claims", {"event_name": "Expo", "footprint_g": T}),
    }


REPLAYS: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "with a new key": lambda h: {**h, "Idempotency-Key": "attacker-key-1"},
    "without a key": lambda h: {k: v for k, v in h.items() if k != "Idempotency-Key"},
    "with a new timestamp": lambda h: {**h, "X-Carbon-Timestamp": str(int(time.time()) + 1)},
}


@pytest.mark.parametrize("command", ["transfer", "retire", "settle", "claim"])
@pytest.mark.parametrize("replay", list(REPLAYS))
def test_a_captured_signed_write_replayed_within_the_window_writes_nothing(
        world: World, command: str, replay: str):
    actor, path, payload = _writes(world)[command]
    body = json.dumps(payload).encode()
    captured = sign_request(actor.key, actor.id, "POST", path, body=body)
    first = _send(world, actor, path, body, captured)
    assert first.status_code in (200, 201), first.text
    before = _state(world)
    replayed = _send(world, actor, path, body, REPLAYS[replay](captured))
    assert replayed.status_code == 401, replayed.text
    assert replayed.json()["code"] in ("invalid-signature", "signature-unbound")
    assert _state(world) == before
    # the very same bytes again: the first answer, and nothing written
    again = _send(world, actor, path, body, captured)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert _state(world) == before


def test_a_signature_that_binds_no_key_is_refused_for_writes_and_accepted_for_reads(
        world: World):
    bank = world.actors["bank"]
    body = json.dumps({"event_name": "Expo", "footprint_g": T}).encode()
    stamp = str(int(time.time()))
    text = canonical_string("POST", "/claims", "", str(bank.id), stamp,
                            hashlib.sha256(body).hexdigest())
    assert text.startswith("CARBON-LEDGER-SIG-V1\n")
    v1 = {"X-Carbon-Participant": str(bank.id), "X-Carbon-Timestamp": stamp,
          "X-Carbon-Signature": base64.b64encode(bank.key.sign(text.encode())).decode()}
    assert_problem(_send(world, bank, "/claims", body, v1), 401, "signature-unbound")
    # a key added to a V1 signature is not covered by it
    assert_problem(_send(world, bank, "/claims", body, {**v1, "Idempotency-Key": "k-1"}),
                   401, "invalid-signature")
    assert world.runtime.views.claims() == []
    read = world.api.get(bank, "/me")  # signed V1 (no key): a replay changes nothing
    assert read.status_code == 200 and read.json()["signed"] is True


def test_the_key_is_refused_by_the_event_store_even_when_the_answer_is_gone(world: World):
    """The nonce is recorded durably, with the command's events: with the kept answer
    deleted (or another server process that never saw it), the replay still writes
    nothing."""
    bank = world.actors["bank"]
    batch = world.project_batch(bank, "10 t")
    body = json.dumps({"batch_id": str(batch), "quantity_g": T,
                       "recipient": str(world.actors["enterprise"].id)}).encode()
    captured = sign_request(bank.key, bank.id, "POST", "/transfers", body=body)
    assert _send(world, bank, "/transfers", body, captured).status_code == 201
    with world.runtime.engine.begin() as conn:
        conn.execute(delete(responses))
    before = _state(world)
    replayed = _send(world, bank, "/transfers", body, captured)
    assert_problem(replayed, 409, "request-incomplete")
    assert _state(world) == before
    assert world.balance(world.actors["enterprise"], batch)["available"] == T


def test_sign_request_binds_the_key_it_is_given_and_makes_one_for_writes():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key, participant = Ed25519PrivateKey.generate(), UUID(int=7)
    given = sign_request(key, participant, "POST", "/claims", body=b"{}",
                         idempotency_key="mine")
    assert given["Idempotency-Key"] == "mine"
    made = {sign_request(key, participant, "POST", "/claims")["Idempotency-Key"]
            for _ in range(50)}
    assert len(made) == 50  # fresh every time
    assert "Idempotency-Key" not in sign_request(key, participant, "GET", "/me")
