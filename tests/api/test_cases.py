"""The domain primer's real cases, replayed over HTTP from behaviours to a verified
retirement certificate."""

from __future__ import annotations

import hashlib
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anchoring.certificate import verify_certificate
from anchoring.trust import trust_anchors_of
from tests.api.support import EV, Actor, Api, World, assert_problem, public_hex

T = 1_000_000  # grams per tonne


def register(world: World, kind: str, name: str, **extra: str) -> Actor:
    """Register a participant over HTTP (as the registry operator) and issue its API key."""
    api, operator = world.api, world.operator
    key = Ed25519PrivateKey.generate()
    body = {"kind": kind, "public_key": public_hex(key), **extra}
    if kind != "individual":
        body["name"] = name
    created = api.post(operator, "/participants", json=body)
    assert created.status_code == 201, created.text
    participant = UUID(created.json()["id"])
    issued = api.post(operator, f"/participants/{participant}/api-keys")
    assert issued.status_code == 201, issued.text
    return Actor(id=participant, kind=kind, name=name, secret=issued.json()["secret"], key=key,
                 pseudonym=extra.get("pseudonym"))


def charging_sessions(count: int, start: int) -> list[dict]:
    """Personal EV-charging sessions of 85.0-94.9 kWh in Wuhan, Sep-Oct 2024."""
    return [{
        "person": f"wuhan-user-{i % 5000:06d}", "methodology_code": EV[0],
        "methodology_version": EV[1],
        "act_identity": f"charger:WH-CHG-{i % 4000:05d}|start:{i:08d}",
        "activity_amount": f"{85 + (i % 100) / 10:.1f}",
        "occurred_at": f"2024-{9 + i % 2:02d}-{1 + i % 28:02d}T{8 + i % 12:02d}:15:00+08:00",
        "platform_ref": f"EVAPP-{i:07d}"} for i in range(start, start + count)]


def issue(world: World, platform: Actor, request: dict, registry: str) -> dict:
    api, verifier = world.api, world.actors["verifier"]
    attested = api.post(verifier, f"/issuance-requests/{request['id']}/attestation",
                        json={"statement": "Sampled 2% of sessions against charger logs"})
    assert attested.status_code == 200, attested.text
    assert attested.json()["status"] == "attested"
    issued = api.post(world.operator, f"/issuance-requests/{request['id']}/issuance",
                      json={"registry": registry, "vintage": 2024})
    assert issued.status_code == 201, issued.text
    batch = issued.json()
    assert batch["supply"]["available_g"] == batch["quantity_g"]
    return batch


def project_batch(world: World, platform: Actor, methodology: str, quantity: str,
                  registry: str, project: str) -> dict:
    requested = world.api.post(platform, "/issuance-requests/project", json={
        "methodology_id": methodology, "period_start": "2024-01-01T00:00:00Z",
        "period_end": "2025-01-01T00:00:00Z", "quantity_g": quantity, "project": project,
        "report_reference": f"MR-{registry}-2024",
        "report_sha256": hashlib.sha256(project.encode()).hexdigest()})
    assert requested.status_code == 201, requested.text
    return issue(world, platform, requested.json(), registry)


