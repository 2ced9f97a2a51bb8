"""A database outage (PostgreSQL gone, or SQLite's disk full) while requests come in.

Before: every request answered 500 ``internal-error``; a write that committed just before
the outage had its response never kept, so its retry with the same Idempotency-Key got 409
``request-incomplete`` for ever. Now: 503 ``database-unavailable`` with ``Retry-After``, and
the retry of an applied write, once the database is back, gets the first result
(``Idempotent-Replayed: true``) with nothing written twice.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.api.support import World, assert_problem
from tests.faults.fixtures import FaultyWorld

T = 1_000_000


def _retire(world: World, batch: UUID, key: str | None) -> Any:
    return world.api.post(
        world.actors["platform"], "/retirements",
        headers={"Idempotency-Key": key} if key else None,
        json={"batch_id": str(batch), "quantity_g": T, "beneficiary": "Wuhan Metro",
              "jurisdiction": "CN-HB", "consumption_period": "2024",
              "purpose": {"kind": "voluntary"}})


def _unavailable(response: Any) -> dict[str, Any]:
    problem = assert_problem(response, 503, "database-unavailable")
    assert int(response.headers["retry-after"]) > 0
    return problem


def test_requests_during_an_outage_are_503_with_retry_after(faulty: FaultyWorld):
    world = faulty.world
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "10 t")
    faulty.outage()
    try:
        problem = _unavailable(_retire(world, batch, "during-outage"))
        assert "applied" not in problem["details"]
        _unavailable(world.api.post(platform, "/transfers", json={
            "batch_id": str(batch), "quantity_g": T,
            "recipient": str(world.actors["enterprise"].id)}))
        if faulty.proxy is not None:  # PostgreSQL gone: reads too (a full disk still reads)
            _unavailable(world.api.get(platform, "/me"))
            _unavailable(world.api.get(None, "/retirements"))
    finally:
        faulty.recover()
    # nothing was applied: the same key now applies it, once
    first = _retire(world, batch, "during-outage")
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert world.balance(platform, batch)["retired"] == T


def test_a_write_applied_as_the_outage_begins_is_replayed_once_it_ends(faulty: FaultyWorld):
    world = faulty.world
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "10 t")
    faulty.outage_after_next_commit()
    try:
        problem = _unavailable(_retire(world, batch, "as-it-fails"))
        assert problem["details"]["applied"] is True
        record = problem["details"]["record"]
        _unavailable(_retire(world, batch, "as-it-fails"))  # still out: still 503
    finally:
        faulty.recover()
    replay = _retire(world, batch, "as-it-fails")
    assert replay.status_code == 201, replay.text
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["x-carbon-command-record"] == record
    again = _retire(world, batch, "as-it-fails")  # kept now, like any first answer
    assert (again.status_code, again.content) == (201, replay.content)
    assert again.headers["idempotent-replayed"] == "true"
    assert world.balance(platform, batch)["retired"] == T
    register = world.api.get(None, "/retirements", params={"batch_id": str(batch)}).json()
    assert [item["id"] for item in register["items"]] == [replay.json()["id"]]
    # the key still belongs to that request
    other = world.api.post(platform, "/transfers", headers={"Idempotency-Key": "as-it-fails"},
                           json={"batch_id": str(batch), "quantity_g": T,
                                 "recipient": str(world.actors["enterprise"].id)})
    assert_problem(other, 422, "idempotency-key-reused")


def test_an_applied_write_without_a_key_says_it_was_applied(faulty: FaultyWorld):
    """No key, nothing to replay with: the 503 names the command record, so that the
    client does not retry it blindly."""
    world = faulty.world
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "10 t")
    faulty.outage_after_next_commit()
    try:
        problem = _unavailable(_retire(world, batch, None))
    finally:
        faulty.recover()
    assert problem["details"]["applied"] is True and problem["details"]["record"]
    assert world.balance(platform, batch)["retired"] == T
