"""Who may do what: every write endpoint, for every participant kind (the actor is always the
authenticated participant), and the non-public reads."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from ledger.application import BehaviourReport
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import EV, KINDS, Actor, World, assert_problem

T = 1_000_000
OPERATOR = {"registry_operator"}
HOLDERS = {"individual", "platform", "enterprise", "exchange", "bank", "registry_operator"}
EVERYONE = set(KINDS)


@dataclass
class Call:
    method: str
    path: str
    json: Any = None


@dataclass
class Fixture:
    """The matrix's ledger: the world, a batch held by the platform, and bystanders."""

    world: World
    batch: UUID
    recipient: Actor
    pledgee: Actor

    def holding(self, actor: Actor, quantity: int = T) -> UUID:
        """Give ``actor`` available credits of the batch (if it may hold any)."""
        world, platform = self.world, self.world.actors["platform"]
        if actor.id != platform.id and "holder" in world.ledger.participant(actor.id).roles:
            world.ledger.transfer(actor=platform.id, batch_id=self.batch, recipient=actor.id,
                                  quantity=quantity)
        return self.batch

    def bystander(self) -> UUID:
        return self.world.register("enterprise").id

    def request(self, attested: bool = False) -> UUID:
        world = self.world
        request = world.ledger.request_project_issuance(
            platform=world.actors["platform"].id, methodology_id=world.methodology,
            period_start="2024-01-01", period_end="2025-01-01", quantity=T,
            project=world.unique("p"), report_reference=world.unique("r"),
            report_sha256=hashlib.sha256(world.unique("s").encode()).hexdigest())
        if attested:
            world.ledger.attest_request(actor=world.actors["verifier"].id, request_id=request,
                                        statement="ok")
        return request

    def mandate(self, holder: Actor | UUID, agent: Actor, scope: str) -> None:
        """``holder`` lets ``agent`` list (or pledge) its credits, if ``agent`` may hold
        such a mandate and has none in force."""
        ledger = self.world.ledger
        holder_id = holder.id if isinstance(holder, Actor) else holder
        role = {"listing": "settler", "pledge": "lender"}[scope]
        granted = ledger.participant(holder_id).mandates.values()
        if role in ledger.participant(agent.id).roles and not any(
                m["agent"] == str(agent.id) and m["scope"] == scope and not m["revoked"]
                for m in granted):
            ledger.grant_mandate(actor=holder_id, agent=agent.id, scope=scope)

    def listing(self, exchange: Actor) -> str:
        ref = self.world.unique("L")
        if "settler" in self.world.ledger.participant(exchange.id).roles:
            self.mandate(self.world.actors["platform"], exchange, "listing")
            self.world.ledger.list_for_sale(actor=exchange.id, batch_id=self.batch,
                                            seller=self.world.actors["platform"].id,
                                            listing_ref=ref, quantity=T)
        return ref

    def pledge(self) -> UUID:
        world = self.world
        holder = self.bystander()
        world.ledger.transfer(actor=world.actors["platform"].id, batch_id=self.batch,
                              recipient=holder, quantity=T)
        return world.ledger.pledge(actor=holder, batch_id=self.batch, holder=holder,
                                   bank=world.actors["bank"].id, loan_reference="LN",
                                   quantity=T)

    def points(self, actor: Actor) -> None:
        """Points earned by ``actor`` if it is a person."""
        if actor.pseudonym is not None:
            world = self.world
            world.ledger.report_behaviours(platform=world.actors["platform"].id, reports=[
                BehaviourReport(person=actor.pseudonym, methodology_code=EV[0],
                                methodology_version=EV[1], act_identity=world.unique("act"),
                                activity_amount="100", occurred_at="2024-06-01T00:00:00Z",
                                platform_ref=world.unique("ref"))])
            world.runtime.sync()

    def claim(self) -> UUID:
        return self.world.ledger.register_claim(actor=self.recipient.id,
                                                event_name=self.world.unique("event"),
                                                footprint_g=T)

    def hour(self) -> datetime:
        """A fresh one-hour period of 2024 (issuance periods never overlap)."""
        self.world.counter += 1
        return datetime(2024, 2, 1, tzinfo=UTC) + timedelta(hours=self.world.counter)


Prepare = Callable[[Fixture, Actor], Call]


def _retire(f: Fixture, a: Actor) -> Call:
    return Call("POST", "/retirements", {
        "batch_id": str(f.holding(a)), "quantity_g": T, "beneficiary": "B",
        "jurisdiction": "CN", "consumption_period": "2024", "purpose": {"kind": "voluntary"}})


