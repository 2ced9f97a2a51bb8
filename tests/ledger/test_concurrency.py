"""Several OS processes on one ledger behave as one ledger (both backends)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

from ledger.checks import check_ledger
from ledger.domain import ids
from ledger.projections.queries import dump_tables
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast

ROOT = Path(__file__).parents[2]
PROCESSES = 4


def worker(mode: str, args: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.ledger.race_worker", mode,
                             json.dumps(args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _reports(processes: list[subprocess.Popen]) -> list:
    """Each worker's report (its last line of output, JSON), once every worker exited 0."""
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def settings_args(settings: Settings) -> dict:
    return {"data_dir": str(settings.data_dir), "database_url": settings.database_url,
            "database_schema": settings.database_schema}


def test_concurrent_processes_spend_each_gram_once_and_settle_a_trade_once(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=100)
        holder, buyer = cast.holders[0], cast.holders[1]
        ledger.transfer(actor=cast.platform, batch_id=batch, recipient=holder,
                        quantity=1_000_000)
        ledger.grant_mandate(actor=cast.platform, agent=cast.exchange, scope="listing")
        ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=cast.platform,
                             listing_ref="L1", quantity=200_000)
    unit = 100_000  # 10 units available; 4 processes x 4 commands = 16 attempts
    common = {"batch": str(batch), "actor": str(holder), "quantity": unit}
    commands = [
        {**common, "kind": "transfer", "recipient": str(buyer)},
        {**common, "kind": "pledge", "bank": str(cast.bank)},
        {**common, "kind": "retire"},
        {**common, "kind": "tokenise"},
        {"kind": "settle", "batch": str(batch), "actor": str(cast.exchange), "quantity": 50_000,
         "trade_ref": "T-SAME", "listing_ref": "L1", "seller": str(cast.platform),
         "buyer": str(buyer)},
    ]
    start_at = time.time() + 3
    processes = [worker("race", {**settings_args(settings), "start_at": start_at,
                                 "commands": commands[p % 4:] + commands[:p % 4]})
                 for p in range(PROCESSES)]
    outcomes = [outcome for report in _reports(processes) for outcome in report]

    spends = [o for o in outcomes if o["kind"] != "settle"]
    succeeded = [o for o in spends if o["ok"]]
    assert len(succeeded) == 10
    # refused for lack of credits, or (cleanly) after losing every retry of the race
    assert {o["code"] for o in spends if not o["ok"]} <= {"insufficient-balance",
                                                          "concurrency-conflict"}
    settles = [o for o in outcomes if o["kind"] == "settle"]
    assert all(o["ok"] for o in settles), settles
    assert sum(not o["replayed"] for o in settles) == 1

    with LedgerRuntime(settings) as runtime:
        aggregate = runtime.ledger.batch_view(batch)
        assert aggregate.available(holder) == 0
        trade = runtime.ledger.trade(ids.trade_id(cast.exchange, "T-SAME"))
        assert trade.ranges and trade.terms["seller"] == str(cast.platform)
        runtime.sync()
        assert check_ledger(runtime).ok
        trades = [t for t in runtime.views.trades() if t["trade_ref"] == "T-SAME"]
        assert len(trades) == 1
        by_kind = {kind: sum(o["ok"] for o in spends if o["kind"] == kind)
                   for kind in ("transfer", "pledge", "retire", "tokenise")}
        balance = runtime.views.balance(holder, batch)
        assert balance["pledged"] == by_kind["pledge"] * unit
        assert balance["retired"] == by_kind["retire"] * unit
        assert balance["tokenised"] == by_kind["tokenise"] * unit
        assert runtime.views.balance(buyer, batch)["available"] == (
            by_kind["transfer"] * unit + 50_000)
        before = dump_tables(runtime.engine)
        runtime.projector.rebuild()
        assert dump_tables(runtime.engine) == before


def test_processes_transferring_between_distinct_holders_of_one_batch_never_conflict(
        tmp_path):
    """Issue #17: each holder's credits are its own holding, so 4 processes moving credits
    between 4 distinct pairs of holders of one batch touch distinct aggregates: no process
    loses a race or reads a stale copy, and nothing is lost or made."""
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=20)
        people = [ledger.register_participant(kind="enterprise", name=f"Pair holder {i}",
                                              registered_by=cast.operator)
                  for i in range(2 * PROCESSES)]
        for person in people:
            ledger.transfer(actor=cast.platform, batch_id=batch, recipient=person,
                            quantity=10_000)
    start_at = time.time() + 3
    processes = [worker("pairs", {**settings_args(settings), "start_at": start_at,
                                  "batch": str(batch), "a": str(people[2 * p]),
                                  "b": str(people[2 * p + 1]), "rounds": 25, "quantity": 7})
                 for p in range(PROCESSES)]
    reports = _reports(processes)

    assert [r["commands"] for r in reports] == [50] * PROCESSES
    assert [(r["conflicts"], r["stale_reads"]) for r in reports] == [(0, 0)] * PROCESSES
    with LedgerRuntime(settings) as runtime:
        view = runtime.ledger.batch_view(batch)
        assert [view.available(person) for person in people] == [10_000] * len(people)
        runtime.sync()
        assert check_ledger(runtime).ok


