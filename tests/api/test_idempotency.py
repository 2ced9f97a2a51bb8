"""Idempotent writes: a retry gets the first response and writes nothing again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import pytest
from sqlalchemy import delete, select

from api.idempotency import responses
from ledger.domain.holding import holding_id
from tests.api.support import EV, World, assert_problem

T = 1_000_000


@pytest.fixture
def storage(backend: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return backend


@pytest.fixture
def batch(world: World) -> UUID:
    """100 t held by the platform."""
    return world.project_batch(world.actors["platform"], "100 t")


def _transfer(world: World, batch: UUID, key: str, quantity: int = T):
    return world.api.post(world.actors["platform"], "/transfers",
                          headers={"Idempotency-Key": key},
                          json={"batch_id": str(batch), "quantity_g": quantity,
                                "recipient": str(world.actors["enterprise"].id)})


def test_a_retried_write_returns_the_first_response_and_moves_nothing_again(
        world: World, batch: UUID):
    enterprise = world.actors["enterprise"]
    first = _transfer(world, batch, "transfer-0001")
    retry = _transfer(world, batch, "transfer-0001")
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert retry.headers["x-carbon-command-record"] == first.headers["x-carbon-command-record"]
    assert world.balance(enterprise, batch)["available"] == T
    record = world.runtime.views.command_record(first.headers["x-carbon-command-record"])
    assert record["idempotency_key"] == "transfer-0001"
    assert record["command"] == "transfer"
    # a new key is a new transfer
    assert _transfer(world, batch, "transfer-0002").status_code == 201
    assert world.balance(enterprise, batch)["available"] == 2 * T


def test_the_same_key_for_another_request_is_refused(world: World, batch: UUID):
    _transfer(world, batch, "k-1")
    body = assert_problem(_transfer(world, batch, "k-1", quantity=2 * T), 422,
                          "idempotency-key-reused")
    assert body["details"]["command"] == "transfer"
    other_path = world.api.post(world.actors["platform"], "/claims",
                                headers={"Idempotency-Key": "k-1"},
                                json={"event_name": "x", "footprint_g": 1})
    assert_problem(other_path, 422, "idempotency-key-reused")
    assert world.balance(world.actors["enterprise"], batch)["available"] == T


def test_a_refused_command_is_answered_the_same_way_on_retry(world: World, batch: UUID):
    platform, exchange = world.actors["platform"], world.actors["exchange"]
    world.ledger.transfer(actor=platform.id, batch_id=batch, recipient=exchange.id,
                          quantity=90 * T)
    world.runtime.sync()
    too_much = _transfer(world, batch, "big", quantity=20 * T)
    assert_problem(too_much, 409, "insufficient-balance")
    world.ledger.transfer(actor=exchange.id, batch_id=batch, recipient=platform.id,
                          quantity=90 * T)
    again = _transfer(world, batch, "big", quantity=20 * T)  # would succeed as a new request
    assert again.status_code == 409 and again.content == too_much.content
    assert again.headers["idempotent-replayed"] == "true"
    assert world.balance(world.actors["enterprise"], batch)["available"] == 0


def test_keys_belong_to_one_participant(world: World, batch: UUID):
    world.ledger.transfer(actor=world.actors["platform"].id, batch_id=batch,
                          recipient=world.actors["exchange"].id, quantity=10 * T)
    world.runtime.sync()
    assert _transfer(world, batch, "shared").status_code == 201
    other = world.api.post(world.actors["exchange"], "/transfers",
                           headers={"Idempotency-Key": "shared"},
                           json={"batch_id": str(batch), "quantity_g": T,
                                 "recipient": str(world.actors["enterprise"].id)})
    assert other.status_code == 201 and "idempotent-replayed" not in other.headers
    assert world.balance(world.actors["enterprise"], batch)["available"] == 2 * T


def _forget_response(world: World, key: str) -> None:
    """What a crash between the command and keeping its response leaves behind."""
    with world.runtime.engine.begin() as conn:
        conn.execute(delete(responses).where(responses.c.idempotency_key == key))


def test_a_key_applied_without_a_kept_response_is_a_conflict_naming_the_record(
        world: World, batch: UUID):
    first = _transfer(world, batch, "crash")
    _forget_response(world, "crash")
    retry = _transfer(world, batch, "crash")
    body = assert_problem(retry, 409, "request-incomplete")
    assert body["details"]["record"] == first.headers["x-carbon-command-record"]
    assert body["details"]["command"] == "transfer"
    assert_problem(_transfer(world, batch, "crash", quantity=7), 422, "idempotency-key-reused")
    assert world.balance(world.actors["enterprise"], batch)["available"] == T


def test_the_key_is_recorded_atomically_with_the_events(world: World, batch: UUID):
    """The ledger refuses a key it recorded, even when the API asks it to run again."""
    first = _transfer(world, batch, "atomic")
    record = world.runtime.views.command_record(first.headers["x-carbon-command-record"])
    # the transfer's events: on the sender's and the recipient's holdings (#17)
    holdings = {str(holding_id(batch, world.actors[name].id))
                for name in ("platform", "enterprise")}
    assert {event_id for event_id, _ in record["events"]} == holdings
    with world.runtime.engine.connect() as conn:
        kept = conn.execute(select(responses.c.record_id).where(
            responses.c.idempotency_key == "atomic")).scalar_one()
    assert kept == record["id"]


def test_behaviour_reports_are_idempotent_per_item_and_per_key(world: World):
    platform = world.actors["platform"]
    report = {"behaviours": [{
        "person": f"p-{i}", "methodology_code": EV[0], "methodology_version": EV[1],
        "act_identity": f"charger:{i}", "activity_amount": "12.5",
        "occurred_at": "2024-09-03T08:00:00+08:00", "platform_ref": f"ref-{i}"}
        for i in range(3)]}
    first = world.api.post(platform, "/behaviours", json=report,
                           headers={"Idempotency-Key": "upload-1"})
    assert first.json()["accepted"] == 3
    replay = world.api.post(platform, "/behaviours", json=report,
                            headers={"Idempotency-Key": "upload-1"})
    assert replay.content == first.content
    resent = world.api.post(platform, "/behaviours", json=report).json()
    assert resent["rejected"] == 3
    assert {r["error"]["code"] for r in resent["results"]} == {"duplicate-behaviour"}
    assert [r["error"]["details"]["behaviour"] for r in resent["results"]] == [
        r["behaviour_id"] for r in first.json()["results"]]
    assert world.runtime.views.behaviour_count() == 3


def test_trade_settlements_are_idempotent_per_trade_and_per_key(world: World, batch: UUID):
    exchange, platform, buyer = (world.actors[k] for k in ("exchange", "platform",
                                                           "enterprise"))
    world.ledger.grant_mandate(actor=platform.id, agent=exchange.id, scope="listing")
    world.ledger.list_for_sale(actor=exchange.id, batch_id=batch, seller=platform.id,
                               listing_ref="L-1", quantity=10 * T)
    world.runtime.sync()
    trade = {"trade_ref": "T-1", "listing_ref": "L-1", "batch_id": str(batch),
             "seller": str(platform.id), "buyer": str(buyer.id), "quantity_g": 4 * T,
             "price_per_tonne": "40", "currency": "CNY"}
    first = world.api.post(exchange, "/trades/settlements", json={"trades": [trade]},
                           headers={"Idempotency-Key": "settle-1"})
    keyed = world.api.post(exchange, "/trades/settlements", json={"trades": [trade]},
                           headers={"Idempotency-Key": "settle-1"})
    assert keyed.content == first.content
    unkeyed = world.api.post(exchange, "/trades/settlements", json={"trades": [trade]}).json()
    [result] = unkeyed["results"]
    assert result["replayed"] is True and result["settled"] is True
    assert result["serials"] == first.json()["results"][0]["serials"]
    changed = world.api.post(exchange, "/trades/settlements",
                             json={"trades": [{**trade, "quantity_g": 5 * T}]}).json()
    assert changed["results"][0]["error"]["code"] == "trade-conflict"
    assert world.balance(buyer, batch)["available"] == 4 * T


def test_a_replayed_api_key_issuance_does_not_show_the_secret_again(world: World):
    actor = world.actors["enterprise"]
    path = f"/participants/{actor.id}/api-keys"
    first = world.api.post(actor, path, headers={"Idempotency-Key": "key-1"}).json()
    again = world.api.post(actor, path, headers={"Idempotency-Key": "key-1"}).json()
    assert first["secret"] and again["secret"] is None
    assert again["key_id"] == first["key_id"]
    keys = world.ledger.participant(actor.id).api_keys
    assert len(keys) == 2  # the fixture's key and this one, not a third


def test_malformed_keys_are_validation_problems(world: World):
    response = world.api.post(world.actors["enterprise"], "/claims",
                              json={"event_name": "x", "footprint_g": 1},
                              headers={"Idempotency-Key": "has space"})
    assert_problem(response, 422, "validation-error")


def test_concurrent_retries_with_one_key_write_once(world: World, batch: UUID):
    """Retries racing each other: the ledger records the key once; the others get the kept
    response, or a request-incomplete problem while the first is still being answered."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _transfer(world, batch, "race"), range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, statuses
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "request-incomplete")
    assert world.balance(world.actors["enterprise"], batch)["available"] == T
