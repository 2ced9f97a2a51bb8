"""Background services of a running ledger: the projector follower and the anchorer.

Every process (each API worker) may run them. The projector is safe to run everywhere (each
page is applied exactly once under a row lock). The anchorer runs once per ledger: a process
anchors only while it holds the ``anchorer`` lease in the database; if it dies, another
process takes the lease over when it expires.
"""

from __future__ import annotations

import logging
import threading

from ledger.leases import Lease
from ledger.projections.failures import ProjectionStuckError
from ledger.runtime import LedgerRuntime

__all__ = ["BackgroundServices"]

logger = logging.getLogger(__name__)


class BackgroundServices:
    def __init__(self, runtime: LedgerRuntime, *, interval: float = 1.0,
                 lease_ttl: float = 15.0, anchoring: bool = True) -> None:
        self.runtime = runtime
        self.interval = interval
        self.anchoring = anchoring
        self.lease = Lease(runtime.engine, "anchorer", ttl=lease_ttl)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.anchored = 0
        self.is_anchorer = False

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._project, name="projector", daemon=True)]
        if self.anchoring:
            self._threads.append(threading.Thread(target=self._anchor, name="anchorer",
                                                  daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.is_anchorer:
            self.lease.release()

    def _project(self) -> None:
        while not self._stop.is_set():
            try:
                self.runtime.sync()
            except ProjectionStuckError:
                pass  # logged once by the projector, naming the event; retried
            except Exception:  # keep following; the next page is retried
                logger.exception("projector page failed; retrying")
            self._stop.wait(self.interval)

    def _anchor(self) -> None:
        while not self._stop.is_set():
            try:
                self.is_anchorer = self.lease.acquire()
                if self.is_anchorer:
                    status = self.runtime.anchoring.anchorer.tick()
                    if status.state == "anchored":
                        self.anchored += 1
            except Exception:  # a ConsistencyError needs an operator: keep logging it
                logger.exception("anchoring tick failed")
            self._stop.wait(self.interval)
