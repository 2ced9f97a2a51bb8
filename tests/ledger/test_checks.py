"""``carbon-ledger check``: every row of the public registers is compared with the events,
on both backends; an edited, added or deleted row is reported by table, id and field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from ledger.application import TradeInstruction
from ledger.checks import REGISTERS, check_ledger
from ledger.cli import main
from ledger.projections import schema
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast

RETIRE = {"beneficiary": "B", "purpose": "voluntary", "jurisdiction": "CN",
          "consumption_period": "2024"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LedgerRuntime]:
    """A ledger with a retirement (counted toward a claim), pledges, a listing and a trade."""
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as rt:
        ledger = rt.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast)
        a, b, _ = cast.holders
        ledger.transfer(actor=cast.platform, batch_id=batch, recipient=a, quantity=50_000)
        ledger.grant_mandate(actor=a, agent=cast.exchange, scope="listing")
        ledger.grant_mandate(actor=a, agent=cast.bank, scope="pledge")
        ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=a, listing_ref="L1",
                             quantity=20_000)
        ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
            trade_ref="T1", listing_ref="L1", batch_id=batch, seller=a, buyer=b,
            quantity=15_000, price_per_tonne="40", currency="CNY"))
        ledger.pledge(actor=cast.bank, batch_id=batch, holder=a, bank=cast.bank,
                      loan_reference="LN", quantity=10_000)
        released = ledger.pledge(actor=cast.bank, batch_id=batch, holder=a, bank=cast.bank,
                                 loan_reference="LN2", quantity=1_000)
        ledger.release_pledge(actor=cast.bank, batch_id=batch, pledge_id=released)
        claim = ledger.register_claim(actor=b, event_name="Marathon", footprint_g=9_000)
        ledger.retire(actor=b, batch_id=batch, quantity=5_000,
                      **RETIRE | {"details": {"claim_id": str(claim)}})
        rt.sync()
        yield rt


def first(rt: LedgerRuntime, table: Any) -> dict[str, Any]:
    with rt.engine.connect() as conn:
        return dict(conn.execute(select(table)).mappings().first())


def edit(rt: LedgerRuntime, table: Any, row: dict[str, Any], **values: Any) -> None:
    key = table.primary_key.columns.values()[0]
    with rt.engine.begin() as conn:
        conn.execute(update(table).where(key == row[key.name]).values(**values))


def test_an_untouched_ledger_passes_and_every_register_is_compared(runtime):
    report = check_ledger(runtime)
    assert report.ok, report.problems
    with runtime.engine.connect() as conn:
        for table in (schema.retirements, schema.pledges, schema.claims, schema.listings,
                      schema.trades):
            assert table in REGISTERS
            assert conn.execute(select(table)).first() is not None, table.name


EDITS = [
    (schema.retirements, "retired_at", "2020-01-01T00:00:00+00:00"),
    (schema.retirements, "beneficiary", "Someone else"),
    (schema.retirements, "quantity", 4_000),
    (schema.retirements, "holder", "00000000-0000-0000-0000-000000000009"),
    (schema.pledges, "holder", "00000000-0000-0000-0000-000000000009"),
    (schema.pledges, "bank", "00000000-0000-0000-0000-000000000009"),
    (schema.pledges, "status", "released"),
    (schema.pledges, "quantity", 1),
    (schema.claims, "retired_g", 9_000),
    (schema.claims, "met", True),
    (schema.listings, "sold", 20_000),
    (schema.trades, "buyer", "00000000-0000-0000-0000-000000000009"),
    (schema.trades, "price_per_tonne", "4"),
]


@pytest.mark.parametrize(("table", "column", "value"), EDITS,
                         ids=[f"{t.name}.{c}" for t, c, _ in EDITS])
def test_an_edited_register_field_is_reported_by_id_and_field(runtime, table, column, value):
    row = first(runtime, table)
    edit(runtime, table, row, **{column: value})
    report = check_ledger(runtime)
    key = "/".join(str(row[c.name]) for c in table.primary_key.columns)  # listings: id/batch
    assert [p for p in report.problems if p.startswith(f"{table.name} {key}: {column} ")]
    assert len(report.problems) == 1, report.problems


def test_a_deleted_or_fabricated_register_row_is_reported(runtime):
    row = first(runtime, schema.retirements)
    pledge = first(runtime, schema.pledges)
    with runtime.engine.begin() as conn:
        conn.execute(delete(schema.retirements).where(schema.retirements.c.id == row["id"]))
        conn.execute(insert(schema.pledges).values(
            pledge | {"id": "00000000-0000-0000-0000-00000000000f"}))
    problems = check_ledger(runtime).problems
    assert f"retirements {row['id']}: missing from the read model (the events record it)" \
        in problems
    assert ("pledges 00000000-0000-0000-0000-00000000000f: in the read model but not in the "
            "events") in problems


def test_cli_check_exits_2_naming_the_edited_field(runtime, capsys):
    row = first(runtime, schema.retirements)
    edit(runtime, schema.retirements, row, beneficiary="Someone else")
    assert main(["--data-dir", str(runtime.settings.data_dir), "check"]) == 2
    captured = capsys.readouterr()
    assert (f"PROBLEM retirements {row['id']}: beneficiary is \"Someone else\" in the read "
            "model, the events say \"B\"") in captured.out
