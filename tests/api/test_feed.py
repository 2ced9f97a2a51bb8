"""The event feed: log order, pagination without gaps across writes, who sees what, and the
Server-Sent Events stream."""

from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.feed import TOPICS
from tests.api.support import Actor, World, assert_problem

T = 1_000_000


def retire(world: World, holder: Actor, batch: UUID, tonnes: int = 1) -> dict[str, Any]:
    response = world.api.post(holder, "/retirements", json={
        "batch_id": str(batch), "quantity_g": f"{tonnes} t", "beneficiary": "Shu's Group",
        "jurisdiction": "Hubei pilot ETS", "consumption_period": "2023",
        "purpose": {"kind": "compliance_offset", "compliance_period": "2023"}})
    assert response.status_code == 201, response.text
    return response.json()


def pledge(world: World, holder: Actor, bank: Actor, batch: UUID) -> dict[str, Any]:
    response = world.api.post(holder, "/pledges", json={
        "batch_id": str(batch), "holder": str(holder.id), "bank": str(bank.id),
        "loan_reference": "GL-2024-001", "quantity_g": "5 t"})
    assert response.status_code == 201, response.text
    return response.json()


def read_all(world: World, actor: Actor | None, *, limit: int, after: int = 0,
             between: Any = None) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    while True:
        page = world.api.get(actor, "/feed", params={"after": after, "limit": limit})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        assert body["next_after"] >= after
        if between is not None:
            between()
            between = None
        if body["next_after"] == after:
            return items, after
        after = body["next_after"]


def catalogue_positions(world: World) -> list[int]:
    recorder = world.runtime.ledger.recorder
    return [n.id for n in recorder.select_notifications(start=1, limit=100_000)
            if n.topic in TOPICS]


def test_pages_follow_the_log_without_gaps_across_writes(world: World):
    enterprise, auditor = world.actors["enterprise"], world.actors["auditor"]
    batch = world.project_batch(enterprise)
    retire(world, enterprise, batch)
    # a write lands between two pages: it is read on a later page, nothing is skipped
    items, _ = read_all(world, auditor, limit=1,
                        between=lambda: retire(world, enterprise, batch, 2))
    positions = [i["position"] for i in items]
    assert positions == sorted(set(positions))
    assert positions == catalogue_positions(world)
    assert [i["type"] for i in items] == ["batch.issued", "credits.retired", "credits.retired"]
    issued = items[0]
    assert issued["aggregate_id"] == str(batch)
    assert issued["payload"]["quantity_g"] == 10_000 * T
    assert issued["payload"]["holder"] == str(enterprise.id)
    assert items[2]["payload"]["quantity_g"] == 2 * T


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=1, max_value=7))
def test_any_page_size_reads_the_same_feed(world: World, limit: int):
    if not catalogue_positions(world):
        enterprise, bank = world.actors["enterprise"], world.actors["bank"]
        batch = world.project_batch(enterprise)
        for tonnes in (1, 2, 3):
            retire(world, enterprise, batch, tonnes)
        pledge(world, enterprise, bank, batch)
    for actor in (None, world.actors["enterprise"], world.actors["platform"]):
        whole, _ = read_all(world, actor, limit=500)
        paged, _ = read_all(world, actor, limit=limit)
        assert paged == whole


def test_anonymous_readers_see_public_events_and_parties_their_own(world: World):
    enterprise, bank = world.actors["enterprise"], world.actors["bank"]
    other_bank = world.register("bank")
    batch = world.project_batch(enterprise)
    transfer = world.api.post(enterprise, "/transfers", json={
        "batch_id": str(batch), "recipient": str(world.actors["platform"].id),
        "quantity_g": "1 t"})
    assert transfer.status_code == 201, transfer.text
    made = pledge(world, enterprise, bank, batch)
    retire(world, enterprise, batch)

    def types(actor: Actor | None) -> list[str]:
        return [i["type"] for i in read_all(world, actor, limit=50)[0]]

    public = ["batch.issued", "credits.retired"]
    assert types(None) == public
    assert types(other_bank) == public  # another bank: not a party to the pledge
    assert types(bank) == ["batch.issued", "pledge.registered", "credits.retired"]
    assert types(world.actors["platform"]) == [
        "batch.issued", "credits.transferred", "credits.retired"]
    everything = ["batch.issued", "credits.transferred", "pledge.registered",
                  "credits.retired"]
    assert types(enterprise) == everything
    assert types(world.actors["auditor"]) == everything  # auditors read every record
    [pledged] = [i for i in read_all(world, bank, limit=50)[0]
                 if i["type"] == "pledge.registered"]
    assert pledged["payload"]["pledge_id"] == made["id"]
    assert pledged["payload"]["loan_reference"] == "GL-2024-001"
    # an anonymous reader skips what it may not see: the cursor still reaches the head
    head = world.api.get(None, "/feed", params={"after": pledged["position"] - 1,
                                                "type": "pledge.registered"}).json()
    assert head["items"] == [] and head["next_after"] == head["head"]


