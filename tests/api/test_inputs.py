"""Amounts and identities over HTTP (issue 15): each probe of docs/SECURITY.md's section
"Amounts and identities" and what it returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.support import EV, World, assert_problem

T = 1_000_000


def transfer(world: World, quantity: object):
    holder, recipient = world.actors["enterprise"], world.actors["bank"]
    batch = world.project_batch(holder)
    before = world.ledger.recorder.max_notification_id()
    response = world.api.post(holder, "/transfers", json={
        "batch_id": str(batch), "recipient": str(recipient.id), "quantity_g": quantity})
    return response, batch, before


@pytest.mark.parametrize("quantity", ["1,5 t", "1,0,0 t", "1__0 kg", "1e3 g", "1.000,5 kg",
                                      "5 lb", "-5 t", "0,001 t"])
def test_a_quantity_outside_the_accepted_forms_is_a_422_listing_them(world: World, quantity):
    response, _, before = transfer(world, quantity)
    problem = assert_problem(response, 422, "validation-error")
    assert "accepted:" in response.text and "\u5428" in response.text  # lists 吨 too
    assert problem["errors"]
    assert world.ledger.recorder.max_notification_id() == before


@pytest.mark.parametrize(("quantity", "grams"), [
    ("1,500 kg", 1_500_000), ("3 \u5428", 3 * T), ("2 \u516c\u65a4", 2_000),
    ("\uff11\uff0c\uff15\uff10\uff10 kg CO2e", 1_500_000), ("1.5 tonnes", 1_500_000)])
def test_accepted_quantity_forms_transfer_exactly(world: World, quantity, grams):
    response, batch, _ = transfer(world, quantity)
    assert response.status_code == 201, response.text
    assert world.balance(world.actors["bank"], batch)["available"] == grams


def _session(act: str, ref: str, when: str = "2024-09-03T16:15:00+08:00") -> dict:
    return {"person": "wuhan-user-000001", "methodology_code": EV[0],
            "methodology_version": EV[1], "act_identity": act, "activity_amount": "10",
            "occurred_at": when, "platform_ref": ref}


def test_a_charging_session_respelled_is_a_duplicate_behaviour(world: World):
    platform = world.actors["platform"]
    spellings = ["charger:WH-0001|2024-09-03T08:15Z",
                 "charger:WH-0001|2024-09-03T16:15+08:00",
                 "charger:WH-0001|2024-09-03T08:15:00.000Z",
                 "Charger:wh-0001|2024-09-03T08:15Z",
                 "charger\uff1aWH-0001|2024-09-03T08:15Z"]
    body = world.api.post(platform, "/behaviours", json={"behaviours": [
        _session(act, f"rec-{n}") for n, act in enumerate(spellings)]}).json()
    assert body["accepted"] == 1
    for result in body["results"][1:]:
        assert result["error"]["code"] == "duplicate-behaviour"


def test_a_behaviour_dated_ahead_is_rejected_on_its_own(world: World):
    platform = world.actors["platform"]
    ahead = (datetime.now(UTC) + timedelta(days=3 * 365)).isoformat()
    body = world.api.post(platform, "/behaviours", json={"behaviours": [
        _session("charger:WH-0002|a", "ok"), _session("charger:WH-0002|b", "late", ahead)]})
    assert body.status_code == 200, body.text
    results = body.json()["results"]
    assert [r["accepted"] for r in results] == [True, False]
    error = results[1]["error"]
    assert error["code"] == "validation-error"
    assert error["details"]["field"] == "occurred_at" and "future" in error["detail"]


def test_an_unknown_settlement_currency_is_a_422(world: World):
    exchange, seller = world.actors["exchange"], world.actors["enterprise"]
    batch = world.project_batch(seller)
    world.ledger.grant_mandate(actor=seller.id, agent=exchange.id, scope="listing")
    listed = world.api.post(exchange, "/listings", json={
        "batch_id": str(batch), "seller": str(seller.id), "listing_ref": "L-1",
        "quantity_g": T})
    assert listed.status_code == 201, listed.text
    before = world.ledger.recorder.max_notification_id()
    response = world.api.post(exchange, "/trades/settlements", json={"trades": [{
        "trade_ref": "T-1", "listing_ref": "L-1", "batch_id": str(batch),
        "seller": str(seller.id), "buyer": str(world.actors["bank"].id), "quantity_g": T,
        "price_per_tonne": "40", "currency": "ZZZ"}]})
    assert_problem(response, 422, "validation-error")
    assert "ISO 4217" in response.text
    assert world.ledger.recorder.max_notification_id() == before


@pytest.mark.parametrize("destination", ["Mars registry", "ccer-ish", "\u200b"])
def test_an_export_to_an_unlisted_destination_is_a_422_listing_the_codes(world: World,
                                                                          destination):
    holder = world.actors["enterprise"]
    batch = world.project_batch(holder)
    before = world.ledger.recorder.max_notification_id()
    response = world.api.post(holder, "/exports", json={
        "batch_id": str(batch), "quantity_g": T, "destination": destination})
    assert_problem(response, 422, "validation-error")
    assert world.ledger.recorder.max_notification_id() == before


def test_an_export_to_a_listed_registry_records_its_code(world: World):
    holder = world.actors["enterprise"]
    batch = world.project_batch(holder)
    response = world.api.post(holder, "/exports", json={
        "batch_id": str(batch), "quantity_g": T, "destination": "ccer"})
    assert response.status_code == 201, response.text
    assert response.json()["destination"] == "CCER"


@pytest.mark.parametrize("name", ["Bank\u202eA", "\u2066Bank\u2069", "Bank\x85A",
                                  "\u200b\u200b", "\u3164"])
def test_a_participant_name_with_dangerous_or_no_visible_characters_is_a_422(world: World,
                                                                              name):
    before = world.ledger.recorder.max_notification_id()
    response = world.api.post(world.operator, "/participants", json={
        "kind": "enterprise", "name": name})
    problem = assert_problem(response, 422, "validation-error")
    assert problem["detail"]
    assert world.ledger.recorder.max_notification_id() == before


@pytest.mark.parametrize("beneficiary", ["Shu\u202e's Group", "\u2060"])
def test_a_retirement_beneficiary_is_checked_the_same_way(world: World, beneficiary):
    holder = world.actors["enterprise"]
    batch = world.project_batch(holder)
    response = world.api.post(holder, "/retirements", json={
        "batch_id": str(batch), "quantity_g": T, "beneficiary": beneficiary,
        "jurisdiction": "Hubei", "consumption_period": "2024",
        "purpose": {"kind": "voluntary"}})
    assert_problem(response, 422, "validation-error")


def test_an_upgraded_ledger_indexes_its_old_acts_and_the_read_models_follow(world: World):
    """A behaviour stored by the old code (id of the exact text), indexed after the upgrade:
    the read models apply the key's event, and a respelling over HTTP is a duplicate
    naming the old behaviour."""
    from decimal import Decimal

    from ledger.domain import ids
    from ledger.domain.behaviour import Behaviour

    ledger, platform = world.ledger, world.actors["platform"]
    methodology = ledger.methodology(world.methodology)
    act = "charger:WH-0009|2024-09-03T08:15Z"
    old_id = ids.uuid5(ids.NS_BEHAVIOUR, f"{methodology.scene}\x1f{act}")
    ledger.save(Behaviour.reported(
        old_id, platform=platform.id, platform_ref="old", account=ids.individual_account_id(
            "wuhan-user-000001"), methodology=methodology, act_identity=act,
        activity_amount=Decimal("10"), occurred_at=datetime(2024, 9, 3, 8, 15, tzinfo=UTC)))
    assert ledger.index_legacy_acts() == (1, 1)
    world.runtime.sync()  # the key's event has a (no-op) read-model handler
    body = world.api.post(world.actors["platform"], "/behaviours", json={"behaviours": [
        _session("charger:WH-0009|2024-09-03T16:15+08:00", "new")]}).json()
    assert body["results"][0]["error"]["details"]["behaviour"] == str(old_id)
