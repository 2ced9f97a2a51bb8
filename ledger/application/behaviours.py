"""Behaviour reports: one call records many behaviours, each accepted or rejected on its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from uuid import UUID

from eventsourcing.domain import get_topic
from eventsourcing.persistence import IntegrityError

from ledger.application.core import LedgerCore
from ledger.domain import ids
from ledger.domain.act_key import ActKey
from ledger.domain.behaviour import Behaviour
from ledger.domain.errors import (
    DuplicateBehaviourError,
    LedgerError,
    LimitExceededError,
    MethodologyNotFoundError,
    PeriodClosedError,
)
from ledger.domain.issuance import IssuanceSchedule
from ledger.domain.limits import MAX_POINTS
from ledger.domain.methodology import Methodology, parse_decimal
from ledger.domain.participant import Role
from ledger.domain.text import check_text
from ledger.domain.timeutil import check_not_future, parse_time
from ledger.storage import first_events

# Derived ids repeat across a bulk report (same methodology, platform, people): cache them.
_methodology_id = lru_cache(maxsize=1024)(ids.methodology_id)
_schedule_id = lru_cache(maxsize=1024)(ids.issuance_schedule_id)
_account_id = lru_cache(maxsize=65536)(ids.individual_account_id)

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


class BehaviourCommands(LedgerCore):
    """Behaviour reports and the index of legacy acts."""

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