def settle(api: Api, exchange: Actor, trades: list[dict]) -> list[dict]:
    response = api.post(exchange, "/trades/settlements", json={"trades": trades})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_hubei_trade_event_neutrality_eco_compensation_pledges_and_points(world: World):
    api, operator = world.api, world.operator
    ev_app = register(world, "platform", "EV-charging app (Wuhan)")
    pay_app = register(world, "platform", "Payment app carbon channel")
    hbex = register(world, "exchange", "Hubei emission exchange")
    shu = register(world, "enterprise", "Shu's Group (emitter)")
    station = register(world, "enterprise", "Wuhan petrol station (eco-compensation)")

    # -- behaviours in bulk; the same charging session re-reported by the payment app
    accepted = 0
    for start in range(0, 40_000, 10_000):
        reported = api.post(ev_app, "/behaviours",
                            json={"behaviours": charging_sessions(10_000, start)})
        assert reported.status_code == 200, reported.text
        accepted += reported.json()["accepted"]
    assert accepted == 40_000
    first = charging_sessions(1, 0)[0]
    duplicate = api.post(pay_app, "/behaviours", json={"behaviours": [
        {**first, "platform_ref": "PAY-CHARGE-0001"}]}).json()
    assert duplicate["accepted"] == 0
    error = duplicate["results"][0]["error"]
    assert error["code"] == "duplicate-behaviour"
    assert error["type"] == "https://carbon-ledger.dev/problems/duplicate-behaviour"
    assert error["details"]["first_platform"] == str(ev_app.id)
    assert error["details"]["first_platform_ref"] == "EVAPP-0000000"

    # -- a platform reads the carbon account of a person it reported for
    account = api.get(ev_app, "/carbon-accounts/wuhan-user-000000").json()
    assert account["behaviours"] == 8 and account["earned"] == sum(
        e["points"] for e in account["entries"])

    # -- issuance: request, attest, issue
    requested = api.post(ev_app, "/issuance-requests", json={
        "methodology_id": str(world.methodology), "period_start": "2024-09-01T00:00:00Z",
        "period_end": "2024-11-01T00:00:00Z"})
    assert requested.status_code == 201, requested.text
    request = requested.json()
    assert request["evidence"]["behaviour_count"] == 40_000
    wuhan = issue(world, ev_app, request, "HBCER")
    assert wuhan["block"] == "HBCER-2024-000001"
    assert wuhan["behaviours_root"] == request["evidence"]["behaviours_root"]
    assert wuhan["quantity_g"] == request["quantity_g"] > 2_080 * T

    # -- Hubei pilot market: 2,000 t sold to Shu's Group, settled, retried, retired
    listed = api.post(hbex, "/listings", json={
        "batch_id": wuhan["id"], "seller": str(ev_app.id), "listing_ref": "HBEX-L-2024-1107",
        "quantity_g": "2,000 t"})
    assert listed.status_code == 201, listed.text
    trade = {"trade_ref": "HBEX-T-2024-000731", "listing_ref": "HBEX-L-2024-1107",
             "batch_id": wuhan["id"], "seller": str(ev_app.id), "buyer": str(shu.id),
             "quantity_g": 2_000 * T, "price_per_tonne": "45.00", "currency": "CNY"}
    [settled] = settle(api, hbex, [trade])
    [again] = settle(api, hbex, [trade])
    assert settled["settled"] and not settled["replayed"]
    assert again["replayed"] and again["serials"] == settled["serials"]
    assert world.balance(shu, UUID(wuhan["id"]))["available"] == 2_000 * T
    status = api.get(hbex, "/trades/HBEX-T-2024-000731").json()
    assert status["status"] == "settled" and status["quantity_g"] == 2_000 * T
    retired = api.post(shu, "/retirements", json={
        "batch_id": wuhan["id"], "quantity_g": "2,000 t", "beneficiary": "Shu's Group",
        "jurisdiction": "Hubei pilot ETS", "consumption_period": "2023",
        "purpose": {"kind": "compliance_offset", "compliance_period": "2023"}})
    assert retired.status_code == 201, retired.text
    compliance = retired.json()
    assert compliance["purpose"] == "compliance_offset"
    assert compliance["details"] == {"compliance_period": "2023"}
    assert compliance["holder"] == {"id": str(shu.id), "kind": "enterprise",
                                    "name": "Shu's Group (emitter)"}

    # -- who holds a retired serial? Shu's Group retired it, for its 2023 compliance
    serial = compliance["serials"][0]["start"] + 1234
    found = api.get(None, f"/serials/{wuhan['block']}/{serial}").json()
    assert found["state"] == "retired"
    assert found["retirement"]["id"] == compliance["id"]
    assert found["retirement"]["beneficiary"] == "Shu's Group"

    # -- Wuhan eco-compensation: 80 t bought for 4,604 CNY and retired on delivery
    assert api.post(hbex, "/listings", json={
        "batch_id": wuhan["id"], "seller": str(ev_app.id), "listing_ref": "HBEX-L-2025-0042",
        "quantity_g": "80 t"}).status_code == 201
    [eco] = settle(api, hbex, [{
        "trade_ref": "HBEX-T-2025-000019", "listing_ref": "HBEX-L-2025-0042",
        "batch_id": wuhan["id"], "seller": str(ev_app.id), "buyer": str(station.id),
        "quantity_g": "80 t", "price_per_tonne": "57.55", "currency": "CNY",
        "retire_on_delivery": {
            "beneficiary": "Ecological restoration, Wuhan", "jurisdiction": "Wuhan",
            "consumption_period": "2025", "purpose": {
                "kind": "eco_compensation",
                "case_reference": "Petrol-station air pollution case, 2025"}}}])
    assert eco["settled"] and eco["retirement_id"]
    register_page = api.get(None, "/retirements",
                            params={"purpose": "eco_compensation"}).json()["items"]
    assert [(r["quantity_g"], r["trade_ref"]) for r in register_page] == [
        (80 * T, "HBEX-T-2025-000019")]

    # -- World Gas Conference 2025: exactly 4,544.76 t, claim met
    network = register(world, "platform", "EV-charging network operator")
    wgc = register(world, "enterprise", "World Gas Conference 2025 organiser")
    sh_ev = api.post(operator, "/methodologies", json={
        "code": "SHCER02020042024II", "version": "2024", "region": "Shanghai",
        "scene": "ev-charging-network", "activity_unit": "MWh",
        "factor_g_per_unit": "580000", "valid_from": "2024-01-01T00:00:00Z"})
    assert sh_ev.status_code == 201, sh_ev.text
    shanghai = project_batch(world, network, sh_ev.json()["id"], "5,000 t", "SHCER",
                             "Shanghai EV-charging network 2024")
    claim = api.post(wgc, "/claims", json={"event_name": "World Gas Conference 2025",
                                           "footprint_g": "4,544.76 t"})
    assert claim.status_code == 201, claim.text
    assert claim.json()["footprint_g"] == 4_544_760_000
    moved = api.post(network, "/transfers", json={
        "batch_id": shanghai["id"], "recipient": str(wgc.id), "quantity_g": "4,544.76 t"})
    assert moved.status_code == 201, moved.text
    neutral = api.post(wgc, "/retirements", json={
        "batch_id": shanghai["id"], "quantity_g": 4_544_760_000,
        "beneficiary": "World Gas Conference 2025", "jurisdiction": "China",
        "consumption_period": "2025", "purpose": {
            "kind": "event_neutrality", "event": "World Gas Conference 2025",
            "claim_id": claim.json()["id"], "footprint_g": 4_544_760_000}})
    assert neutral.status_code == 201, neutral.text
    met = api.get(None, f"/claims/{claim.json()['id']}").json()
    assert (met["retired_g"], met["outstanding_g"], met["met"]) == (4_544_760_000, 0, True)

    # -- forestry auction, then a pledge released and one enforced
    village = register(world, "enterprise", "Village forestry cooperative")
    granted = api.post(operator, f"/participants/{village.id}/roles", json={"role": "reporter"})
    assert "reporter" in granted.json()["roles"]
    forestry_methodology = api.post(operator, "/methodologies", json={
        "code": "GD-FORESTRY-V1", "version": "1", "region": "Guangdong", "scene": "forestry",
        "activity_unit": "t CO2e sequestered", "factor_g_per_unit": "1000000",
        "valid_from": "2020-01-01T00:00:00Z"}).json()
    forestry = project_batch(world, village, forestry_methodology["id"], "43,474 t", "PHCER",
                             "Village forestry carbon sink")
    gzex = register(world, "exchange", "Guangzhou carbon exchange")
    buyer = register(world, "enterprise", "Forestry credit buyer")
    bank_a = register(world, "bank", "Bank A (green loans)")
    bank_b = register(world, "bank", "Bank B")
    api.post(gzex, "/listings", json={"batch_id": forestry["id"], "seller": str(village.id),
                                      "listing_ref": "GZ-AUCTION-01", "quantity_g": "43,474 t"})
    [auction] = settle(api, gzex, [{
        "trade_ref": "GZ-AUCTION-01-WIN", "listing_ref": "GZ-AUCTION-01",
        "batch_id": forestry["id"], "seller": str(village.id), "buyer": str(buyer.id),
        "quantity_g": "43,474 t", "price_per_tonne": "34", "currency": "CNY"}])
    assert auction["settled"]

    pledged = api.post(bank_a, "/pledges", json={
        "batch_id": forestry["id"], "holder": str(buyer.id), "bank": str(bank_a.id),
        "loan_reference": "GL-2024-001", "quantity_g": "10,000 t"})
    assert pledged.status_code == 201, pledged.text
    pledge = pledged.json()
    locked = api.get(bank_a, f"/pledges/{pledge['id']}").json()
    assert (locked["locked"], locked["quantity_g"], locked["block"]) == (
        True, 10_000 * T, forestry["block"])
    assert sum(r["end"] - r["start"] for r in locked["serials"]) == 10_000 * T
    too_much = api.post(buyer, "/retirements", json={
        "batch_id": forestry["id"], "quantity_g": "40,000 t", "beneficiary": "x",
        "jurisdiction": "CN", "consumption_period": "2024", "purpose": {"kind": "voluntary"}})
    assert_problem(too_much, 409, "insufficient-balance")
    released = api.post(bank_a, f"/pledges/{pledge['id']}/release")
    assert released.status_code == 200, released.text
    assert (released.json()["status"], released.json()["locked"]) == ("released", False)

    api.post(buyer, "/transfers", json={"batch_id": forestry["id"], "recipient": str(village.id),
                                        "quantity_g": "5,000 t"})
    defaulted = api.post(village, "/pledges", json={
        "batch_id": forestry["id"], "holder": str(village.id), "bank": str(bank_b.id),
        "loan_reference": "VL-2024-17", "quantity_g": "5,000 t"}).json()
    assert_problem(api.post(bank_a, f"/pledges/{defaulted['id']}/release"), 403, "forbidden")
    enforced = api.post(bank_b, f"/pledges/{defaulted['id']}/enforcement")
    assert enforced.json()["status"] == "enforced"
    assert world.balance(bank_b, UUID(forestry["id"]))["available"] == 5_000 * T
    bank_b_pledges = api.get(bank_b, "/pledges").json()["items"]
    assert [p["id"] for p in bank_b_pledges] == [defaulted["id"]]

    # -- a person redeems and donates points
    person = register(world, "individual", "wuhan-user-000000", pseudonym="wuhan-user-000000")
    assert api.get(None, f"/participants/{person.id}").json()["name"] is None
    hq = api.post(shu, "/claims", json={"event_name": "Shu's Group HQ 2025",
                                        "footprint_g": "324 t", "scope": "operational"}).json()
    redeemed = api.post(person, "/me/carbon-account/redemptions",
                        json={"points": 2000, "reward": "Wuhan metro day ticket"})
    assert redeemed.status_code == 201, redeemed.text
    donated = api.post(person, "/me/carbon-account/donations",
                       json={"points": 1000, "claim_id": hq["id"]}).json()
    assert donated["balance"] == account["earned"] - 3000
    assert api.get(None, f"/claims/{hq['id']}").json()["donated_points"] == 1000

    # -- public totals
    totals = api.get(None, "/supply").json()
    assert totals["batches"] == 3
    supply = totals["supply"]
    assert supply["retired_g"] == (2_000 + 80) * T + 4_544_760_000
    assert supply["issued_g"] == sum(supply[f"{s}_g"] for s in (
        "available", "escrowed", "pledged", "retired", "tokenised", "exported", "cancelled"))
    assert {r["registry"] for r in totals["by_registry"]} == {"HBCER", "SHCER", "PHCER"}

    # -- the auditor's retirement certificate and the bank's pledge certificate: not before
    # the retirement is anchored; then proofs against the anchored root, verified on chain
    certificate_path = f"/retirements/{compliance['id']}/certificate"
    assert_problem(api.get(None, certificate_path), 409, "certificate-unavailable")
    anchoring = world.runtime.anchoring
    anchoring.anchor_now()
    checkpoints = api.get(None, "/checkpoints").json()["items"]
    assert checkpoints and checkpoints[-1]["final"]
    certificate = api.get(None, certificate_path)
    assert certificate.status_code == 200, certificate.text
    trust = trust_anchors_of(anchoring)
    assert api.get(None, "/trust-anchors").json() == trust.to_document()
    checks = verify_certificate(certificate.json(), anchoring.chain, trust)
    assert [c.name for c in checks if not c.ok] == []
    assert checks.verdict == "verified"
    assert certificate.json()["record"]["quantity_g"] == 2_000 * T
    assert certificate.json()["anchor"]["tree_size"] == checkpoints[-1]["tree_size"]
    pledge_certificate = api.get(bank_a, f"/pledges/{pledge['id']}/certificate")
    assert pledge_certificate.status_code == 200, pledge_certificate.text
    assert verify_certificate(pledge_certificate.json(), anchoring.chain, trust).ok
    assert_problem(api.get(shu, f"/pledges/{pledge['id']}/certificate"), 403, "forbidden")


def test_a_behaviour_reported_alone_reaches_the_carbon_account(world: World):
    """A report of one behaviour is projected like a bulk one (the person's statement shows
    it at once)."""
    platform = world.actors["platform"]
    [session] = charging_sessions(1, 7)
    response = world.api.post(platform, "/behaviours", json={"behaviours": [session]})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    account = world.api.get(platform, f"/carbon-accounts/{session['person']}").json()
    assert [e["behaviour_id"] for e in account["entries"]] == [result["behaviour_id"]]
    assert account["earned"] == result["reduction_g"] > 0
