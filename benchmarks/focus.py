"""Parts of the full benchmark on their own, for a round's figures (docs/BENCHMARKS.md).

``python -m benchmarks.focus one-batch sqlite postgres``
    The one-batch rows of ``carbon-ledger bench`` (issue #17) at full size, with the CLI's
    garbage-collector tuning, and the process's peak memory.
``python -m benchmarks.focus settlements postgres [COUNT]``
    Settlements of 1 kg from one listing to random holders of a batch of 100 holders: the
    rate of ``COUNT`` settlements after as many warm-up ones, and the calls each makes to
    the store (inserts and event reads).
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from benchmarks.measure import peak_memory_mb, timed
from benchmarks.one_batch import MOVED_G, REFERENCE_HOLDERS, hand_out
from benchmarks.suite import BenchConfig, Suite
from ledger.application import TradeInstruction
from ledger.gc_tuning import tune_gc
from ledger.runtime import LedgerRuntime

__all__ = ["main", "settlement_rate"]


@contextmanager
def _counted(owner: Any, name: str, calls: list[str]) -> Iterator[None]:
    """Note each call of ``owner.name`` in ``calls`` while the block runs."""
    method: Callable[..., Any] = getattr(owner, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return method(*args, **kwargs)

    setattr(owner, name, counting)
    try:
        yield
    finally:
        delattr(owner, name)


def settlement_rate(runtime: LedgerRuntime, count: int) -> tuple[float, dict[str, float]]:
    """Settlements per second of ``count`` trades after ``count`` warm-up ones, and the
    store calls (``insert_events``, ``select_events``) a measured settlement makes."""
    ledger = runtime.ledger
    rng = random.Random(17)
    batch, platform, accounts, _ = hand_out(runtime, REFERENCE_HOLDERS)
    operator = UUID(ledger.participant(platform).registered_by)
    exchange = ledger.register_participant(kind="exchange", name="Focus exchange",
                                           registered_by=operator)
    ledger.transfer(actor=platform, batch_id=batch, recipient=exchange,
                    quantity=2 * count * MOVED_G)
    ledger.list_for_sale(actor=exchange, batch_id=batch, seller=exchange, listing_ref="F-1",
                         quantity=2 * count * MOVED_G)

    def settle(first: int) -> None:
        for i in range(first, first + count):
            ledger.settle_trade(actor=exchange, trade=TradeInstruction(
                trade_ref=f"F-{i}", listing_ref="F-1", batch_id=batch, seller=exchange,
                buyer=rng.choice(accounts), quantity=MOVED_G, price_per_tonne="40",
                currency="CNY"))

    settle(0)
    calls: list[str] = []
    with (_counted(ledger.recorder, "insert_events", calls),
          _counted(ledger.recorder, "select_events", calls), timed() as t):
        settle(count)
    per_settlement = {name: calls.count(name) / count
                      for name in ("insert_events", "select_events")}
    return count / t.seconds, per_settlement


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("one-batch", "settlements"):
        print(__doc__, file=sys.stderr)
        return 2
    tune_gc()  # as `carbon-ledger bench` (ledger.cli.main) does
    with tempfile.TemporaryDirectory() as tmp:
        backends = argv[1:] if argv[0] == "one-batch" else argv[1:2]
        suite = Suite(BenchConfig(quick=False, backends=backends, work_dir=Path(tmp),
                                  progress=False))
        if argv[0] == "one-batch":
            for backend in backends:
                suite.one_batch(backend)
        else:
            count = int(argv[2]) if len(argv) > 2 else 1_000
            with suite.ledger(backends[0], "focus-settlements") as runtime:
                rate, calls = settlement_rate(runtime, count)
            print(f"{backends[0]}: {rate:,.0f} settlements/s; store calls a settlement: "
                  + ", ".join(f"{name} {n:.2f}" for name, n in calls.items()))
    print(f"peak RSS {peak_memory_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