def test_processes_pledging_for_distinct_holders_of_one_batch_never_conflict(tmp_path):
    """Issue #17: a pledge lives on its pledgor's holding, so 4 processes pledging the
    credits of 4 holders of one batch to one bank, and the bank releasing them, touch
    distinct aggregates: no process loses a race or reads a stale copy."""
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=20)
        holders = [ledger.register_participant(kind="enterprise", name=f"Pledgor {i}",
                                               registered_by=cast.operator)
                   for i in range(PROCESSES)]
        for holder in holders:
            ledger.transfer(actor=cast.platform, batch_id=batch, recipient=holder,
                            quantity=10_000)
    start_at = time.time() + 3
    processes = [worker("pledgors", {**settings_args(settings), "start_at": start_at,
                                     "batch": str(batch), "holder": str(holder),
                                     "bank": str(cast.bank), "rounds": 20, "quantity": 9})
                 for holder in holders]
    reports = _reports(processes)

    assert [r["commands"] for r in reports] == [40] * PROCESSES
    assert [(r["conflicts"], r["stale_reads"]) for r in reports] == [(0, 0)] * PROCESSES
    with LedgerRuntime(settings) as runtime:
        view = runtime.ledger.batch_view(batch)
        assert [view.available(holder) for holder in holders] == [10_000] * PROCESSES
        runtime.sync()
        assert [row["status"] for row in runtime.views.pledges(bank=cast.bank)] == (
            ["released"] * 20 * PROCESSES)
        assert check_ledger(runtime).ok


def test_processes_settling_listings_of_distinct_sellers_of_one_batch_never_conflict(
        tmp_path):
    """Issue #17: a listing lives on its seller's holding and a settlement moves credits
    from it to the buyer's, so 4 processes of one exchange listing the credits of 4 sellers
    of one batch and settling trades of them to 4 buyers (some retired on delivery) touch
    distinct aggregates: no process loses a race or reads a stale copy."""
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=20)
        people = [ledger.register_participant(kind="enterprise", name=f"Trader {i}",
                                              registered_by=cast.operator)
                  for i in range(2 * PROCESSES)]
        sellers, buyers = people[:PROCESSES], people[PROCESSES:]
        for seller in sellers:
            ledger.transfer(actor=cast.platform, batch_id=batch, recipient=seller,
                            quantity=10_000)
            ledger.grant_mandate(actor=seller, agent=cast.exchange, scope="listing")
    start_at = time.time() + 3
    processes = [worker("sellers", {**settings_args(settings), "start_at": start_at,
                                    "batch": str(batch), "exchange": str(cast.exchange),
                                    "seller": str(seller), "buyer": str(buyer),
                                    "rounds": 10, "quantity": 11})
                 for seller, buyer in zip(sellers, buyers, strict=True)]
    reports = _reports(processes)

    assert [r["commands"] for r in reports] == [11] * PROCESSES
    assert [(r["conflicts"], r["stale_reads"]) for r in reports] == [(0, 0)] * PROCESSES
    with LedgerRuntime(settings) as runtime:
        view = runtime.ledger.batch_view(batch)
        # listed 10 x 11 g + 1 g, of which 1 g is still in escrow
        assert [view.available(s) for s in sellers] == [10_000 - 10 * 11 - 1] * PROCESSES
        assert view.totals_by_state()["escrowed"] == PROCESSES
        assert [view.available(b) for b in buyers] == [5 * 11] * PROCESSES
        assert len(view.retirements) == 5 * PROCESSES
        runtime.sync()
        assert len(runtime.views.trades()) == 10 * PROCESSES
        assert check_ledger(runtime).ok


def test_a_killed_writer_loses_no_acknowledged_write_and_leaves_nothing_half_written(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        cast = make_cast(runtime.ledger)
        batch = issue_batch(runtime.ledger, cast, count=20)
    process = worker("burst", {**settings_args(settings), "batch": str(batch),
                               "actor": str(cast.platform)})
    acknowledged: list[str] = []
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "READY"
    while len(acknowledged) < 40:
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "worker died"
        acknowledged.append(line.split()[1])
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    with LedgerRuntime(settings) as runtime:
        aggregate = runtime.ledger.batch_view(batch)
        assert set(acknowledged) <= set(aggregate.retirements)
        retired = aggregate.totals_by_state()["retired"]
        assert retired == len(aggregate.retirements)  # one gram per recorded retirement
        runtime.sync()
        report = check_ledger(runtime)
        assert report.ok, report.problems
        recorded = {r["id"] for r in runtime.views.retirements()}
        assert set(acknowledged) <= recorded
        before = dump_tables(runtime.engine)
        runtime.projector.rebuild()
        assert dump_tables(runtime.engine) == before
        assert UUID(acknowledged[-1])
