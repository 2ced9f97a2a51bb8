"""What an operator expects of the running server: /healthz, /readyz, /metrics, request ids
and structured logs (api/operations.py, api/observability.py, api/json_logs.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from anchoring.service import TickStatus
from api import ApiSettings, create_app
from api.commands import RECORD_HEADER
from api.json_logs import ACCESS_LOGGER, JsonFormatter, TextFormatter
from api.metrics import Counter, Histogram
from api.operations import Operations, Probe, sample_ledger
from api.request_context import (
    RequestInfo,
    current_request_id,
    enter_request,
    leave_request,
    request_id_from,
)
from api.writer import Deferred, WriteQueue
from ledger.projections.failures import ProjectionStuckError
from ledger.runtime import LedgerRuntime
from ledger.services import BackgroundServices
from tests.api.support import World
from tests.api.test_projection_stuck import poison

ROOT = Path(__file__).parents[2]
SAFE = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


# ------------------------------------------------------------------ helpers


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The samples of a text exposition, checked as Prometheus reads it: every sample
    belongs to the family whose ``# TYPE`` precedes it, no sample is repeated."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    family: str | None = None
    kind: str | None = None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram"}
            continue
        match = _SAMPLE.match(line)
        assert match, line
        name, _, label_text, value = match.groups()
        assert family is not None and name.startswith(family), (family, line)
        if kind == "histogram":
            assert name[len(family):] in {"_bucket", "_sum", "_count"}, line
        else:
            assert name == family, line
        labels: list[tuple[str, str]] = []
        if label_text:
            consumed = 0
            for label in _LABEL.finditer(label_text):
                assert label.start() == consumed, line
                labels.append((label.group(1), label.group(2)))
                consumed = label.end()
            assert consumed == len(label_text), line
        key = (name, frozenset(labels))
        assert key not in samples, line
        samples[key] = float(value)
    return samples


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return parse_metrics(response.text)


@contextmanager
def app_client(runtime: LedgerRuntime, **options: Any) -> Iterator[TestClient]:
    app = create_app(ApiSettings(ledger=runtime.settings, **options), runtime=runtime)
    with TestClient(app) as client:
        yield client


@contextmanager
def captured(logger_name: str, formatter: logging.Formatter) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(logger_name)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def unprojected(world: World, count: int) -> None:
    """``count`` events recorded and not projected (no sync)."""
    for n in range(count):
        world.ledger.register_participant(kind="enterprise", name=world.unique(f"lag{n}"),
                                          registered_by=world.operator.id)


# ------------------------------------------------------------------ /healthz and /readyz


def test_healthz_answers_without_the_database(world: World, monkeypatch) -> None:
    def down(*_: object, **__: object) -> int:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(world.runtime.projector, "position", down)
    response = world.api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    ready = world.api.client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unready"
    assert body["checks"]["database"]["status"] == "failing"
    assert "connection refused" in body["checks"]["database"]["detail"]
    assert body["checks"]["projector"]["status"] == "failing"


def test_readyz_is_ready_on_a_healthy_ledger(world: World) -> None:
    response = world.api.client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "projector": "ok", "anchoring": "ok"}
    assert all(check["detail"] for check in body["checks"].values())
    assert body["checks"]["projector"]["lag_events"] == 0


def test_readyz_fails_beyond_the_lag_bound_and_recovers(world: World) -> None:
    with app_client(world.runtime, ready_max_lag_events=2) as client:
        unprojected(world, 3)
        response = client.get("/readyz")
        assert response.status_code == 503
        projector = response.json()["checks"]["projector"]
        assert projector["status"] == "failing" and projector["lag_events"] == 3
        assert response.json()["checks"]["database"]["status"] == "ok"
        world.runtime.sync()
        assert client.get("/readyz").status_code == 200


def test_readyz_fails_when_the_oldest_unprojected_event_is_too_old(world: World) -> None:
    with app_client(world.runtime, ready_max_lag_s=30.0) as client:
        unprojected(world, 1)
        assert client.get("/readyz").status_code == 200  # one event, a moment old
        sample = sample_ledger(world.runtime, now=time.time() + 45)
        assert sample.lag_events == 1 and sample.lag_seconds is not None
        assert 45 <= sample.lag_seconds < 60
    with app_client(world.runtime, ready_max_lag_s=0.0) as client:
        unprojected(world, 1)
        time.sleep(0.01)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "old" in response.json()["checks"]["projector"]["detail"]


def test_readyz_fails_while_the_projector_is_stuck(world: World) -> None:
    event = poison(world.runtime, world.actors["platform"].id, world.methodology)
    with pytest.raises(ProjectionStuckError):
        world.runtime.sync()
    response = world.api.client.get("/readyz")
    assert response.status_code == 503
    projector = response.json()["checks"]["projector"]
    assert projector["status"] == "failing"
    assert str(event.originator_id) in projector["detail"]
    assert value(scrape(world.api.client), "carbon_ledger_projector_stuck") == 1


def test_a_hung_database_answers_within_the_timeout_and_holds_one_thread(
        world: World, monkeypatch) -> None:
    release = threading.Event()
    calls = []

    def hung(*_: object, **__: object) -> int:
        calls.append(1)
        release.wait(10)
        return 0

    monkeypatch.setattr(world.runtime.projector, "position", hung)
    probe: Probe | None = None
    try:
        with app_client(world.runtime, ready_timeout_s=0.2) as client:
            probe = client.app.state.operations.probe
            for _ in range(3):
                started = time.monotonic()
                response = client.get("/readyz")
                assert time.monotonic() - started < 2
                assert response.status_code == 503
                assert "no answer within 0.2 s" in response.json()["checks"]["database"][
                    "detail"]
            assert len(calls) == 1  # the later probes waited on the first, started none
    finally:
        release.set()
        # the released sample goes on to query the ledger: not while the fixture closes it
        assert probe is None or probe.settle(5)


def test_probe_shares_a_running_sample() -> None:
    gate = threading.Event()
    samples = []

    def slow() -> Any:
        samples.append(1)
        gate.wait(5)
        from api.operations import LedgerSample
        return LedgerSample(head=1, position=1, lag_seconds=0.0)

    probe = Probe(slow, timeout_s=5)

    async def both() -> list[Any]:
        first = asyncio.ensure_future(probe.sample())
        second = asyncio.ensure_future(probe.sample())
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(first, second))

    results = asyncio.run(both())
    assert len(samples) == 1 and all(r.lag_events == 0 for r in results)


class FakeAnchoring:
    """Stands for ``runtime.anchoring``: its anchorer's tick does what ``tick`` says."""

    def __init__(self) -> None:
        self.tick: Any = lambda: TickStatus("idle", 5, 0)
        self.anchorer = self

    def __call__(self) -> TickStatus:
        return self.tick()


