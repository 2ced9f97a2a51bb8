"""The integrators' client (``carbon_ledger_client``) against the real app: its calls,
signatures, Idempotency-Keys kept across retries, retries, pagination, typed models and
problems mapped to exceptions."""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

import api.auth
import carbon_ledger_client.signing
from carbon_ledger_client import (
    AuthenticationError,
    CarbonLedgerClient,
    ConnectionFailedError,
    ConsentRequiredError,
    NotFoundError,
    RetryPolicy,
    ServiceUnavailableError,
    ValidationError,
)
from carbon_ledger_client.models import Balance, Mandate, Pledge, Retirement, SerialRange
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import EV, Actor, World
from tests.api.test_serve import ROOT, _free_port

T = 1_000_000
BASE = "http://testserver"
PURPOSE = {"kind": "voluntary"}


class Recording(httpx.BaseTransport):
    """The app's transport, with a plan of faults per attempt: ``"lost"`` runs the request
    on the app then raises (the reply is lost), ``"refused"`` raises before it reaches the
    app, ``503`` answers a database-unavailable problem without running it."""

    def __init__(self, inner: httpx.BaseTransport, plan: list[object] | None = None) -> None:
        self.inner = inner
        self.plan = list(plan or [])
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        fault = self.plan.pop(0) if self.plan else None
        if fault == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == 503:
            return httpx.Response(503, headers={
                "Content-Type": "application/problem+json", "Retry-After": "7"}, json={
                "type": "https://carbon-ledger.dev/problems/database-unavailable",
                "title": "Database unavailable", "status": 503, "code": "database-unavailable",
                "detail": "the database is unreachable", "details": {}})
        response = self.inner.handle_request(request)
        if fault == "lost":
            response.read()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def client_for(world: World, actor: Actor, plan: list[object] | None = None,
               sleeps: list[float] | None = None, attempts: int = 4,
               sign: bool = True) -> tuple[CarbonLedgerClient, Recording]:
    transport = Recording(world.api.client._transport, plan)
    recorded = sleeps if sleeps is not None else []
    client = CarbonLedgerClient(
        BASE, actor.secret, participant=actor.id if sign else None,
        signing_key=actor.key if sign else None, transport=transport,
        retry=RetryPolicy(attempts=attempts), sleep=recorded.append)
    return client, transport


@pytest.fixture
def batch(world: World) -> UUID:
    """10 t held by the enterprise."""
    return world.project_batch(world.actors["enterprise"], "10 t")


def test_the_signer_is_defined_once_in_the_client_and_the_server_verifies_with_it():
    assert api.auth.canonical_string is carbon_ledger_client.signing.canonical_string
    assert api.auth.sign_request is carbon_ledger_client.signing.sign_request
    assert api.auth.SIGNATURE_VERSION == "CARBON-LEDGER-SIG-V2"
    server = Path(api.auth.__file__).read_text()
    assert "def canonical_string" not in server and "def sign_request" not in server


def test_the_client_package_imports_only_httpx_cryptography_and_the_standard_library():
    package = Path(carbon_ledger_client.signing.__file__).parent
    allowed = {"httpx", "cryptography", "carbon_ledger_client", "__future__"}
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or top in sys.stdlib_module_names, (module.name, name)


