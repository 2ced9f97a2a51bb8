"""In-process mutual exclusion per aggregate, on a fixed set of locks.

Commands on one credit batch from many threads of one process (an API server) would
otherwise all load the same version, and all but one lose the optimistic-concurrency race
and retry, again and again. Queuing them on a lock first turns that into plain
one-after-another. Between processes the event store's optimistic concurrency still decides.
"""

from __future__ import annotations

import threading
from uuid import UUID

__all__ = ["StripedLocks"]


class StripedLocks:
    """``holding(key)`` is one of ``stripes`` locks, always the same for the same key.

    Two keys may share a lock (they then queue together in this process, which is still
    correct); a command must not take a second key's lock while holding one.
    """

    def __init__(self, stripes: int = 64) -> None:
        if stripes < 1:
            raise ValueError("stripes must be at least 1")
        self._locks = [threading.Lock() for _ in range(stripes)]

    def holding(self, key: UUID) -> threading.Lock:
        return self._locks[key.int % len(self._locks)]