def test_a_failing_chain_degrades_anchoring_without_failing_readiness(
        world: World, monkeypatch) -> None:
    fake = FakeAnchoring()
    monkeypatch.setattr(LedgerRuntime, "anchoring", property(lambda self: fake))
    services = BackgroundServices(world.runtime, anchoring=True)
    monkeypatch.setattr(services.lease, "acquire", lambda: True)
    operations: Operations = world.api.client.app.state.operations  # type: ignore[attr-defined]
    operations.services = services
    client = world.api.client

    fake.tick = lambda: TickStatus("chain-unavailable", 5, 0, error="refused by node")
    assert value(scrape(client), "carbon_ledger_chain_errors_total", kind="unavailable") == 0
    services.anchor_once()
    services.anchor_once()
    response = client.get("/readyz")
    assert response.status_code == 200
    anchoring = response.json()["checks"]["anchoring"]
    assert anchoring["status"] == "degraded" and "refused by node" in anchoring["detail"]
    assert value(scrape(client), "carbon_ledger_chain_errors_total", kind="unavailable") == 2

    def broken() -> TickStatus:
        raise RuntimeError("registry rejected the anchor")

    fake.tick = broken
    services.anchor_once()  # never raises: counted and logged
    assert value(scrape(client), "carbon_ledger_chain_errors_total", kind="failed") == 1
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "registry rejected" in response.json()["checks"]["anchoring"]["detail"]

    fake.tick = lambda: TickStatus("idle", 5, 0)
    services.anchor_once()  # the chain is back
    assert client.get("/readyz").json()["checks"]["anchoring"]["status"] == "ok"


