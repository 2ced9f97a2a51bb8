"""One concurrent writer process of the benchmarks: reports behaviours in bulk.

python -m benchmarks.writer DATA_DIR DATABASE_URL SCHEMA COUNT WORKER_INDEX

It prints ``ready`` once started up, and begins when it reads a line on standard input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from uuid import UUID

from benchmarks.data import behaviour_batches
from ledger.domain.participant import ParticipantKind
from ledger.gc_tuning import tune_gc
from ledger.runtime import LedgerRuntime, Settings


def main(argv: list[str]) -> None:
    data_dir, url, schema, count, worker = argv
    settings = Settings(data_dir=Path(data_dir), database_url=url or None,
                        database_schema=schema)
    with LedgerRuntime(settings) as runtime:
        tune_gc()
        runtime.sync()
        platforms = [p["id"] for p in runtime.views.participants()
                     if p["kind"] == ParticipantKind.PLATFORM.value]
        platform = UUID(platforms[int(worker) % len(platforms)])
        offset = 10_000_000 * (int(worker) + 1)
        print("ready", flush=True)  # started up: the timing starts when all are
        sys.stdin.readline()  # go
        for _, reports in behaviour_batches(int(count), 2_000, 50_000, 1, duplicate_rate=0,
                                            start_index=offset):
            runtime.ledger.report_behaviours(platform=platform, reports=reports)


if __name__ == "__main__":
    main(sys.argv[1:])
