"""Lists: stable cursors (later rows never shift a page) and filters."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.api.support import Actor, World

T = 1_000_000


@pytest.fixture
def storage(backend: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return backend


def _retire(world: World, holder: Actor, batch: UUID, beneficiary: str,
            purpose: str = "voluntary", details: dict | None = None) -> UUID:
    retirement = world.ledger.retire(actor=holder.id, batch_id=batch, quantity=T,
                                     beneficiary=beneficiary, purpose=purpose,
                                     jurisdiction="CN", consumption_period="2024",
                                     details=details)
    world.runtime.sync()
    return retirement


def _pages(world: World, path: str, limit: int, actor: Actor | None = None,
           **filters: Any) -> tuple[list[list[str]], str | None]:
    """Every page of a list, and the cursor handed out with the last page (if any)."""
    pages, cursor = [], None
    while True:
        body = world.api.get(actor, path, params={"limit": limit, "cursor": cursor,
                                                  **filters}).json()
        pages.append([item["id"] for item in body["items"]])
        if body["next_cursor"] is None:
            return pages, cursor
        cursor = body["next_cursor"]


def test_pages_of_the_retirement_register_never_shift(world: World):
    platform = world.actors["platform"]
    batch = world.project_batch(platform, "100 t")
    first_ids = [_retire(world, platform, batch, f"B{i}") for i in range(7)]
    pages, _ = _pages(world, "/retirements", 3)
    assert pages == [[str(r) for r in first_ids[0:3]], [str(r) for r in first_ids[3:6]],
                     [str(first_ids[6])]]
    second = world.api.get(None, "/retirements", params={"limit": 3}).json()["next_cursor"]
    later = [_retire(world, platform, batch, f"C{i}") for i in range(4)]
    resumed = world.api.get(None, "/retirements", params={"limit": 3, "cursor": second}).json()
    assert [item["id"] for item in resumed["items"]] == pages[1]  # same page as before
    everything = [i for page in _pages(world, "/retirements", 3)[0] for i in page]
    assert everything == [str(r) for r in first_ids + later]  # new rows at the end only


def test_retirement_filters(world: World):
    platform, enterprise = world.actors["platform"], world.actors["enterprise"]
    wuhan = world.project_batch(platform, "10 t", registry="HBCER")
    chengdu = world.project_batch(platform, "10 t", registry="CDCER")
    world.ledger.transfer(actor=platform.id, batch_id=chengdu, recipient=enterprise.id,
                          quantity=5 * T)
    compliance = _retire(world, platform, wuhan, "Shu's Group", "compliance_offset",
                         {"compliance_period": "2023"})
    donation = _retire(world, enterprise, chengdu, "Chengdu World Games", "donation",
                       {"recipient": "Chengdu World Games"})
    _retire(world, platform, chengdu, "Someone")

    def ids(**filters: Any) -> list[str]:
        response = world.api.get(None, "/retirements", params=filters)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert ids(purpose="compliance_offset") == [str(compliance)]
    assert ids(beneficiary="Chengdu World Games") == [str(donation)]
    assert ids(registry="CDCER", holder=str(enterprise.id)) == [str(donation)]
    assert len(ids(batch_id=str(chengdu))) == 2
    assert len(ids(vintage=2024)) == 3 and ids(vintage=2023) == []
    assert ids(jurisdiction="nowhere") == []


def test_batch_and_pledge_filters_and_pages(world: World):
    platform, bank = world.actors["platform"], world.actors["bank"]
    batches = [world.project_batch(platform, "10 t", registry=r)
               for r in ("HBCER", "PHCER", "HBCER", "SHCER", "HBCER")]
    pages, _ = _pages(world, "/batches", 2, registry="HBCER")
    assert pages == [[str(batches[0]), str(batches[2])], [str(batches[4])]]
    world.ledger.grant_mandate(actor=platform.id, agent=bank.id, scope="pledge")
    pledges = [world.ledger.pledge(actor=bank.id, batch_id=b, holder=platform.id,
                                   bank=bank.id, loan_reference=f"L{i}", quantity=T)
               for i, b in enumerate(batches)]
    world.ledger.release_pledge(actor=bank.id, batch_id=batches[1], pledge_id=pledges[1])
    world.runtime.sync()
    active, _ = _pages(world, "/pledges", 2, actor=bank, status="active")
    assert [p for page in active for p in page] == [str(p) for i, p in enumerate(pledges)
                                                    if i != 1]
    by_batch = world.api.get(bank, "/pledges", params={"batch_id": str(batches[3])}).json()
    assert [p["id"] for p in by_batch["items"]] == [str(pledges[3])]
    # the pledgor sees its pledges too; a stranger sees none
    assert len(world.api.get(platform, "/pledges").json()["items"]) == 5
    assert world.api.get(world.actors["enterprise"], "/pledges").json()["items"] == []


def test_participant_claim_and_account_pages(world: World):
    for i in range(5):
        world.register("enterprise", f"Organiser {i}")
    pages, _ = _pages(world, "/participants", 4, kind="enterprise")
    names = [world.api.get(None, f"/participants/{i}").json()["name"]
             for page in pages for i in page]
    assert names == [world.actors["enterprise"].name] + [f"Organiser {i}" for i in range(5)]
    people = world.api.get(None, "/participants", params={"kind": "individual"}).json()
    assert [p["name"] for p in people["items"]] == [None]
    reporters = world.api.get(None, "/participants", params={"role": "reporter"}).json()
    assert [p["id"] for p in reporters["items"]] == [str(world.actors["platform"].id)]

    organiser = world.actors["enterprise"]
    claims = [world.ledger.register_claim(actor=organiser.id, event_name=f"Event {i}",
                                          footprint_g=T) for i in range(5)]
    world.runtime.sync()
    pages, _ = _pages(world, "/claims", 2, organiser=str(organiser.id))
    assert [c for page in pages for c in page] == [str(c) for c in claims]
    assert world.api.get(None, "/claims", params={"met": True}).json()["items"] == []


def test_the_carbon_account_statement_is_paginated(world: World):
    from ledger.application import BehaviourReport

    person = world.actors["individual"]
    world.ledger.report_behaviours(platform=world.actors["platform"].id, reports=[
        BehaviourReport(person=person.pseudonym, methodology_code="WH-EV-CHARGING-V1",
                        methodology_version="1", act_identity=f"charger:{i}",
                        activity_amount="10", occurred_at="2024-09-03T08:00:00Z",
                        platform_ref=f"ref-{i}") for i in range(5)])
    world.runtime.sync()
    world.api.post(person, "/me/carbon-account/redemptions",
                   json={"points": 100, "reward": "ticket"})
    first = world.api.get(person, "/me/carbon-account", params={"limit": 4}).json()
    rest = world.api.get(person, "/me/carbon-account",
                         params={"limit": 4, "cursor": first["next_cursor"]}).json()
    entries = first["entries"] + rest["entries"]
    assert [e["kind"] for e in entries] == ["earned"] * 5 + ["redeemed"]
    assert first["balance"] == 5 * 6000 - 100 == sum(e["points"] for e in entries)
    assert rest["next_cursor"] is None
