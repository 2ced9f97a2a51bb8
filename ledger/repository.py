"""The ledger's repository: the library's cached, fast-forwarding repository, plus bringing
several cached aggregates up to date with one query.

A command reads a few aggregates (the batch, the acting participant, the recipient). With
the cache's fast-forwarding, each read asks the event store for newer events: on
PostgreSQL one round trip each. :meth:`LedgerRepository.fast_forwarded` asks once for
all of them; reads of those aggregates inside the block then use the cached copies
without asking again. The block is per thread, and :meth:`forget_fast_forwarded` ends it
early (a command that lost a concurrency race must read afresh before it retries).

With ``check_at_commit`` the block does not ask at all: it notes the version of each cached
copy it hands out (the command's *read set*), and the save asks the event store to refuse
the write, under the same lock that orders all writes, if any of those aggregates has a
newer event (:class:`ReadSetChanged`). A command from a process that is the only writer,
or whose cache is current, then costs one round trip instead of two; a stale read costs a
retry instead of a wrong decision. A refusal decided on cached copies is not final either:
:meth:`caught_up` tells the caller whether anything it read was stale (see
``Ledger._commanding``). Only recorders with ``checks_read_sets`` support this.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import LRUCache, Repository
from eventsourcing.domain import Aggregate, DomainEvent

from ledger.storage import newer_events

__all__ = ["LedgerRepository", "ReadSetChanged"]


class ReadSetChanged(Exception):  # noqa: N818 - a fact, like the library's IntegrityError
    """The event store refused a save: an aggregate the command read from the cache had a
    newer event than the copy it read."""


class LedgerRepository(Repository[UUID]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._current = threading.local()

    @property
    def checks_read_sets(self) -> bool:
        """Whether saves can be checked against a read set (see the module's text)."""
        return (self.cache is not None and self.fastforward
                and getattr(self.event_store.recorder, "checks_read_sets", False))

    @contextmanager
    def fast_forwarded(self, *aggregate_ids: UUID,
                       check_at_commit: bool = False) -> Iterator[None]:
        """Within the block, gets of ``aggregate_ids`` that are cached return copies made
        current by one query at its start (aggregates not cached are read as usual); with
        ``check_at_commit`` (only if :attr:`checks_read_sets`), copies as cached, whose
        versions the saves in the block send to be checked."""
        if self.cache is None or not self.fastforward:
            yield
            return
        cached: dict[UUID, Aggregate] = {}
        for aggregate_id in dict.fromkeys(aggregate_ids):
            try:
                cached[aggregate_id] = self.cache.get(aggregate_id)
            except KeyError:
                continue
        outer_reads: dict[UUID, int] | None = getattr(self._current, "reads", None)
        if check_at_commit:
            reads = {i: a.version for i, a in cached.items()}
            self._current.reads = {**reads, **(outer_reads or {})}
        elif cached:
            found = newer_events(self.event_store.recorder,
                                 {i: a.version for i, a in cached.items()})
            for aggregate_id, aggregate in cached.items():
                self._apply(aggregate_id, aggregate, self._decoded(found[aggregate_id]))
        outer = getattr(self._current, "ids", frozenset())
        self._current.ids = outer | cached.keys()
        try:
            yield
        finally:
            self._current.ids = outer
            self._current.reads = outer_reads

    def forget_fast_forwarded(self) -> None:
        self._current.ids = frozenset()
        self._current.reads = None

    def read_set(self) -> dict[UUID, int] | None:
        """This thread's aggregates to check at commit, with the versions it read."""
        return getattr(self._current, "reads", None)

    def saved(self, events: Sequence[DomainEvent]) -> None:
        """A save succeeded (where read sets are checked). The cached copies of the
        aggregates it wrote, if exactly one save behind, take its events: with
        fast-forwarding the library leaves the cache as it was, and the next command's read
        set would be stale. The aggregates this thread's command read are now read at the
        versions written, so that a later save of the same command is checked from there."""
        if self.cache is None:
            return
        reads = self.read_set()
        written: dict[UUID, list[DomainEvent]] = {}
        for event in events:  # a first event has no cached copy behind it (bulk reports)
            if event.originator_version > 1 or (reads and event.originator_id in reads):
                written.setdefault(event.originator_id, []).append(event)
        for aggregate_id, new in written.items():
            if reads is not None and aggregate_id in reads:
                reads[aggregate_id] = new[-1].originator_version
            try:
                cached = self.cache.get(aggregate_id)
            except KeyError:
                continue
            self._apply(aggregate_id, cached, new)

    def cache_created(self, aggregates: Sequence[Aggregate]) -> None:
        """A save that created ``aggregates`` succeeded, and they are exactly as saved (ones
        that commands read again soon: a recipient's new holding, a new participant). Each
        is cached as a copy, so that its first read is not a miss (on PostgreSQL two round
        trips; the library caches on save only without fast-forwarding). The caller's
        instance stays its own: it may change it and save again."""
        if self.cache is None:
            return
        for aggregate in aggregates:
            try:
                self.cache.get(aggregate.id)
            except KeyError:
                self.cache.put(aggregate.id, deepcopy(aggregate))

    def release_cache(self) -> None:
        """Drop every cached aggregate (a ledger being closed). The library's LRU cache keeps
        them in a circular linked list, which only the cyclic collector frees, and it never
        visits objects a process froze (``gc.freeze``, :mod:`ledger.gc_tuning`): a process
        that closes ledgers and starts servers, as the tests do, would keep every closed
        ledger's cache. Unlinked, they are freed by reference counting."""
        cache = self.cache
        if cache is None:
            return
        with cache.lock if isinstance(cache, LRUCache) else nullcontext():
            for entry in cache.cache.values():
                if type(entry) is list:  # an LRU cache's link: [prev, next, key, value]
                    entry.clear()
            cache.cache.clear()
            if isinstance(cache, LRUCache):
                cache.clear()  # its root link
                cache.full = False

    def caught_up(self) -> bool:
        """Fast-forward this thread's read set with one query; whether anything in it was
        stale. The caller decides again on current copies if it was."""
        reads = self.read_set()
        if not reads or self.cache is None:
            return False
        found = newer_events(self.event_store.recorder, reads)
        stale = False
        for aggregate_id, stored in found.items():
            if not stored:
                continue
            stale = True
            try:
                aggregate = self.cache.get(aggregate_id)
            except KeyError:
                continue
            self._apply(aggregate_id, aggregate, self._decoded(stored))
        return stale

    def _decoded(self, stored: list[Any]) -> list[DomainEvent]:
        return [self.event_store.mapper.to_domain_event(s) for s in stored]

    def _apply(self, aggregate_id: UUID, aggregate: Aggregate,
               events: Sequence[DomainEvent]) -> None:
        """Bring a cached copy forward by ``events`` (in version order): each one that is
        next for it, so events it already has are skipped and a gap leaves it as it is."""
        lock = self._use_fastforward_lock(aggregate_id)
        try:
            with lock:  # another thread may be fast-forwarding the same cached copy
                for event in events:
                    if event.originator_version == aggregate.version + 1:
                        event.mutate(aggregate)
        finally:
            self._disuse_fastforward_lock(aggregate_id)

    def cached_or_read(self, aggregate_id: UUID) -> Any:
        """The cached instance as it is, not brought up to date, or the aggregate read as
        usual: for a caller that reads only what never changes once written (a unique key's
        owner, a holding's batch), which must not change it."""
        if self.cache is not None:
            try:
                return self.cache.get(aggregate_id)
            except KeyError:
                pass
        return super().get(aggregate_id, deepcopy_from_cache=False)

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        if (kwargs.get("version") is None and self.cache is not None
                and aggregate_id in getattr(self._current, "ids", ())):
            try:
                aggregate = self.cache.get(aggregate_id)
            except KeyError:  # evicted since: read as usual
                pass
            else:
                if kwargs.get("deepcopy_from_cache", True) and self.deepcopy_from_cache:
                    return deepcopy(aggregate)
                return aggregate
        return super().get(aggregate_id, **kwargs)
