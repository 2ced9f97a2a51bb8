"""The one way a ledger command is retried: :func:`retrying`.

A command (the function given to :func:`retrying`) is a whole attempt: it reads what it needs,
checks every rule on what it read, and saves everything it changes in one transaction. A
failed attempt saves nothing, so the command can simply run again from the start; each
attempt reads afresh, so the rules are checked again on the state it will be saved over.

Retried (the attempt lost a race, not an argument):

* :class:`~eventsourcing.persistence.IntegrityError`: an optimistic-concurrency conflict. A
  concurrent writer saved an event at a version this attempt also wrote (or claimed a unique
  key first). Before the next attempt the ``before_retry`` hook runs (the ledger forgets the
  thread's fast-forwarded copies, so the next attempt reads current state) and the thread
  waits a random while growing with the attempt (:func:`_back_off`: up to 2 ms, 4 ms, ... at
  most 128 ms), so competing writers do not collide again in lockstep. Counted in
  :attr:`RetryStats.conflicts`.
* :class:`StaleRead`: the attempt decided on a cached copy that turned out stale (the store
  refused its save because a copy it read had a newer event, or a refusal it decided was not
  confirmed once its copies were brought up to date; see ``BatchCommands._commanding``). The
  next attempt runs at once and reads current copies (:func:`first_attempt` is false in it).
  Counted in :attr:`RetryStats.stale_reads`.

Everything else propagates at once, unretried: a :class:`~ledger.domain.errors.LedgerError`
is the command's answer (a rule refused it), and other errors are not races.

At most :data:`MAX_ATTEMPTS` attempts are made; if the last one also lost, the command fails
with :class:`~ledger.domain.errors.ConcurrencyError` (``concurrency-conflict``, HTTP 409), and
:attr:`RetryStats.gave_up` counts it. A :func:`retrying` called inside another one runs its
command once: the outermost call owns the retries, so a retry always re-runs the whole
command.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from ledger.domain.errors import ConcurrencyError

__all__ = ["MAX_ATTEMPTS", "RetryStats", "StaleRead", "first_attempt", "retrying"]

R = TypeVar("R")

MAX_ATTEMPTS = 10

# The number of the attempt this thread is in (0 for the first), None outside retrying.
_attempt: ContextVar[int | None] = ContextVar("command_attempt", default=None)


class StaleRead(Exception):  # noqa: N818 - a fact, like the library's IntegrityError
    """The attempt decided on a cached copy that was stale: the command runs again on
    current copies. Raised inside a command, caught by :func:`retrying`; never escapes it."""


@dataclass
class RetryStats:
    """How often this ledger's commands were retried, since it was made (or :meth:`reset`).

    Counts are per process (each :class:`~ledger.application.Ledger` instance keeps its own),
    updated under a lock, so threads may share one."""

    conflicts: int = 0  # attempts that lost an optimistic-concurrency race
    stale_reads: int = 0  # attempts run again because they read a stale cached copy
    gave_up: int = 0  # commands that failed with ConcurrencyError after MAX_ATTEMPTS
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def retries(self) -> int:
        """Attempts made again, for either reason (a command's last attempt, lost, is
        counted in ``conflicts`` or ``stale_reads`` and in ``gave_up``, but not here)."""
        return self.conflicts + self.stale_reads - self.gave_up

    def count(self, *, conflicts: int = 0, stale_reads: int = 0, gave_up: int = 0) -> None:
        with self._lock:
            self.conflicts += conflicts
            self.stale_reads += stale_reads
            self.gave_up += gave_up

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {"conflicts": self.conflicts, "stale_reads": self.stale_reads,
                    "gave_up": self.gave_up,
                    "retries": self.conflicts + self.stale_reads - self.gave_up}

    def reset(self) -> None:
        with self._lock:
            self.conflicts = self.stale_reads = self.gave_up = 0


def first_attempt() -> bool:
    """Whether this thread is in the first attempt of a :func:`retrying` command (true
    outside one too): the only attempt that may decide on cached copies as they are."""
    return not _attempt.get()


def _back_off(attempt: int) -> None:
    """Wait a little, more each time and at random, before retrying a lost race."""
    time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))


def retrying(command: Callable[[], R], *, stats: RetryStats,
             before_retry: Callable[[], None] = lambda: None,
             what: str = "the command", attempts: int = MAX_ATTEMPTS) -> R:
    """Run ``command``, again from the start (up to ``attempts`` in all) when an attempt
    conflicts with a concurrent write or read a stale copy; see the module's text."""
    if _attempt.get() is not None:  # inside another retrying: that one retries
        return command()
    for attempt in range(attempts):
        token = _attempt.set(attempt)
        try:
            return command()
        except StaleRead:
            stats.count(stale_reads=1)
        except IntegrityError:
            stats.count(conflicts=1)
            if attempt + 1 < attempts:
                before_retry()
                _back_off(attempt)
        finally:
            _attempt.reset(token)
    stats.count(gave_up=1)
    raise ConcurrencyError(f"{what} kept conflicting with concurrent writes; retry")