def test_the_feed_never_shows_secrets_or_names(world: World):
    enterprise = world.actors["enterprise"]
    batch = world.project_batch(enterprise)
    retire(world, enterprise, batch)
    text = json.dumps(read_all(world, world.actors["auditor"], limit=50)[0])
    for secret in (enterprise.secret, enterprise.name, world.operator.secret):
        assert secret not in text


def test_bad_feed_queries_are_problems(world: World):
    assert_problem(world.api.get(None, "/feed", params={"after": -1}), 422, "validation-error")
    assert_problem(world.api.get(None, "/feed", params={"type": "nope"}), 422,
                   "validation-error")
    assert_problem(world.api.get(None, "/feed/stream", headers={"Last-Event-ID": "x"}), 422,
                   "invalid-cursor")
    bad_key = world.api.client.get("/feed", headers={"Authorization": "Bearer cl_x_y"})
    assert bad_key.status_code == 401


def sse_events(lines: Any, count: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "id" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            current[name] = value
    return events


def test_the_stream_sends_the_backlog_then_new_events(world: World):
    enterprise = world.actors["enterprise"]
    batch = world.project_batch(enterprise)
    retire(world, enterprise, batch)
    writer = threading.Timer(0.5, lambda: retire(world, enterprise, batch, 3))
    with world.api.client.stream("GET", "/feed/stream",
                                 params={"after": 0, "limit": 3}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        writer.start()
        events = sse_events(response.iter_lines(), 3)
    writer.join()
    assert [e["event"] for e in events] == ["batch.issued", "credits.retired",
                                            "credits.retired"]
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and ids == catalogue_positions(world)
    assert json.loads(events[2]["data"])["payload"]["quantity_g"] == 3 * T
    # a reconnecting client resumes after its Last-Event-ID
    with world.api.client.stream("GET", "/feed/stream", params={"limit": 1},
                                 headers={"Last-Event-ID": str(ids[0])}) as response:
        [resumed] = sse_events(response.iter_lines(), 1)
    assert int(resumed["id"]) == ids[1]


def test_the_stream_filters_by_caller(world: World):
    enterprise, bank = world.actors["enterprise"], world.actors["bank"]
    batch = world.project_batch(enterprise)
    pledge(world, enterprise, bank, batch)
    retire(world, enterprise, batch)
    with world.api.client.stream("GET", "/feed/stream", params={"limit": 2}) as response:
        anonymous = sse_events(response.iter_lines(), 2)
    assert [e["event"] for e in anonymous] == ["batch.issued", "credits.retired"]
    with world.api.client.stream("GET", "/feed/stream", params={"limit": 2}, headers={
            "Authorization": f"Bearer {bank.secret}"}) as response:
        banked = sse_events(response.iter_lines(), 2)
    assert [e["event"] for e in banked] == ["batch.issued", "pledge.registered"]


@pytest.fixture(autouse=True)
def _fast_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.routers.feed.POLL_S", 0.05)


def test_a_retire_on_delivery_trade_is_public_only_as_its_retirement(world: World):
    enterprise, exchange = world.actors["enterprise"], world.actors["exchange"]
    buyer, outsider = world.register("enterprise"), world.actors["bank"]
    batch = world.project_batch(enterprise)
    assert world.api.post(enterprise, "/me/mandates", json={
        "agent": str(exchange.id), "scope": "listing", "max_quantity_g": "100 t",
        "expires_at": "2099-01-01T00:00:00+08:00"}).status_code == 201
    assert world.api.post(exchange, "/listings", json={
        "batch_id": str(batch), "seller": str(enterprise.id), "listing_ref": "L-1",
        "quantity_g": "80 t"}).status_code == 201
    settled = world.api.post(exchange, "/trades/settlements", json={"trades": [{
        "trade_ref": "T-1", "listing_ref": "L-1", "batch_id": str(batch),
        "seller": str(enterprise.id), "buyer": str(buyer.id), "quantity_g": "80 t",
        "price_per_tonne": "57.55", "currency": "CNY", "retire_on_delivery": {
            "beneficiary": "Ecological restoration, Wuhan", "jurisdiction": "Wuhan",
            "consumption_period": "2025", "purpose": {
                "kind": "eco_compensation", "case_reference": "case 2025"}}}]})
    assert settled.status_code == 200, settled.text
    for party in (exchange, buyer, enterprise):
        [trade] = [i for i in read_all(world, party, limit=50)[0]
                   if i["type"] == "trade.settled"]
        assert trade["payload"]["price_per_tonne"] == "57.55"
    for reader in (None, outsider):
        items = read_all(world, reader, limit=50)[0]
        assert [i["type"] for i in items] == ["batch.issued", "credits.retired"]
        retired = items[1]["payload"]
        assert retired["holder"] == str(buyer.id) and retired["quantity_g"] == 80 * T
        assert retired["batch_id"] == str(batch), retired
        payloads = json.dumps([i["payload"] for i in items])
        assert "57.55" not in payloads and "T-1" not in payloads
