"""Operator checks: supply invariants on the write side, and read models against the events.

``check_ledger`` checks, for every batch, the supply invariants on the aggregate and the
supply, serial and balance views against it, and that the batch's moves replayed in order
give its serial view; then every row of the public registers
(retirements, pledges, claims, listings, trades and the other records in
:data:`REGISTERS`) against the same registers replayed from the event log into a scratch
database, field by field. An edited, added or deleted read-model row is reported by table,
id and field.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, Table, select

from ledger.domain.batch_view import BatchView
from ledger.domain.credit_batch import split_lot_key
from ledger.domain.errors import LedgerError
from ledger.domain.invariants import check_batch_supply, check_serial_coverage
from ledger.projections import schema
from ledger.projections.database import make_engine
from ledger.projections.projector import Projector
from ledger.runtime import LedgerRuntime

__all__ = ["REGISTERS", "CheckReport", "check_ledger", "check_registers"]

REGISTERS: tuple[Table, ...] = (
    schema.retirements,
    schema.pledges,
    schema.claims,
    schema.listings,
    schema.trades,
    schema.moves,
    schema.exports,
    schema.cancellations,
    schema.corrections,
    schema.token_locks,
    schema.bridge_locks,
    schema.batches,
    schema.issuance_requests,
    schema.participants,
    schema.methodologies,
)
"""The read-model tables compared row by row with a replay of the events."""

MAX_DIFFERENCES_PER_TABLE = 50
_CATCH_UP_ATTEMPTS = 5


@dataclass
class CheckReport:
    batches: int = 0
    problems: list[str] = field(default_factory=list)
    register_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_ledger(runtime: LedgerRuntime) -> CheckReport:
    """For every batch: batch-supply and serial-coverage hold on the aggregate and its
    holdings, and the supply, balances and serial tables equal what they hold."""
    runtime.sync()
    report = CheckReport()
    check_registers(runtime, report)
    views = runtime.views
    holdings = runtime.ledger.holdings_by_batch()
    for row in views.batches():
        report.batches += 1
        batch_id = UUID(row["id"])
        try:
            batch = runtime.ledger.batch_view(batch_id, holdings.get(batch_id, []))
        except LedgerError as error:  # a holding of another batch, a lot held twice
            report.problems.append(str(error))
            continue
        try:
            check_batch_supply(batch)
            check_serial_coverage(batch)
        except LedgerError as error:
            report.problems.append(str(error))
        supply = views.supply(batch.id)[0]
        totals = batch.totals_by_state()
        projected = {state: int(supply[state]) for state in totals}
        if projected != totals or int(supply["issued"]) != batch.quantity:
            report.problems.append(f"{batch.block}: supply view {projected} != {totals}")
        lots: dict[tuple[str, str], list[list[int]]] = {}
        for r in views.serial_ranges(batch.id):
            lots.setdefault((r["state"], r["ref"]), []).append([int(r["start"]), int(r["end"])])
        expected = {
            (split_lot_key(key)[0].value, split_lot_key(key)[1]): ranges
            for key, ranges in batch.lots.items()
        }
        if lots != expected:
            report.problems.append(f"{batch.block}: serial view differs from the aggregate")
        report.problems.extend(_moves_problems(batch, views.batch_moves(batch.id), {
            (r["state"], r["ref"], int(r["start"]), int(r["end"]), r["holder"])
            for r in views.serial_ranges(batch.id)}))
        balances: dict[tuple[str, str], int] = {}
        for key, ranges in batch.lots.items():
            state = split_lot_key(key)[0].value
            owner = batch.owner_of_lot(key)
            amount = sum(end - start for start, end in ranges)
            balances[(owner, state)] = balances.get((owner, state), 0) + amount
        projected_balances = {
            (b["account"], state): int(b[state])
            for b in views.balances(batch_id=batch.id)
            for state in totals if int(b[state])
        }
        if projected_balances != balances:
            report.problems.append(f"{batch.block}: balance view differs from the aggregate")
    return report


def _moves_problems(batch: BatchView, moves: list[dict[str, Any]],
                    serials: set[tuple[str, str, int, int, str]]) -> list[str]:
    """The batch's moves lie inside its block, each leaves the lot that held its range, and
    replayed in log order they give the serial view (lot, range and holder) exactly."""
    first, end = batch.serial_start, batch.serial_start + batch.quantity
    owner: dict[int, tuple[int, tuple[str, str, str]]] = {}  # serial start -> (end, lot)
    problems = []
    for move in moves:
        start, stop = int(move["start"]), int(move["end"])
        where = f"{batch.block}: move at {move['position']} [{start}, {stop})"
        if not first <= start < stop <= end or int(move["quantity"]) != stop - start:
            problems.append(f"{where} lies outside the batch's serials")
            continue
        source = (move["from_state"], move["from_ref"], move["from_holder"])
        held = [s for s, (e, lot) in owner.items() if s < stop and e > start]
        if move["from_state"] is None:
            if held:
                problems.append(f"{where} issues serials issued before")
        elif any(owner[s][1] != source for s in held) or (
                sum(min(owner[s][0], stop) - max(s, start) for s in held) != stop - start):
            problems.append(f"{where} moves serials its lot {source} does not hold")
        for s in held:  # cut [start, stop) out of the ranges it overlaps
            e, lot = owner.pop(s)
            if s < start:
                owner[s] = (start, lot)
            if e > stop:
                owner[stop] = (e, lot)
        owner[start] = (stop, (move["to_state"], move["to_ref"], move["to_holder"]))
    replayed: dict[tuple[str, str, str], list[list[int]]] = {}
    for s in sorted(owner):  # merge adjacent ranges of a lot, as the serial view holds them
        e, lot = owner[s]
        ranges = replayed.setdefault(lot, [])
        if ranges and ranges[-1][1] == s:
            ranges[-1][1] = e
        else:
            ranges.append([s, e])
    rows = {(state, ref, s, e, holder) for (state, ref, holder), ranges in replayed.items()
            for s, e in ranges}
    if rows != serials:
        problems.append(f"{batch.block}: replaying the moves does not give the serial view")
    return problems


# -- registers against the events ---------------------------------------------------------------


def check_registers(runtime: LedgerRuntime, report: CheckReport) -> None:
    """Compare every row of :data:`REGISTERS` with the events (see the module docstring)."""
    with _replayed(runtime) as replayed:
        for table in REGISTERS:
            live = _rows(runtime.engine, table)
            expected = _rows(replayed, table)
            report.register_rows += len(live)
            differences = list(_differences(table, live, expected))
            report.problems.extend(differences[:MAX_DIFFERENCES_PER_TABLE])
            if len(differences) > MAX_DIFFERENCES_PER_TABLE:
                report.problems.append(
                    f"{table.name}: {len(differences) - MAX_DIFFERENCES_PER_TABLE} more "
                    "differences")


@contextmanager
def _replayed(runtime: LedgerRuntime) -> Iterator[Engine]:
    """The read models replayed from the event log into a scratch SQLite database, at the
    same log position as the live read models (both caught up again if the ledger moved
    meanwhile); removed afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="carbon-ledger-check-"))
    engine = make_engine(f"sqlite:///{directory / 'replayed.sqlite'}")
    try:
        projector = Projector(runtime.ledger, engine)
        projector.rebuild()  # the bulk-load replay; then caught up like any projector
        for _ in range(_CATCH_UP_ATTEMPTS):
            projector.catch_up()
            runtime.sync()
            if runtime.projector.position() == projector.position():
                yield engine
                return
        raise LedgerError("the ledger kept changing while its registers were compared; "
                          "run the check again")
    finally:
        engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)


def _rows(engine: Engine, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys = [column.name for column in table.primary_key.columns]
    with engine.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    result: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        values = {name: _normal(value) for name, value in row.items()}
        result[tuple(values[key] for key in keys)] = values
    return result


def _normal(value: Any) -> Any:
    """One representation per value on both backends."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _differences(table: Table, live: dict[tuple[Any, ...], dict[str, Any]],
                 expected: dict[tuple[Any, ...], dict[str, Any]]) -> Iterator[str]:
    def name(key: tuple[Any, ...]) -> str:
        return f"{table.name} {'/'.join(map(str, key))}"

    for key in sorted(expected.keys() - live.keys(), key=repr):
        yield f"{name(key)}: missing from the read model (the events record it)"
    for key in sorted(live.keys() - expected.keys(), key=repr):
        yield f"{name(key)}: in the read model but not in the events"
    for key in sorted(live.keys() & expected.keys(), key=repr):
        row, truth = live[key], expected[key]
        for column in table.columns:
            if row[column.name] != truth[column.name]:
                yield (f"{name(key)}: {column.name} is {_show(row[column.name])} in the read "
                       f"model, the events say {_show(truth[column.name])}")


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