def _request_issuance(f: Fixture, a: Actor) -> Call:
    start = f.hour()
    if a.kind == "platform":
        f.world.ledger.report_behaviours(platform=a.id, reports=[BehaviourReport(
            person="p", methodology_code=EV[0], methodology_version=EV[1],
            act_identity=f.world.unique("act"), activity_amount="10",
            occurred_at=start + timedelta(minutes=10), platform_ref="r")])
    return Call("POST", "/issuance-requests", {
        "methodology_id": str(f.world.methodology), "period_start": start.isoformat(),
        "period_end": (start + timedelta(hours=1)).isoformat()})


def _settle(f: Fixture, a: Actor) -> Call:
    ref = f.listing(a)
    return Call("POST", "/trades/settlements", {"trades": [{
        "trade_ref": f.world.unique("T"), "listing_ref": ref, "batch_id": str(f.batch),
        "seller": str(f.world.actors["platform"].id), "buyer": str(f.recipient.id),
        "quantity_g": T, "price_per_tonne": "40", "currency": "CNY"}]})


def _revoke_own_key(f: Fixture, a: Actor) -> Call:
    key_id, _ = f.world.ledger.issue_api_key(actor=a.id, participant_id=a.id)
    return Call("DELETE", f"/participants/{a.id}/api-keys/{key_id}")


def _revoke_other_key(f: Fixture, a: Actor) -> Call:
    other = f.bystander()
    key_id, _ = f.world.ledger.issue_api_key(actor=other, participant_id=other)
    return Call("DELETE", f"/participants/{other}/api-keys/{key_id}")


def _supersede(f: Fixture, a: Actor) -> Call:
    ledger, op, code = f.world.ledger, f.world.operator.id, f.world.unique("M").upper()
    old, new = (ledger.publish_methodology(
        actor=op, code=code, version=version, region="Wuhan", scene="s", activity_unit="kWh",
        factor_g_per_unit="1", valid_from=f"2024-0{version}-01") for version in "12")
    return Call("POST", f"/methodologies/{old}/supersession", {"successor_id": str(new)})


def _reinstate(f: Fixture, a: Actor) -> Call:
    other = f.bystander()
    f.world.ledger.suspend_participant(actor=f.world.operator.id, participant_id=other,
                                       reason="audit")
    return Call("POST", f"/participants/{other}/reinstatement")


