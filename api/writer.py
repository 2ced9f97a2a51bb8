"""The API's write path: commands run on dedicated writer threads, in groups.

A write request's route is ``async``: it hands its work to a :class:`WriteQueue` and awaits
the answer, instead of taking a hop through the server's general thread pool. A writer
thread takes every job waiting at that moment (a group), runs each job's command in turn,
brings the read models up to date **once** for the whole group (so every caller still reads
its own write), then finishes each job (shaping its response from the read models).

Under concurrent writers this is the same work with fewer fixed costs: one catch-up
transaction per group instead of one per request, and one cheap hand-off per request. The
commands themselves still run one at a time, each in its own transaction, exactly as before.

A writer thread that has been idle for :attr:`WriteQueue.idle_s` stops, and the next job
starts one again; so a queue needs no shutdown, and an app that is dropped leaves nothing
running.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Deferred", "WriteQueue"]

T = TypeVar("T")
GROUP_LIMIT = 64  # jobs finished together at most (their callers wait for the slowest)


@dataclass(frozen=True)
class Deferred(Generic[T]):
    """A job's outcome that needs the read models at ``position`` before ``finish``.
    ``failed``, if given, is told the error when the catch-up or ``finish`` raised (the
    job's command was applied all the same) and returns the error for the caller."""

    position: int | None
    finish: Callable[[], T]
    failed: Callable[[BaseException], BaseException] | None = None

    def fail(self, error: BaseException) -> BaseException:
        if self.failed is None:
            return error
        try:
            return self.failed(error)
        except BaseException as failure:  # the error it meant to hand on, or a new one
            return failure


@dataclass
class _Job:
    work: Callable[[], object]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[object]
    context: contextvars.Context  # the request's (its id, for the log lines of the job)

    def settle(self, value: object = None, error: BaseException | None = None) -> None:
        self.loop.call_soon_threadsafe(_settle, self.future, value, error)


def _settle(future: asyncio.Future[object], value: object,
            error: BaseException | None) -> None:
    if future.cancelled():  # the client went away; the command still ran (or not) as told
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class WriteQueue:
    """Runs write jobs on up to ``threads`` writer threads (see the module documentation).

    ``sync(position)`` brings the read models to at least ``position`` (a notification id),
    or to the end of the log when ``position`` is None. ``lock``, if given, is held while a
    group runs (on SQLite, the lock that queues the writers of several server processes)."""

    idle_s = 5.0

    def __init__(self, sync: Callable[[int | None], object], threads: int = 1,
                 lock: AbstractContextManager[object] | None = None) -> None:
        if threads < 1:
            raise ValueError("a write queue needs at least one thread")
        self._sync = sync
        self._group_lock = lock if lock is not None else nullcontext()
        self._threads = threads
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0  # jobs put and not yet taken

    async def submit(self, work: Callable[[], T | Deferred[T]]) -> T:
        """Run ``work`` on a writer thread; if it returns a :class:`Deferred`, its
        ``finish()`` after the read models reached its position. Returns the result, or
        raises what ``work`` (or ``finish``) raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        with self._lock:
            self._jobs.put(_Job(work, loop, future, contextvars.copy_context()))
            self._waiting += 1
            if self._running < min(self._threads, self._waiting):
                self._running += 1
                threading.Thread(target=self._serve, name="api-writer", daemon=True).start()
        return await future  # type: ignore[return-value]

    @property
    def depth(self) -> int:
        """Jobs submitted and not yet taken by a writer thread."""
        return self._waiting

    @property
    def running(self) -> int:
        """Writer threads running."""
        return self._running

    def _take(self, block: bool) -> _Job | None:
        try:
            job = self._jobs.get(timeout=self.idle_s) if block else self._jobs.get_nowait()
        except queue.Empty:
            return None
        with self._lock:
            self._waiting -= 1
        return job

    def _serve(self) -> None:
        while True:
            first = self._take(block=True)
            if first is None:
                with self._lock:
                    if self._waiting == 0:  # nothing was put while we timed out
                        self._running -= 1
                        return
                continue
            group = [first]
            while len(group) < GROUP_LIMIT and (job := self._take(block=False)) is not None:
                group.append(job)
            with self._group_lock:
                self._run(group)

    def _run(self, group: list[_Job]) -> None:
        deferred: list[tuple[_Job, Deferred[object]]] = []
        for job in group:
            try:
                outcome = job.context.run(job.work)
            except BaseException as error:  # handed to the waiting request
                job.settle(error=error)
                continue
            if isinstance(outcome, Deferred):
                deferred.append((job, outcome))
            else:
                job.settle(outcome)
        if not deferred:
            return
        positions = [d.position for _, d in deferred]
        try:
            self._sync(None if None in positions else max(positions))  # type: ignore[type-var]
        except BaseException as error:
            for job, outcome in deferred:
                job.settle(error=outcome.fail(error))
            return
        for job, outcome in deferred:
            try:
                job.settle(job.context.run(outcome.finish))
            except BaseException as error:
                job.settle(error=outcome.fail(error))
