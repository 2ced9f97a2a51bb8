from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ledger.application import TradeInstruction
from ledger.checks import check_ledger
from ledger.domain.errors import LedgerError
from ledger.domain.ids import individual_account_id
from ledger.projections import handlers, schema
from ledger.projections.failures import ProjectionStuckError
from ledger.projections.projector import Projector, UnknownEventError
from ledger.projections.queries import dump_tables
from ledger.runtime import LedgerRuntime, Settings
from tests.conftest import isolated_settings
from tests.ledger.projections.scenario import issue_batch, make_cast, sessions

RETIRE = {"beneficiary": "B", "purpose": "voluntary", "jurisdiction": "CN",
          "consumption_period": "2024"}


@pytest.fixture
def runtime(tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as rt:
        yield rt


def test_behaviour_index_and_carbon_accounts_follow_reported_behaviours(runtime):
    cast = make_cast(runtime.ledger)
    results = runtime.ledger.report_behaviours(platform=cast.platform, reports=sessions(120))
    runtime.sync()
    assert runtime.views.behaviour_count() == 120
    expected = sum(r.reduction_g for r in results[0::50])  # person-0 reported items 0, 50, 100
    account = runtime.views.carbon_account(individual_account_id("person-0"))
    assert account["behaviours"] == 3
    assert account["earned"] == expected
    assert [e["kind"] for e in account["entries"]] == ["earned"] * 3


def test_issuance_marks_exactly_the_requested_behaviours(runtime):
    cast = make_cast(runtime.ledger)
    runtime.ledger.report_behaviours(platform=cast.platform, reports=sessions(30))
    runtime.ledger.report_behaviours(platform=cast.platform,
                                     reports=sessions(10, start=1000, day=20))
    request = runtime.ledger.request_issuance(
        platform=cast.platform, methodology_id=cast.methodology,
        period_start="2024-09-01", period_end="2024-09-10")
    runtime.sync()
    leaves = runtime.views.batch_behaviour_leaves(request)
    assert len(leaves) == 30
    assert runtime.ledger.request(request).quantity == sum(r["reduction_g"] for r in leaves)


def test_read_models_match_aggregates_and_rebuild_identically(runtime):
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast)
    a, b, _ = cast.holders
    ledger.transfer(actor=cast.platform, batch_id=batch, recipient=a, quantity=50_000)
    listing_mandate = ledger.grant_mandate(actor=a, agent=cast.exchange, scope="listing",
                                           max_quantity_g=30_000,
                                           expires_at="2999-01-01T00:00:00Z")
    ledger.grant_mandate(actor=a, agent=cast.bank, scope="pledge")
    ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=a, listing_ref="L1",
                         quantity=20_000)
    ledger.revoke_mandate(actor=a, mandate_id=listing_mandate)
    ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
        trade_ref="T1", listing_ref="L1", batch_id=batch, seller=a, buyer=b, quantity=15_000,
        price_per_tonne="40", currency="CNY"))
    ledger.cancel_listing(actor=cast.exchange, batch_id=batch, listing_ref="L1")
    pledge = ledger.pledge(actor=cast.bank, batch_id=batch, holder=a, bank=cast.bank,
                           loan_reference="LN", quantity=10_000)
    ledger.enforce_pledge(actor=cast.bank, batch_id=batch, pledge_id=pledge)
    ledger.retire(actor=b, batch_id=batch, quantity=5_000, **RETIRE)
    ledger.export(actor=a, batch_id=batch, quantity=1_000, destination="CCER")
    ledger.cancel(actor=cast.operator, batch_id=batch, holder=cast.platform, quantity=777,
                  reason="buffer")
    ledger.lock_for_tokens(actor=a, batch_id=batch, quantity=333, chain_address="0xabc")
    runtime.sync()

    report = check_ledger(runtime)
    assert report.ok, report.problems
    assert runtime.views.balance(a, batch) == {
        "available": 50_000 - 20_000 + 5_000 - 10_000 - 1_000 - 333, "escrowed": 0,
        "pledged": 0, "retired": 0, "tokenised": 333, "exported": 1_000, "cancelled": 0}
    assert runtime.views.balance(cast.bank, batch)["available"] == 10_000
    assert runtime.views.pledge(pledge)["status"] == "enforced"
    assert {(m["scope"], m["used"], m["max_quantity"], m["revoked"]) for m in
            runtime.views.mandates_page(holder=a).rows} == {
        ("listing", 20_000, 30_000, True), ("pledge", 10_000, None, False)}
    supply = runtime.views.supply(batch)[0]
    assert supply["retired"] == 5_000 and supply["cancelled"] == 777

    before = dump_tables(runtime.engine)
    runtime.projector.rebuild()
    assert dump_tables(runtime.engine) == before