def test_operations_routes_are_public_and_outside_the_body_limits(world: World) -> None:
    client = world.api.client
    big = b"x" * (200 * 1024)  # beyond the anonymous body limit
    for path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path
        assert client.request("GET", path, content=big).status_code == 200, path
    assert client.request("GET", "/supply", content=big).status_code == 413  # others are not
    assert not {"/healthz", "/readyz", "/metrics"} & set(client.get("/openapi.json").json()[
        "paths"])


# ------------------------------------------------------------------ /metrics


def test_a_request_increments_its_route_templates_counter(world: World) -> None:
    client = world.api.client
    participant = world.actors["enterprise"].id
    key = {"method": "GET", "route": "/participants/{participant_id}", "status": "2xx"}
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"/participants/{participant}").status_code == 200
    assert client.get(f"/participants/{world.operator.id}").status_code == 200
    assert client.get("/participants/not-an-id").status_code == 422
    assert client.get("/no/such/route/at/all").status_code == 404
    after = scrape(client)
    counted = "carbon_ledger_http_requests_total"
    assert (value(after, counted, **key) or 0) - (value(before, counted, **key) or 0) == 4
    assert value(after, counted, **{**key, "status": "4xx"}) == 1
    assert value(after, counted, method="GET", route="unmatched", status="4xx") == 1
    # no raw path is ever a label: a label value is a route template or "unmatched"
    routes = {dict(labels).get("route") for name, labels in after if "http" in name}
    assert not any(str(participant) in (route or "") for route in routes)
    assert "/no/such/route/at/all" not in routes
    histogram = "carbon_ledger_http_request_duration_seconds"
    assert value(after, f"{histogram}_count", **key) == value(after, counted, **key)
    assert value(after, f"{histogram}_bucket", **key, le="+Inf") == value(after, counted, **key)
    assert (value(after, f"{histogram}_sum", **key) or 0) > 0
    buckets = sorted(((float(dict(labels)["le"]), v) for (name, labels), v in after.items()
                      if name == f"{histogram}_bucket" and {k: dict(labels).get(k) for k in key}
                      == key), key=lambda item: item[0])
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)  # cumulative
    assert buckets[-1][0] == math.inf


def test_a_write_is_counted_by_method_and_status_class(world: World) -> None:
    client = world.api.client
    response = world.api.post(world.operator, "/claims", json={
        "event_name": "counted", "footprint_g": "1 t"})
    assert response.status_code == 201, response.text
    refused = world.api.post(world.operator, "/claims", json={
        "event_name": "refused", "footprint_g": 1.5})
    assert refused.status_code == 422
    samples = scrape(client)
    assert value(samples, "carbon_ledger_http_requests_total", method="POST", route="/claims",
                 status="2xx") == 1
    assert value(samples, "carbon_ledger_http_requests_total", method="POST", route="/claims",
                 status="4xx") == 1


def test_projector_lag_metrics_reflect_unprojected_events(world: World) -> None:
    client = world.api.client
    samples = scrape(client)
    assert value(samples, "carbon_ledger_projector_lag_events") == 0
    assert value(samples, "carbon_ledger_projector_lag_seconds") == 0
    assert value(samples, "carbon_ledger_database_up") == 1
    unprojected(world, 4)
    time.sleep(0.02)
    samples = scrape(client)
    assert value(samples, "carbon_ledger_projector_lag_events") == 4
    assert 0 < (value(samples, "carbon_ledger_projector_lag_seconds") or 0) < 60
    assert value(samples, "carbon_ledger_projector_stuck") == 0
    world.runtime.sync()
    assert value(scrape(client), "carbon_ledger_projector_lag_events") == 0


