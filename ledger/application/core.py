"""The core of the ledger application: construction, saving, command records, lookups."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from datetime import timedelta, tzinfo
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    Recording,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic

from ledger.application.context import CommandContext, DuplicateRequestError, _command_context
from ledger.application.forbidden import refuse_forbidden
from ledger.application.queries import BehaviourQueries
from ledger.application.retry import RetryStats, retrying
from ledger.domain.batch_view import BatchView
from ledger.domain.command_record import CommandRecord
from ledger.domain.credit_batch import CreditBatch
from ledger.domain.destinations import EXPORT_DESTINATIONS
from ledger.domain.errors import (
    BatchNotFoundError,
    DuplicateRecordError,
    LedgerError,
    MethodologyNotFoundError,
    ParticipantNotFoundError,
    PermissionDeniedError,
    RecordNotFoundError,
)
from ledger.domain.holding import Holding
from ledger.domain.issuance import IssuanceRequest
from ledger.domain.methodology import Methodology
from ledger.domain.neutrality_claim import NeutralityClaim
from ledger.domain.participant import Participant, Role, require_role
from ledger.domain.timeutil import MAX_CLOCK_SKEW
from ledger.domain.trade import Trade
from ledger.domain.unique_keys import KeyKind, UniqueKey, unique_key_id
from ledger.domain.vintage import REGISTRY_TIME_ZONES
from ledger.repository import LedgerRepository, ReadSetChanged
from ledger.storage import stored_at
from ledger.striped_locks import StripedLocks

A = TypeVar("A", bound=Aggregate)
HOLDING_OPENED = get_topic(Holding.Opened)
# Aggregates that commands read again soon after creating them: cached when created (see
# LedgerRepository.cache_created): a unique key is read again to find the holding of a
# pledge or listing it names. A behaviour or a command record is not.
READ_AGAIN: tuple[type[Aggregate], ...] = (Holding, Participant, CreditBatch, UniqueKey)
R = TypeVar("R")


def _events_of(objs: Sequence[Any]) -> Iterator[DomainEvent]:
    """The new events a save records: aggregates' pending events, and events saved as
    such (a new behaviour is saved as its first event)."""
    for obj in objs:
        if isinstance(obj, Aggregate):
            yield from obj.pending_events
        elif isinstance(obj, DomainEvent):
            yield obj


class _ProcessingEvent(ProcessingEvent[UUID]):
    def __init__(self) -> None:
        super().__init__()
        self.created: list[Aggregate] = []  # aggregates this save creates, as they are saved

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):  # class checks, not a Protocol's
                events = obj.collect_events()
                if events and events[0].originator_version == 1:
                    self.created.append(obj)
                self.events.extend(events)
                self.aggregates[obj.id] = obj
            elif isinstance(obj, DomainEvent):
                self.events.append(obj)
            elif obj is not None:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class LedgerCore(Application[UUID]):
    """The core the command mixins of :class:`~ledger.application.Ledger` build on:
    saving (atomically, with the command's record), lookups, role checks, :meth:`_retrying`."""

    name = "CarbonLedger"
    snapshotting_intervals: ClassVar[dict[type[Aggregate], int]] = {CreditBatch: 50,
                                                                     Holding: 50}
    # Deployment lists (see their modules): registries credits may be exported to, and the
    # time zone each issuing registry counts vintages in.
    export_destinations: Mapping[str, str] = EXPORT_DESTINATIONS
    vintage_time_zones: Mapping[str, tzinfo] = REGISTRY_TIME_ZONES
    # Behaviours dated later than now plus this are refused (clocks of platforms drift).
    clock_skew: timedelta = MAX_CLOCK_SKEW
    # Cache aggregates; on each get the cached copy is fast-forwarded with any newer events
    # (written by this or another process), so it is never stale. Copies are handed out.
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "250000",
        "AGGREGATE_CACHE_FASTFORWARD": "y",
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "y",
    }

    def __init__(self, env: dict[str, str] | None = None,
                 queries: BehaviourQueries | None = None) -> None:
        super().__init__(env)
        self.queries = queries
        # SQLite has one writer at a time: this process's writers queue on a Python lock
        # (woken at once) instead of polling in SQLite's busy handler (sleeps of up to
        # 100 ms), which is what made tail latency under concurrent requests. Other
        # processes still meet at SQLite's lock. PostgreSQL queues writers itself.
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if isinstance(self.recorder, SQLiteApplicationRecorder)
            else nullcontext())
        self._batch_locks = StripedLocks()
        # Retries of this ledger's commands (see ledger.application.retry), for benchmarks
        # and tests: ``ledger.retries.conflicts`` etc.
        self.retries = RetryStats()

    def construct_repository(self) -> LedgerRepository:
        library = super().construct_repository()  # the same settings, read from the env
        return LedgerRepository(
            event_store=self.events, snapshot_store=self.snapshots,
            cache_maxsize=(int(maxsize) if (maxsize := self.env.get(
                self.AGGREGATE_CACHE_MAXSIZE)) else None),  # as the library reads it
            fastforward=library.fastforward,
            fastforward_skipping=library.fastforward_skipping,
            deepcopy_from_cache=library.deepcopy_from_cache)

    @property
    def repository(self) -> LedgerRepository:
        return cast(LedgerRepository, self._repository)

    def close(self) -> None:
        """Close the store's connections and release the cached aggregates (see
        :meth:`LedgerRepository.release_cache`)."""
        super().close()
        self.repository.release_cache()

    # ------------------------------------------------------------------ command records

    @contextmanager
    def command_context(self, context: CommandContext) -> Iterator[CommandContext]:
        """Record ``context`` (signature, idempotency key) with the next save, atomically.

        Raises :class:`DuplicateRequestError` if the idempotency key was used before.
        """
        if context.idempotency_key is not None and self._exists(context.planned_id):
            raise DuplicateRequestError(
                f"idempotency key {context.idempotency_key!r} was used before",
                record=str(context.planned_id))
        token = _command_context.set(context)
        try:
            yield context
        finally:
            _command_context.reset(token)

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        new_events = list(_events_of(objs))
        refuse_forbidden(new_events)
        context = _command_context.get()
        if context is None:
            return self._write(*objs, **kwargs)
        events = [[str(e.originator_id), e.originator_version] for e in new_events]
        if context.record is not None:  # a later save of the same command
            context.record.add_events(events)
            try:
                return self._write(*objs, context.record, **kwargs)
            except IntegrityError:
                context.record = self.command_record(context.planned_id)  # reload, retry
                raise
        record_id = context.planned_id
        record = CommandRecord.record(
            record_id, participant=context.participant, command=context.command,
            request_sha256=context.request_sha256, authentication=context.authentication,
            idempotency_key=context.idempotency_key, events=events,
            request_id=context.request_id)
        try:
            recordings = self._write(*objs, record, **kwargs)
        except IntegrityError:
            if context.idempotency_key is not None and self._exists(record_id):
                raise DuplicateRequestError(
                    f"idempotency key {context.idempotency_key!r} was used before",
                    record=str(record_id)) from None
            raise
        context.record_id = record_id
        context.record = record
        return recordings

    def _write(self, *objs: Any, **kwargs: Any) -> Any:
        # Application.save, with a processing event that collects aggregates' events
        # without the library's runtime Protocol checks (a sixth of bulk ingestion's time).
        processing = _ProcessingEvent()
        reads = self.repository.read_set()
        if reads:  # checked at commit (see LedgerRepository)
            kwargs["read_set"] = reads
        processing.collect_events(*objs, **kwargs)
        with self._write_lock:
            try:
                recordings = self._record(processing)
            except (IntegrityError, ReadSetChanged, OperationalError, InterfaceError):
                found = self._recorded_already(processing)
                if found is None:
                    raise
                recordings = found
            self._take_snapshots(processing)
        if self.repository.checks_read_sets:
            self.repository.saved(processing.events)
        self.repository.cache_created([a for a in processing.created
                                       if isinstance(a, READ_AGAIN)])
        self._notify(recordings)
        context = _command_context.get()
        if context is not None and recordings:
            context.position = max(context.position,
                                   max(r.notification.id for r in recordings))
        return recordings

    def _recorded_already(self, processing: ProcessingEvent[UUID]) -> list[Any] | None:
        """The recordings of a save that failed but may have been committed: the reply to
        its commit lost with the connection (the recorder retried on a new one and met its
        own events: a unique violation, or a read set "changed" by itself), or a commit that
        raised after committing. It was committed if every one of its events is stored,
        with exactly this state (each event's state holds its timestamp, so a concurrent
        writer's event at the same version never matches). None if it was not, or if the
        store cannot be asked."""
        events = processing.events
        try:
            found = stored_at(self.recorder,
                              [(e.originator_id, e.originator_version) for e in events])
        except (OperationalError, InterfaceError):
            return None
        recordings = []
        for event in events:
            hit = found.get((event.originator_id, event.originator_version))
            if hit is None or self._payload(hit[0].state) != self._payload(
                    self.mapper.to_stored_event(event).state):
                return None
            stored, notification_id = hit
            recordings.append(Recording(event, Notification(
                id=notification_id, originator_id=stored.originator_id,
                originator_version=stored.originator_version, topic=stored.topic,
                state=stored.state)))
        return recordings

    def _payload(self, state: bytes) -> bytes:
        """A stored state as transcoded (a cipher's nonce differs between encryptions)."""
        if self.mapper.cipher is not None:
            state = self.mapper.cipher.decrypt(state)
        if self.mapper.compressor is not None:
            state = self.mapper.compressor.decompress(state)
        return state

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot an aggregate that reached its interval (a batch's grows with its tables:
        :meth:`CreditBatch.snapshot_interval`) from the instance just saved,
        which is exactly its recorded state (the library reconstructs it from the previous
        snapshot and the events since: on PostgreSQL a fifth of single commands' time)."""
        if not (self.snapshots and self.snapshotting_intervals):
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))  # type: ignore[arg-type]
            if interval is not None and isinstance(aggregate, CreditBatch | Holding):
                interval = aggregate.snapshot_interval(interval)
            if interval is None or event.originator_version % interval:
                continue
            if aggregate is not None and aggregate.version == event.originator_version:
                self.snapshots.put([type(aggregate).Snapshot.take(aggregate)])
            else:  # a later event of the same save moved it on: reconstruct, as the library
                self.take_snapshot(event.originator_id, version=event.originator_version)

    def command_record(self, record_id: UUID) -> CommandRecord:
        return self._get(record_id, CommandRecord, RecordNotFoundError, "command record")

    # ------------------------------------------------------------------ plumbing

    def _get(self, aggregate_id: UUID, kind: type[A], error: type[LedgerError],
             what: str, *, copy: bool = True) -> A:
        """The aggregate; with ``copy=False`` the cached instance itself, which the caller
        only reads and must never change."""
        try:
            aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=copy)
        except AggregateNotFoundError:
            raise error(f"unknown {what} {aggregate_id}", id=str(aggregate_id)) from None
        if not isinstance(aggregate, kind):
            raise error(f"{aggregate_id} is not a {what}", id=str(aggregate_id))
        return aggregate

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.repository.get(aggregate_id, deepcopy_from_cache=False)
        except AggregateNotFoundError:
            return False
        return True

    def participant(self, participant_id: UUID, *, copy: bool = True) -> Participant:
        """The participant, up to date; with ``copy=False`` the cached instance, for a
        caller that only reads it (authentication, role checks)."""
        return self._get(participant_id, Participant, ParticipantNotFoundError, "participant",
                         copy=copy)

    def methodology(self, methodology_id: UUID) -> Methodology:
        return self._get(methodology_id, Methodology, MethodologyNotFoundError, "methodology")

    def batch(self, batch_id: UUID) -> CreditBatch:
        return self._get(batch_id, CreditBatch, BatchNotFoundError, "credit batch")

    def _split(self, batch: CreditBatch) -> dict[str, Holding]:
        """Split ``batch`` (never split before: a batch issued before issue #17, or one
        being issued): its accounts' holdings, opened with their credits, to be saved with
        it."""
        return {account: Holding.open(batch.id, account, block=batch.block, ranges=ranges)
                for account, ranges in batch.split_holdings().items()}

    def holdings_by_batch(self) -> dict[UUID, list[UUID]]:
        """Every holding's id, by batch: a scan of the log's ``Holding.Opened`` events (for
        ``check``, the bridge's accounting and tests; commands find a holding by its id)."""
        found: dict[UUID, list[UUID]] = {}
        start, page = 1, 1000
        while True:
            notifications = self.recorder.select_notifications(
                start, page, topics=[HOLDING_OPENED])
            for notification in notifications:
                opened = self.mapper.to_domain_event(notification)
                found.setdefault(UUID(opened.batch), []).append(opened.originator_id)
            if len(notifications) < page:
                return found
            start = notifications[-1].id + 1

    def batch_view(self, batch_id: UUID, holdings: Sequence[UUID] | None = None) -> BatchView:
        """The batch with all its holdings (``holdings``: their ids, if known), read as one
        (see :class:`~ledger.domain.batch_view.BatchView`)."""
        batch = self.batch(batch_id)
        if holdings is None:
            holdings = self.holdings_by_batch().get(batch_id, []) if batch.is_split else []
        return BatchView(batch, [self._get(h, Holding, RecordNotFoundError, "holding",
                                           copy=False) for h in holdings])

    def request(self, request_id: UUID) -> IssuanceRequest:
        return self._get(request_id, IssuanceRequest, RecordNotFoundError, "issuance request")

    def claim(self, claim_id: UUID) -> NeutralityClaim:
        return self._get(claim_id, NeutralityClaim, RecordNotFoundError, "neutrality claim")

    def trade(self, trade_id: UUID) -> Trade:
        return self._get(trade_id, Trade, RecordNotFoundError, "trade")

    def _actor(self, actor: UUID, role: Role) -> None:
        require_role(self.participant(actor, copy=False), role)

    def _holder(self, account: UUID, what: str) -> None:
        participant = self.participant(account, copy=False)
        if not participant.has_role(Role.HOLDER):
            raise PermissionDeniedError(f"{what} {participant.name} cannot hold credits",
                                        participant=str(account))
        if participant.suspended:
            raise PermissionDeniedError(f"{what} {participant.name} is suspended",
                                        participant=str(account))

    def _retrying(self, command: Callable[[], R], what: str = "the command") -> R:
        """Run the whole ``command`` (one attempt: read, decide, save), again from fresh
        state when it loses a concurrency race or read a stale copy: see
        :func:`ledger.application.retry.retrying`; counted in :attr:`retries`."""
        return retrying(command, stats=self.retries,
                        before_retry=self.repository.forget_fast_forwarded, what=what)

    def _claim_key(self, kind: KeyKind, key: str, owner: UUID, refusal: str) -> UniqueKey:
        """A new claim of ``key``; :class:`DuplicateRecordError` if it was claimed before
        (a concurrent claim makes the save fail, and the command's retry finds it here)."""
        key_id = unique_key_id(kind, key)
        if self._exists(key_id):
            first = self.repository.get(key_id).owner
            # a record kept on a holding (issue #17) is named by its batch, as before
            with suppress(AggregateNotFoundError):
                owner_now = self.repository.get(UUID(first), deepcopy_from_cache=False)
                if isinstance(owner_now, Holding):
                    first = owner_now.batch
            raise DuplicateRecordError(f"{refusal} (by {first})", key=key, first=first)
        return UniqueKey.claim(kind, key, owner)