def test_serial_lookup_names_the_retirement(runtime):
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast)
    ledger.retire(actor=cast.platform, batch_id=batch, quantity=1_000, **RETIRE)
    runtime.sync()
    block = ledger.batch_view(batch).block
    retired = runtime.views.who_holds(block, 500)
    assert retired["state"] == "retired"
    assert retired["retirement"]["beneficiary"] == "B"
    held = runtime.views.who_holds(block, 1_001)
    assert held["state"] == "available" and held["holder"] == str(cast.platform)
    assert runtime.views.who_holds(block, 10**15) is None


def test_two_projectors_apply_each_event_exactly_once(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as writer:
        cast = make_cast(writer.ledger)
        for i in range(10):
            writer.ledger.report_behaviours(platform=cast.platform,
                                            reports=sessions(100, start=i * 100))
        recorded = writer.ledger.recorder.max_notification_id()
    runtimes = [LedgerRuntime(settings) for _ in range(2)]
    for rt in runtimes:
        rt.projector.page_size = 37  # many small pages interleave the two projectors
    threads = [threading.Thread(target=rt.sync) for rt in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    views = runtimes[0].views
    assert runtimes[0].projector.position() == recorded
    assert views.behaviour_count() == 1_000
    with runtimes[0].engine.connect() as conn:
        accounts = conn.execute(select(func.sum(schema.carbon_accounts.c.behaviours))).scalar()
        earned = conn.execute(select(func.sum(schema.carbon_accounts.c.earned))).scalar()
        reduction = conn.execute(select(func.sum(schema.behaviours.c.reduction_g))).scalar()
    assert accounts == 1_000
    assert earned == reduction
    for rt in runtimes:
        rt.close()


def test_a_failing_page_leaves_no_partial_rows_and_is_retried(runtime, monkeypatch):
    """A page that fails is rolled back whole, then applied again event by event: the
    events before the failing one are applied, the failing one leaves no partial rows, the
    projector stops before it naming it, and once it can be applied it is."""
    cast = make_cast(runtime.ledger)
    runtime.sync()
    batch = issue_batch(runtime.ledger, cast)
    runtime.sync()
    runtime.ledger.retire(actor=cast.platform, batch_id=batch, quantity=10, **RETIRE)
    retired = runtime.ledger.recorder.max_notification_id()  # the split and the retirement
    runtime.ledger.transfer(actor=cast.platform, batch_id=batch, recipient=cast.holders[0],
                            quantity=10)
    original = handlers.HANDLERS["Holding.Transferred"]

    def crash(conn, event, pos):
        original(conn, event, pos)  # the transfer's rows are written, then it fails
        raise RuntimeError("simulated crash after the transfer rows were written")

    monkeypatch.setitem(handlers.HANDLERS, "Holding.Transferred", crash)
    with pytest.raises(ProjectionStuckError) as raised:
        runtime.sync()
    failure = raised.value.failure
    assert failure.topic.endswith("Holding.Transferred")
    assert failure.position == retired + 1  # the sender's event comes first
    assert "simulated crash" in failure.error
    assert runtime.projector.position() == retired  # the retirement, not the transfer
    assert len(runtime.views.retirements()) == 1
    assert runtime.views.balances(cast.holders[0]) == []  # no partial rows of the transfer
    monkeypatch.setitem(handlers.HANDLERS, "Holding.Transferred", original)
    runtime.sync()
    assert runtime.projection_failure is None
    assert len(runtime.views.balances(cast.holders[0])) == 1
    assert check_ledger(runtime).ok


def test_an_event_without_a_handler_stops_the_projector(runtime, monkeypatch):
    make_cast(runtime.ledger)
    monkeypatch.delitem(handlers.HANDLERS, "Methodology.Published")
    with pytest.raises(ProjectionStuckError) as raised:
        Projector(runtime.ledger, runtime.engine).rebuild()
    assert isinstance(raised.value.__cause__, UnknownEventError)
    assert raised.value.failure.topic.endswith("Methodology.Published")


def test_a_second_process_sees_the_same_state(tmp_path: Path):
    data = tmp_path / "ledger"
    with LedgerRuntime(Settings(data_dir=data)) as rt:
        cast = make_cast(rt.ledger)
        batch = issue_batch(rt.ledger, cast)
        rt.ledger.retire(actor=cast.platform, batch_id=batch, quantity=1_234, **RETIRE)
        expected = rt.ledger.batch_view(batch).totals_by_state()
    script = (
        "import json, sys; from uuid import UUID; from ledger.runtime import LedgerRuntime, "
        "Settings; from pathlib import Path\n"
        f"rt = LedgerRuntime(Settings(data_dir=Path({str(data)!r})))\n"
        "rt.sync()\n"
        f"print(json.dumps([rt.ledger.batch_view(UUID({str(batch)!r})).totals_by_state(), "
        f"rt.views.supply(UUID({str(batch)!r}))[0]['retired']]))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[3])
    totals, retired = json.loads(out.stdout)
    assert totals == expected
    assert retired == 1_234


commands = st.lists(
    st.tuples(st.sampled_from(["transfer", "escrow", "settle", "pledge", "release", "retire",
                               "export", "cancel"]),
              st.integers(0, 2), st.integers(0, 2), st.integers(1, 40_000)),
    min_size=1, max_size=12)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(commands)
def test_random_command_sequences_keep_views_equal_to_aggregates_and_rebuilds(
        tmp_path_factory, steps):
    with isolated_settings(tmp_path_factory.mktemp("ledger")) as fresh, \
            LedgerRuntime(fresh) as rt:
        ledger = rt.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=60)
        for holder in cast.holders:
            ledger.transfer(actor=cast.platform, batch_id=batch, recipient=holder,
                            quantity=100_000)
            ledger.grant_mandate(actor=holder, agent=cast.exchange, scope="listing")
            ledger.grant_mandate(actor=holder, agent=cast.bank, scope="pledge")
        pledges: list[UUID] = []
        listings: list[tuple[str, UUID]] = []
        for n, (kind, i, j, quantity) in enumerate(steps):
            a, b = cast.holders[i], cast.holders[j]
            try:
                if kind == "transfer":
                    ledger.transfer(actor=a, batch_id=batch, recipient=b, quantity=quantity)
                elif kind == "escrow":
                    ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=a,
                                         listing_ref=f"L{n}", quantity=quantity)
                    listings.append((f"L{n}", a))
                elif kind == "settle" and listings:
                    ref, seller = listings[-1]
                    ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
                        trade_ref=f"T{n}", listing_ref=ref, batch_id=batch, seller=seller,
                        buyer=b, quantity=quantity, price_per_tonne="1", currency="CNY"))
                elif kind == "pledge":
                    pledges.append(ledger.pledge(actor=cast.bank, batch_id=batch, holder=a,
                                                 bank=cast.bank, loan_reference=f"LN{n}",
                                                 quantity=quantity))
                elif kind == "release" and pledges:
                    ledger.release_pledge(actor=cast.bank, batch_id=batch,
                                          pledge_id=pledges.pop())
                elif kind == "retire":
                    ledger.retire(actor=a, batch_id=batch, quantity=quantity, **RETIRE)
                elif kind == "export":
                    ledger.export(actor=a, batch_id=batch, quantity=quantity,
                                  destination="CCER")
                elif kind == "cancel":
                    ledger.cancel(actor=cast.operator, batch_id=batch, holder=a,
                                  quantity=quantity, reason="buffer")
            except LedgerError:
                pass  # rejected commands must leave no trace: checked below
        rt.sync()
        report = check_ledger(rt)
        assert report.ok, report.problems
        before = dump_tables(rt.engine)
        rt.projector.rebuild()
        assert dump_tables(rt.engine) == before


def test_a_single_behaviour_in_a_page_is_projected(runtime):
    """Runs of one event take the per-event handler, also for the fast-decoded behaviours."""
    cast = make_cast(runtime.ledger)
    runtime.sync()
    runtime.ledger.report_behaviours(platform=cast.platform, reports=sessions(1))
    runtime.ledger.register_participant(kind="auditor", name="after", registered_by=cast.operator)
    runtime.sync()
    assert runtime.views.behaviour_count() == 1
    slow = Projector(runtime.ledger, runtime.engine)
    slow.fast_decoding = False
    before = dump_tables(runtime.engine)
    slow.rebuild()
    assert dump_tables(runtime.engine) == before  # fast and generic decoding agree
