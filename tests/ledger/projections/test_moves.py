"""The moves read model: batch histories and the chain of custody of a serial."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from ledger.application import TradeInstruction
from ledger.checks import check_ledger
from ledger.projections.migrations import MIGRATIONS, current_version
from ledger.projections.moves import MAX_LEVEL, bins_holding, custody_query, serial_bin
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast

RETIRE = {"beneficiary": "B", "purpose": "voluntary", "jurisdiction": "CN",
          "consumption_period": "2024"}
SERIALS = st.integers(min_value=0, max_value=2**63 - 2)


@pytest.fixture
def runtime(tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as rt:
        yield rt


@given(SERIALS, st.integers(min_value=1, max_value=2**63 - 1), st.data())
def test_a_range_is_in_the_bin_of_every_serial_it_holds_and_of_no_other(start, length, data):
    end = min(start + length, 2**63 - 1)
    level, block = serial_bin(start, end)
    assert 0 <= level <= MAX_LEVEL
    assert block << level <= start and end <= (block + 1) << level  # the block holds it
    inside = data.draw(st.integers(min_value=start, max_value=end - 1))
    assert (level, block) in bins_holding(inside)
    outside = data.draw(st.integers(min_value=0, max_value=2**63 - 2))
    if (level, block) in bins_holding(outside):  # only serials of the same block
        assert block << level <= outside < (block + 1) << level


def _trade_history(runtime):
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast)
    a, b, _ = cast.holders
    first = ledger.batch(batch).serial_start
    ledger.transfer(actor=cast.platform, batch_id=batch, recipient=a, quantity=50_000)
    ledger.grant_mandate(actor=a, agent=cast.exchange, scope="listing")
    ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=a, listing_ref="L1",
                         quantity=20_000)
    ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
        trade_ref="T1", listing_ref="L1", batch_id=batch, seller=a, buyer=b, quantity=15_000,
        price_per_tonne="40", currency="CNY"))
    ledger.cancel_listing(actor=cast.exchange, batch_id=batch, listing_ref="L1")
    retirement = ledger.retire(actor=b, batch_id=batch, quantity=5_000, **RETIRE)
    runtime.sync()
    return cast, batch, first, retirement


def test_moves_tell_the_history_of_a_batch_and_the_custody_of_a_serial(runtime):
    cast, batch, first, retirement = _trade_history(runtime)
    a, b, _ = (str(h) for h in cast.holders)
    platform = str(cast.platform)
    moves = runtime.views.batch_moves(batch)
    assert [(m["kind"], m["quantity"]) for m in moves] == [
        ("issuance", runtime.ledger.batch(batch).quantity), ("transfer", 50_000),
        ("escrow", 20_000), ("settlement", 15_000), ("listing_cancellation", 5_000),
        ("retirement", 5_000)]
    positions = [m["position"] for m in moves]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    issuance = moves[0]
    assert (issuance["from_state"], issuance["from_holder"]) == (None, None)
    assert (issuance["to_state"], issuance["to_holder"]) == ("available", platform)

    # The first serial went platform -> a -> escrow -> b (sold) -> retired by b.
    chain = runtime.views.custody(batch, first)
    assert [(m["kind"], m["from_holder"], m["to_state"], m["to_holder"]) for m in chain] == [
        ("issuance", None, "available", platform), ("transfer", platform, "available", a),
        ("escrow", a, "escrowed", a), ("settlement", a, "available", b),
        ("retirement", b, "retired", b)]
    assert chain[-1]["to_ref"] == str(retirement)
    now = runtime.views.who_holds(runtime.ledger.batch(batch).block, first)
    assert (now["state"], now["ref"]) == (chain[-1]["to_state"], chain[-1]["to_ref"])
    # A serial escrowed and never sold came back to a; one never moved stays issued.
    back = runtime.views.custody(batch, first + 19_999)
    assert [m["kind"] for m in back] == ["issuance", "transfer", "escrow",
                                         "listing_cancellation"]
    assert back[-1]["to_holder"] == a
    assert [m["kind"] for m in runtime.views.custody(batch, first + 50_000)] == ["issuance"]
    assert runtime.views.custody(batch, first - 1) == []
    assert check_ledger(runtime).ok


def test_moves_pages_by_position_and_by_party(runtime):
    cast, batch, _, _ = _trade_history(runtime)
    everything = runtime.views.batch_moves(batch)
    seen, after = [], None
    while True:
        page = runtime.views.moves_page(batch=batch, after=after, limit=2)
        seen += page.rows
        after = page.next_after
        if after is None:
            break
    assert seen == everything
    b = str(cast.holders[1])
    mine = runtime.views.moves_page(party=b).rows
    assert [m["kind"] for m in mine] == ["settlement", "retirement"]
    assert [m["kind"] for m in runtime.views.moves_page(kind="transfer").rows] == ["transfer"]


def test_custody_is_found_through_the_bin_index_not_by_a_scan(runtime):
    _, batch, first, _ = _trade_history(runtime)
    if runtime.engine.dialect.name != "sqlite":
        pytest.skip("the query plan is read on SQLite")
    query = custody_query(str(batch), first)
    with runtime.engine.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = " ".join(str(r[-1]) for r in conn.execute(
            text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_moves_bin" in plan and "SCAN" not in plan.replace("SCAN moves USING", ""), plan


def test_an_edited_or_missing_move_is_reported(runtime):
    _ = _trade_history(runtime)
    assert check_ledger(runtime).ok
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE moves SET to_holder = 'someone' WHERE kind = 'transfer'"))
    problems = check_ledger(runtime).problems
    assert any("replaying the moves" in p for p in problems), problems
    assert any(p.startswith("moves") for p in problems), problems
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM moves WHERE kind = 'escrow'"))
    problems = check_ledger(runtime).problems
    assert any("does not hold" in p for p in problems), problems


def test_moves_are_backfilled_from_the_log_by_migration_6(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        _, batch, _, _ = _trade_history(runtime)
        expected = runtime.views.batch_moves(batch)
        with runtime.engine.begin() as conn:  # the read models as schema 5 left them
            conn.execute(text("DROP TABLE moves"))
            conn.execute(text("DELETE FROM schema_migrations WHERE version >= 6"))
    with LedgerRuntime(settings) as runtime:
        assert current_version(runtime.engine) == MIGRATIONS[-1].version >= 6
        runtime.sync()
        assert runtime.views.batch_moves(batch) == expected
        assert check_ledger(runtime).ok
