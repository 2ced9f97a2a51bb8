"""Consent over HTTP: an exchange or a bank acting on another holder's credits needs that
holder's mandate, which only the holder grants and revokes (``/me/mandates``)."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from tests.api.support import Actor, World, assert_problem

T = 1_000_000


@pytest.fixture
def batch(world: World) -> UUID:
    """10 t held by the platform."""
    return world.project_batch(world.actors["platform"], "10 t")


def grant(world: World, holder: Actor, agent: Actor, scope: str, **limits: object) -> dict:
    response = world.api.post(holder, "/me/mandates", json={
        "agent": str(agent.id), "scope": scope, **limits})
    assert response.status_code == 201, response.text
    return response.json()


def owned(world: World, holder: Actor, batch: UUID) -> dict[str, int]:
    return world.balance(holder, batch)


def test_an_exchange_cannot_list_anothers_credits_and_settle_them_to_itself(
        world: World, batch: UUID):
    """The reported reproduction: POST /listings naming any seller, then a settlement to
    the exchange itself at 0.000001 CNY/t."""
    exchange, platform = world.actors["exchange"], world.actors["platform"]
    before = owned(world, platform, batch)
    refused = world.api.post(exchange, "/listings", json={
        "batch_id": str(batch), "seller": str(platform.id), "listing_ref": "GRAB",
        "quantity_g": "10 t"})
    body = assert_problem(refused, 403, "consent-required")
    assert body["details"] == {"holder": str(platform.id), "agent": str(exchange.id),
                               "scope": "listing", "reason": "none", "requested": 10 * T}
    settled = world.api.post(exchange, "/trades/settlements", json={"trades": [{
        "trade_ref": "GRAB-T", "listing_ref": "GRAB", "batch_id": str(batch),
        "seller": str(platform.id), "buyer": str(exchange.id), "quantity_g": "10 t",
        "price_per_tonne": "0.000001", "currency": "CNY"}]})
    assert settled.json()["results"][0]["error"]["code"] == "unknown-record"
    assert owned(world, platform, batch) == before
    assert owned(world, exchange, batch)["available"] == 0


def test_a_bank_cannot_pledge_anothers_credits_and_enforce_them(world: World, batch: UUID):
    """The reported reproduction: POST /pledges naming any holder, then enforcement."""
    bank, platform = world.actors["bank"], world.actors["platform"]
    before = owned(world, platform, batch)
    refused = world.api.post(bank, "/pledges", json={
        "batch_id": str(batch), "holder": str(platform.id), "bank": str(bank.id),
        "loan_reference": "GRAB", "quantity_g": "10 t"})
    body = assert_problem(refused, 403, "consent-required")
    assert (body["details"]["holder"], body["details"]["scope"]) == (str(platform.id),
                                                                     "pledge")
    assert world.api.get(bank, "/pledges").json()["items"] == []
    assert owned(world, platform, batch) == before
    assert owned(world, bank, batch)["available"] == 0


def test_a_listing_mandate_granted_over_http_lets_the_exchange_list_then_revocation_stops_it(
        world: World, batch: UUID):
    exchange, platform = world.actors["exchange"], world.actors["platform"]
    mandate = grant(world, platform, exchange, "listing", max_quantity_g="6 t",
                    expires_at="2099-12-31T23:59:59+08:00")
    assert (mandate["holder"], mandate["agent"], mandate["scope"], mandate["status"]) == (
        str(platform.id), str(exchange.id), "listing", "active")
    assert (mandate["max_quantity_g"], mandate["used_g"], mandate["remaining_g"]) == (
        6 * T, 0, 6 * T)
    listed = world.api.post(exchange, "/listings", json={
        "batch_id": str(batch), "seller": str(platform.id), "listing_ref": "L-1",
        "quantity_g": "4 t"})
    assert listed.status_code == 201, listed.text
    over = world.api.post(exchange, "/listings", json={
        "batch_id": str(batch), "seller": str(platform.id), "listing_ref": "L-2",
        "quantity_g": "3 t"})
    body = assert_problem(over, 403, "consent-required")
    assert (body["details"]["reason"], body["details"]["remaining_g"]) == ("exceeds-limit",
                                                                           2 * T)
    seen = world.api.get(exchange, f"/me/mandates/{mandate['id']}").json()
    assert (seen["used_g"], seen["remaining_g"]) == (4 * T, 2 * T)

    revoked = world.api.delete(platform, f"/me/mandates/{mandate['id']}")
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["revoked_at"] is not None) == (
        "revoked", True)
    after = world.api.post(exchange, "/listings", json={
        "batch_id": str(batch), "seller": str(platform.id), "listing_ref": "L-3",
        "quantity_g": "1 t"})
    assert assert_problem(after, 403, "consent-required")["details"]["reason"] == "revoked"
    assert_problem(world.api.delete(platform, f"/me/mandates/{mandate['id']}"), 409,
                   "invalid-state")
    assert owned(world, platform, batch) == {
        "available": 6 * T, "escrowed": 4 * T, "pledged": 0, "retired": 0, "tokenised": 0,
        "exported": 0, "cancelled": 0}


def test_a_pledge_mandate_lets_the_bank_pledge_and_the_pledgor_still_may_itself(
        world: World, batch: UUID):
    bank, platform = world.actors["bank"], world.actors["platform"]
    own = world.api.post(platform, "/pledges", json={
        "batch_id": str(batch), "holder": str(platform.id), "bank": str(bank.id),
        "loan_reference": "OWN", "quantity_g": "1 t"})
    assert own.status_code == 201, own.text
    grant(world, platform, bank, "pledge")
    pledged = world.api.post(bank, "/pledges", json={
        "batch_id": str(batch), "holder": str(platform.id), "bank": str(bank.id),
        "loan_reference": "LN-1", "quantity_g": "2 t"})
    assert pledged.status_code == 201, pledged.text
    listing = world.api.post(world.actors["exchange"], "/listings", json={
        "batch_id": str(batch), "seller": str(platform.id), "listing_ref": "L",
        "quantity_g": "1 t"})  # a pledge mandate is no listing mandate
    assert_problem(listing, 403, "consent-required")
    assert owned(world, platform, batch)["pledged"] == 3 * T


def test_the_holder_and_the_agent_see_the_mandates_others_do_not(world: World):
    platform, exchange, bank = (world.actors[k] for k in ("platform", "exchange", "bank"))
    enterprise = world.actors["enterprise"]
    listing = grant(world, platform, exchange, "listing")
    pledge = grant(world, platform, bank, "pledge", max_quantity_g=5 * T)
    grant(world, enterprise, exchange, "listing")
    granted = world.api.get(platform, "/me/mandates").json()
    assert [m["id"] for m in granted["items"]] == [listing["id"], pledge["id"]]
    assert [m["id"] for m in world.api.get(platform, "/me/mandates", params={
        "scope": "pledge"}).json()["items"]] == [pledge["id"]]
    received = world.api.get(exchange, "/me/received-mandates").json()["items"]
    assert {m["holder"] for m in received} == {str(platform.id), str(enterprise.id)}
    assert [m["id"] for m in world.api.get(exchange, "/me/received-mandates", params={
        "holder": str(platform.id)}).json()["items"]] == [listing["id"]]
    assert world.api.get(bank, "/me/mandates").json()["items"] == []  # it granted none
    # read: the holder, the agent, operators and auditors; nobody else
    for reader in (platform, bank, world.operator, world.actors["auditor"]):
        assert world.api.get(reader, f"/me/mandates/{pledge['id']}").status_code == 200
    assert_problem(world.api.get(enterprise, f"/me/mandates/{pledge['id']}"), 403,
                   "forbidden")
    assert_problem(world.api.get(platform, f"/me/mandates/{uuid4()}"), 404, "unknown-record")
    # only the holder revokes: the agent's or another's DELETE finds no mandate of theirs
    for other in (bank, enterprise, world.operator):
        assert_problem(world.api.delete(other, f"/me/mandates/{pledge['id']}"), 404,
                       "unknown-record")
    assert world.api.get(bank, f"/me/mandates/{pledge['id']}").json()["status"] == "active"
    # paging
    first = world.api.get(platform, "/me/mandates", params={"limit": 1}).json()
    second = world.api.get(platform, "/me/mandates", params={
        "limit": 1, "cursor": first["next_cursor"]}).json()
    assert [m["id"] for m in first["items"] + second["items"]] == [listing["id"], pledge["id"]]
    assert second["next_cursor"] is None
    assert_problem(world.api.get(exchange, "/me/received-mandates", params={
        "cursor": first["next_cursor"]}), 422, "invalid-cursor")


@pytest.mark.parametrize("body, status, code", [
    ({"scope": "listing", "agent": "bank"}, 403, "forbidden"),  # a bank cannot list
    ({"scope": "pledge", "agent": "exchange"}, 403, "forbidden"),  # an exchange cannot lend
    ({"scope": "listing", "agent": "self"}, 422, "validation-error"),
    ({"scope": "listing", "agent": "unknown"}, 404, "unknown-participant"),
    ({"scope": "sell", "agent": "exchange"}, 422, "validation-error"),
    ({"scope": "listing", "agent": "exchange", "expires_at": "2020-01-01T00:00:00Z"}, 422,
     "validation-error"),
    ({"scope": "listing", "agent": "exchange", "expires_at": "2030-01-01T00:00:00"}, 422,
     "validation-error"),  # no offset
    ({"scope": "listing", "agent": "exchange", "max_quantity_g": 0}, 422,
     "validation-error"),
    ({"scope": "listing", "agent": "exchange", "max_quantity_g": 1.5}, 422,
     "validation-error"),
    ({"scope": "listing", "agent": "exchange", "max_quantity_g": "0.5 g"}, 422,
     "validation-error"),
    ({"scope": "listing", "agent": "exchange", "holder": "exchange"}, 422,
     "validation-error"),  # the holder is the caller, never named
])
def test_bad_grants_are_refused_precisely_and_write_nothing(world: World, body: dict,
                                                            status: int, code: str):
    platform = world.actors["platform"]
    agents = {"self": str(platform.id), "unknown": str(uuid4()),
              **{k: str(a.id) for k, a in world.actors.items()}}
    sent = {k: (agents[v] if k in ("agent", "holder") else v) for k, v in body.items()}
    world.runtime.sync()
    before = world.ledger.recorder.max_notification_id()
    assert_problem(world.api.post(platform, "/me/mandates", json=sent), status, code)
    world.runtime.sync()
    assert world.ledger.recorder.max_notification_id() == before


def test_a_second_mandate_in_force_to_the_same_agent_is_a_conflict(world: World):
    platform, exchange = world.actors["platform"], world.actors["exchange"]
    first = grant(world, platform, exchange, "listing")
    body = assert_problem(world.api.post(platform, "/me/mandates", json={
        "agent": str(exchange.id), "scope": "listing"}), 409, "duplicate-record")
    assert body["details"]["record"] == first["id"]
    assert world.api.delete(platform, f"/me/mandates/{first['id']}").status_code == 200
    grant(world, platform, exchange, "listing")  # after the revocation, a new one


def test_the_mandate_endpoints_are_documented(world: World):
    paths = world.api.client.get("/openapi.json").json()["paths"]
    assert set(paths["/me/mandates"]) == {"get", "post"}
    assert set(paths["/me/mandates/{mandate_id}"]) == {"get", "delete"}
    assert set(paths["/me/received-mandates"]) == {"get"}
    assert paths["/me/mandates"]["post"]["responses"]["201"]
    for path in ("/listings", "/pledges"):
        assert "consent-required" in paths[path]["post"]["responses"]["403"]["description"]
