"""The API's write queue: results and errors reach their requests, one catch-up serves a
group, and the writer thread comes and goes with the work."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from api.writer import Deferred, WriteQueue


class Syncs:
    """A stand-in for ``LedgerRuntime.sync`` that records what it was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[int | None] = []
        self.fail = fail

    def __call__(self, position: int | None) -> None:
        self.calls.append(position)
        if self.fail:
            raise RuntimeError("read models unavailable")


def test_results_and_errors_reach_the_request_that_submitted_them():
    queue = WriteQueue(Syncs())

    def refused() -> int:
        raise ValueError("refused")

    async def main() -> tuple[object, ...]:
        return tuple(await asyncio.gather(
            queue.submit(lambda: 1), queue.submit(refused), queue.submit(lambda: 3),
            return_exceptions=True))

    first, second, third = asyncio.run(main())
    assert first == 1 and third == 3
    assert isinstance(second, ValueError) and str(second) == "refused"


def test_a_group_is_caught_up_once_to_its_furthest_position_before_any_finish():
    syncs = Syncs()
    queue = WriteQueue(syncs)
    gate = threading.Event()
    order: list[str] = []

    def held() -> str:  # keeps the writer busy while the next jobs queue up
        gate.wait(5)
        return "held"

    def job(position: int) -> Deferred[str]:
        def finish() -> str:
            order.append(f"finish {position} after {len(syncs.calls)} sync(s)")
            return f"done {position}"
        return Deferred(position, finish)

    async def main() -> list[str]:
        first = asyncio.ensure_future(queue.submit(held))
        await asyncio.sleep(0.05)
        waiting = [asyncio.ensure_future(queue.submit(lambda p=p: job(p))) for p in (7, 9, 8)]
        await asyncio.sleep(0.05)
        gate.set()
        return [await first, *[await w for w in waiting]]

    assert asyncio.run(main()) == ["held", "done 7", "done 9", "done 8"]
    assert syncs.calls == [9]  # the three queued jobs ran as one group: one catch-up
    assert order == [f"finish {p} after 1 sync(s)" for p in (7, 9, 8)]


def test_a_job_without_a_position_is_caught_up_to_the_end_of_the_log():
    syncs = Syncs()
    queue = WriteQueue(syncs)

    async def main() -> str:
        return await queue.submit(lambda: Deferred(None, lambda: "read"))

    assert asyncio.run(main()) == "read"
    assert syncs.calls == [None]


def test_a_failed_catch_up_fails_every_job_of_the_group_that_waited_for_it():
    queue = WriteQueue(Syncs(fail=True))

    async def main() -> list[object]:
        return list(await asyncio.gather(
            queue.submit(lambda: Deferred(1, lambda: "never")), queue.submit(lambda: "plain"),
            return_exceptions=True))

    results = asyncio.run(main())
    assert "plain" in results
    assert any(isinstance(r, RuntimeError) for r in results)
    assert "never" not in results


def test_the_lock_is_held_while_a_group_runs():
    lock = threading.Lock()
    free_during_job: list[bool] = []

    def job() -> None:
        free = lock.acquire(blocking=False)
        if free:
            lock.release()
        free_during_job.append(free)

    queue = WriteQueue(Syncs(), lock=lock)
    asyncio.run(queue.submit(job))
    assert free_during_job == [False]
    assert lock.acquire(timeout=5)  # released once the group has run
    lock.release()


def test_an_idle_writer_thread_stops_and_the_next_job_starts_another(monkeypatch):
    monkeypatch.setattr(WriteQueue, "idle_s", 0.05)
    queue = WriteQueue(Syncs())

    def writers() -> int:
        return sum(t.name == "api-writer" and t.is_alive() for t in threading.enumerate())

    before = writers()
    assert asyncio.run(queue.submit(lambda: threading.current_thread().name)) == "api-writer"
    deadline = time.monotonic() + 5
    while writers() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writers() == before
    assert asyncio.run(queue.submit(lambda: "again")) == "again"


def test_a_queue_needs_a_thread():
    with pytest.raises(ValueError, match="at least one thread"):
        WriteQueue(Syncs(), threads=0)