def test_anchor_metrics_follow_the_latest_anchor(world: World) -> None:
    client = world.api.client
    anchoring = world.runtime.anchoring
    status: Any = anchoring.anchor_now()
    assert status.state == "anchored"
    samples = scrape(client)
    assert value(samples, "carbon_ledger_anchor_last_tree_size") == status.anchor.tree_size
    assert 0 <= (value(samples, "carbon_ledger_anchor_last_age_seconds") or -1) < 60
    unprojected(world, 2)
    world.runtime.sync()
    status = anchoring.anchor_now()
    assert value(scrape(client), "carbon_ledger_anchor_last_tree_size") == (
        status.anchor.tree_size)
    assert value(samples, "carbon_ledger_db_pool_size", engine="anchoring") is not None


def test_pool_and_writer_queue_gauges(world: World) -> None:
    client = world.api.client
    samples = scrape(client)
    assert value(samples, "carbon_ledger_writer_queue_depth") == 0
    for engine in ("views",):
        assert (value(samples, "carbon_ledger_db_pool_size", engine=engine) or 0) >= 1
        assert value(samples, "carbon_ledger_db_pool_checked_out", engine=engine) == 0
    # a connection held elsewhere shows as checked out
    with world.runtime.engine.connect():
        held = scrape(client)
    assert value(held, "carbon_ledger_db_pool_checked_out", engine="views") == 1


def test_writer_queue_depth_counts_jobs_waiting() -> None:
    gate = threading.Event()

    async def run() -> tuple[int, int]:
        queue = WriteQueue(lambda _: None, threads=1)
        first = asyncio.ensure_future(queue.submit(lambda: gate.wait(5)))
        await asyncio.sleep(0.05)  # taken by the writer, blocked
        waiting = [asyncio.ensure_future(queue.submit(lambda: 1)) for _ in range(3)]
        await asyncio.sleep(0.05)
        depth, running = queue.depth, queue.running
        gate.set()
        await asyncio.gather(first, *waiting)
        return depth, running

    assert asyncio.run(run()) == (3, 1)


def test_metrics_token_guards_the_metrics_when_set(runtime: LedgerRuntime) -> None:
    with app_client(runtime, metrics_token="s3cret-token") as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200 and "carbon_ledger_http_requests_total" in ok.text
        assert client.get("/healthz").status_code == 200  # the probes stay public
        assert client.get("/readyz").status_code == 200


def test_metric_label_values_are_escaped() -> None:
    counter = Counter("x_total", "help", ("route",))
    counter.inc(('a"b\\c\nd',))
    histogram = Histogram("y_seconds", "help", ("route",), buckets=(1.0,))
    histogram.observe(("r",), 2.5)
    samples = parse_metrics(counter.render() + histogram.render())
    assert value(samples, "x_total", route='a\\"b\\\\c\\nd') == 1
    assert value(samples, "y_seconds_bucket", route="r", le="1") == 0
    assert value(samples, "y_seconds_bucket", route="r", le="+Inf") == 1
    assert value(samples, "y_seconds_sum", route="r") == 2.5


# ------------------------------------------------------------------ request ids


def test_a_request_id_is_generated_and_answered(world: World) -> None:
    first = world.api.client.get("/supply").headers["X-Request-Id"]
    second = world.api.client.get("/supply").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.parametrize("sent", ["abc-123", "0af7651916cd43dd8448eb211c80319c",
                                  "trace:9f/ab+c==", "a" * 128])
def test_a_valid_request_id_round_trips(world: World, sent: str) -> None:
    response = world.api.client.get("/supply", headers={"X-Request-Id": sent})
    assert response.headers["X-Request-Id"] == sent
    problem = world.api.client.get("/nowhere", headers={"X-Request-Id": sent})
    assert problem.status_code == 404 and problem.headers["X-Request-Id"] == sent


