"""The write lock: re-entrant in a thread, exclusive across threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from ledger.write_lock import WriteLock

HOLDER = """
import sys, time
from pathlib import Path
from ledger.write_lock import WriteLock
with WriteLock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def test_it_is_reentrant_within_a_thread(tmp_path: Path):
    lock = WriteLock(tmp_path / "writer.lock")
    with lock, lock, lock:
        pass
    with lock:  # released completely: taken again
        pass
    lock.close()


def test_another_thread_waits_until_it_is_released(tmp_path: Path):
    lock = WriteLock(tmp_path / "writer.lock")
    events: list[str] = []
    with lock:
        waiter = threading.Thread(target=lambda: (lock.__enter__(), events.append("taken"),
                                                  lock.__exit__(None, None, None)))
        waiter.start()
        time.sleep(0.1)
        events.append("releasing")
    waiter.join(5)
    assert events == ["releasing", "taken"]


def test_another_process_waits_until_it_is_released(tmp_path: Path):
    path = tmp_path / "writer.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "0.5"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        lock = WriteLock(path)
        with lock:
            waited = time.monotonic() - started
        lock.close()
        assert waited > 0.2  # it could not be taken while the other process held it
        assert holder.stdout.readline().strip() == "released"
    finally:
        holder.wait(10)
