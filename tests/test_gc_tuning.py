from __future__ import annotations

import gc

from ledger.gc_tuning import FIRST_GENERATION_THRESHOLD, tune_gc


def test_tune_gc_freezes_what_is_alive_and_collects_less_often() -> None:
    threshold = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold()[0] == FIRST_GENERATION_THRESHOLD
        assert gc.get_freeze_count() > 1_000  # at least the modules' objects
        cycle: list[object] = []
        cycle.append(cycle)  # new garbage cycles are still collected
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
