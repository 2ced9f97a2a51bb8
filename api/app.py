"""``create_app(settings)``: the HTTP API of one ledger.

Run it with ``carbon-ledger serve`` (uvicorn), or in tests with
``TestClient(create_app(settings, runtime=runtime))`` on a ledger built in the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial

from fastapi import FastAPI

from api.auth import Authenticator
from api.docs_pages import install_docs_pages
from api.explorer import install_explorer
from api.idempotency import IdempotencyStore
from api.limits import BodyLimits
from api.observability import HttpMetrics, Observability
from api.openapi import install_openapi
from api.operations import OPERATIONS_PATHS, Operations, Probe, sample_ledger
from api.operations import router as operations_router
from api.outages import UnfinishedAnswers
from api.problems import install_problem_handlers
from api.routers import ROUTERS
from api.settings import ApiSettings
from api.webhooks import DeliveryWorker, WebhookStore
from api.writer import WriteQueue
from ledger.gc_tuning import tune_gc
from ledger.projections.failures import ProjectionStuckError
from ledger.runtime import LedgerRuntime
from ledger.services import BackgroundServices

__all__ = ["create_app", "create_app_from_env"]

DESCRIPTION = """\
Carbon-inclusion (碳普惠) credits: behaviours reported by platforms, issuance, trading,
pledges and retirement, on an event-sourced ledger.

* Quantities are integers of **grams CO2e** (`quantity_g`; 1 t = 1,000,000 g). Requests may
  give a quantity as text with a unit instead (`"2,000 t"`); floats are refused.
* Public reads need no credentials. Everything else is done as one participant,
  authenticated by its API key (`Authorization: Bearer cl_...`). Banks, exchanges and
  registry operators also sign their writes (see the `RequestSignature` scheme).
* Writes take an `Idempotency-Key` header: a retry with the same key and request returns the
  first response (`Idempotent-Replayed: true`); the same key with another request is a 422
  problem. Behaviour reports and trade settlements are also idempotent item by item.
* Errors are RFC 9457 `application/problem+json`; `type` is stable per failure.
* Lists are paginated with opaque cursors that later rows never shift.
"""

TAGS = [
    {"name": "participants", "description": "Directory; registration by registry operators"},
    {"name": "me", "description": "The authenticated participant: balances, carbon account"},
    {"name": "methodologies", "description": "方法学: versioned, regional"},
    {"name": "behaviours", "description": "低碳行为, reported in bulk by platforms"},
    {"name": "carbon accounts", "description": "碳账户 of persons"},
    {"name": "issuance", "description": "归集 -> 核证 -> 签发"},
    {"name": "batches", "description": "Credit batches, supply, serials; cancellations, "
     "corrections, imports"},
    {"name": "holdings", "description": "Transfers and exports"},
    {"name": "exchanges", "description": "Listings in escrow and trade settlement"},
    {"name": "pledges", "description": "质押: collateral locked for banks"},
    {"name": "retirements", "description": "注销: the public retirement register"},
    {"name": "claims", "description": "Neutrality claims"},
    {"name": "feed", "description": "The event feed: pages and Server-Sent Events"},
    {"name": "webhooks", "description": "Signed deliveries of the feed to a participant's URL"},
    {"name": "downloads", "description": "CSV and XLSX of the public registers, with the "
     "filters of their lists"},
    {"name": "tokens", "description": "RWA tokenisation: locks, mints with proofs, the watcher"},
]


def create_app(settings: ApiSettings, runtime: LedgerRuntime | None = None) -> FastAPI:
    """The API of the ledger ``settings.ledger``, opened on startup with its background
    services (projector follower, anchorer) and closed on shutdown; or of ``runtime``, which
    the caller keeps open, follows and closes."""

    def attach(app: FastAPI, ledger: LedgerRuntime) -> None:
        # A stuck projector is logged by it, naming the event. The API still starts: reads
        # answer from the rows projected so far, writes are refused (503) until resolved.
        with suppress(ProjectionStuckError):
            ledger.sync()
        store = IdempotencyStore(ledger.engine, ledger.reader)
        store.create_table()
        webhooks = WebhookStore(ledger.engine)
        webhooks.create_tables()
        app.state.webhooks = webhooks
        app.state.webhook_settings = settings.webhooks
        app.state.public_base_url = settings.public_base_url
        app.state.runtime = ledger
        app.state.authenticator = Authenticator(ledger, settings)
        app.state.idempotency = store
        app.state.unfinished = UnfinishedAnswers()  # applied writes' answers, for retries
        # PostgreSQL commands wait on the network: several writers overlap those waits.
        app.state.writes = WriteQueue(ledger.sync, threads=4 if ledger.settings.is_postgres
                                      else 1, lock=ledger.write_lock)
        app.state.operations = Operations(  # /readyz, /metrics (api/operations.py)
            probe=Probe(partial(sample_ledger, ledger), settings.ready_timeout_s), http=http,
            writes=app.state.writes, max_lag_events=settings.ready_max_lag_events,
            max_lag_s=settings.ready_max_lag_s, metrics_token=settings.metrics_token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:
            yield
            return
        with LedgerRuntime(settings.ledger) as opened:
            attach(app, opened)
            services = BackgroundServices(opened, anchoring=settings.anchoring)
            app.state.operations.services = services
            services.start()  # follow other processes' writes; anchor while holding the lease
            deliverer = DeliveryWorker(opened, app.state.webhooks, settings.webhooks)
            if settings.deliver_webhooks:
                deliverer.start()  # delivers while holding the ``webhooks`` lease
            tune_gc()  # a server process: started up, so its objects can be frozen
            try:
                yield
            finally:
                deliverer.stop()
                services.stop()
                # a readiness sample still running must not meet the ledger closing under it
                app.state.operations.probe.settle(settings.ready_timeout_s + 5)

    http = HttpMetrics()
    app = FastAPI(title="carbon-ledger", version="0.1.0", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # served without a CDN: api/docs_pages.py
    if runtime is not None:
        attach(app, runtime)
    install_problem_handlers(app)
    app.add_middleware(BodyLimits, max_bytes=settings.max_body_bytes,  # type: ignore[arg-type]
                       max_anonymous_bytes=settings.max_anonymous_body_bytes,
                       max_depth=settings.max_json_depth, exempt_paths=OPERATIONS_PATHS)
    # Outermost: request ids, metrics and the access log see every request.
    app.add_middleware(Observability, metrics=http)  # type: ignore[arg-type]
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(operations_router)
    install_explorer(app)
    install_docs_pages(app)
    install_openapi(app)
    return app


def create_app_from_env() -> FastAPI:
    """The app configured by the environment (for ``uvicorn --factory`` worker processes)."""
    return create_app(ApiSettings.from_env())
