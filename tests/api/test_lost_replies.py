"""A write whose commit reply is lost: the ledger recognises its own committed save.

The connection dies after the database committed a save and before the ledger heard so
(on PostgreSQL a proxy cuts it right after the commit, before ``ReadyForQuery``; on SQLite
the commit raises after committing). The recorder retries on a new connection and meets its
own events (a unique violation, or a read set "changed" by itself); before, the command
then ran again on fresh state and wrote twice, or answered 409/500 for a write that was
made. Now the save is recognised as recorded (every event stored at its version with this
very state) and its result returned, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from tests.api.support import EV, World
from tests.faults.fixtures import FaultyWorld

T = 1_000_000


def _events(world: World) -> int:
    return world.runtime.ledger.recorder.max_notification_id() or 0


def _retire(world: World, batch: UUID) -> Any:
    return world.api.post(world.actors["platform"], "/retirements", json={
        "batch_id": str(batch), "quantity_g": T, "beneficiary": "Wuhan Metro",
        "jurisdiction": "CN-HB", "consumption_period": "2024",
        "purpose": {"kind": "voluntary"}})


def test_a_retirement_whose_commit_reply_is_lost_is_made_once_and_answered(
        faulty: FaultyWorld):
    world = faulty.world
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "10 t")
    with faulty.lose_next_commit_reply():
        response = _retire(world, batch)  # no Idempotency-Key: a client that just retries
    assert faulty.faults == 1
    assert response.status_code == 201, response.text
    assert world.balance(platform, batch)["retired"] == T
    assert world.balance(platform, batch)["available"] == 9 * T
    register = world.api.get(None, "/retirements", params={"batch_id": str(batch)}).json()
    assert [item["id"] for item in register["items"]] == [response.json()["id"]]


# Commands of every shape: a batch command with a read set, a new aggregate, a bulk
# report of new aggregates, a bulk settlement, a participant change.
def _commands(world: World, batch: UUID) -> dict[str, Callable[[], Any]]:
    ledger = world.runtime.ledger
    platform, enterprise = world.actors["platform"], world.actors["enterprise"]
    exchange = world.actors["exchange"]
    ledger.grant_mandate(actor=platform.id, agent=exchange.id, scope="listing")
    counter = iter(range(1_000_000))

    def report() -> Any:
        n = next(counter)
        return world.api.post(platform, "/behaviours", json={"behaviours": [
            {"person": f"p-{n}-{i}", "methodology_code": EV[0], "methodology_version": EV[1],
             "act_identity": f"charger:X|{n}|{i}", "activity_amount": "10",
             "occurred_at": "2024-06-01T08:00:00Z", "platform_ref": f"r-{n}-{i}"}
            for i in range(3)]})

    def listing_and_trade() -> Any:
        n = next(counter)
        ledger.list_for_sale(actor=exchange.id, batch_id=batch, seller=platform.id,
                             listing_ref=f"L-{n}", quantity=T)
        world.runtime.sync()
        return world.api.post(exchange, "/trades/settlements", json={"trades": [{
            "trade_ref": f"T-{n}", "listing_ref": f"L-{n}", "batch_id": str(batch),
            "seller": str(platform.id), "buyer": str(enterprise.id), "quantity_g": T,
            "price_per_tonne": "50", "currency": "CNY"}]})

    return {
        "transfer": lambda: world.api.post(platform, "/transfers", json={
            "batch_id": str(batch), "quantity_g": T, "recipient": str(enterprise.id)}),
        "retire": lambda: _retire(world, batch),
        "claim": lambda: world.api.post(enterprise, "/claims", json={
            "event_name": f"Expo {next(counter)}", "footprint_g": T, "scope": "event"}),
        "report": report,
        "settle": listing_and_trade,
        "grant-role": lambda: world.api.post(
            world.operator, f"/participants/{world.actors['auditor'].id}/roles",
            json={"role": "holder"}),
    }


@pytest.mark.parametrize("command", ["transfer", "retire", "claim", "report", "settle",
                                     "grant-role"])
def test_every_kind_of_command_writes_once_when_its_commit_reply_is_lost(
        faulty: FaultyWorld, command: str):
    world = faulty.world
    batch = world.project_batch(world.actors["platform"], "100 t")
    run = _commands(world, batch)[command]
    if command in ("transfer", "settle"):  # the recipient's first credit opens its holding
        assert run().status_code in (200, 201)
    before = _events(world)
    clean = run()  # the same command without a fault: how many events it writes
    assert clean.status_code in (200, 201), clean.text
    written = _events(world) - before
    if command == "grant-role":  # granting again changes nothing: revoke it first
        world.runtime.ledger.revoke_role(actor=world.operator.id,
                                         participant_id=world.actors["auditor"].id,
                                         role="holder")
    before = _events(world)
    with faulty.lose_next_commit_reply():
        faulted = run()
    assert faulty.faults == 1
    assert faulted.status_code == clean.status_code, faulted.text
    assert _events(world) - before == written
    if command == "report":  # not "rejected as a duplicate" of the very items it wrote
        assert faulted.json()["accepted"] == 3, faulted.text
    if command == "settle":  # settled now, not "replayed" from the write it made itself
        assert not faulted.json()["results"][0]["replayed"], faulted.text


def test_a_concurrent_writer_s_event_at_the_same_version_is_not_taken_for_ours(
        faulty: FaultyWorld):
    """The check compares the stored state (its timestamp included), not only the key."""
    world = faulty.world
    ledger = world.runtime.ledger
    auditor = world.actors["auditor"].id
    first, second = ledger.participant(auditor), ledger.participant(auditor)
    first.suspend(reason="one", actor=world.operator.id)
    second.suspend(reason="two", actor=world.operator.id)
    ledger.save(first)
    with pytest.raises(IntegrityError):
        ledger.save(second)
