"""The probes of issue 15 over HTTP: each once answered 201 or 200 and then wedged the read
models (every later write 500, ``serve`` would not start). Each is now refused with a
problem, or accepted in a form the read models hold, and the API keeps taking writes."""

from __future__ import annotations

from uuid import UUID

from tests.api.support import EV, World, assert_problem

T = 1_000_000


def keeps_writing(world: World) -> None:
    """A later write is taken and read back (the wedge made every later write 500)."""
    response = world.api.post(world.operator, "/participants", json={
        "kind": "enterprise", "name": world.unique("after")})
    assert response.status_code == 201, response.text
    assert world.runtime.projection_failure is None
    assert world.runtime.projector.lag() == 0


def test_a_listing_ref_reused_on_another_batch_is_a_409(world: World) -> None:
    api, exchange = world.api, world.actors["exchange"]
    seller = world.actors["enterprise"]
    first, second = world.project_batch(seller), world.project_batch(seller)
    world.runtime.ledger.grant_mandate(actor=seller.id, agent=exchange.id, scope="listing")
    listing = {"batch_id": str(first), "seller": str(seller.id), "listing_ref": "HBEX-L-1",
               "quantity_g": "1 t"}
    assert api.post(exchange, "/listings", json=listing).status_code == 201
    problem = assert_problem(api.post(exchange, "/listings", json={
        **listing, "batch_id": str(second)}), 409, "duplicate-record")
    assert problem["details"]["first"] == str(first)
    assert api.post(exchange, "/listings", json={
        **listing, "batch_id": str(second), "listing_ref": "HBEX-L-2"}).status_code == 201
    keeps_writing(world)


def test_imports_of_one_block_and_of_long_names(world: World) -> None:
    api = world.api
    holder = world.actors["enterprise"]
    imported = {"external_registry": "CDCER", "external_block": "CDCER-2024-000318",
                "serial_start": 0, "serial_end": 100 * T, "holder": str(holder.id),
                "methodology_id": str(world.methodology), "vintage": 2024,
                "region": "Chengdu"}
    first = api.post(world.operator, "/imports", json=imported)
    second = api.post(world.operator, "/imports", json={
        **imported, "serial_start": 100 * T, "serial_end": 200 * T})  # disjoint: accepted
    assert first.status_code == second.status_code == 201, second.text
    assert first.json()["block"] == "CDCER:CDCER-2024-000318"
    assert second.json()["block"] == "CDCER:CDCER-2024-000318#2"
    # labels that coincide across registries
    assert api.post(world.operator, "/imports", json={
        **imported, "external_registry": "X", "external_block": "Y:Z"}).status_code == 201
    assert_problem(api.post(world.operator, "/imports", json={
        **imported, "external_registry": "X:Y", "external_block": "Z"}), 409,
        "duplicate-record")
    # a block named like a local batch keeps its registry's name
    local = api.post(world.operator, "/imports", json={
        **imported, "external_registry": "HBCER", "external_block": "HBCER-2024-000001"})
    assert local.json()["block"] == "HBCER:HBCER-2024-000001"
    batch = world.project_batch(holder)
    assert world.runtime.views.batch(batch)["block"] == "HBCER-2024-000001"
    # 200 characters: over what the read model holds
    problem = assert_problem(api.post(world.operator, "/imports", json={
        **imported, "external_block": "B" * 200}), 422, "validation-error")
    assert problem["details"]["field"] == "external_block"
    keeps_writing(world)


def test_implausible_behaviours_are_rejected_per_item(world: World) -> None:
    platform = world.actors["platform"]
    session = {"person": "ada", "methodology_code": EV[0], "methodology_version": EV[1],
               "activity_amount": "999999999999999.999999",
               "occurred_at": "2024-09-03T08:00:00Z"}
    behaviours = [{**session, "act_identity": f"charger:1|{n}", "platform_ref": f"r-{n}"}
                  for n in range(18)]
    behaviours.append({**session, "activity_amount": "12.5", "act_identity": "charger:2",
                       "platform_ref": "fine"})
    response = world.api.post(platform, "/behaviours", json={"behaviours": behaviours})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 18)
    for result in body["results"][:18]:
        assert result["error"]["code"] == "activity-above-maximum"
        assert result["error"]["status"] == 422
        assert result["error"]["details"]["maximum"] == "10000000"
    assert body["results"][18]["reduction_g"] == 7_500
    keeps_writing(world)


def test_a_methodology_publishes_its_maximum_activity(world: World) -> None:
    api = world.api
    published = api.post(world.operator, "/methodologies", json={
        "code": "WH-METRO", "version": "2", "region": "Wuhan", "scene": "metro",
        "activity_unit": "km", "factor_g_per_unit": "71.2", "valid_from": "2024-01-01T00:00:00Z",
        "max_activity": "80"})
    assert published.status_code == 201, published.text
    assert published.json()["max_activity"] == "80"
    default = api.get(None, f"/methodologies/{world.methodology}").json()
    assert default["max_activity"] == "10000000"
    response = api.post(world.actors["platform"], "/behaviours", json={"behaviours": [
        {"person": "ada", "methodology_code": "WH-METRO", "methodology_version": "2",
         "activity_amount": amount, "occurred_at": "2024-09-03T08:00:00Z",
         "act_identity": f"card:1|{amount}", "platform_ref": amount}
        for amount in ("80", "80.5")]})
    assert [r["accepted"] for r in response.json()["results"]] == [True, False]
    assert UUID(response.json()["results"][0]["behaviour_id"])
    keeps_writing(world)
