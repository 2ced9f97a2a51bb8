"""Read models projected from the event log, exactly once, rebuildable from scratch."""