@pytest.mark.parametrize("sent", ["a" * 129, "has space", "quote\"d", "semi;colon",
                                  "{json}", "tab\tbed", "ümlaut", "%0d%0a"])
def test_an_unsafe_request_id_is_replaced(world: World, sent: str) -> None:
    response = world.api.client.get("/supply", headers={"X-Request-Id": sent.encode()})
    answered = response.headers["X-Request-Id"]
    assert answered != sent and re.fullmatch(r"[0-9a-f]{32}", answered)
    assert len(response.headers.get_list("X-Request-Id")) == 1


@given(st.one_of(st.text(max_size=200), st.binary(max_size=200), st.none(),
                 st.from_regex(SAFE, fullmatch=True)))
def test_request_ids_are_always_safe_tokens(sent: str | bytes | None) -> None:
    chosen = request_id_from(sent)
    assert SAFE.fullmatch(chosen)
    text = sent.decode("latin-1") if isinstance(sent, bytes) else sent
    if text is not None and SAFE.fullmatch(text):
        assert chosen == text
    else:
        assert chosen != text


def test_a_writes_command_record_holds_its_request_id(world: World) -> None:
    response = world.api.post(world.operator, "/claims", json={
        "event_name": "traced", "footprint_g": "2 t"},
        headers={"X-Request-Id": "req-claim-42", "Idempotency-Key": "traced-1"})
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-Id"] == "req-claim-42"
    record = world.ledger.command_record(UUID(response.headers[RECORD_HEADER]))
    assert record.request_id == "req-claim-42"
    generated = world.api.post(world.operator, "/claims", json={
        "event_name": "untraced", "footprint_g": "2 t"})
    record = world.ledger.command_record(UUID(generated.headers[RECORD_HEADER]))
    assert record.request_id == generated.headers["X-Request-Id"]
    # a retry is answered under its own request id; the record keeps the first
    retry = world.api.post(world.operator, "/claims", json={
        "event_name": "traced", "footprint_g": "2 t"},
        headers={"X-Request-Id": "req-claim-43", "Idempotency-Key": "traced-1"})
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["X-Request-Id"] == "req-claim-43"
    assert world.ledger.command_record(UUID(retry.headers[RECORD_HEADER])).request_id == (
        "req-claim-42")


def test_a_command_record_stored_before_request_ids_still_loads(world: World) -> None:
    """A stored version 1 ``Recorded`` (no ``request_id``) is upcast, never rewritten."""
    from ledger.application import CommandContext

    ledger = world.ledger
    context = CommandContext(participant=world.operator.id, command="old",
                             request_sha256="0" * 64, request_id="new-style")
    with ledger.command_context(context):
        ledger.suspend_participant(actor=world.operator.id,
                                   participant_id=world.actors["auditor"].id, reason="old")
    assert context.record_id is not None
    stored = ledger.recorder.select_events(context.record_id)[0]
    state = json.loads(stored.state)
    assert state["request_id"] == "new-style" and state["class_version"] == 2
    del state["request_id"]
    del state["class_version"]
    old = type(stored)(originator_id=uuid4(), originator_version=1, topic=stored.topic,
                       state=json.dumps(state).encode())
    ledger.recorder.insert_events([old])
    assert ledger.mapper.to_domain_event(old).request_id is None  # the event, upcast
    loaded = ledger.command_record(old.originator_id)
    assert loaded.request_id is None
    assert loaded.command == "old" and loaded.participant == str(world.operator.id)
    assert ledger.recorder.select_events(old.originator_id)[0].state == old.state  # as stored
    world.runtime.sync()  # and the read models take it


# ------------------------------------------------------------------ logs


