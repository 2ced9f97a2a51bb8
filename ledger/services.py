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
        # Failed anchoring ticks by kind ("unavailable": the chain did not answer; "failed":
        # the tick raised), and the last tick's error (None once a tick succeeds).
        self.chain_errors: dict[str, int] = {"unavailable": 0, "failed": 0}
        self.last_anchor_error: str | None = None

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
            self.anchor_once()
            self._stop.wait(self.interval)

    def anchor_once(self) -> None:
        """One anchoring tick, if this process holds the lease; failures are counted in
        :attr:`chain_errors` and logged, never raised."""
        try:
            self.is_anchorer = self.lease.acquire()
            if not self.is_anchorer:
                self.last_anchor_error = None  # another process anchors
                return
            status = self.runtime.anchoring.anchorer.tick()
        except Exception as error:  # a ConsistencyError needs an operator: keep logging it
            self.chain_errors["failed"] += 1
            self.last_anchor_error = f"{type(error).__name__}: {error}"[:300]
            logger.exception("anchoring tick failed")
            return
        if status.state == "chain-unavailable":
            self.chain_errors["unavailable"] += 1
            self.last_anchor_error = f"chain unavailable: {status.error}"[:300]
            return
        self.last_anchor_error = None
        if status.state == "anchored":
            self.anchored += 1
