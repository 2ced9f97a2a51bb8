"""What an operator asks of a running server: ``/healthz``, ``/readyz`` and ``/metrics``.

All three are public (no API key), outside the OpenAPI document, and cheap: a handful of
indexed single-row queries at most, run off the event loop and given at most
``ready_timeout_s`` to answer.

* ``GET /healthz``: the process is up and its event loop answers. Always 200, no database.
* ``GET /readyz``: may this process take traffic? 200 when every check is ``ok`` (or only
  ``degraded``), else 503; the body lists each check with ``status`` and ``detail``:

  - ``database``: the read models and the event store answer (one single-row query each)
    within the timeout;
  - ``projector``: the read models are not stuck before an event they cannot apply
    (``runtime.projection_failure``: writes are refused meanwhile), and they lag the event
    log by at most ``ready_max_lag_events`` events and ``ready_max_lag_s`` seconds (the
    age of the oldest event not yet projected);
  - ``anchoring``: the anchorer's last tick reached the chain. Anchoring is not needed to
    serve: the ledger records and answers without it, and the Merkle log anchors every
    event later, when the chain is back. So a failing chain is ``degraded`` and never makes
    the process unready; it is alerted on through the metrics (``chain_errors_total``,
    ``anchor_last_age_seconds``).

* ``GET /metrics``: the Prometheus text format (:mod:`api.metrics`). Public like the rest
  unless ``CARBON_LEDGER_METRICS_TOKEN`` is set: then it needs ``Authorization: Bearer
  <token>``. The metrics name no participant, only route templates and counts; serve them on
  an internal port or set the token when the API is exposed.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.metrics import CONTENT_TYPE, Sample, render_family
from api.observability import HttpMetrics
from api.writer import WriteQueue
from ledger.runtime import LedgerRuntime
from ledger.services import BackgroundServices

__all__ = ["OPERATIONS_PATHS", "LedgerSample", "Operations", "Probe", "router", "sample_ledger"]

# Never read a body: the body limits leave them alone (api/limits.py).
OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

Status = Literal["ok", "degraded", "failing"]


@dataclass(frozen=True)
class LedgerSample:
    """The ledger's state as sampled for ``/readyz`` and ``/metrics``."""

    error: str | None = None  # the database did not answer
    head: int | None = None  # the last position of the event log
    position: int | None = None  # the position the read models reached
    lag_seconds: float | None = None  # age of the oldest unprojected event (0: none)
    anchor_tree_size: int | None = None
    anchor_age_s: float | None = None

    @property
    def lag_events(self) -> int | None:
        if self.head is None or self.position is None:
            return None
        return max(0, self.head - self.position)


def sample_ledger(runtime: LedgerRuntime, now: float | None = None) -> LedgerSample:
    """Sample the ledger (blocking; a few single-row queries)."""
    now = time.time() if now is None else now
    try:
        position = runtime.projector.position()
        head = runtime.ledger.recorder.max_notification_id() or 0
        lag_seconds: float | None = 0.0
        if head > position:
            lag_seconds = _oldest_unprojected_age(runtime, position, now)
    except Exception as error:  # any failure to answer is the database's, for readiness
        return LedgerSample(error=f"{type(error).__name__}: {error}"[:300])
    tree_size = age = None
    anchoring = runtime.anchoring_if_open
    if anchoring is not None:
        try:
            latest = anchoring.anchorer.latest_anchor()
        except Exception:  # the anchors' store is the anchoring check's concern
            latest = None
        if latest is not None:
            tree_size = latest.tree_size
            age = max(0.0, now - latest.submitted_at.timestamp())
    return LedgerSample(head=head, position=position, lag_seconds=lag_seconds,
                        anchor_tree_size=tree_size, anchor_age_s=age)


def _oldest_unprojected_age(runtime: LedgerRuntime, position: int, now: float) -> float | None:
    notifications = runtime.ledger.recorder.select_notifications(start=position + 1, limit=1)
    if not notifications:
        return 0.0
    try:
        event = runtime.ledger.mapper.to_domain_event(notifications[0])
    except Exception:  # e.g. the event the projector is stuck on: its age is unknown
        return None
    return max(0.0, now - event.timestamp.timestamp())


