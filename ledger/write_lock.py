"""One writer at a time across the processes serving one SQLite ledger.

SQLite takes one writer at a time and makes the others wait in its busy handler, which
polls with sleeps of up to 100 ms: with several server processes writing, latency is set by
those sleeps. :class:`WriteLock` queues the processes' writers on an ``flock`` of a file in
the data directory instead, which wakes the next writer as soon as the lock is released.
It is reentrant within a thread (a group of API writes holds it across the commands and the
catch-up that follows them). It only orders writers that use it; SQLite's own locking still
guarantees correctness for any other process writing the same files.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["WriteLock"]


class WriteLock:
    """A reentrant lock shared by the threads of this process and, through ``flock`` on
    ``path``, by every process that opens a ``WriteLock`` on the same file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def __enter__(self) -> WriteLock:
        self._threads.acquire()
        try:
            if self._depth == 0:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # waits without holding the GIL
            self._depth += 1
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._depth == 0:
                os.close(self._fd)
                self._fd = None