# endpoint -> (prepare, success status, kinds allowed)
WRITES: dict[str, tuple[Prepare, int, set[str]]] = {
    "register participant": (lambda f, a: Call("POST", "/participants", {
        "kind": "enterprise", "name": f.world.unique("E")}), 201, OPERATOR),
    "suspend participant": (lambda f, a: Call(
        "POST", f"/participants/{f.bystander()}/suspension", {"reason": "audit"}),
        200, OPERATOR),
    "reinstate participant": (_reinstate, 200, OPERATOR),
    "grant role": (lambda f, a: Call("POST", f"/participants/{f.bystander()}/roles",
                                     {"role": "reporter"}), 200, OPERATOR),
    "revoke role": (lambda f, a: Call("DELETE", f"/participants/{f.bystander()}/roles/holder"),
                    200, OPERATOR),
    "issue another's API key": (lambda f, a: Call(
        "POST", f"/participants/{f.bystander()}/api-keys"), 201, OPERATOR),
    "issue own API key": (lambda f, a: Call("POST", f"/participants/{a.id}/api-keys"),
                          201, EVERYONE),
    "revoke another's API key": (_revoke_other_key, 200, OPERATOR),
    "revoke own API key": (_revoke_own_key, 200, EVERYONE),
    "register public key": (lambda f, a: Call(
        "PUT", f"/participants/{f.bystander()}/public-key", {"public_key": "ab" * 32}),
        200, OPERATOR),
    "publish methodology": (lambda f, a: Call("POST", "/methodologies", {
        "code": f.world.unique("M").upper(), "version": "1", "region": "Wuhan",
        "scene": "metro", "activity_unit": "km", "factor_g_per_unit": "71.2",
        "valid_from": "2024-01-01T00:00:00Z"}), 201, OPERATOR),
    "supersede methodology": (_supersede, 200, OPERATOR),
    "report behaviours": (lambda f, a: Call("POST", "/behaviours", {"behaviours": [{
        "person": "p", "methodology_code": EV[0], "methodology_version": EV[1],
        "act_identity": f.world.unique("act"), "activity_amount": "10",
        "occurred_at": "2024-06-01T00:00:00Z", "platform_ref": "r"}]}), 200, {"platform"}),
    "request issuance": (_request_issuance, 201, {"platform"}),
    "request project issuance": (lambda f, a: Call("POST", "/issuance-requests/project", {
        "methodology_id": str(f.world.methodology), "period_start": "2024-01-01T00:00:00Z",
        "period_end": "2025-01-01T00:00:00Z", "quantity_g": "1 t", "project": "Solar",
        "report_reference": "MR-1", "report_sha256": "0" * 64}), 201, {"platform"}),
    "attest request": (lambda f, a: Call(
        "POST", f"/issuance-requests/{f.request()}/attestation", {"statement": "ok"}),
        200, {"verifier"}),
    "reject request": (lambda f, a: Call(
        "POST", f"/issuance-requests/{f.request()}/rejection", {"reason": "no"}),
        200, {"verifier"}),
    "issue batch": (lambda f, a: Call(
        "POST", f"/issuance-requests/{f.request(attested=True)}/issuance",
        {"registry": "HBCER"}), 201, OPERATOR),
    "cancel credits": (lambda f, a: Call("POST", f"/batches/{f.batch}/cancellations", {
        "holder": str(f.world.actors["platform"].id), "quantity_g": T, "reason": "buffer"}),
        201, OPERATOR),
    "correct batch": (lambda f, a: Call("POST", f"/batches/{f.batch}/corrections", {
        "field": "region", "value": f.world.unique("Region"), "reason": "typo"}),
        200, OPERATOR),
    "import batch": (lambda f, a: Call("POST", "/imports", {
        "external_registry": "CDCER", "external_block": f.world.unique("CDCER-2024"),
        "serial_start": 0, "serial_end": T, "holder": str(f.recipient.id),
        "methodology_id": str(f.world.methodology), "vintage": 2024, "region": "Chengdu"}),
        201, OPERATOR),
    "list for sale": (lambda f, a: (f.mandate(f.world.actors["platform"], a, "listing"),
                                    Call("POST", "/listings", {
        "batch_id": str(f.batch), "seller": str(f.world.actors["platform"].id),
        "listing_ref": f.world.unique("L"), "quantity_g": T}))[1], 201, {"exchange"}),
    "cancel listing": (lambda f, a: Call("POST", f"/listings/{f.listing(a)}/cancellation",
                                         {"batch_id": str(f.batch)}), 200, {"exchange"}),
    "settle trades": (_settle, 200, {"exchange"}),
    "pledge, by the bank": (lambda f, a: (f.mandate(f.recipient, a, "pledge"), Call(
        "POST", "/pledges", {
            "batch_id": str(f.holding(f.recipient)), "holder": str(f.recipient.id),
            "bank": str(a.id), "loan_reference": "LN-1", "quantity_g": T}))[1],
        201, {"bank"}),
    "pledge, by the pledgor": (lambda f, a: Call("POST", "/pledges", {
        "batch_id": str(f.holding(a)), "holder": str(a.id), "bank": str(f.pledgee.id),
        "loan_reference": "LN-2", "quantity_g": T}), 201, HOLDERS),
    "grant mandate": (lambda f, a: Call("POST", "/me/mandates", {
        "agent": str(f.pledgee.id), "scope": "pledge", "expires_at": "2999-01-01T00:00:00Z",
        "max_quantity_g": "10 t"}), 201, HOLDERS),
    "release pledge": (lambda f, a: Call("POST", f"/pledges/{f.pledge()}/release"),
                       200, {"bank"}),
    "enforce pledge": (lambda f, a: Call("POST", f"/pledges/{f.pledge()}/enforcement"),
                       200, {"bank"}),
    "transfer": (lambda f, a: Call("POST", "/transfers", {
        "batch_id": str(f.holding(a)), "recipient": str(f.recipient.id), "quantity_g": T}),
        201, HOLDERS),
    "retire": (_retire, 201, HOLDERS),
    "export": (lambda f, a: Call("POST", "/exports", {
        "batch_id": str(f.holding(a)), "quantity_g": T, "destination": "CCER"}),
        201, HOLDERS),
    "register claim": (lambda f, a: Call("POST", "/claims", {
        "event_name": f.world.unique("Forum"), "footprint_g": "5503 kg"}), 201, HOLDERS),
    "redeem points": (lambda f, a: (f.points(a), Call(
        "POST", "/me/carbon-account/redemptions", {"points": 10, "reward": "ticket"}))[1],
        201, HOLDERS),
    "donate points": (lambda f, a: (f.points(a), Call(
        "POST", "/me/carbon-account/donations", {"points": 10, "claim_id": str(f.claim())}))[1],
        201, HOLDERS),
}
# Holders other than persons may call the points endpoints but have no points to spend.
NO_POINTS = {"redeem points", "donate points"}


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    data = tmp_path_factory.mktemp("matrix") / "ledger"
    with LedgerRuntime(Settings(data_dir=data, database_url=None)) as runtime:
        app = create_app(ApiSettings.for_data_dir(data), runtime=runtime)
        with TestClient(app) as client:
            world = World.create(runtime, client)
            batch = world.project_batch(world.actors["platform"], "1,000 t")
            yield Fixture(world=world, batch=batch, recipient=world.register("enterprise"),
                          pledgee=world.register("bank"))


