"""The benchmarks run in quick mode in CI, so they never rot."""

from __future__ import annotations

import os
import shutil

from benchmarks.run import run
from tests.conftest import database_url_for_tests, postgres_unavailable_reason, require_postgres


def test_quick_benchmarks_run_and_report(tmp_path):
    backends = ["sqlite"]
    if postgres_unavailable_reason() is None:
        backends.append("postgres")
    elif os.environ.get("CARBON_LEDGER_REQUIRE_POSTGRES") == "1":
        require_postgres()  # fails: PostgreSQL is mandatory here
    report = tmp_path / "BENCHMARKS.md"
    results = run(quick=True, backends=backends, output=report,
                  database_url=database_url_for_tests(), work_dir=tmp_path / "work")
    names = {(r.backend, r.name) for r in results}
    for backend in backends:
        assert (backend, "behaviours ingested (application, bulk)") in names
        assert (backend, "projection rebuild") in names
    ingest = next(r for r in results if r.name.startswith("behaviours ingested"))
    assert ingest.extra["duplicates_rejected"] > 0  # the generated load has duplicates
    assert ingest.baseline and ingest.ratio and ingest.ratio > 0
    for backend in backends:  # the file import by several processes: every line answered
        imported = next(r for r in results if r.backend == backend
                        and r.name.startswith("behaviours ingested (bulk import"))
        assert imported.extra["accepted"] + imported.extra["rejected"] == 20_000
        assert imported.extra["rejected"] > 0
    for backend in backends:
        http = next(r for r in results
                    if (r.backend, r.name) == (backend, "behaviours ingested (bulk HTTP endpoint)"))
        assert 0 < http.extra["accepted"] < 20_000  # through the server, duplicates refused
    if shutil.which("wrk"):  # the API under 32 concurrent connections
        loads = [r for r in results if r.name.endswith(", 32 clients")]
        assert {r.backend for r in loads} == set(backends)
        assert all(r.extra["requests"] > 0 and r.extra["failures"] == 0 for r in loads)
        assert any(r.name.startswith("API report one behaviour") and r.target for r in loads)
    for backend in backends:  # one batch: 100 holders, then more, with the ratio between
        assert (backend, "one batch: one holder's 1,000 retirements of 1 g at 1,000 holders") \
            in names
        for kind in ("transfers", "retirements", "one holder's retirements",
                     "pledges and releases", "settlements"):
            reference = next(r for r in results if (r.backend, r.name)
                             == (backend, f"one batch: {kind} at 100 holders"))
            many = next(r for r in results if (r.backend, r.name) == (
                backend, f"one batch: {kind} at 1,000 holders and 1,000 retirements"))
            assert reference.value > 0 and many.baseline == reference.value
            assert many.ratio is not None and many.met == (many.ratio >= 0.8)
    assert "| sqlite | behaviours ingested" in report.read_text()
    assert (tmp_path / "benchmarks-throughput.svg").read_text().startswith("<svg")


def test_the_settlement_probe_counts_one_insert_and_one_read_a_settlement(tmp_path):
    """``python -m benchmarks.focus settlements``: the exchange's role is the one read of a
    settlement (its buyer is read with its holdings), and the probe reports it."""
    from benchmarks.focus import settlement_rate
    from benchmarks.suite import BenchConfig, Suite

    suite = Suite(BenchConfig(quick=True, backends=["sqlite"], work_dir=tmp_path,
                              progress=False))
    with suite.ledger("sqlite", "probe") as runtime:
        rate, calls = settlement_rate(runtime, 20)
    assert rate > 0
    assert calls == {"insert_events": 1.0, "select_events": 1.0}