class Probe:
    """Samples the ledger on a worker thread, waiting at most ``timeout_s``. While a sample
    is still running (a database that hangs), the next callers share it instead of
    starting more: a hung database holds one thread, not one per probe."""

    def __init__(self, sample: Callable[[], LedgerSample], timeout_s: float) -> None:
        self._sample = sample
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._running: Future[LedgerSample] | None = None

    def _start(self) -> Future[LedgerSample]:
        with self._lock:
            if self._running is not None and not self._running.done():
                return self._running
            future: Future[LedgerSample] = Future()
            self._running = future

        def run() -> None:
            try:
                future.set_result(self._sample())
            except BaseException as error:
                future.set_exception(error)

        threading.Thread(target=run, name="readiness-probe", daemon=True).start()
        return future

    def settle(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a sample still running to end; whether none is left.
        Called before the ledger it samples is closed: a query on a connection closed under
        it can crash the process (SQLite)."""
        with self._lock:
            running = self._running
        if running is None:
            return True
        try:
            running.exception(timeout=timeout_s)  # waits; a sample's own error is no matter
        except TimeoutError:
            return False
        return True

    async def sample(self) -> LedgerSample:
        future = asyncio.wrap_future(self._start())
        try:
            return await asyncio.wait_for(asyncio.shield(future), self.timeout_s)
        except TimeoutError:
            return LedgerSample(error=f"no answer within {self.timeout_s:g} s")


@dataclass(frozen=True)
class Check:
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "detail": self.detail, **self.data}


def _database(sample: LedgerSample) -> Check:
    if sample.error is not None:
        return Check("failing", f"the database does not answer: {sample.error}")
    return Check("ok", "the read models and the event store answer")


def _projector(runtime: LedgerRuntime, sample: LedgerSample, max_events: int,
               max_seconds: float) -> Check:
    failure = runtime.projection_failure
    if failure is not None:
        return Check("failing", f"the read models are stuck before an event they cannot "
                     f"apply: {failure.describe()}")
    lag = sample.lag_events
    if lag is None:
        return Check("failing", "the projector's position is unknown (no database)")
    data: dict[str, Any] = {"lag_events": lag, "lag_seconds": sample.lag_seconds}
    if lag > max_events:
        return Check("failing", f"the read models lag {lag} events behind the log (at most "
                     f"{max_events})", data)
    if sample.lag_seconds is not None and sample.lag_seconds > max_seconds:
        return Check("failing", f"the oldest event not yet projected is "
                     f"{sample.lag_seconds:.1f} s old (at most {max_seconds:g} s)", data)
    return Check("ok", f"{lag} events not yet projected", data)


def _anchoring(services: BackgroundServices | None) -> Check:
    if services is None or not services.anchoring:
        return Check("ok", "this process does not anchor")
    if services.last_anchor_error is not None:
        return Check("degraded", "anchoring is failing (the ledger serves on; events are "
                     f"anchored once it recovers): {services.last_anchor_error}")
    if not services.is_anchorer:
        return Check("ok", "another process holds the anchorer lease")
    return Check("ok", "the last anchoring tick reached the chain")


router = APIRouter(include_in_schema=False)


def _state(request: Request) -> tuple[LedgerRuntime, Operations]:
    return request.app.state.runtime, request.app.state.operations


@dataclass
class Operations:
    """What the operations routes need of an app (``app.state.operations``)."""

    probe: Probe
    http: HttpMetrics
    writes: WriteQueue
    max_lag_events: int
    max_lag_s: float
    metrics_token: str | None = None
    services: BackgroundServices | None = None


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    runtime, ops = _state(request)
    sample = await ops.probe.sample()
    checks = {"database": _database(sample),
              "projector": _projector(runtime, sample, ops.max_lag_events, ops.max_lag_s),
              "anchoring": _anchoring(ops.services)}
    ready = all(check.status != "failing" for check in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unready",
         "checks": {name: check.body() for name, check in checks.items()}},
        status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


def _gauge(name: str, help_text: str, value: float | None,
           labels: tuple[tuple[str, str], ...] = ()) -> str:
    samples: list[Sample] = [] if value is None else [(name, labels, value)]
    return render_family(name, "gauge", help_text, samples)


def _pools(runtime: LedgerRuntime) -> str:
    engines = {"views": runtime.engine, "reader": runtime.reader}
    anchoring = runtime.anchoring_if_open
    if anchoring is not None:
        engines["anchoring"] = anchoring.engine
    used: list[Sample] = []
    size: list[Sample] = []
    seen: set[int] = set()
    for name, engine in engines.items():
        pool = engine.pool
        if id(pool) in seen:
            continue
        seen.add(id(pool))
        if callable(getattr(pool, "checkedout", None)):
            used.append(("carbon_ledger_db_pool_checked_out", (("engine", name),),
                         pool.checkedout()))  # type: ignore[attr-defined]
        if callable(getattr(pool, "size", None)):
            size.append(("carbon_ledger_db_pool_size", (("engine", name),),
                         pool.size()))  # type: ignore[attr-defined]
    return (render_family("carbon_ledger_db_pool_checked_out", "gauge",
                          "database connections in use, by SQLAlchemy engine", used)
            + render_family("carbon_ledger_db_pool_size", "gauge",
                            "database connections kept by the pool, by SQLAlchemy engine",
                            size))


def _authorized(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    sent = request.headers.get("authorization", "")
    return sent[:7].lower() == "bearer " and hmac.compare_digest(
        sent[7:].encode(), token.encode())


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    runtime, ops = _state(request)
    if not _authorized(request, ops.metrics_token):
        return Response("metrics need the metrics token\n", status_code=401,
                        media_type="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    sample = await ops.probe.sample()
    services = ops.services
    chain_errors: list[Sample] = []
    if services is not None:
        chain_errors = [("carbon_ledger_chain_errors_total", (("kind", kind),), count)
                        for kind, count in sorted(services.chain_errors.items())]
    text = "".join([
        ops.http.render(),
        _gauge("carbon_ledger_database_up", "1 if the database answered the last sample",
               0 if sample.error else 1),
        _gauge("carbon_ledger_projector_lag_events",
               "events recorded but not yet projected into the read models",
               sample.lag_events),
        _gauge("carbon_ledger_projector_lag_seconds",
               "age of the oldest event not yet projected, seconds (0: none)",
               sample.lag_seconds),
        _gauge("carbon_ledger_projector_stuck",
               "1 while the read models are stuck before an event they cannot apply",
               1 if runtime.projection_failure is not None else 0),
        _gauge("carbon_ledger_anchor_last_tree_size",
               "tree size of the latest recorded anchor", sample.anchor_tree_size),
        _gauge("carbon_ledger_anchor_last_age_seconds",
               "seconds since the latest recorded anchor was submitted", sample.anchor_age_s),
        render_family("carbon_ledger_chain_errors_total", "counter",
                      "anchoring ticks that failed, by kind (unavailable: the chain did not "
                      "answer; failed: the tick raised)", chain_errors),
        _gauge("carbon_ledger_writer_queue_depth",
               "write requests waiting for a writer thread", ops.writes.depth),
        _gauge("carbon_ledger_writer_threads", "writer threads running", ops.writes.running),
        _pools(runtime),
    ])
    return Response(text, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
