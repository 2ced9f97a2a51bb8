"""The ledger application: loads aggregates, calls one command, saves atomically.

Every public method is one command. It checks the actor's role, loads the aggregates the
command touches, calls the domain, and saves all changed aggregates in one transaction, so a
command either happens completely or not at all. Optimistic-concurrency conflicts are retried
with fresh state; uniqueness conflicts (a re-reported act, a replayed trade id) are turned
into domain errors or idempotent replies.

Read-side questions the write side needs (points earned by a person; which unissued
behaviours fall in a period) are answered by a :class:`BehaviourQueries` implementation,
normally the behaviour index projection.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache, wraps
from typing import Any, ClassVar, ParamSpec, Protocol, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEvent, get_topic
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    Recording,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder

from anchoring.merkle import leaf_hash, root_from_leaf_hashes
from ledger.domain import ids
from ledger.domain.act_key import ActKey
from ledger.domain.behaviour import Behaviour
from ledger.domain.carbon_account import CarbonAccount, carbon_account_id
from ledger.domain.command_record import CommandRecord, idempotency_record_id
from ledger.domain.credit_batch import CreditBatch, token_retirement_id
from ledger.domain.currencies import check_currency
from ledger.domain.destinations import EXPORT_DESTINATIONS
from ledger.domain.errors import (
    BatchNotFoundError,
    ConcurrencyError,
    DuplicateBehaviourError,
    DuplicateRecordError,
    LedgerError,
    LimitExceededError,
    MethodologyNotFoundError,
    ParticipantNotFoundError,
    PeriodClosedError,
    PermissionDeniedError,
    RecordNotFoundError,
    TradeConflictError,
    ValidationError,
)
from ledger.domain.issuance import IssuanceRequest, IssuanceSchedule
from ledger.domain.limits import MAX_BLOCK_LABEL, MAX_POINTS, MAX_REGISTRY_NAME, bounded_text
from ledger.domain.mandates import MandateScope
from ledger.domain.methodology import PLAIN_DECIMAL, Methodology, parse_decimal
from ledger.domain.neutrality_claim import NeutralityClaim
from ledger.domain.participant import Participant, ParticipantKind, Role, require_role
from ledger.domain.quantities import require_grams
from ledger.domain.registry import ExternalRegistry, Registry, validate_prefix
from ledger.domain.serials import Range
from ledger.domain.text import check_text, forbidden_character
from ledger.domain.timeutil import MAX_CLOCK_SKEW, check_not_future, parse_time
from ledger.domain.trade import Trade
from ledger.domain.unique_keys import KeyKind, UniqueKey, unique_key_id
from ledger.domain.vintage import REGISTRY_TIME_ZONES, vintage_of
from ledger.repository import LedgerRepository, ReadSetChanged
from ledger.storage import first_events, stored_at
from ledger.striped_locks import StripedLocks

__all__ = [
    "BehaviourQueries",
    "BehaviourReport",
    "BehaviourResult",
    "CommandContext",
    "DuplicateRequestError",
    "Ledger",
    "TradeInstruction",
    "TradeResult",
    "UnissuedBehaviours",
]

# Derived ids repeat across a bulk report (same methodology, platform, people): cache them.
_methodology_id = lru_cache(maxsize=1024)(ids.methodology_id)
_schedule_id = lru_cache(maxsize=1024)(ids.issuance_schedule_id)
_account_id = lru_cache(maxsize=65536)(ids.individual_account_id)

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")
P = ParamSpec("P")

MAX_RETRIES = 10
SAVE_CHUNK = 1000  # behaviours per transaction in bulk reports
CONCURRENT_DUPLICATE_ROUNDS = 3  # re-saves of a chunk without the acts saved concurrently


def _duplicate(behaviour_id: UUID, act_identity: str, first_platform: str,
               first_platform_ref: str) -> DuplicateBehaviourError:
    return DuplicateBehaviourError(
        f"act {act_identity!r} was already reported by platform {first_platform} as "
        f"{first_platform_ref!r} (behaviour {behaviour_id})",
        behaviour=str(behaviour_id), first_platform=first_platform,
        first_platform_ref=first_platform_ref,
    )


def _events_of(objs: Sequence[Any]) -> Iterator[DomainEvent]:
    """The new events a save records: aggregates' pending events, and events saved as
    such (a new behaviour is saved as its first event)."""
    for obj in objs:
        if isinstance(obj, Aggregate):
            yield from obj.pending_events
        elif isinstance(obj, DomainEvent):
            yield obj


def _forbidden_in(value: Any, path: str) -> tuple[str, str] | None:
    """The path and character of a text in ``value`` that holds a character no text may
    hold (:func:`ledger.domain.text.forbidden_character`), if any."""
    if isinstance(value, str):
        found = forbidden_character(value)
        return (path, found) if found is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            hit = _forbidden_in(key, path) or _forbidden_in(item, f"{path}.{key}")
            if hit:
                return hit
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if hit := _forbidden_in(item, f"{path}[{index}]"):
                return hit
    return None


_PLAIN = frozenset({int, bool, float, type(None), UUID, datetime, Decimal})


def _refuse_forbidden(events: Iterable[DomainEvent]) -> None:
    """No event may carry a control (but line feed and tab), bidirectional-control,
    surrogate or noncharacter code point, whatever field it is in: the backstop of
    :func:`ledger.domain.text.check_text`, which each command applies to its text fields.
    (A NUL would moreover stop every projection: PostgreSQL text and jsonb cannot hold
    one.)"""
    for event in events:
        fields = vars(event)
        texts = [value for value in fields.values() if type(value) is str]
        if (len(texts) + sum(type(value) in _PLAIN for value in fields.values())
                == len(fields) and forbidden_character("".join(texts)) is None):
            continue  # the common case: no nested value; one look at all the text
        for name, value in fields.items():
            hit = _forbidden_in(value, name) if type(value) in (str, dict, list, tuple) \
                else None
            if hit:
                path, character = hit
                raise ValidationError(
                    f"{path} contains U+{ord(character):04X}, which no text may hold",
                    field=path, code_point=f"U+{ord(character):04X}")


class _ProcessingEvent(ProcessingEvent[UUID]):
    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):  # class checks, not a Protocol's
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            elif isinstance(obj, DomainEvent):
                self.events.append(obj)
            elif obj is not None:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


def _now() -> datetime:
    """The time commands check mandates' expiry against (a function, so tests can move it)."""
    return datetime.now(UTC)


def _back_off(attempt: int) -> None:
    """Wait a little, more each time and at random, before retrying a lost race, so that
    competing writers do not collide again in lockstep."""
    time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))


# Which attempt of a batch command this thread is in (see Ledger._commanding).
_attempt: ContextVar[str | None] = ContextVar("batch_command_attempt", default=None)


class _StaleAttempt(Exception):  # noqa: N818 - internal control flow, never escapes
    """The attempt decided on a cached copy that was stale: the command runs again."""