def test_the_access_log_line_is_json_with_the_request_id(world: World) -> None:
    enterprise = world.actors["enterprise"]
    with captured(ACCESS_LOGGER, JsonFormatter()) as stream:
        world.api.get(enterprise, "/me", headers={"X-Request-Id": "req-me-1"})
        world.api.post(world.operator, "/claims", json={
            "event_name": "logged", "footprint_g": "1 t"}, headers={"X-Request-Id": "req-w-1"})
        world.api.client.get("/supply", headers={"X-Request-Id": "req-anon"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_id = {line["request_id"]: line for line in lines}
    me = by_id["req-me-1"]
    assert {"time", "level", "logger", "message", "request_id", "method", "route", "status",
            "duration_ms", "participant"} <= set(me)
    assert (me["level"], me["logger"], me["method"], me["route"], me["status"]) == (
        "INFO", ACCESS_LOGGER, "GET", "/me", 200)
    assert me["participant"] == str(enterprise.id)
    assert isinstance(me["duration_ms"], float) and me["duration_ms"] >= 0
    assert me["time"].endswith("Z")
    write = by_id["req-w-1"]  # authenticated on the writer thread
    assert (write["route"], write["status"], write["participant"]) == (
        "/claims", 201, str(world.operator.id))
    assert "participant" not in by_id["req-anon"]


def test_log_lines_written_while_serving_carry_the_request_id() -> None:
    record = logging.LogRecord("ledger.x", logging.WARNING, __file__, 1, "tick %s", ("t",),
                               None)
    token = enter_request(RequestInfo(request_id="rid-7", method="POST"))
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        leave_request(token)
    assert (line["request_id"], line["logger"], line["level"], line["message"]) == (
        "rid-7", "ledger.x", "WARNING", "tick t")
    assert "request_id" not in json.loads(JsonFormatter().format(record))
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(failed))["exception"]


def test_the_writer_thread_runs_a_job_in_its_requests_context() -> None:
    async def run() -> tuple[Any, Any]:
        queue = WriteQueue(lambda _: None, threads=1)
        token = enter_request(RequestInfo(request_id="rid-writer", method="POST"))
        try:
            seen = await queue.submit(current_request_id)
            finished = await queue.submit(lambda: Deferred(None, current_request_id))
        finally:
            leave_request(token)
        return seen, finished

    assert asyncio.run(run()) == ("rid-writer", "rid-writer")


def test_text_log_fields_cannot_forge_lines() -> None:
    record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, __file__, 1, "GET x 404", (),
                               None)
    record.path = "/a\nINFO forged line"
    text = TextFormatter().format(record)
    assert "\n" not in text and 'path="/a\\nINFO forged line"' in text


def test_serve_logs_json_lines_with_request_ids(tmp_path: Path) -> None:
    """``carbon-ledger serve`` (SQLite): every line on stderr is a JSON object; the access
    line of a request holds its id; /healthz and /readyz answer over HTTP."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON_LEDGER_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "--data-dir", str(tmp_path / "ledger"), "serve",
         "--port", str(port), "--no-anchoring"], cwd=ROOT, env=env,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("carbon-ledger serve did not start")
                time.sleep(0.2)
        assert health.status_code == 200
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz",
                          headers={"X-Request-Id": "serve-ready-1"})
        assert ready.status_code == 200, ready.text
        assert ready.headers["X-Request-Id"] == "serve-ready-1"
    finally:
        server.terminate()
        _, err = server.communicate(timeout=15)
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line.get("request_id") == "serve-ready-1"]
    assert len(access) == 1, err
    assert (access[0]["logger"], access[0]["route"], access[0]["status"]) == (
        ACCESS_LOGGER, "/readyz", 200)
    assert not any(line["logger"] == "uvicorn.access" for line in lines)


def test_settle_waits_for_a_running_sample_and_says_whether_it_ended() -> None:
    gate = threading.Event()

    def slow() -> Any:
        gate.wait(5)
        from api.operations import LedgerSample
        return LedgerSample(head=1, position=1, lag_seconds=0.0)

    probe = Probe(slow, timeout_s=0.05)
    assert probe.settle(0.01)  # nothing running
    first = asyncio.run(probe.sample())
    assert first.error is not None  # timed out, still running
    assert not probe.settle(0.05)
    gate.set()
    assert probe.settle(5)
