"""The ledger's repository: the library's cached, fast-forwarding repository, plus bringing
several cached aggregates up to date with one query.

A command reads a few aggregates (the batch, the acting participant, the recipient). With
the cache's fast-forwarding, each read asks the event store for newer events: on
PostgreSQL one round trip each. :meth:`LedgerRepository.fast_forwarded` asks once for
all of them; reads of those aggregates inside the block then use the cached copies
without asking again. The block is per thread, and :meth:`forget_fast_forwarded` ends it
early (a command that lost a concurrency race must read afresh before it retries).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate

from ledger.storage import newer_events

__all__ = ["LedgerRepository"]


class LedgerRepository(Repository[UUID]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._current = threading.local()

    @contextmanager
    def fast_forwarded(self, *aggregate_ids: UUID) -> Iterator[None]:
        """Within the block, gets of ``aggregate_ids`` that are cached return copies made
        current by one query at its start (aggregates not cached are read as usual)."""
        if self.cache is None or not self.fastforward:
            yield
            return
        cached: dict[UUID, Aggregate] = {}
        for aggregate_id in dict.fromkeys(aggregate_ids):
            try:
                cached[aggregate_id] = self.cache.get(aggregate_id)
            except KeyError:
                continue
        if cached:
            found = newer_events(self.event_store.recorder,
                                 {i: a.version for i, a in cached.items()})
            for aggregate_id, aggregate in cached.items():
                self._apply(aggregate_id, aggregate, found[aggregate_id])
        outer = getattr(self._current, "ids", frozenset())
        self._current.ids = outer | cached.keys()
        try:
            yield
        finally:
            self._current.ids = outer

    def forget_fast_forwarded(self) -> None:
        self._current.ids = frozenset()

    def _apply(self, aggregate_id: UUID, aggregate: Aggregate, stored: list[Any]) -> None:
        lock = self._use_fastforward_lock(aggregate_id)
        try:
            with lock:  # another thread may be fast-forwarding the same cached copy
                for event in map(self.event_store.mapper.to_domain_event, stored):
                    if event.originator_version > aggregate.version:
                        event.mutate(aggregate)
        finally:
            self._disuse_fastforward_lock(aggregate_id)

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
