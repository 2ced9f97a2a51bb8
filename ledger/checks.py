"""Operator checks: supply invariants on the write side, and read models against aggregates."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from ledger.domain.credit_batch import CreditBatch, split_lot_key
from ledger.domain.errors import LedgerError
from ledger.domain.invariants import check_batch_supply, check_serial_coverage
from ledger.runtime import LedgerRuntime

__all__ = ["CheckReport", "check_ledger"]


@dataclass
class CheckReport:
    batches: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_ledger(runtime: LedgerRuntime) -> CheckReport:
    """For every batch: batch-supply and serial-coverage hold on the aggregate, and the
    supply, balances and serial tables equal what the aggregate holds."""
    runtime.sync()
    report = CheckReport()
    views = runtime.views
    for row in views.batches():
        report.batches += 1
        batch: CreditBatch = runtime.ledger.batch(UUID(row["id"]))
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
