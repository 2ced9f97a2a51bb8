"""Webhooks: subscriptions, signed deliveries to a local receiver, retries in order,
replays, and no event a subscriber may not see."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from api.webhooks import DeliveryWorker, WebhookSettings
from ledger.leases import Lease
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import Actor, World, assert_problem
from tests.api.test_feed import pledge, retire

T = 1_000_000


@dataclass
class Receiver:
    """A local HTTP server answering with ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.url + "/redirected")
            self.end_headers()

        def do_GET(self) -> None:  # where a followed redirect would land
            state.received.append((dict(self.headers), b"GET " + self.path.encode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield state
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


HOOKS = WebhookSettings(allowed_hosts=frozenset({"127.0.0.1"}), retry_base_s=10.0,
                        timeout_s=5.0)


@pytest.fixture
def world(runtime: LedgerRuntime) -> Iterator[World]:
    app = create_app(ApiSettings(ledger=runtime.settings, webhooks=HOOKS), runtime=runtime)
    with TestClient(app) as client:
        yield World.create(runtime, client)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(world: World, clock: Clock) -> DeliveryWorker:
    app = world.api.client.app
    store = app.state.webhooks  # type: ignore[attr-defined]
    store.clock = clock
    return DeliveryWorker(world.runtime, store, HOOKS, clock=clock)


def subscribe(world: World, actor: Actor, url: str, types: list[str],
              after: int | None = 0) -> dict[str, Any]:
    response = world.api.post(actor, "/webhooks",
                              json={"url": url, "event_types": types, "after": after})
    assert response.status_code == 201, response.text
    return response.json()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers["Carbon-Ledger-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["Carbon-Ledger-Signature"], f"v1={expected}")


def test_a_delivery_is_signed_with_the_subscription_secret(world: World, receiver: Receiver,
                                                            worker: DeliveryWorker):
    enterprise = world.actors["enterprise"]
    hook = subscribe(world, enterprise, receiver.url, ["retirements", "issuances"])
    assert hook["secret"].startswith("whsec_")
    listed = world.api.get(enterprise, "/webhooks").json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    batch = world.project_batch(enterprise)
    retirement = retire(world, enterprise, batch)
    assert worker.tick() == 2
    assert [e["type"] for e in receiver.events()] == ["batch.issued", "credits.retired"]
    headers, body = receiver.received[1]
    assert verify(hook["secret"], headers, body)
    assert not verify("whsec_other", headers, body)
    assert headers["Carbon-Ledger-Webhook-Id"] == hook["id"]
    assert headers["Carbon-Ledger-Event-Type"] == "credits.retired"
    event = json.loads(body)
    assert event["payload"]["retirement_id"] == retirement["id"]
    assert headers["Carbon-Ledger-Position"] == str(event["position"])
    assert worker.tick() == 0  # delivered once; the cursor moved on
    state = world.api.get(enterprise, f"/webhooks/{hook['id']}").json()
    assert state["cursor"] == world.runtime.ledger.recorder.max_notification_id()


def test_a_failing_receiver_gets_the_events_in_order_after_retries(
        world: World, receiver: Receiver, worker: DeliveryWorker, clock: Clock):
    enterprise = world.actors["enterprise"]
    hook = subscribe(world, enterprise, receiver.url, ["retirements"])
    batch = world.project_batch(enterprise)
    retire(world, enterprise, batch, 1)
    retire(world, enterprise, batch, 2)
    receiver.statuses = [500, 503]
    assert worker.tick() == 0  # first attempt fails: 500
    assert worker.tick() == 0  # not due yet: backing off
    clock.now += 10
    assert worker.tick() == 0  # second attempt fails: 503; next in 20 s
    clock.now += 10
    assert worker.tick() == 0
    clock.now += 10
    assert worker.tick() == 2  # third attempt succeeds, then the next event
    quantities = [e["payload"]["quantity_g"] for e in receiver.events()]
    assert quantities == [1 * T, 1 * T, 1 * T, 2 * T]  # the first event thrice, then the 2nd
    log = world.api.get(enterprise, f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert [(d["attempt"], d["succeeded"], d["status_code"]) for d in log] == [
        (1, False, 500), (2, False, 503), (3, True, 200), (1, True, 200)]
    positions = [d["position"] for d in log]
    assert positions[:3] == [positions[0]] * 3 and positions[3] > positions[0]


def test_an_unreachable_receiver_is_retried_with_backoff(world: World, worker: DeliveryWorker,
                                                         clock: Clock):
    enterprise = world.actors["enterprise"]
    hook = subscribe(world, enterprise, "http://127.0.0.1:9/nothing", ["issuances"])
    world.project_batch(enterprise)
    worker.tick()
    clock.now += 10
    worker.tick()
    state = world.api.get(enterprise, f"/webhooks/{hook['id']}").json()
    assert state["failures"] == 2 and state["cursor"] == 0
    log = world.api.get(enterprise, f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert [d["succeeded"] for d in log] == [False, False] and log[0]["error"]


def test_replay_delivers_again_from_a_position(world: World, receiver: Receiver,
                                               worker: DeliveryWorker):
    enterprise = world.actors["enterprise"]
    hook = subscribe(world, enterprise, receiver.url, ["retirements"])
    batch = world.project_batch(enterprise)
    for tonnes in (1, 2, 3):
        retire(world, enterprise, batch, tonnes)
    assert worker.tick() == 3
    second = receiver.events()[1]["position"]
    replayed = world.api.post(enterprise, f"/webhooks/{hook['id']}/replay",
                              params={"from": second})
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["cursor"] == second - 1
    assert worker.tick() == 2
    assert [e["payload"]["quantity_g"] for e in receiver.events()] == [
        1 * T, 2 * T, 3 * T, 2 * T, 3 * T]


def test_a_subscriber_never_receives_events_it_may_not_see(
        world: World, receiver: Receiver, worker: DeliveryWorker):
    enterprise, bank = world.actors["enterprise"], world.actors["bank"]
    other_bank = world.register("bank")
    everything = ["settlements", "pledges", "retirements", "issuances", "transfers",
                  "listings"]
    theirs = subscribe(world, other_bank, receiver.url + "/other", everything)
    ours = subscribe(world, bank, receiver.url + "/bank", everything)
    batch = world.project_batch(enterprise)
    made = pledge(world, enterprise, bank, batch)
    assert world.api.post(enterprise, "/transfers", json={
        "batch_id": str(batch), "recipient": str(world.actors["platform"].id),
        "quantity_g": "1 t"}).status_code == 201
    retire(world, enterprise, batch)
    worker.tick()
    by_hook: dict[str, list[str]] = {}
    for headers, body in receiver.received:
        by_hook.setdefault(headers["Carbon-Ledger-Webhook-Id"], []).append(
            json.loads(body)["type"])
    assert by_hook[theirs["id"]] == ["batch.issued", "credits.retired"]
    assert by_hook[ours["id"]] == ["batch.issued", "pledge.registered", "credits.retired"]
    assert made["id"] not in b"".join(
        body for headers, body in receiver.received
        if headers["Carbon-Ledger-Webhook-Id"] == theirs["id"]).decode()


def test_subscriptions_belong_to_their_participant(world: World, receiver: Receiver):
    bank, exchange = world.actors["bank"], world.actors["exchange"]
    hook = subscribe(world, bank, receiver.url, ["pledges"])
    for response in (world.api.get(exchange, f"/webhooks/{hook['id']}"),
                     world.api.get(exchange, f"/webhooks/{hook['id']}/deliveries"),
                     world.api.post(exchange, f"/webhooks/{hook['id']}/replay",
                                    params={"from": 1}),
                     world.api.delete(exchange, f"/webhooks/{hook['id']}")):
        assert_problem(response, 404, "unknown-record")
    assert world.api.get(exchange, "/webhooks").json() == []
    assert_problem(world.api.get(None, "/webhooks"), 401, "invalid-api-key")
    # banks sign their writes, here too
    assert_problem(world.api.post(bank, "/webhooks", sign=False, json={
        "url": receiver.url + "/x", "event_types": ["pledges"]}), 401, "signature-required")
    # one subscription per URL: a retried request does not make a second one
    assert_problem(world.api.post(bank, "/webhooks", json={
        "url": receiver.url, "event_types": ["pledges"]}), 409, "duplicate-record")
    deleted = world.api.delete(bank, f"/webhooks/{hook['id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == hook["id"]
    assert world.api.get(bank, "/webhooks").json() == []


@pytest.mark.parametrize("url", [
    "ftp://example.com/hook", "http://user:pw@example.com/hook", "https:///nohost",
    "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook", "http://localhost/hook", "http://[::ffff:192.168.0.1]/hook",
    "http://0.0.0.0/hook", "https://example.com/a b"])
def test_urls_that_are_not_public_receivers_are_refused(world: World, url: str):
    problem = assert_problem(world.api.post(world.actors["bank"], "/webhooks", json={
        "url": url, "event_types": ["pledges"]}), 422, "validation-error")
    assert problem["details"]["field"] == "url"


def test_unknown_event_types_are_refused(world: World, receiver: Receiver):
    for types in ([], ["pledges", "secrets"]):
        assert_problem(world.api.post(world.actors["bank"], "/webhooks", json={
            "url": receiver.url, "event_types": types}), 422, "validation-error")


def test_subscriptions_survive_a_restart(world: World, receiver: Receiver, tmp_path: Path):
    bank = world.actors["bank"]
    hook = subscribe(world, bank, receiver.url, ["pledges"], after=None)
    assert hook["cursor"] == world.runtime.ledger.recorder.max_notification_id()
    runtime = world.runtime
    again = create_app(ApiSettings(ledger=runtime.settings, webhooks=HOOKS), runtime=runtime)
    with TestClient(again) as client:
        listed = client.get("/webhooks", headers={"Authorization": f"Bearer {bank.secret}"})
    assert [h["id"] for h in listed.json()] == [hook["id"]]


def test_the_server_delivers_in_the_background(storage: str, tmp_path: Path,
                                               receiver: Receiver):
    settings = ApiSettings(ledger=Settings(data_dir=tmp_path / "served"), anchoring=False,
                           webhooks=replace(HOOKS, interval_s=0.05))
    app = create_app(settings)
    with TestClient(app) as client:
        world = World.create(app.state.runtime, client)
        enterprise = world.actors["enterprise"]
        subscribe(world, enterprise, receiver.url, ["issuances"])
        batch = world.project_batch(enterprise)
        deadline = time.monotonic() + 20
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e["aggregate_id"] for e in receiver.events()] == [str(batch)]
        lease = Lease(app.state.runtime.engine, "webhooks")
        assert lease.current_holder() is not None  # the serving process holds it
        assert not lease.acquire()  # a second process would not deliver


def test_the_destination_is_checked_again_at_each_delivery(world: World, receiver: Receiver,
                                                          clock: Clock):
    enterprise = world.actors["enterprise"]
    hook = subscribe(world, enterprise, receiver.url, ["issuances"])
    world.project_batch(enterprise)
    store = world.api.client.app.state.webhooks  # type: ignore[attr-defined]
    # the operator withdrew the allowance (or the name now points inside): nothing is sent
    strict = DeliveryWorker(world.runtime, store, replace(HOOKS, allowed_hosts=frozenset()),
                            clock=clock)
    assert strict.tick() == 0 and receiver.received == []
    [attempt] = world.api.get(enterprise, f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert not attempt["succeeded"] and "non-public address" in attempt["error"]


def test_a_redirect_is_a_failure_never_followed(world: World, receiver: Receiver,
                                                worker: DeliveryWorker):
    enterprise = world.actors["enterprise"]
    hook = subscribe(world, enterprise, receiver.url, ["issuances"])
    world.project_batch(enterprise)
    receiver.statuses = [302]
    assert worker.tick() == 0
    assert len(receiver.received) == 1  # the Location was not requested
    [attempt] = world.api.get(enterprise, f"/webhooks/{hook['id']}/deliveries").json()["items"]
    assert (attempt["succeeded"], attempt["status_code"]) == (False, 302)