def test_an_exchange_and_a_bank_work_through_the_client(world: World, batch: UUID):
    """Mandates, listing, settlement, balances, retirement and its certificate, pledges
    released and enforced, a transfer: every main integrator call, signed, typed."""
    enterprise, exchange, bank = (world.actors[k] for k in ("enterprise", "exchange", "bank"))
    buyer = world.actors["platform"]
    holder, _ = client_for(world, enterprise)
    market, market_wire = client_for(world, exchange)
    lender, _ = client_for(world, bank)
    purchaser, _ = client_for(world, buyer)

    mandate = holder.grant_mandate(agent=exchange.id, scope="listing", max_quantity_g="4 t")
    assert isinstance(mandate, Mandate)
    assert (mandate.agent, mandate.status, mandate.remaining_g) == (exchange.id, "active", 4 * T)
    assert [m.id for m in market.received_mandates()] == [mandate.id]

    listing = market.list_for_sale(batch_id=batch, seller=enterprise.id, listing_ref="L 1-é",
                                   quantity_g="3 t")
    assert (listing.listed_g, listing.status, listing.listing_ref) == (3 * T, "open", "L 1-é")
    settled = market.settle_trades([{
        "trade_ref": "T-1", "listing_ref": "L 1-é", "batch_id": str(batch),
        "seller": str(enterprise.id), "buyer": str(buyer.id), "quantity_g": "2 t",
        "price_per_tonne": "80.50", "currency": "CNY"}])
    assert (settled.settled, settled.failed, settled.results[0].replayed) == (1, 0, False)
    assert market.trade("T-1").quantity_g == 2 * T
    assert market.cancel_listing("L 1-é", batch_id=batch).status == "cancelled"
    assert all("X-Carbon-Signature" in r.headers for r in market_wire.sent)

    balances = list(purchaser.balances())
    assert balances == [Balance(batch_id=batch, block=balances[0].block, available_g=2 * T,
                                escrowed_g=0, pledged_g=0, retired_g=0, tokenised_g=0,
                                exported_g=0, cancelled_g=0)]
    retirement = purchaser.retire(batch_id=batch, quantity_g=500_000, beneficiary="Wuhan Metro",
                                  jurisdiction="CN-HB", consumption_period="2024",
                                  purpose=PURPOSE)
    assert isinstance(retirement, Retirement) and retirement.quantity_g == 500_000
    assert isinstance(retirement.serials[0], SerialRange)
    assert retirement.holder.id == buyer.id and retirement.purpose == "voluntary"
    assert purchaser.retirement(retirement.id) == retirement
    with pytest.raises(Exception) as unavailable:
        purchaser.retirement_certificate(retirement.id)
    assert getattr(unavailable.value, "code", None) == "certificate-unavailable"
    world.runtime.anchoring.anchor_now()
    certificate = purchaser.retirement_certificate(retirement.id)
    assert certificate["record"]["quantity_g"] == 500_000

    transfer = purchaser.transfer(batch_id=batch, recipient=enterprise.id, quantity_g="1 t")
    assert (transfer.sender, transfer.recipient, transfer.quantity_g) == (
        buyer.id, enterprise.id, T)

    holder.grant_mandate(agent=bank.id, scope="pledge")
    released = lender.register_pledge(batch_id=batch, holder=enterprise.id, bank=bank.id,
                                      loan_reference="LOAN-1", quantity_g="1 t")
    assert isinstance(released, Pledge) and released.locked
    assert lender.release_pledge(released.id).status == "released"
    enforced = lender.register_pledge(batch_id=batch, holder=enterprise.id, bank=bank.id,
                                      loan_reference="LOAN-2", quantity_g="1 t")
    assert lender.enforce_pledge(enforced.id).status == "enforced"
    assert {p.id: p.status for p in lender.pledges()} == {released.id: "released",
                                                          enforced.id: "enforced"}
    assert world.balance(bank, batch)["available"] == T
    assert lender.batch(batch).supply.retired_g == 500_000
    assert [b.id for b in lender.batches()] == [batch]


def test_a_platform_reports_behaviours_and_a_rereport_is_rejected_per_item(world: World):
    platform = world.actors["platform"]
    client, wire = client_for(world, platform, sign=False)  # platforms need not sign
    behaviours = [{"person": f"p-{n}", "methodology_code": EV[0], "methodology_version": EV[1],
                   "act_identity": f"charger:A|{n}", "activity_amount": "10",
                   "occurred_at": "2024-06-01T08:00:00Z", "platform_ref": f"r-{n}"}
                  for n in range(3)]
    first = client.report_behaviours(behaviours)
    assert (first.accepted, first.rejected) == (3, 0)
    assert [r.reduction_g for r in first.results] == [6_000] * 3  # 10 kWh at 600 g
    assert all(isinstance(r.behaviour_id, UUID) for r in first.results)
    again = client.report_behaviours(behaviours[:1])  # a new call: a new key, re-reported
    assert (again.accepted, again.rejected) == (0, 1)
    error = again.results[0].error
    assert error is not None and error.code == "duplicate-behaviour"
    assert error.details and again.results[0].behaviour_id is None
    assert "X-Carbon-Signature" not in wire.sent[0].headers
    assert len({r.headers["Idempotency-Key"] for r in wire.sent}) == 2