def _expected(endpoint: str, kind: str) -> tuple[int, str | None]:
    _, success, allowed = WRITES[endpoint]
    if kind not in allowed:
        return 403, "forbidden"
    if endpoint in NO_POINTS and kind != "individual":
        return 409, "insufficient-balance"
    return success, None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", list(WRITES))
def test_write_permission_matrix(fixture: Fixture, endpoint: str, kind: str):
    world = fixture.world
    actor = world.actors[kind]
    call = WRITES[endpoint][0](fixture, actor)
    world.runtime.sync()
    before = world.ledger.recorder.max_notification_id()
    response = world.api.request(actor, call.method, call.path, json=call.json)
    status, code = _expected(endpoint, kind)
    if code is None:
        assert response.status_code == status, response.text
        body = response.json()
        assert not body.get("rejected") and not body.get("failed"), body
    else:
        assert_problem(response, status, code)
        assert world.ledger.recorder.max_notification_id() == before  # nothing written


def test_a_participant_cannot_act_for_another(fixture: Fixture):
    world = fixture.world
    enterprise, bank = world.actors["enterprise"], world.actors["bank"]
    batch = fixture.holding(fixture.recipient)
    # pledge someone else's credits to a bank
    assert_problem(world.api.post(enterprise, "/pledges", json={
        "batch_id": str(batch), "holder": str(fixture.recipient.id), "bank": str(bank.id),
        "loan_reference": "LN", "quantity_g": T}), 403, "forbidden")
    # release a pledge of another bank
    pledge = world.ledger.pledge(actor=fixture.recipient.id, batch_id=batch,
                                 holder=fixture.recipient.id, bank=fixture.pledgee.id,
                                 loan_reference="LN", quantity=T)
    world.runtime.sync()
    assert_problem(world.api.post(bank, f"/pledges/{pledge}/enforcement"), 403, "forbidden")
    # settle a trade of another exchange's listing: that listing is not this exchange's
    other = world.register("exchange")
    ref = fixture.listing(other)
    response = world.api.post(world.actors["exchange"], "/trades/settlements", json={
        "trades": [{"trade_ref": "X", "listing_ref": ref, "batch_id": str(fixture.batch),
                    "seller": str(world.actors["platform"].id),
                    "buyer": str(fixture.recipient.id), "quantity_g": T,
                    "price_per_tonne": "1", "currency": "CNY"}]})
    assert response.json()["results"][0]["error"]["code"] == "unknown-record"
    # act under another participant's id in the signature
    response = world.api.client.post("/claims", json={"event_name": "x", "footprint_g": 1},
                                     headers={"Authorization": f"Bearer {enterprise.secret}",
                                              "X-Carbon-Participant": str(bank.id),
                                              "X-Carbon-Timestamp": "0",
                                              "X-Carbon-Signature": "AA=="})
    assert_problem(response, 401, "invalid-signature")


# read endpoint -> (path for the fixture, kinds allowed)
def _account_path(f: Fixture) -> str:
    person = f.world.actors["individual"]
    f.points(person)  # reported by the platform
    return f"/carbon-accounts/{person.pseudonym}"


READS: dict[str, tuple[Callable[[Fixture], str], set[str]]] = {
    "carbon account": (_account_path, {"individual", "platform", "registry_operator",
                                       "auditor"}),
    "pledge": (lambda f: f"/pledges/{f.pledge()}", {"bank", "registry_operator", "auditor"}),
    "issuance requests": (lambda f: "/issuance-requests",
                          {"platform", "verifier", "registry_operator", "auditor"}),
    "issuance request": (lambda f: f"/issuance-requests/{f.request()}",
                         {"platform", "verifier", "registry_operator", "auditor"}),
    "trades": (lambda f: "/trades", {"exchange", "registry_operator", "auditor"}),
    "own trade": (lambda f: f"/trades/{uuid4()}", {"exchange"}),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", list(READS))
def test_read_permission_matrix(fixture: Fixture, endpoint: str, kind: str):
    path_of, allowed = READS[endpoint]
    path = path_of(fixture)
    fixture.world.runtime.sync()
    response = fixture.world.api.get(fixture.world.actors[kind], path)
    if kind not in allowed:
        assert_problem(response, 403, "forbidden")
    elif endpoint == "own trade":
        assert_problem(response, 404, "unknown-record")  # not settled (yet)
    else:
        assert response.status_code == 200, response.text
