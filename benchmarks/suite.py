"""The benchmarks. Each returns :class:`~benchmarks.measure.Result` rows; every throughput is
reported beside a baseline measured in the same run on the same machine (plain inserts into
the same database, plain SHA-256), so the ledger's overhead shows as a ratio."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from anchoring.certificate import build_retirement_certificate, verify_certificate
from anchoring.log import MerkleLog
from anchoring.trust import trust_anchors_of
from benchmarks.api_load import (
    Scenario,
    bulk_ingestion,
    prepare,
    run_wrk,
    scenarios,
    serving,
    wrk_path,
)
from benchmarks.data import Cast, behaviour_batches, make_cast, project_batch
from benchmarks.measure import Progress, Result, percentile, timed
from benchmarks.one_batch import REFERENCE_HOLDERS, one_batch_rates
from ledger.application import TradeInstruction
from ledger.bulk_import import import_behaviours
from ledger.projections.database import make_engine
from ledger.runtime import LedgerRuntime, Settings

__all__ = ["BenchConfig", "Suite"]

ROW_STATE = b'{"payload":"' + b"x" * 280 + b'"}'  # about the size of a behaviour event
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class BenchConfig:
    quick: bool
    backends: list[str]
    work_dir: Path
    database_url: str = DEFAULT_PG
    progress: bool = True
    scale: int | None = None  # --scale N: only the ingestion curve, up to N behaviours

    @property
    def behaviours(self) -> int:
        if self.scale is not None:
            return self.scale
        return 20_000 if self.quick else 1_000_000

    @property
    def trades(self) -> int:
        return 300 if self.quick else 5_000

    @property
    def single_commands(self) -> int:
        return 300 if self.quick else 3_000

    @property
    def merkle_sizes(self) -> list[int]:
        return [100_000] if self.quick else [1_000_000, 10_000_000]

    @property
    def api_seconds(self) -> int:
        """How long wrk drives each API scenario."""
        return 3 if self.quick else 15

    @property
    def api_bulk_behaviours(self) -> int:
        return 20_000 if self.quick else 200_000

    @property
    def one_batch_holders(self) -> int:
        return 1_000 if self.quick else 100_000

    @property
    def one_batch_retired_before(self) -> int:
        """Retirements (of a gram, by one holder) on the batch before the larger run's
        measures."""
        return 1_000 if self.quick else 100_000

    @property
    def one_batch_commands(self) -> int:
        return 200 if self.quick else 2_000

    @property
    def people(self) -> int:
        return 5_000 if self.quick else 200_000


def _transfers_per_second(runtime: LedgerRuntime, cast: Cast, holder: UUID, batch: UUID,
                          count: int) -> float:
    """``count`` transfers of 1 kg from ``holder`` to the buyers in turn, one command each."""
    with timed() as t:
        for i in range(count):
            runtime.ledger.transfer(actor=holder, batch_id=batch,
                                    recipient=cast.buyers[i % len(cast.buyers)], quantity=1_000)
    return count / t.seconds


def _checkpoints(total: int) -> list[int]:
    """Where the ingestion rate is sampled: 10,000 behaviours, then four points a decade
    (17,783, 31,623, 56,234, 100,000, ...), and the end; each sample is the rate over the
    window since the previous one."""
    marks, k = [], 0
    while (mark := round(10_000 * 10 ** (k / 4))) < total:
        marks.append(mark)
        k += 1
    return [*marks, total]


class Suite:
    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.results: list[Result] = []
        self.curves: dict[str, list[tuple[int, float]]] = {}

    def add(self, result: Result) -> Result:
        self.results.append(result)
        print(f"  {result.backend:<8} {result.name:<44} {result.value:>14,.2f} {result.unit}"
              + (f"  (baseline {result.baseline:,.0f}, ratio {result.ratio:.3f})"
                 if result.ratio is not None else ""), flush=True)
        return result

    # ------------------------------------------------------------------ environments

    @contextmanager
    def settings(self, backend: str, name: str) -> Iterator[Settings]:
        """A fresh ledger's settings: its own data directory, and on PostgreSQL its own
        schema, dropped afterwards."""
        data_dir = self.config.work_dir / f"{backend}-{name}-{uuid.uuid4().hex[:6]}"
        if backend == "sqlite":
            yield Settings(data_dir=data_dir, database_url=None)
            return
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        try:
            yield Settings(data_dir=data_dir, database_url=self.config.database_url,
                           database_schema=schema)
        finally:
            self._drop_schema(schema)

    @contextmanager
    def ledger(self, backend: str, name: str) -> Iterator[LedgerRuntime]:
        with self.settings(backend, name) as settings, LedgerRuntime(settings) as runtime:
            yield runtime

    def _drop_schema(self, schema: str) -> None:
        import psycopg

        with psycopg.connect(self.config.database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    # ------------------------------------------------------------------ baselines

    def baseline_sha256(self, count: int = 1_000_000) -> float:
        leaf = b"\x00" + b"y" * 360
        with timed() as t:
            for _ in range(count):
                hashlib.sha256(leaf).digest()
        return self.add(Result("sha256 of a 360-byte leaf", "cpu", count / t.seconds,
                               "hashes/s")).value

    def baseline_inserts(self, backend: str, count: int) -> float:
        """Plain batched inserts of event-sized rows into the same kind of database."""
        rows = [(uuid.uuid4().hex, 1, "bench:Event", ROW_STATE) for _ in range(count)]
        if backend == "sqlite":
            path = self.config.work_dir / f"baseline-{uuid.uuid4().hex[:6]}.sqlite"
            db = sqlite3.connect(path)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version "
                       "INTEGER, topic TEXT, state BLOB, PRIMARY KEY (originator_id, "
                       "originator_version))")
            with timed() as t:
                for i in range(0, count, 5000):
                    db.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)",
                                   rows[i : i + 5000])
                    db.commit()
            db.close()
        else:
            import psycopg

            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(self.config.database_url, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
                conn.execute(f'CREATE TABLE "{schema}".stored_events (originator_id uuid, '
                             "originator_version int, topic text, state bytea, "
                             "notification_id bigserial, PRIMARY KEY (originator_id, "
                             "originator_version))")
            try:
                with psycopg.connect(self.config.database_url) as conn, timed() as t:
                    for i in range(0, count, 5000):
                        with conn.cursor() as cur:
                            cur.executemany(
                                f'INSERT INTO "{schema}".stored_events (originator_id, '
                                "originator_version, topic, state) VALUES (%s, %s, %s, %s)",
                                rows[i : i + 5000])
                        conn.commit()
            finally:
                self._drop_schema(schema)
        return self.add(Result("plain batched inserts (baseline)", backend, count / t.seconds,
                               "rows/s")).value

    # ------------------------------------------------------------------ ledger

    def ingestion(self, backend: str, baseline: float, *, then_rebuild: bool = True) -> None:
        """Behaviours through the application in bulk calls, with duplicate detection; the
        rate is sampled as the ledger grows. Then (unless ``then_rebuild`` is false) the
        projection rebuild, storage and the Merkle catch-up of the ledger it made."""
        total, size = self.config.behaviours, 5_000
        with self.ledger(backend, "ingest") as runtime:
            ledger = runtime.ledger
            cast = make_cast(ledger)
            accepted = rejected = 0
            curve: list[tuple[int, float]] = []
            progress = Progress(f"ingest ({backend})", total, self.config.progress)
            marks = iter(_checkpoints(total))
            mark = next(marks)
            seconds = window_seconds = 0.0  # in the ledger's calls only, not generating data
            window_count = 0
            for platform, reports in behaviour_batches(total, size, self.config.people,
                                                       len(cast.platforms)):
                started = time.perf_counter()
                results = ledger.report_behaviours(platform=cast.platforms[platform],
                                                   reports=reports)
                took = time.perf_counter() - started
                seconds += took
                window_seconds += took
                good = sum(r.accepted for r in results)
                accepted += good
                rejected += len(results) - good
                window_count += len(results)
                progress.advance(len(results))
                if accepted + rejected >= mark:
                    curve.append((accepted, window_count / window_seconds))
                    if not progress.enabled:  # a log file: one line per sample
                        print(f"    {backend}: {accepted:,} accepted, "
                              f"{curve[-1][1]:,.0f} behaviours/s", flush=True)
                    window_seconds, window_count = 0.0, 0
                    mark = next(marks, total + 1)
            progress.close()
            self.curves[f"ingest-{backend}"] = curve
            rate = total / seconds
            target = 5_500 if backend == "sqlite" else 15_000
            self.add(Result("behaviours ingested (application, bulk)", backend, rate,
                            "behaviours/s", baseline, "plain batched inserts",
                            f">= {target:,}/s", rate >= target,
                            {"accepted": accepted, "duplicates_rejected": rejected,
                             "seconds": seconds}))
            events = runtime.ledger.recorder.max_notification_id() or 0
            self.add(Result("events stored by bulk ingestion", backend, events / seconds,
                            "events/s", baseline, "plain batched inserts"))
            if then_rebuild:
                self.rebuild(runtime, backend, baseline)
                self.storage(runtime, backend, accepted)  # the rebuild built the read models
                self.merkle_catch_up(runtime, backend)
            if len(curve) >= 2:
                first, last = curve[0][1], curve[-1][1]
                self.add(Result(f"ingestion rate at {curve[-1][0]:,} vs {curve[0][0]:,} "
                                "behaviours", backend, last / first, "ratio",
                                target=">= 0.8", met=last / first >= 0.8,
                                extra={"first": first, "last": last}))

    def bulk_import(self, backend: str, baseline: float) -> None:
        """The same generated reports written to a JSON-lines file (not timed), then loaded
        by ``carbon-ledger import-behaviours`` (:mod:`ledger.bulk_import`) with one process
        per CPU, into a fresh ledger: the bulk load of a platform's history."""
        processes = os.cpu_count() or 1
        with self.ledger(backend, "import") as runtime:
            cast = make_cast(runtime.ledger)
            platform = cast.platforms[0]
            source = runtime.settings.data_dir / "reports.jsonl"
            with source.open("w", encoding="utf-8") as out:
                for _, reports in behaviour_batches(self.config.behaviours, 5_000,
                                                    self.config.people, 1):
                    for r in reports:
                        occurred = r.occurred_at
                        out.write(json.dumps({
                            "person": r.person, "methodology_code": r.methodology_code,
                            "methodology_version": r.methodology_version,
                            "act_identity": r.act_identity,
                            "activity_amount": r.activity_amount,
                            "occurred_at": occurred if isinstance(occurred, str)
                            else occurred.isoformat(),
                            "platform_ref": r.platform_ref}) + "\n")
            summary = import_behaviours(runtime.settings.event_store_env(), platform, source,
                                        source.with_suffix(".results.jsonl"),
                                        processes=processes)
        target = 15_000 if backend == "postgres" else 5_500
        self.add(Result(f"behaviours ingested (bulk import, {processes} processes)", backend,
                        summary.per_second, "behaviours/s", baseline, "plain batched inserts",
                        f">= {target:,}/s", summary.per_second >= target,
                        {"accepted": summary.accepted, "rejected": summary.rejected,
                         "seconds": summary.seconds}))

    def storage(self, runtime: LedgerRuntime, backend: str, behaviours: int) -> None:
        if backend != "sqlite":
            return
        data = runtime.settings.data_dir
        sizes = {name: sum(p.stat().st_size for p in data.glob(f"{name}*"))
                 for name in ("events.sqlite", "views.sqlite", "merkle.sqlite")}
        self.add(Result("storage per behaviour (event store)", backend,
                        sizes["events.sqlite"] / behaviours, "bytes"))
        self.add(Result("storage per behaviour (event store + read models)", backend,
                        (sizes["events.sqlite"] + sizes["views.sqlite"]) / behaviours,
                        "bytes"))

    def rebuild(self, runtime: LedgerRuntime, backend: str, baseline: float) -> None:
        with timed() as t:
            events = runtime.projector.rebuild()
        rate = events / t.seconds
        self.add(Result("projection rebuild", backend, rate, "events/s", baseline,
                        "plain batched inserts", ">= 40,000/s", rate >= 40_000,
                        {"events": events}))

    def merkle_catch_up(self, runtime: LedgerRuntime, backend: str) -> None:
        anchoring = runtime.anchoring
        with timed() as t:
            appended = anchoring.merkle_log.catch_up()
        if appended:
            rate = appended / t.seconds
            self.add(Result("Merkle leaves appended (ledger events)", backend, rate,
                            "leaves/s", target=">= 100,000/s", met=rate >= 100_000))

    def single_commands(self, backend: str) -> None:
        """Transfers from one writer, one command each."""
        count = self.config.single_commands
        with self.ledger(backend, "single") as runtime:
            ledger = runtime.ledger
            cast = make_cast(ledger)
            batch = self._project_batch(runtime, cast, 10**12)
            rate = _transfers_per_second(runtime, cast, cast.platforms[0], batch, count)
            self.add(Result("single commands (transfer), one writer", backend, rate,
                            "commands/s", target=">= 1,000/s" if backend == "postgres" else None,
                            met=rate >= 1_000 if backend == "postgres" else None))
            self.trades(runtime, backend, cast, batch)
            self._single_commands_in_a_larger_ledger(runtime, backend, cast)

    def _single_commands_in_a_larger_ledger(self, runtime: LedgerRuntime, backend: str,
                                            cast: Cast) -> None:
        """The same transfers, on a new batch, once the ledger also holds many behaviours (a
        tenth of the ingestion run's): a command's cost must not grow with the event store
        (on PostgreSQL a save's read-set check once did, planned as a scan of the table). A
        new batch, so that the first batch's history (which fragments the holdings the
        domain copies for each command) does not weigh on this figure."""
        ledger = runtime.ledger
        behaviours = self.config.behaviours // 10
        for platform, reports in behaviour_batches(behaviours, 5_000, self.config.people,
                                                   len(cast.platforms)):
            ledger.report_behaviours(platform=cast.platforms[platform], reports=reports)
        holder = cast.platforms[1]  # the first platform's claim covers the first batch's period
        batch = self._project_batch(runtime, cast, 10**12, platform=holder)
        rate = _transfers_per_second(runtime, cast, holder, batch, self.config.single_commands)
        self.add(Result(f"single commands (transfer), one writer, after {behaviours:,} "
                        "behaviours", backend, rate, "commands/s",
                        target=">= 1,000/s" if backend == "postgres" else None,
                        met=rate >= 1_000 if backend == "postgres" else None))

    def _project_batch(self, runtime: LedgerRuntime, cast: Cast, grams: int,
                       platform: UUID | None = None) -> UUID:
        """A project batch of ``grams`` held by ``platform`` (default: the first)."""
        return project_batch(runtime.ledger, cast, grams, platform or cast.platforms[0])

    def one_batch(self, backend: str) -> None:
        """Transfers and retirements on one batch at 100 holders, then at many holders and
        many retirements (issue #17), with the first as the second's baseline."""
        reference: dict[str, float] = {}
        for holders in (REFERENCE_HOLDERS, self.config.one_batch_holders):
            with self.ledger(backend, f"one-batch-{holders}") as runtime:
                rows, rates = one_batch_rates(
                    runtime, backend, holders, self.config.one_batch_commands,
                    reference or None,
                    retired_before=self.config.one_batch_retired_before if reference else 0)
            for row in rows:
                self.add(row)
            reference = reference or rates

    def trades(self, runtime: LedgerRuntime, backend: str, cast: object, batch: UUID) -> None:
        ledger = runtime.ledger
        count = self.config.trades
        seller = cast.platforms[0]  # type: ignore[attr-defined]
        exchange = cast.exchange  # type: ignore[attr-defined]
        if not any(m["agent"] == str(exchange) and m["scope"] == "listing" and not m["revoked"]
                   for m in ledger.participant(seller).mandates.values()):
            ledger.grant_mandate(actor=seller, agent=exchange, scope="listing")  # its consent
        ledger.list_for_sale(actor=exchange, batch_id=batch, seller=seller, listing_ref="BENCH",
                             quantity=count * 1_000)
        trades = [TradeInstruction(
            trade_ref=f"T{i}", listing_ref="BENCH", batch_id=batch, seller=seller,
            buyer=cast.buyers[i % 8], quantity=1_000,  # type: ignore[attr-defined]
            price_per_tonne="50", currency="CNY") for i in range(count)]
        with timed() as t:
            for start in range(0, count, 100):
                ledger.settle_trades(actor=exchange, trades=trades[start : start + 100])
        self.add(Result("trades settled (bulk calls of 100)", backend, count / t.seconds,
                        "trades/s"))
        self.certificates(runtime, backend, cast, batch)

    def certificates(self, runtime: LedgerRuntime, backend: str, cast: object,
                     batch: UUID) -> None:
        ledger = runtime.ledger
        holder = cast.buyers[0]  # type: ignore[attr-defined]
        retirement = ledger.retire(actor=holder, batch_id=batch, quantity=1_000,
                                   beneficiary="bench", purpose="voluntary",
                                   jurisdiction="CN", consumption_period="2025")
        runtime.sync()
        anchoring = runtime.anchoring
        anchoring.anchor_now()
        builds, verifies = [], []
        for _ in range(30):
            with timed() as t:
                cert = build_retirement_certificate(runtime, anchoring.merkle_log,
                                                    anchoring.anchorer, retirement)
            builds.append(t.seconds * 1000)
            with timed() as t:
                checks = verify_certificate(cert, anchoring.chain,
                                            trust_anchors_of(anchoring))
            verifies.append(t.seconds * 1000)
            if not all(c.ok for c in checks):
                raise RuntimeError("benchmark certificate did not verify")
        self.add(Result("certificate build (p50)", backend, statistics.median(builds), "ms"))
        self.add(Result("certificate verify incl. chain read (p50)", backend,
                        statistics.median(verifies), "ms"))

    def concurrent_writers(self, backend: str, processes: int = 4) -> None:
        """Several OS processes reporting behaviours at once into one ledger."""
        per_process = self.config.behaviours // 10
        with self.ledger(backend, "concurrent") as runtime:
            make_cast(runtime.ledger)
            settings = runtime.settings
            before = runtime.ledger.recorder.max_notification_id() or 0
            args = [sys.executable, "-m", "benchmarks.writer", str(settings.data_dir),
                    settings.database_url or "", settings.database_schema, str(per_process)]
            workers = [subprocess.Popen([*args, str(i)], env={**os.environ}, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                       for i in range(processes)]
            try:
                for worker in workers:  # timed from when all have started (imports, caches)
                    if worker.stdout is None or worker.stdout.readline().strip() != "ready":
                        raise RuntimeError("a benchmark writer failed to start")
                with timed() as t:
                    for worker in workers:
                        assert worker.stdin is not None
                        worker.stdin.write("go\n")
                        worker.stdin.close()
                    for worker in workers:
                        if worker.wait() != 0:
                            raise RuntimeError("a benchmark writer failed")
            finally:
                for worker in workers:
                    if worker.poll() is None:
                        worker.kill()
                        worker.wait()
            events = (runtime.ledger.recorder.max_notification_id() or 0) - before
            rate = events / t.seconds
            target = 5_000 if backend == "postgres" else None
            self.add(Result(f"events/s from {processes} concurrent writer processes", backend,
                            rate, "events/s", target=f">= {target:,}/s" if target else None,
                            met=rate >= target if target else None))

    # ------------------------------------------------------------------ HTTP API

    def api(self, backend: str) -> None:
        """``carbon-ledger serve`` in its own process: bulk ingestion through ``POST
        /behaviours``, then each main call under 32 concurrent connections (wrk)."""
        with self.settings(backend, "api") as settings:
            fixture = prepare(settings, self._project_batch)
            with serving(settings) as url:
                rate, accepted = bulk_ingestion(url, fixture, self.config.api_bulk_behaviours,
                                                self.config.people, self.config.progress)
                target = 5_500 if backend == "sqlite" else 15_000
                self.add(Result("behaviours ingested (bulk HTTP endpoint)", backend, rate,
                                "behaviours/s", target=f">= {target:,}/s", met=rate >= target,
                                extra={"accepted": accepted}))
                if wrk_path() is None:
                    print("  wrk is not installed (apt-get install wrk): API latency under "
                          "load not measured", flush=True)
                    return
                for scenario in scenarios(fixture):
                    self._api_scenario(backend, url, scenario)

    def _api_scenario(self, backend: str, url: str, scenario: Scenario) -> None:
        figures = run_wrk(url, scenario, self.config.api_seconds)
        name = scenario.name
        gated = backend == "sqlite" and scenario.command
        extra = {"p50_ms": figures.p50_ms, "requests": figures.requests,
                 "failures": figures.failures}
        self.add(Result(f"API {name}, 32 clients", backend, figures.requests_per_s,
                        "requests/s", target=">= 500/s" if gated else None,
                        met=figures.requests_per_s >= 500 if gated else None, extra=extra))
        self.add(Result(f"API {name}, p50", backend, figures.p50_ms, "ms"))
        self.add(Result(f"API {name}, p99", backend, figures.p99_ms, "ms",
                        target="< 50 ms" if gated else None,
                        met=figures.p99_ms < 50 if gated else None))
        if figures.failures:
            self.add(Result(f"API {name}, failed requests", backend, figures.failures,
                            "requests", target="0", met=False))

    # ------------------------------------------------------------------ Merkle log at scale

    def merkle_at_scale(self) -> None:
        """Append N synthetic events straight into a SQLite event store (the ledger path is
        measured above), then time the Merkle log catching up and inclusion proofs."""
        for size in self.config.merkle_sizes:
            directory = self.config.work_dir / f"merkle-{size}"
            directory.mkdir(parents=True, exist_ok=True)
            events = directory / "events.sqlite"
            db = sqlite3.connect(events)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS stored_events (originator_id TEXT, "
                       "originator_version INTEGER, topic TEXT, state BLOB, PRIMARY KEY "
                       "(originator_id, originator_version))")
            progress = Progress(f"synthetic events {size:,}", size, self.config.progress)
            for start in range(0, size, 50_000):
                db.executemany("INSERT INTO stored_events VALUES (?, 1, 'bench:Event', ?)",
                               [(uuid.uuid4().hex, ROW_STATE)
                                for _ in range(min(50_000, size - start))])
                db.commit()
                progress.advance(min(50_000, size - start))
            progress.close()
            db.close()
            from ledger.application import Ledger

            ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                 "SQLITE_DBNAME": str(events)})
            engine = make_engine(f"sqlite:///{directory / 'merkle.sqlite'}")
            log = MerkleLog(ledger, engine)
            with timed() as t:
                appended = log.catch_up()
            rate = appended / t.seconds
            self.add(Result(f"Merkle leaves appended durably ({size:,} leaves)", "sqlite",
                            rate, "leaves/s", target=">= 100,000/s", met=rate >= 100_000))
            cold = MerkleLog(ledger, engine)  # a fresh instance: proofs read from storage
            rng = random.Random(size)
            indexes = [rng.randrange(size) for _ in range(2_000)]
            latencies = []
            for index in indexes:
                with timed() as t:
                    cold.inclusion_proof(index, size)
                latencies.append(t.seconds * 1000)
            cached = []  # the same proof again: every node it needs is in memory
            for index in indexes[:500]:
                cold.inclusion_proof(index, size)
                with timed() as t:
                    cold.inclusion_proof(index, size)
                cached.append(t.seconds * 1000)
            p99 = percentile(latencies, 99)
            self.add(Result(f"inclusion proof from storage p99 ({size:,} leaves)", "sqlite",
                            p99, "ms", target="< 2 ms", met=p99 < 2,
                            extra={"p50": percentile(latencies, 50)}))
            cached_p99 = percentile(cached, 99)
            self.add(Result(f"inclusion proof cached p99 ({size:,} leaves)", "sqlite",
                            cached_p99, "ms", target="< 0.1 ms", met=cached_p99 < 0.1,
                            extra={"p50": percentile(cached, 50)}))
            size_bytes = (directory / "merkle.sqlite").stat().st_size
            self.add(Result(f"Merkle log storage per leaf ({size:,} leaves)", "sqlite",
                            size_bytes / size, "bytes"))
            ledger.close()
            engine.dispose()