def test_pagination_follows_next_cursor_through_every_page(world: World, batch: UUID):
    enterprise = world.actors["enterprise"]
    client, wire = client_for(world, enterprise)
    made = [client.retire(batch_id=batch, quantity_g=1_000 + n, beneficiary=f"B{n}",
                          jurisdiction="CN", consumption_period="2024", purpose=PURPOSE).id
            for n in range(5)]
    wire.sent.clear()
    pages = list(client.pages("/retirements", Retirement, limit=2))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert pages[-1].next_cursor is None
    assert sorted(r.id for p in pages for r in p.items) == sorted(made)
    assert [r.id for r in client.retirements(limit=2)] == [r.id for p in pages for r in p.items]
    assert [r.url.params.get("cursor") for r in wire.sent][:3] == [
        None, pages[0].next_cursor, pages[1].next_cursor]


def test_a_write_whose_reply_is_lost_is_retried_with_its_key_and_applied_once(
        world: World, batch: UUID):
    enterprise, buyer = world.actors["enterprise"], world.actors["platform"]
    sleeps: list[float] = []
    client, wire = client_for(world, enterprise, plan=["lost", "lost"], sleeps=sleeps)
    transfer = client.transfer(batch_id=batch, recipient=buyer.id, quantity_g="1 t")
    assert transfer.quantity_g == T
    keys = [r.headers["Idempotency-Key"] for r in wire.sent]
    assert len(keys) == 3 and len(set(keys)) == 1  # one logical call, one key
    assert world.balance(buyer, batch)["available"] == T  # applied once, not three times
    assert len(sleeps) == 2
    client.transfer(batch_id=batch, recipient=buyer.id, quantity_g="1 t")
    assert wire.sent[-1].headers["Idempotency-Key"] != keys[0]  # the next call: a new key
    assert world.balance(buyer, batch)["available"] == 2 * T


def test_a_pinned_key_replays_the_first_answer_across_clients(world: World, batch: UUID):
    enterprise, buyer = world.actors["enterprise"], world.actors["platform"]
    first, _ = client_for(world, enterprise)
    again, _ = client_for(world, enterprise)  # e.g. after a restart of the integrator
    a = first.transfer(batch_id=batch, recipient=buyer.id, quantity_g="1 t",
                       idempotency_key="order-42")
    b = again.transfer(batch_id=batch, recipient=buyer.id, quantity_g="1 t",
                       idempotency_key="order-42")
    assert a == b
    assert world.balance(buyer, batch)["available"] == T


def test_503_waits_for_retry_after_then_succeeds_and_gives_up_after_the_attempts(
        world: World, batch: UUID):
    enterprise = world.actors["enterprise"]
    sleeps: list[float] = []
    client, wire = client_for(world, enterprise, plan=[503], sleeps=sleeps)
    assert [b.batch_id for b in client.balances()] == [batch]
    assert sleeps == [7.0] and len(wire.sent) == 2
    stubborn, wire = client_for(world, enterprise, plan=[503] * 3, attempts=3)
    with pytest.raises(ServiceUnavailableError) as raised:
        stubborn.me()
    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (
        503, "database-unavailable", 7.0)
    assert len(wire.sent) == 3


def test_connection_errors_are_retried_then_reported(world: World):
    enterprise = world.actors["enterprise"]
    sleeps: list[float] = []
    client, wire = client_for(world, enterprise, plan=["refused"], sleeps=sleeps)
    assert client.me()["participant"]["id"] == str(enterprise.id)
    assert len(wire.sent) == 2 and len(sleeps) == 1 and 0.5 <= sleeps[0] <= 0.75
    down, wire = client_for(world, enterprise, plan=["refused"] * 2, attempts=2)
    with pytest.raises(ConnectionFailedError):
        down.me()
    assert len(wire.sent) == 2