def _batch_command(method: Callable[P, R]) -> Callable[P, R]:
    """Run a command whose body is one :meth:`Ledger._commanding` block: first on cached
    copies checked at commit, then, if they were stale, once more on current copies. The
    body is the whole command (nothing saved before the block), so running it again is
    safe."""
    @wraps(method)
    def command(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _attempt.set("checked")
        try:
            return method(*args, **kwargs)
        except _StaleAttempt:
            _attempt.set("current")
            return method(*args, **kwargs)
        finally:
            _attempt.reset(token)

    return command


class DuplicateRequestError(DuplicateRecordError):
    """The idempotency key was used before: the earlier request was applied already."""

    code = "duplicate-request"


@dataclass
class CommandContext:
    """How the current command was asked for; recorded atomically with its first save."""

    participant: UUID
    command: str
    request_sha256: str
    authentication: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    request_id: str | None = None  # the HTTP request's X-Request-Id
    record_id: UUID | None = None  # set once recorded
    record: Any = None  # the CommandRecord aggregate, extended by later saves
    position: int = 0  # the highest notification id the command's saves were given
    _random_id: UUID | None = None

    @property
    def planned_id(self) -> UUID:
        if self.record_id is not None:
            return self.record_id
        if self.idempotency_key is not None:
            return idempotency_record_id(self.participant, self.idempotency_key)
        if self._random_id is None:
            self._random_id = uuid4()
        return self._random_id


_command_context: ContextVar[CommandContext | None] = ContextVar("command_context",
                                                                 default=None)


@dataclass(frozen=True)
class UnissuedBehaviours:
    """The behaviours a request would cover, as of log position ``cutoff_position``."""

    cutoff_position: int
    leaves: list[bytes]  # canonical leaf bytes, in log order
    total_g: int


class BehaviourQueries(Protocol):
    def earned_points(self, account: UUID) -> int:
        """Points credited to ``account`` by its behaviours so far."""
        ...

    def unissued_behaviours(self, platform: UUID, methodology: UUID, period_start: datetime,
                            period_end: datetime) -> UnissuedBehaviours:
        """Behaviours of one platform and methodology that occurred in the period."""
        ...


@dataclass(frozen=True)
class BehaviourReport:
    """One behaviour as a platform reports it."""

    person: str  # the person's pseudonymous id, shared across platforms
    methodology_code: str
    methodology_version: str
    act_identity: str  # identity of the physical act, e.g. "charger:WH-0001|2024-09-03T08:15Z"
    activity_amount: str  # exact decimal in the methodology's activity unit
    occurred_at: str | datetime
    platform_ref: str  # the platform's own record id


@dataclass(frozen=True)
class BehaviourResult:
    index: int
    accepted: bool
    behaviour_id: UUID | None = None
    reduction_g: int = 0
    error: LedgerError | None = None


@dataclass(frozen=True)
class TradeInstruction:
    """One matched trade, as the exchange reports it for settlement."""

    trade_ref: str
    listing_ref: str
    batch_id: UUID
    seller: UUID
    buyer: UUID
    quantity: int
    price_per_tonne: str
    currency: str
    retire_on_delivery: dict[str, Any] | None = None

    def terms(self) -> dict[str, Any]:
        return {
            "listing_ref": self.listing_ref, "batch": str(self.batch_id),
            "seller": str(self.seller), "buyer": str(self.buyer), "quantity": self.quantity,
            "price_per_tonne": self.price_per_tonne, "currency": self.currency,
            "retire_on_delivery": self.retire_on_delivery,
        }


@dataclass(frozen=True)
class TradeResult:
    trade_ref: str
    trade_id: UUID
    settled: bool
    replayed: bool = False
    ranges: list[Range] = field(default_factory=list)
    retirement_id: UUID | None = None
    error: LedgerError | None = None


class Ledger(Application[UUID]):
    """The carbon ledger's write side."""

    name = "CarbonLedger"
    snapshotting_intervals: ClassVar[dict[type[Aggregate], int]] = {CreditBatch: 50}
    # Deployment lists (see their modules): registries credits may be exported to, and the
    # time zone each issuing registry counts vintages in.
    export_destinations: Mapping[str, str] = EXPORT_DESTINATIONS
    vintage_time_zones: Mapping[str, tzinfo] = REGISTRY_TIME_ZONES
    # Behaviours dated later than now plus this are refused (clocks of platforms drift).
    clock_skew: timedelta = MAX_CLOCK_SKEW
    # Cache aggregates; on each get the cached copy is fast-forwarded with any newer events
    # (written by this or another process), so it is never stale. Copies are handed out.
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
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
        _refuse_forbidden(new_events)
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
        """Snapshot an aggregate that reached its interval from the instance just saved,
        which is exactly its recorded state (the library reconstructs it from the previous
        snapshot and the events since: on PostgreSQL a fifth of single commands' time)."""
        if not (self.snapshots and self.snapshotting_intervals):
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))  # type: ignore[arg-type]
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

    def _retrying(self, command: Callable[[], R]) -> R:
        """Run ``command`` again with fresh state when it loses a concurrency race."""
        for attempt in range(MAX_RETRIES):
            try:
                return command()
            except IntegrityError:
                self.repository.forget_fast_forwarded()  # read afresh before retrying
                _back_off(attempt)
        raise ConcurrencyError("the command kept conflicting with concurrent writes; retry")

    # ------------------------------------------------------------------ participants

    def register_participant(self, *, kind: str, name: str, registered_by: UUID | None = None,
                             roles: list[str] | None = None, pseudonym: str | None = None,
                             public_key: str | None = None,
                             participant_id: UUID | None = None) -> UUID:
        """Register an account. Individuals are registered under their pseudonym only."""
        if registered_by is not None:
            self._actor(registered_by, Role.ISSUER)
        if kind == ParticipantKind.INDIVIDUAL.value:
            if not pseudonym:
                raise ValidationError("an individual is registered by pseudonym",
                                      field="pseudonym")
            check_text(pseudonym, "pseudonym")
            participant_id = ids.individual_account_id(pseudonym)
            # No personal data in events: an individual is named by its pseudonymous id.
            name = f"individual {participant_id}"
        participant_id = participant_id or uuid4()
        participant = Participant.register(participant_id, kind, name, registered_by, roles,
                                           public_key)
        try:
            self.save(participant)
        except IntegrityError:
            raise DuplicateRecordError(f"participant {participant_id} is already registered",
                                       id=str(participant_id)) from None
        return participant_id

    def _change_participant(self, actor: UUID, participant_id: UUID,
                            change: Callable[[Participant], None]) -> None:
        self._actor(actor, Role.ISSUER)

        def command() -> None:
            participant = self.participant(participant_id)
            change(participant)
            self.save(participant)

        self._retrying(command)

    def issue_api_key(self, *, actor: UUID, participant_id: UUID) -> tuple[str, str]:
        """Issue an API key for a participant (by a registry operator, or the participant
        itself); returns ``(key_id, secret)``. Only the secret's SHA-256 is stored."""
        if actor != participant_id:
            self._actor(actor, Role.ISSUER)
        key_id = secrets.token_hex(8)
        secret = f"cl_{key_id}_{secrets.token_urlsafe(32)}"
        digest = hashlib.sha256(secret.encode()).hexdigest()

        def command() -> None:
            participant = self.participant(participant_id)
            participant.issue_api_key(key_id=key_id, secret_sha256=digest, actor=actor)
            self.save(participant)

        self._retrying(command)
        return key_id, secret

    def revoke_api_key(self, *, actor: UUID, participant_id: UUID, key_id: str) -> None:
        if actor != participant_id:
            self._actor(actor, Role.ISSUER)

        def command() -> None:
            participant = self.participant(participant_id)
            participant.revoke_api_key(key_id=key_id, actor=actor)
            self.save(participant)

        self._retrying(command)

    def register_public_key(self, *, actor: UUID, participant_id: UUID,
                            public_key: str) -> None:
        """Register the Ed25519 public key that signs a participant's requests."""
        self._actor(actor, Role.ISSUER)

        def command() -> None:
            participant = self.participant(participant_id)
            participant.register_public_key(public_key=public_key, actor=actor)
            self.save(participant)

        self._retrying(command)

    def suspend_participant(self, *, actor: UUID, participant_id: UUID, reason: str) -> None:
        self._change_participant(actor, participant_id,
                                 lambda p: p.suspend(reason=reason, actor=actor))

    def reinstate_participant(self, *, actor: UUID, participant_id: UUID) -> None:
        self._change_participant(actor, participant_id, lambda p: p.reinstate(actor=actor))

    def grant_role(self, *, actor: UUID, participant_id: UUID, role: str) -> None:
        self._change_participant(actor, participant_id,
                                 lambda p: p.grant_role(role=role, actor=actor))

    def revoke_role(self, *, actor: UUID, participant_id: UUID, role: str) -> None:
        self._change_participant(actor, participant_id,
                                 lambda p: p.revoke_role(role=role, actor=actor))

    # ------------------------------------------------------------------ mandates (consent)

    def grant_mandate(self, *, actor: UUID, agent: UUID, scope: str,
                      expires_at: str | datetime | None = None,
                      max_quantity_g: int | None = None) -> UUID:
        """The holder ``actor`` lets ``agent`` (an exchange for ``listing``, a bank for
        ``pledge``) act on its credits until revoked, expired or used up; returns the
        mandate id."""
        self._actor(actor, Role.HOLDER)
        mandate_id = uuid4()

        def command() -> None:
            holder = self.participant(actor)
            holder.grant_mandate(mandate_id=mandate_id, agent=self.participant(agent, copy=False),
                                 scope=scope, expires_at=expires_at,
                                 max_quantity_g=max_quantity_g, now=_now(),
                                 actor=actor)
            self.save(holder)

        self._retrying(command)
        return mandate_id

    def revoke_mandate(self, *, actor: UUID, mandate_id: UUID) -> None:
        """The holder withdraws a mandate it granted; commands after this one may not use
        it (listings and pledges made under it stay as they are)."""
        def command() -> None:
            holder = self.participant(actor)
            holder.revoke_mandate(mandate_id=mandate_id, actor=actor)
            self.save(holder)

        self._retrying(command)

    # ------------------------------------------------------------------ methodologies

    def publish_methodology(self, *, actor: UUID, code: str, version: str, region: str,
                            scene: str, activity_unit: str, factor_g_per_unit: str | int,
                            valid_from: str | datetime,
                            valid_until: str | datetime | None = None,
                            max_activity: str | int | Decimal | None = None) -> UUID:
        """Publish a methodology version; ``max_activity`` is the most activity one
        behaviour may report (in ``activity_unit``; default
        :data:`~ledger.domain.methodology.DEFAULT_MAX_ACTIVITY`)."""
        self._actor(actor, Role.ISSUER)
        methodology_id = ids.methodology_id(code, version)
        methodology = Methodology.publish(
            methodology_id, code=code, version=version, region=region, scene=scene,
            activity_unit=activity_unit, factor_g_per_unit=factor_g_per_unit,
            valid_from=parse_time(valid_from, "valid_from"),
            valid_until=parse_time(valid_until, "valid_until") if valid_until else None,
            actor=actor, max_activity=max_activity,
        )
        try:
            self.save(methodology)
        except IntegrityError:
            raise DuplicateRecordError(f"methodology {code} v{version} is already published",
                                       id=str(methodology_id)) from None
        return methodology_id

    def supersede_methodology(self, *, actor: UUID, methodology_id: UUID,
                              successor_id: UUID) -> None:
        self._actor(actor, Role.ISSUER)

        def command() -> None:
            old = self.methodology(methodology_id)
            old.supersede(self.methodology(successor_id), actor=actor)
            self.save(old)

        self._retrying(command)

    # ------------------------------------------------------------------ behaviours

    def report_behaviours(self, *, platform: UUID,
                          reports: Sequence[BehaviourReport]) -> list[BehaviourResult]:
        """Record many behaviours in one call; each is accepted or rejected on its own.

        The same physical act (scene + act identity) reported twice, in this call or before,
        by this or another platform, is rejected naming the first record.
        """
        self._actor(platform, Role.REPORTER)
        now = datetime.now(UTC)  # the clock is read once per call, here, not by the domain
        methodologies: dict[UUID, Methodology | LedgerError] = {}
        schedules: dict[UUID, IssuanceSchedule | None] = {}
        results: list[BehaviourResult | None] = [None] * len(reports)
        seen: dict[UUID, tuple[int, str]] = {}  # this call's acts: item, platform ref
        totals: dict[str, int] = {}  # points per account: earned, and accepted in this call

        for start in range(0, len(reports), SAVE_CHUNK):  # a chunk per transaction
            pending: dict[UUID, tuple[int, Behaviour.Reported]] = {}
            legacy: dict[UUID, UUID] = {}  # an act's exact-text (legacy) id -> its id
            for index in range(start, min(start + SAVE_CHUNK, len(reports))):
                report = reports[index]
                try:
                    reported = self._prepare_behaviour(platform, report, methodologies,
                                                       schedules, now)
                    behaviour_id = reported.originator_id
                    if behaviour_id in seen:
                        item, ref = seen[behaviour_id]
                        raise DuplicateBehaviourError(
                            f"act {report.act_identity!r} already reported in this call "
                            f"as {ref!r} (item {item})",
                            behaviour=str(behaviour_id), first_platform_ref=ref,
                        )
                    seen[behaviour_id] = (index, reported.platform_ref)
                    pending[behaviour_id] = (index, reported)
                    old_id = ids.legacy_behaviour_id(reported.scene, reported.act_identity)
                    if old_id != behaviour_id:
                        legacy[old_id] = behaviour_id
                except LedgerError as error:
                    results[index] = BehaviourResult(index=index, accepted=False,
                                                     error=error)
            self._reject_recorded(pending, results, legacy)
            self._reject_above_points_limit(pending, results, totals)
            if pending:
                self._save_behaviours(list(pending.values()), results, legacy)
        return [r for r in results if r is not None]

    def _reject_above_points_limit(self, pending: dict[UUID, tuple[int, Behaviour.Reported]],
                                   results: list[BehaviourResult | None],
                                   totals: dict[str, int]) -> None:
        """Reject the behaviours that would take a person's points past
        :data:`~ledger.domain.limits.MAX_POINTS` (``limit-exceeded``), counting the points
        the behaviour index holds (one query per chunk, for the people not yet counted in
        this call) and those accepted before in this call (``totals``, kept up to date).
        Without a behaviour index (bulk import) only the per-behaviour bound applies."""
        if self.queries is None or not pending:
            return
        uncounted = {reported.account for _, reported in pending.values()} - totals.keys()
        if uncounted:
            earned_of = getattr(self.queries, "earned_points_of", None)
            if earned_of is not None:
                totals.update(earned_of(uncounted))
            else:
                totals.update({a: self.queries.earned_points(UUID(a)) for a in uncounted})
        for behaviour_id, (index, reported) in list(pending.items()):
            total = totals.get(reported.account, 0) + reported.reduction_g
            if total > MAX_POINTS:
                del pending[behaviour_id]
                results[index] = BehaviourResult(index=index, accepted=False, error=(
                    LimitExceededError(
                        f"the person's points would pass {MAX_POINTS}, the most an account "
                        "may earn", field="activity_amount", account=reported.account,
                        earned=totals.get(reported.account, 0),
                        reduction_g=reported.reduction_g)))
            else:
                totals[reported.account] = total

    def _prepare_behaviour(self, platform: UUID, report: BehaviourReport,
                           methodologies: dict[UUID, Methodology | LedgerError],
                           schedules: dict[UUID, IssuanceSchedule | None],
                           now: datetime) -> Behaviour.Reported:
        for name in ("person", "methodology_code", "methodology_version", "act_identity"):
            check_text(getattr(report, name), name)  # platform_ref: by the domain, below
        methodology_id = _methodology_id(report.methodology_code, report.methodology_version)
        if methodology_id not in methodologies:
            try:
                methodologies[methodology_id] = self.methodology(methodology_id)
            except LedgerError as error:
                methodologies[methodology_id] = MethodologyNotFoundError(
                    f"unknown methodology {report.methodology_code} "
                    f"v{report.methodology_version}", code=report.methodology_code,
                    version=report.methodology_version,
                ) if isinstance(error, MethodologyNotFoundError) else error
        methodology = methodologies[methodology_id]
        if isinstance(methodology, LedgerError):
            raise methodology
        occurred_at = check_not_future(parse_time(report.occurred_at, "occurred_at"),
                                       "occurred_at", now=now, skew=self.clock_skew)
        schedule_id = _schedule_id(platform, methodology_id)
        if schedule_id not in schedules:
            schedules[schedule_id] = (
                self.repository.get(schedule_id) if self._exists(schedule_id) else None
            )
        schedule = schedules[schedule_id]
        if schedule is not None and (request := schedule.claimed_by(occurred_at)):
            raise PeriodClosedError(
                f"behaviours of {occurred_at.isoformat()} were already requested for issuance "
                f"(request {request}); late reports are not accepted", request=request,
            )
        return Behaviour.reported(
            ids.behaviour_id(methodology.scene, report.act_identity),
            platform=platform, platform_ref=report.platform_ref,
            account=_account_id(report.person.strip()),
            methodology=methodology, act_identity=report.act_identity,
            activity_amount=parse_decimal(report.activity_amount, "activity_amount"),
            occurred_at=occurred_at,
        )

    def _duplicate_error(self, behaviour_id: UUID, act_identity: str) -> DuplicateBehaviourError:
        first = self.repository.get(behaviour_id)
        if isinstance(first, ActKey):  # a legacy act's normal key
            behaviour_id = UUID(first.behaviour)
            first = self.repository.get(behaviour_id)
        return _duplicate(behaviour_id, act_identity, first.platform, first.platform_ref)

    def index_legacy_acts(self, page: int = 5_000) -> tuple[int, int]:
        """Give every behaviour stored under its exact-text (legacy) id an :class:`ActKey`
        under the act's normal id, so that any later spelling of the act is refused as a
        duplicate. Idempotent, safe while reports go on; run once after upgrading a ledger
        written before act identities were normalised. Returns (behaviours read, keys
        recorded). A legacy behaviour whose normal id is taken (the same act stored twice
        under two spellings before the change) keeps no key: the first one does."""
        topic = get_topic(Behaviour.Reported)
        read = recorded = 0
        start: int | None = 1
        while start is not None:
            notifications = self.recorder.select_notifications(start, page, topics=[topic])
            start = notifications[-1].id + 1 if len(notifications) == page else None
            keys: dict[UUID, UUID] = {}
            for notification in notifications:
                if notification.originator_version != 1:
                    continue
                reported = self.mapper.to_domain_event(notification)
                read += 1
                key = ids.behaviour_id(reported.scene, reported.act_identity)
                if key != reported.originator_id:
                    keys.setdefault(key, reported.originator_id)
            for key in first_events(self.recorder, keys):
                del keys[key]  # indexed before, or a behaviour reported after the change
            made = [ActKey.index(key, behaviour=behaviour) for key, behaviour in keys.items()]
            try:
                self.save(*made)  # one transaction per page
                recorded += len(made)
                continue
            except IntegrityError:  # some key was reported (or indexed) concurrently
                pass
            for act_key in made:
                try:
                    self.save(ActKey.index(act_key.id, behaviour=UUID(act_key.behaviour)))
                    recorded += 1
                except IntegrityError:
                    continue
        return read, recorded

    def _reject_recorded(self, pending: dict[UUID, tuple[int, Behaviour.Reported]],
                         results: list[BehaviourResult | None],
                         legacy: dict[UUID, UUID]) -> int:
        """Take the acts already in the store out of ``pending`` (one query) and reject
        each naming its first record; how many there were.

        An act is in the store under its id, or, if it was reported before act identities
        were normalised, under the id of its exact text (``legacy`` maps those to ids)."""
        wanted = [*pending, *(old for old, new in legacy.items() if new in pending)]
        found = first_events(self.recorder, wanted)
        rejected = 0
        for stored_id, stored in found.items():
            behaviour_id = legacy.get(stored_id, stored_id)
            if behaviour_id not in pending:  # found under both ids: rejected already
                continue
            index, reported = pending.pop(behaviour_id)
            first = self.mapper.to_domain_event(stored)
            first_id = stored_id
            if isinstance(first, ActKey.Indexed):  # a legacy act's normal key
                first_id = UUID(first.behaviour)
                first = self.repository.get(first_id)
            results[index] = BehaviourResult(index=index, accepted=False, error=_duplicate(
                first_id, reported.act_identity, first.platform, first.platform_ref))
            rejected += 1
        return rejected

    def _save_behaviours(self, chunk: list[tuple[int, Behaviour.Reported]],
                         results: list[BehaviourResult | None],
                         legacy: dict[UUID, UUID]) -> None:
        """Save one chunk in one transaction. If some of its acts were reported concurrently
        (the store refuses the whole transaction), one query finds them, they are rejected
        naming the first record, and the rest is saved again in one transaction; after a
        few such rounds, one at a time."""
        def accepted(index: int, reported: Behaviour.Reported) -> BehaviourResult:
            return BehaviourResult(index=index, accepted=True,
                                   behaviour_id=reported.originator_id,
                                   reduction_g=reported.reduction_g)

        pending = {reported.originator_id: (index, reported) for index, reported in chunk}
        for _ in range(CONCURRENT_DUPLICATE_ROUNDS):
            try:
                self.save(*(reported for _, reported in pending.values()))
            except IntegrityError:
                if not self._reject_recorded(pending, results, legacy):
                    break  # not a duplicate act: find which one alone
                if not pending:
                    return
            else:
                for index, reported in pending.values():
                    results[index] = accepted(index, reported)
                return
        for index, reported in pending.values():
            try:
                self.save(reported)
                results[index] = accepted(index, reported)
            except IntegrityError:
                results[index] = BehaviourResult(
                    index=index, accepted=False, error=self._duplicate_error(
                        reported.originator_id, reported.act_identity))

    # ------------------------------------------------------------------ points

    def _spend_points(self, account: UUID,
                      spend: Callable[[CarbonAccount, int], None],
                      *extra: Callable[[], Aggregate]) -> None:
        if self.queries is None:
            raise LedgerError("this ledger has no behaviour index to count earned points")
        earned = self.queries.earned_points(account)

        def command() -> None:
            account_id = carbon_account_id(account)
            carbon = (self.repository.get(account_id) if self._exists(account_id)
                      else CarbonAccount.open(account))
            spend(carbon, earned)
            self.save(carbon, *(make() for make in extra))

        self._retrying(command)

    def redeem_points(self, *, actor: UUID, points: int, reward: str) -> None:
        """A person redeems points for a reward (the actor is the person's account)."""
        self._actor(actor, Role.HOLDER)
        self._spend_points(actor, lambda c, earned: c.redeem(
            points=points, reward=reward, earned=earned, actor=actor))

    def donate_points(self, *, actor: UUID, points: int, claim_id: UUID) -> None:
        """A person donates points to an event's neutrality claim."""
        self._actor(actor, Role.HOLDER)
        require_grams(points, "points")
        claim = self.claim(claim_id)

        def claim_with_donation() -> Aggregate:
            fresh = self.claim(claim_id)
            fresh.receive_donation(account=actor, points=points, actor=actor)
            return fresh

        self._spend_points(actor, lambda c, earned: c.donate(
            points=points, claim=claim_id, event_name=claim.event_name, earned=earned,
            actor=actor), claim_with_donation)

    # ------------------------------------------------------------------ issuance

    def request_issuance(self, *, platform: UUID, methodology_id: UUID,
                         period_start: str | datetime, period_end: str | datetime) -> UUID:
        """Request issuance of the platform's unissued behaviours of one methodology and
        period; returns the request id."""
        self._actor(platform, Role.REPORTER)
        self.methodology(methodology_id)
        if self.queries is None:
            raise LedgerError("this ledger has no behaviour index to select behaviours")
        start = parse_time(period_start, "period_start")
        end = parse_time(period_end, "period_end")
        if end <= start:
            raise ValidationError("period_end must be after period_start", field="period_end")
        schedule_id = ids.issuance_schedule_id(platform, methodology_id)
        request_id = uuid4()

        def command() -> UUID:
            schedule = (self.repository.get(schedule_id) if self._exists(schedule_id)
                        else IssuanceSchedule.open(schedule_id, platform, methodology_id))
            schedule.claim(request_id=request_id, period_start=start, period_end=end,
                           actor=platform)
            selection = self.queries.unissued_behaviours(platform, methodology_id, start, end)
            root = root_from_leaf_hashes([leaf_hash(leaf) for leaf in selection.leaves]).hex()
            request = IssuanceRequest.for_behaviours(
                request_id, platform=platform, methodology=methodology_id, period_start=start,
                period_end=end, cutoff_position=selection.cutoff_position,
                behaviour_count=len(selection.leaves), quantity=selection.total_g,
                behaviours_root=root, actor=platform,
            )
            self.save(schedule, request)
            return request_id

        return self._retrying(command)

    def request_project_issuance(self, *, platform: UUID, methodology_id: UUID,
                                 period_start: str | datetime, period_end: str | datetime,
                                 quantity: int, project: str, report_reference: str,
                                 report_sha256: str) -> UUID:
        """Request issuance of project credits (solar, forestry, biogas) from a monitoring
        report, identified by its reference and SHA-256.

        The request id derives from the report's SHA-256, so one report is requested once;
        and monitoring periods of one project under one methodology never overlap."""
        self._actor(platform, Role.REPORTER)
        self.methodology(methodology_id)
        start = parse_time(period_start, "period_start")
        end = parse_time(period_end, "period_end")
        request = IssuanceRequest.for_monitoring_report(
            ids.monitoring_report_request_id(report_sha256), platform=platform,
            methodology=methodology_id, period_start=start, period_end=end, quantity=quantity,
            project=project, report_reference=report_reference, report_sha256=report_sha256,
            actor=platform,
        )
        if self._exists(request.id):
            raise DuplicateRecordError(
                f"monitoring report {report_sha256[:12]}... was already requested for issuance",
                request=str(request.id))
        schedule_id = ids.project_schedule_id(platform, methodology_id, request.evidence["project"])

        def command() -> UUID:
            schedule = (self.repository.get(schedule_id) if self._exists(schedule_id)
                        else IssuanceSchedule.open(schedule_id, platform, methodology_id))
            schedule.claim(request_id=request.id, period_start=start, period_end=end,
                           actor=platform)
            try:
                self.save(schedule, request)
            except IntegrityError:
                if self._exists(request.id):
                    raise DuplicateRecordError(
                        "monitoring report was already requested for issuance",
                        request=str(request.id)) from None
                raise
            return request.id

        return self._retrying(command)

    def attest_request(self, *, actor: UUID, request_id: UUID, statement: str) -> None:
        self._actor(actor, Role.VERIFIER)

        def command() -> None:
            request = self.request(request_id)
            request.attest(statement=statement, actor=actor)
            self.save(request)

        self._retrying(command)

    def reject_request(self, *, actor: UUID, request_id: UUID, reason: str) -> None:
        self._actor(actor, Role.VERIFIER)

        def command() -> None:
            request = self.request(request_id)
            request.reject(reason=reason, actor=actor)
            self.save(request)

        self._retrying(command)

    def issue_batch(self, *, actor: UUID, request_id: UUID, registry: str,
                    vintage: int | None = None, project_type: str | None = None) -> UUID:
        """Issue an attested request as a credit batch to the requesting platform."""
        self._actor(actor, Role.ISSUER)
        prefix = validate_prefix(registry)
        batch_id = uuid4()

        def command() -> UUID:
            request = self.request(request_id)
            methodology = self.methodology(UUID(request.methodology))
            registry_agg = self._registry(prefix)
            year = vintage if vintage is not None else vintage_of(
                request.period_start, prefix, self.vintage_time_zones)
            request.mark_issued(batch_id=batch_id, actor=actor)
            block = registry_agg.assign_block(batch_id=batch_id, vintage=year, actor=actor)
            source = {"kind": request.source, "request": str(request_id),
                      "period_start": request.period_start.isoformat(),
                      "period_end": request.period_end.isoformat(), **request.evidence}
            batch = CreditBatch.issue(
                batch_id, block=block, registry=prefix, vintage=year,
                methodology=methodology.id, methodology_label=methodology.label,
                region=methodology.region,
                project_type=project_type or (
                    "behaviour" if request.source == "behaviours" else "project"),
                quantity=request.quantity, holder=UUID(request.platform), source=source,
                behaviours_root=request.behaviours_root, actor=actor,
            )
            self.save(request, registry_agg, batch)
            return batch_id

        return self._retrying(command)

    def _claim_key(self, kind: KeyKind, key: str, owner: UUID, refusal: str) -> UniqueKey:
        """A new claim of ``key``; :class:`DuplicateRecordError` if it was claimed before
        (a concurrent claim makes the save fail, and the command's retry finds it here)."""
        key_id = unique_key_id(kind, key)
        if self._exists(key_id):
            first = self.repository.get(key_id)
            raise DuplicateRecordError(f"{refusal} (by {first.owner})", key=key,
                                       first=first.owner)
        return UniqueKey.claim(kind, key, owner)

    def _registry(self, prefix: str) -> Registry:
        registry_id = ids.registry_id(prefix)
        if self._exists(registry_id):
            return self.repository.get(registry_id)
        return Registry.open(registry_id, prefix)

    def import_batch(self, *, actor: UUID, external_registry: str, external_block: str,
                     serial_start: int, serial_end: int, holder: UUID, methodology_id: UUID,
                     vintage: int, region: str, project_type: str = "imported") -> UUID:
        """Recognise credits of another registry: keyed by the external registry and serial
        range; any overlap with an earlier import is rejected."""
        self._actor(actor, Role.ISSUER)
        self._holder(holder, "holder")
        methodology = self.methodology(methodology_id)
        registry_name = bounded_text(check_text(external_registry, "external_registry"),
                                     "external registry name", MAX_REGISTRY_NAME,
                                     field="external_registry").upper()
        block = bounded_text(check_text(external_block, "external_block"), "external block",
                             MAX_BLOCK_LABEL, field="external_block").upper()
        registry_id = ids.external_registry_id(registry_name)
        batch_id = uuid4()

        def command() -> UUID:
            external = (self.repository.get(registry_id) if self._exists(registry_id)
                        else ExternalRegistry.recognise(registry_id, registry_name))
            label = external.label_for(block)  # checked before anything is recorded
            claimed = self._claim_key(KeyKind.BLOCK, label, batch_id, (
                f"block label {label!r} already names a batch"))
            external.record_import(block=block, start=serial_start,
                                   end=serial_end, batch_id=batch_id, actor=actor)
            batch = CreditBatch.issue(
                batch_id, block=label,
                registry=external.name, vintage=vintage, methodology=methodology.id,
                methodology_label=methodology.label, region=region, project_type=project_type,
                quantity=serial_end - serial_start, serial_start=serial_start, holder=holder,
                source={"kind": "import", "external_registry": external.name,
                        "external_block": block},
                behaviours_root=None, actor=actor, imported=True,
            )
            self.save(external, batch, claimed)
            return batch_id

        return self._retrying(command)

    # ------------------------------------------------------------------ batch commands

    @contextmanager
    def _commanding(self, batch_id: UUID, *participants: UUID) -> Iterator[None]:
        """Queue on the batch's in-process lock, then read the cached batch and participants
        (see :class:`LedgerRepository`).

        In the first attempt of a :func:`_batch_command` where the store checks read sets,
        the cached copies are read as they are: a save is refused if any was stale, and a
        refusal decided on them (a :class:`LedgerError`) stands only if one query finds them
        current. Otherwise the command is attempted again on copies brought up to date by
        one query first, which is how every other attempt reads.
        """
        checked = _attempt.get() == "checked" and self.repository.checks_read_sets
        with self._batch_locks.holding(batch_id), \
                self.repository.fast_forwarded(batch_id, *participants,
                                               check_at_commit=checked):
            try:
                yield
            except ReadSetChanged:
                if not checked:
                    raise
                raise _StaleAttempt from None
            except LedgerError:
                if checked and self.repository.caught_up():
                    raise _StaleAttempt from None
                raise

    def _on_batch(self, batch_id: UUID, command: Callable[[CreditBatch], R],
                  *others: Callable[[], Aggregate]) -> R:
        """Load the batch, run one domain command, save it (with ``others``) atomically.
        Called inside :meth:`_commanding` for that batch (which holds its lock)."""
        def attempt() -> R:
            batch = self.batch(batch_id)
            result = command(batch)
            self.save(batch, *(make() for make in others))
            return result

        return self._retrying(attempt)

    @_batch_command
    def transfer(self, *, actor: UUID, batch_id: UUID, recipient: UUID,
                 quantity: int) -> list[Range]:
        with self._commanding(batch_id, actor, recipient):
            self._actor(actor, Role.HOLDER)
            self._holder(recipient, "recipient")
            return self._on_batch(batch_id, lambda b: b.transfer(
                sender=actor, recipient=recipient, quantity=quantity, actor=actor))

    def _with_consent(self, batch_id: UUID, *, holder: UUID, agent: UUID,
                      scope: MandateScope, quantity: int, record: UUID,
                      command: Callable[[CreditBatch], R],
                      others: Sequence[Callable[[], Aggregate]] = ()) -> R:
        """Run ``command`` on the batch for ``agent`` acting on ``holder``'s credits: the
        holder's own request needs nothing more; anyone else needs a mandate of the holder in
        force for ``scope`` and ``quantity``, checked on the holder's participant read in the
        same attempt and saved with the batch (its ``MandateExercised`` event), so a
        revocation saved meanwhile makes this attempt conflict and decide again."""
        if holder == agent:
            return self._on_batch(batch_id, command, *others)

        def attempt() -> R:
            now = _now()
            grantor = self.participant(holder)
            grantor.mandate_for(agent=agent, scope=scope, quantity=quantity, now=now)
            batch = self.batch(batch_id)
            result = command(batch)
            grantor.exercise_mandate(agent=agent, scope=scope, batch=batch_id, record=record,
                                     quantity=quantity, now=now, actor=agent)
            self.save(batch, grantor, *(make() for make in others))
            return result

        return self._retrying(attempt)

    @_batch_command
    def list_for_sale(self, *, actor: UUID, batch_id: UUID, seller: UUID, listing_ref: str,
                      quantity: int) -> UUID:
        """The exchange escrows a seller's credits for a listing; returns the listing id.
        Unless the exchange sells its own credits, the seller must have granted it a
        ``listing`` mandate in force (:class:`ConsentRequiredError` otherwise)."""
        with self._commanding(batch_id, actor, seller):
            self._actor(actor, Role.SETTLER)
            self._holder(seller, "seller")
            listing_id = ids.listing_id(actor, listing_ref)

            def claimed_ref() -> Aggregate:
                """An exchange's listing ref names one listing, whatever its batch."""
                return self._claim_key(KeyKind.LISTING, str(listing_id), batch_id, (
                    f"listing ref {listing_ref!r} of this exchange is already used"))

            self._with_consent(
                batch_id, holder=seller, agent=actor, scope=MandateScope.LISTING,
                quantity=quantity, record=listing_id, command=lambda b: b.escrow(
                    listing_id=listing_id, listing_ref=listing_ref, exchange=actor,
                    seller=seller, quantity=quantity, actor=actor),
                others=(claimed_ref,))
            return listing_id

    @_batch_command
    def cancel_listing(self, *, actor: UUID, batch_id: UUID, listing_ref: str) -> list[Range]:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.SETTLER)
            listing_id = ids.listing_id(actor, listing_ref)
            return self._on_batch(batch_id, lambda b: b.cancel_listing(listing_id=listing_id,
                                                                       actor=actor))

    def settle_trades(self, *, actor: UUID,
                      trades: Sequence[TradeInstruction]) -> list[TradeResult]:
        """Settle matched trades, each on its own; a trade id seen before returns the result
        of its first settlement and delivers nothing again."""
        self._actor(actor, Role.SETTLER)
        results = []
        for instruction in trades:
            trade_id = ids.trade_id(actor, instruction.trade_ref)
            try:
                results.append(self._settle(actor, trade_id, instruction))
            except DuplicateRequestError:
                raise  # the whole request was applied before: not a per-trade outcome
            except LedgerError as error:
                results.append(TradeResult(trade_ref=instruction.trade_ref, trade_id=trade_id,
                                           settled=False, error=error))
        return results

    def settle_trade(self, *, actor: UUID, trade: TradeInstruction) -> TradeResult:
        result = self.settle_trades(actor=actor, trades=[trade])[0]
        if result.error is not None:
            raise result.error
        return result

    def _replayed(self, trade_id: UUID, instruction: TradeInstruction) -> TradeResult:
        recorded = self.trade(trade_id)
        if recorded.terms != instruction.terms():
            raise TradeConflictError(
                f"trade {instruction.trade_ref} was settled before with different terms",
                trade=str(trade_id), recorded=recorded.terms)
        return TradeResult(
            trade_ref=instruction.trade_ref, trade_id=trade_id, settled=True, replayed=True,
            ranges=recorded.ranges,
            retirement_id=UUID(recorded.retirement_id) if recorded.retirement_id else None)

    def _settle(self, exchange: UUID, trade_id: UUID,
                instruction: TradeInstruction) -> TradeResult:
        if self._exists(trade_id):
            return self._replayed(trade_id, instruction)
        check_text(instruction.trade_ref, "trade_ref")
        check_text(instruction.listing_ref, "listing_ref")
        require_grams(instruction.quantity)
        self._validate_price(instruction.price_per_tonne, instruction.currency)
        self._holder(instruction.buyer, "buyer")
        retirement_id = uuid4() if instruction.retire_on_delivery is not None else None
        listing_id = ids.listing_id(exchange, instruction.listing_ref)
        claim_id = self._claim_of(instruction.retire_on_delivery)
        with self._batch_locks.holding(instruction.batch_id):
            return self._settle_on_batch(exchange, trade_id, instruction, retirement_id,
                                         listing_id, claim_id)

    def _settle_on_batch(self, exchange: UUID, trade_id: UUID, instruction: TradeInstruction,
                         retirement_id: UUID | None, listing_id: UUID,
                         claim_id: UUID | None) -> TradeResult:
        for attempt in range(MAX_RETRIES):
            batch = self.batch(instruction.batch_id)
            if str(trade_id) in batch.trades:  # settled meanwhile by a concurrent request
                return self._replayed(trade_id, instruction)
            ranges = batch.settle_trade(
                trade_id=trade_id, trade_ref=instruction.trade_ref, listing_id=listing_id,
                seller=instruction.seller, buyer=instruction.buyer,
                quantity=instruction.quantity, price_per_tonne=instruction.price_per_tonne,
                currency=instruction.currency, actor=exchange, retirement_id=retirement_id,
                retirement=instruction.retire_on_delivery,
            )
            trade = Trade.record(trade_id, exchange=exchange, trade_ref=instruction.trade_ref,
                                 terms=instruction.terms(), batch=instruction.batch_id,
                                 ranges=ranges, retirement_id=retirement_id)
            claims = []
            if claim_id is not None and retirement_id is not None:
                claim = self.claim(claim_id)  # retired on delivery for a neutrality claim
                claim.count_retirement(retirement_id=retirement_id, batch=instruction.batch_id,
                                       quantity=instruction.quantity, actor=exchange)
                claims.append(claim)
            try:
                self.save(batch, trade, *claims)
            except IntegrityError:
                if self._exists(trade_id):
                    return self._replayed(trade_id, instruction)
                _back_off(attempt)
                continue
            return TradeResult(trade_ref=instruction.trade_ref, trade_id=trade_id, settled=True,
                               ranges=ranges, retirement_id=retirement_id)
        raise ConcurrencyError("settlement kept conflicting with concurrent writes; retry")

    def _claim_of(self, retirement: dict[str, Any] | None) -> UUID | None:
        """The neutrality claim a retire-on-delivery counts toward, if it names one."""
        details = (retirement or {}).get("details") or {}
        reference = details.get("claim_id") if isinstance(details, dict) else None
        if reference is None:
            return None
        try:
            claim_id = UUID(str(reference))
        except ValueError:
            raise ValidationError("claim_id is not a UUID", field="claim_id") from None
        self.claim(claim_id)
        return claim_id

    @staticmethod
    def _validate_price(price: str, currency: str) -> None:
        if not isinstance(price, str) or not PLAIN_DECIMAL.fullmatch(price):
            raise ValidationError(f"price {price!r} is not a plain decimal number",
                                  field="price_per_tonne")
        try:
            value = Decimal(price)
        except Exception:
            raise ValidationError(f"price {price!r} is not a decimal number",
                                  field="price_per_tonne") from None
        if not value.is_finite() or value < 0:
            raise ValidationError("price must be zero or more", field="price_per_tonne")
        check_currency(currency)

    @_batch_command
    def pledge(self, *, actor: UUID, batch_id: UUID, holder: UUID, bank: UUID,
               loan_reference: str, quantity: int) -> UUID:
        """Lock credits as loan collateral; registered by the pledgor, or by the bank with a
        ``pledge`` mandate of the pledgor in force (:class:`ConsentRequiredError`
        otherwise)."""
        with self._commanding(batch_id, actor, bank, holder):
            self._actor(actor, Role.LENDER if actor == bank else Role.HOLDER)
            self._actor(bank, Role.LENDER)
            self._holder(holder, "pledgor")
            if actor not in (holder, bank):
                raise PermissionDeniedError(
                    "a pledge is registered by the pledgor or the bank", actor=str(actor))
            pledge_id = uuid4()
            self._with_consent(
                batch_id, holder=holder, agent=actor, scope=MandateScope.PLEDGE,
                quantity=quantity, record=pledge_id, command=lambda b: b.pledge(
                    pledge_id=pledge_id, holder=holder, bank=bank,
                    loan_reference=loan_reference, quantity=quantity, actor=actor))
            return pledge_id

    @_batch_command
    def release_pledge(self, *, actor: UUID, batch_id: UUID, pledge_id: UUID) -> list[Range]:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.LENDER)
            return self._on_batch(batch_id, lambda b: b.release_pledge(pledge_id=pledge_id,
                                                                       actor=actor))

    @_batch_command
    def enforce_pledge(self, *, actor: UUID, batch_id: UUID, pledge_id: UUID) -> list[Range]:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.LENDER)
            return self._on_batch(batch_id, lambda b: b.enforce_pledge(pledge_id=pledge_id,
                                                                       actor=actor))

    @_batch_command
    def retire(self, *, actor: UUID, batch_id: UUID, quantity: int, beneficiary: str,
               purpose: str, jurisdiction: str, consumption_period: str,
               details: dict[str, Any] | None = None) -> UUID:
        """Retire credits for a beneficiary and purpose. Permanent. With ``claim_id`` in
        ``details`` the retirement also counts toward that neutrality claim, atomically."""
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.HOLDER)
            retirement_id = uuid4()
            description = {"beneficiary": beneficiary, "purpose": purpose,
                           "jurisdiction": jurisdiction, "consumption_period": consumption_period,
                           "details": details or {}}
            others: list[Callable[[], Aggregate]] = []
            claim_ref = (details or {}).get("claim_id")
            if claim_ref is not None:
                try:
                    claim_id = UUID(str(claim_ref))
                except ValueError:
                    raise ValidationError("claim_id is not a UUID", field="claim_id") from None
                self.claim(claim_id)

                def counted_claim() -> Aggregate:
                    claim = self.claim(claim_id)
                    claim.count_retirement(retirement_id=retirement_id, batch=batch_id,
                                           quantity=quantity, actor=actor)
                    return claim

                others.append(counted_claim)
            self._on_batch(batch_id, lambda b: b.retire(
                retirement_id=retirement_id, holder=actor, quantity=quantity, details=description,
                actor=actor), *others)
            return retirement_id

    @_batch_command
    def export(self, *, actor: UUID, batch_id: UUID, quantity: int, destination: str) -> UUID:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.HOLDER)
            export_id = uuid4()
            self._on_batch(batch_id, lambda b: b.export(
                export_id=export_id, holder=actor, quantity=quantity, destination=destination,
                actor=actor, destinations=self.export_destinations))
            return export_id

    @_batch_command
    def cancel(self, *, actor: UUID, batch_id: UUID, holder: UUID, quantity: int,
               reason: str) -> UUID:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.ISSUER)
            cancellation_id = uuid4()
            self._on_batch(batch_id, lambda b: b.cancel(
                cancellation_id=cancellation_id, holder=holder, quantity=quantity, reason=reason,
                actor=actor))
            return cancellation_id

    @_batch_command
    def correct_batch(self, *, actor: UUID, batch_id: UUID, field: str, value: Any,
                      reason: str) -> None:
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.ISSUER)
            self._on_batch(batch_id, lambda b: b.correct(field=field, value=value, reason=reason,
                                                         actor=actor))

    @_batch_command
    def lock_for_tokens(self, *, actor: UUID, batch_id: UUID, quantity: int,
                        chain_address: str, chain_id: int | None = None,
                        token_contract: str | None = None) -> UUID:
        """Lock credits for tokenisation; returns the lock id.

        With ``chain_id`` and ``token_contract`` the lock is bridged: that token contract can
        mint ``quantity * 10**12`` token units to ``chain_address`` once the lock event is
        anchored (see :mod:`anchoring.bridge`)."""
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.HOLDER)
            lock_id = uuid4()
            self._on_batch(batch_id, lambda b: b.lock_for_tokens(
                lock_id=lock_id, holder=actor, quantity=quantity, chain_address=chain_address,
                actor=actor, chain_id=chain_id, token_contract=token_contract))
            return lock_id

    # ------------------------------------------------------------------ token bridge

    @_batch_command
    def record_token_mint(self, *, actor: UUID, batch_id: UUID, lock_id: UUID,
                          chain_reference: str) -> list[Range]:
        """The bridge saw a bridged lock minted on chain (with enough confirmations): its
        credits move to the batch's token pool. A lock is recorded as minted once
        (:class:`DuplicateRecordError` after that)."""
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.BRIDGE)
            return self._on_batch(batch_id, lambda b: b.record_token_mint(
                lock_id=lock_id, chain_reference=chain_reference, actor=actor))

    @_batch_command
    def unlock_tokens(self, *, actor: UUID, batch_id: UUID, lock_id: UUID, recipient: UUID,
                      quantity: int, chain_reference: str,
                      burn_id: str | None = None) -> list[Range]:
        """The bridge saw tokens burned on chain for ledger account ``recipient``: that
        quantity becomes available to it. A burn id is applied once
        (:class:`DuplicateRecordError` after that)."""
        with self._commanding(batch_id, actor, recipient):
            self._actor(actor, Role.BRIDGE)
            self._holder(recipient, "recipient")
            return self._on_batch(batch_id, lambda b: b.unlock_tokens(
                lock_id=lock_id, recipient=recipient, quantity=quantity,
                chain_reference=chain_reference, actor=actor, burn_id=burn_id))

    @_batch_command
    def retire_tokenised(self, *, actor: UUID, batch_id: UUID, pool_id: UUID, quantity: int,
                         beneficiary: str, purpose: str, jurisdiction: str,
                         consumption_period: str, details: dict[str, Any] | None,
                         chain_reference: str, burn_id: str, chain_account: str) -> UUID:
        """The bridge saw tokens burned on chain for a retirement: the credits are retired
        from the token pool. Permanent. The retirement id derives from the burn id
        (:func:`~ledger.domain.credit_batch.token_retirement_id`) and a burn is applied once
        (:class:`DuplicateRecordError` after that)."""
        with self._commanding(batch_id, actor):
            self._actor(actor, Role.BRIDGE)
            retirement_id = token_retirement_id(burn_id)

            def claimed_retirement() -> Aggregate:
                """The retirement's id derives from the burn: one retirement per burn,
                whatever the batch named with it."""
                return self._claim_key(KeyKind.RETIREMENT, str(retirement_id), batch_id, (
                    f"burn {burn_id} was applied already as retirement {retirement_id}"))

            description = {"beneficiary": beneficiary, "purpose": purpose,
                           "jurisdiction": jurisdiction, "consumption_period": consumption_period,
                           "details": details or {}}
            self._on_batch(batch_id, lambda b: b.retire_tokenised(
                retirement_id=retirement_id, pool_id=pool_id, quantity=quantity,
                details=description, chain_reference=chain_reference, burn_id=burn_id,
                chain_account=chain_account, actor=actor), claimed_retirement)
            return retirement_id

    # ------------------------------------------------------------------ neutrality claims

    def register_claim(self, *, actor: UUID, event_name: str, footprint_g: int,
                       scope: str = "event") -> UUID:
        """An organiser registers a footprint to neutralise (e.g. 4,544.76 t)."""
        self._actor(actor, Role.HOLDER)
        claim_id = ids.claim_id(actor, check_text(event_name, "event_name"))
        claim = NeutralityClaim.register(claim_id, organiser=actor, event_name=event_name,
                                         footprint_g=footprint_g, scope=scope, actor=actor)
        try:
            self.save(claim)
        except IntegrityError:
            raise DuplicateRecordError(f"a claim for {event_name!r} is already registered",
                                       id=str(claim_id)) from None
        return claim_id