@pytest.mark.parametrize(("call", "error", "status", "code"), [
    (lambda c, b, w: c.list_for_sale(batch_id=b, seller=w.actors["enterprise"].id,
                                     listing_ref="GRAB", quantity_g="1 t"),
     ConsentRequiredError, 403, "consent-required"),
    (lambda c, b, w: c.batch(uuid4()), NotFoundError, 404, "unknown-batch"),
    (lambda c, b, w: c.list_for_sale(batch_id=b, seller=w.actors["enterprise"].id,
                                     listing_ref="X", quantity_g="1.5 g"),
     ValidationError, 422, None),
])
def test_problems_become_exceptions_with_their_fields_and_are_not_retried(
        world: World, batch: UUID, call: Callable, error: type, status: int,
        code: str | None):
    exchange = world.actors["exchange"]
    sleeps: list[float] = []
    client, wire = client_for(world, exchange, sleeps=sleeps)
    with pytest.raises(error) as raised:
        call(client, batch, world)
    problem = raised.value
    assert problem.status == status and problem.detail
    if code is not None:
        assert problem.code == code
    if status == 403:
        assert problem.details["holder"] == str(world.actors["enterprise"].id)
        assert problem.details["scope"] == "listing"
    assert len(wire.sent) == 1 and sleeps == []


def test_a_wrong_key_or_signature_is_an_authentication_error(world: World):
    exchange = world.actors["exchange"]
    client, _ = client_for(world, exchange)
    client.api_key = "cl_nokey_nosecret"
    with pytest.raises(AuthenticationError) as raised:
        client.me()
    assert raised.value.code == "invalid-api-key"
    unsigned, _ = client_for(world, exchange, sign=False)
    with pytest.raises(AuthenticationError) as raised:
        unsigned.grant_mandate(agent=world.actors["bank"].id, scope="pledge")
    assert raised.value.code == "signature-required"


def test_over_http_the_client_retries_until_carbon_ledger_serve_is_up(storage: str,
                                                                       tmp_path: Path):
    """A real server and the network: the first attempt is refused (no server yet); the
    retry, after the server is started, is signed afresh and succeeds."""
    data = tmp_path / "ledger"
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        world = World.create(runtime, None)  # type: ignore[arg-type]
        enterprise, platform = world.actors["enterprise"], world.actors["platform"]
        batch = world.project_batch(enterprise, "10 t")
    port = _free_port()
    servers: list[subprocess.Popen] = []

    def start_server(_: float) -> None:
        if servers:
            return
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "ledger.cli", "--data-dir", str(data), "serve", "--port",
             str(port), "--log-level", "warning"], cwd=ROOT))
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/supply", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or servers[0].poll() is not None:
                    pytest.fail("carbon-ledger serve did not start")
                time.sleep(0.2)

    client = CarbonLedgerClient(f"http://127.0.0.1:{port}", enterprise.secret,
                                participant=enterprise.id, signing_key=enterprise.key,
                                retry=RetryPolicy(attempts=2), sleep=start_server)
    try:
        with client:
            transfer = client.transfer(batch_id=batch, recipient=platform.id, quantity_g="1 t")
            assert servers and transfer.quantity_g == T
            assert [b.available_g for b in client.balances()] == [9 * T]
            retirement = client.retire(batch_id=batch, quantity_g="2 t", beneficiary="Metro",
                                       jurisdiction="CN-HB", consumption_period="2024",
                                       purpose=PURPOSE)
            assert client.retirement(retirement.id) == retirement
            assert client.me()["signed"] is True
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


@pytest.mark.parametrize("wrong", [1.5, 1e6, True, "1000"])
def test_a_model_refuses_a_quantity_that_is_not_an_integer(wrong: object):
    """Grams stay integers end to end: a float, a boolean or text where the API promises an
    integer is refused, never rounded."""
    from carbon_ledger_client.models import from_json

    row = {"batch_id": str(uuid4()), "block": "HBCER-2024-000001", "available_g": 10,
           "escrowed_g": 0, "pledged_g": 0, "retired_g": 0, "tokenised_g": 0,
           "exported_g": 0, "cancelled_g": 0}
    assert from_json(Balance, row).available_g == 10
    with pytest.raises(TypeError):
        from_json(Balance, {**row, "available_g": wrong})
