"""What the commands on a batch's credits share: :func:`batch_command` (the retry of a
whole command), the batch lock and the read of cached copies (:meth:`BatchCommands._commanding`),
one domain command saved atomically (:meth:`BatchCommands._on_batch`) with the holdings it
took credits from or returned them to (:meth:`BatchCommands._run_on_batch`), and a holder's
consent (:meth:`BatchCommands._with_consent`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ledger.application import clock
from ledger.application.context import _command_context
from ledger.application.core import LedgerCore
from ledger.application.retry import StaleRead, first_attempt
from ledger.domain.credit_batch import CreditBatch
from ledger.domain.errors import BatchNotFoundError, LedgerError, RecordNotFoundError
from ledger.domain.holding import Holding, holding_id
from ledger.domain.mandates import MandateScope
from ledger.domain.participant import Participant, Role
from ledger.domain.serials import SerialOverlapError
from ledger.domain.unique_keys import KeyKind, unique_key_id
from ledger.repository import ReadSetChanged

__all__ = ["BatchCommands", "batch_command"]

B = TypeVar("B", bound="BatchCommands")
R = TypeVar("R")
P = ParamSpec("P")


def batch_command(method: Callable[Concatenate[B, P], R]) -> Callable[Concatenate[B, P], R]:
    """Make ``method`` (a command whose body is one :meth:`BatchCommands._commanding`
    block, with nothing saved before it) one retried command: see
    :func:`ledger.application.retry.retrying`. Its first attempt may decide on cached
    copies checked at commit; every further attempt (after a conflict or a stale read) runs
    the whole body again on current copies."""
    what = f"the {method.__name__} command"

    @wraps(method)
    def command(self: B, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._retrying(lambda: method(self, *args, **kwargs), what=what)

    return command


class BatchCommands(LedgerCore):
    """The plumbing of the commands on one credit batch."""

    @contextmanager
    def _commanding(self, batch_id: UUID, *participants: UUID) -> Iterator[None]:
        """Queue on the batch's in-process lock, then read the cached batch and participants
        (see :class:`LedgerRepository`).

        In the first attempt of a :func:`batch_command` where the store checks read sets,
        the cached copies are read as they are: a save is refused if any was stale, and a
        refusal decided on them (a :class:`LedgerError`) stands only if one query finds them
        current. Otherwise the command is attempted again on copies brought up to date by
        one query first, which is how every other attempt reads.
        """
        with self._batch_locks.holding(batch_id), self._reading(batch_id, *participants):
            yield

    @contextmanager
    def _commanding_holdings(self, holdings: Sequence[UUID],
                             *participants: UUID) -> Iterator[None]:
        """As :meth:`_commanding`, for a command on holdings alone (a transfer, a
        retirement): it queues on the holdings' in-process locks, not the batch's, so
        commands on distinct holders of one batch run side by side."""
        locks = sorted({id(lock): lock for lock in map(self._batch_locks.holding, holdings)}
                       .items())
        with ExitStack() as stack:
            for _, lock in locks:
                stack.enter_context(lock)
            with self._reading(*holdings, *participants):
                yield

    @contextmanager
    def _reading(self, *aggregates: UUID) -> Iterator[None]:
        checked = first_attempt() and self.repository.checks_read_sets
        with self.repository.fast_forwarded(*aggregates, check_at_commit=checked):
            try:
                yield
            except ReadSetChanged:
                if not checked:
                    raise
                raise StaleRead from None
            except LedgerError:
                if checked and self.repository.caught_up():
                    raise StaleRead from None
                raise

    def _on_batch(self, batch_id: UUID, command: Callable[[CreditBatch], R],
                  *others: Callable[[], Aggregate]) -> R:
        """Load the batch, run one domain command, save it (with ``others``) atomically.
        Called inside :meth:`_commanding` for that batch (which holds its lock), in a
        :func:`batch_command`, which retries the whole command if this save conflicts."""
        batch = self.batch(batch_id)
        result, holdings = self._run_on_batch(batch, command)
        self.save(batch, *holdings, *(make() for make in others))
        return result

    def _run_on_batch(self, batch: CreditBatch,
                      command: Callable[[CreditBatch], R]) -> tuple[R, list[Holding]]:
        """Run ``command`` on ``batch``; on a split batch, with the credits it takes from an
        account moved to the batch from the account's holding first, and what it returns to
        accounts moved on to their holdings after (see :mod:`ledger.domain.holding`).
        Returns the command's result and the holdings to save with the batch."""
        if not batch.is_split:
            return command(batch), []
        holdings: dict[str, Holding] = {}

        def holding(account: str) -> Holding:
            if account not in holdings:
                holdings[account] = (self._holding(batch.id, account)
                                     or Holding.open(batch.id, account, block=batch.block))
            return holdings[account]

        try:
            with batch.holdings_source(
                    lambda account, quantity, who: holding(account).move_to_batch(quantity,
                                                                                  who)):
                result = command(batch)
            for account, ranges in batch.sweep_to_holdings().items():
                holding(account).move_from_batch(ranges)
        except SerialOverlapError:  # serials in two places: a copy read was stale
            raise StaleRead from None
        return result, list(holdings.values())

    def _holding(self, batch_id: UUID, account: UUID | str) -> Holding | None:
        """``account``'s holding of the batch, or None if it has none."""
        try:
            return self._get(holding_id(batch_id, account), Holding, RecordNotFoundError,
                             "holding")
        except RecordNotFoundError:
            return None

    def _receiving(self, batch_id: UUID, account: UUID, block: str,
                   receive: Callable[[Holding], None]) -> Holding:
        """``account``'s holding of the batch (opened, empty, if it has none) after
        ``receive`` on it: the receiving side of a move between two holdings (a transfer,
        an enforced pledge, a delivery). If it already holds the serials it receives, one of
        the two copies read is stale: :class:`StaleRead`."""
        holding = self._holding(batch_id, account) or Holding.open(batch_id, account,
                                                                   block=block)
        try:
            receive(holding)
        except SerialOverlapError:
            raise StaleRead from None
        return holding

    def _split_once(self, batch_id: UUID) -> None:
        """Split the batch if it never was (see :mod:`ledger.domain.holding`): its own save,
        on its lock, outside any command's record (it changes where credits are kept, not
        whose they are); the first transfer or retirement on a batch never split calls it.
        A concurrent split makes the save conflict, and the enclosing command retries."""
        token = _command_context.set(None)
        try:
            with self._commanding(batch_id):
                batch = self.batch(batch_id)
                if not batch.is_split:
                    self.save(batch, *self._split(batch).values())
        finally:
            _command_context.reset(token)

    def _once_split(self, batch_id: UUID, attempt: Callable[[], R | None]) -> R:
        """``attempt()`` (a command on holdings alone, None if the batch was never split);
        the first such command on a batch never split splits it and attempts again."""
        result = attempt()
        if result is None:
            self._split_once(batch_id)
            result = attempt()
        if result is None:  # pragma: no cover - a split batch stays split
            raise RuntimeError(f"batch {batch_id} was split but reads as never split")
        return result

    def _own_holding(self, batch_id: UUID, account: UUID) -> Holding | None:
        """``account``'s holding of the batch for a command on holdings alone; None if the
        batch was never split. Once split, an account with no holding gets an empty one
        (not saved), so that the command refuses as it would on any holding."""
        holding = self._holding(batch_id, account)
        if holding is not None:
            return holding
        batch = self._get(batch_id, CreditBatch, BatchNotFoundError, "credit batch",
                          copy=False)
        if not batch.is_split:
            return None
        return Holding.open(batch_id, account, block=batch.block)


    def _keyed_holding(self, kind: KeyKind, key: UUID, batch_id: UUID) -> UUID | None:
        """The id of the holding of ``batch_id`` that holds the record (a pledge, a listing)
        whose id ``key`` it claimed (:class:`~ledger.domain.unique_keys.UniqueKey`); None
        for a record no holding of the batch holds: one made on the batch before such
        records moved to holdings, or none at all (the batch's own command then finds it or
        refuses)."""
        try:  # a key's owner and a holding's batch never change: no need to catch up
            owner = UUID(self.repository.cached_or_read(unique_key_id(kind, str(key))).owner)
            if owner == batch_id:
                return None
            holding = self.repository.cached_or_read(owner)
        except AggregateNotFoundError:
            return None
        if not isinstance(holding, Holding):  # claimed by another batch
            return None
        return owner if holding.batch == str(batch_id) else None

    def _on_record(self, kind: KeyKind, key: UUID, batch_id: UUID, actor: UUID, role: Role,
                   command: Callable[[Any], R]) -> R:
        """Run ``command`` (a method both a batch and a holding have, closing a pledge or a
        listing) on the holding that holds record ``key`` (:meth:`_keyed_holding`), on its
        lock alone; or on the batch, for a record made there."""
        owner = self._keyed_holding(kind, key, batch_id)
        if owner is None:
            with self._commanding(batch_id, actor):
                self._actor(actor, role)
                return self._on_batch(batch_id, command)
        with self._commanding_holdings((owner,), actor):
            self._actor(actor, role)
            holding = self._get(owner, Holding, RecordNotFoundError, "holding")
            result = command(holding)
            self.save(holding)
            return result

    def _consent(self, batch_id: UUID, *, holder: UUID, agent: UUID, scope: MandateScope,
                 quantity: int, record: UUID) -> list[Participant]:
        """What ``agent`` acting on ``holder``'s credits must save with its command: nothing
        for the holder's own request; anyone else needs a mandate of the holder in force for
        ``scope`` and ``quantity`` (:class:`ConsentRequiredError` otherwise), exercised on the
        holder's participant read in the same attempt, which is returned to be saved with the
        command's events, so a revocation saved meanwhile makes this attempt conflict and
        the enclosing :func:`batch_command` decide again."""
        if holder == agent:
            return []
        grantor = self.participant(holder)
        grantor.exercise_mandate(agent=agent, scope=scope, batch=batch_id, record=record,
                                 quantity=quantity, now=clock.now(), actor=agent)
        return [grantor]

    def _with_consent(self, batch_id: UUID, *, holder: UUID, agent: UUID,
                      scope: MandateScope, quantity: int, record: UUID,
                      command: Callable[[CreditBatch], R],
                      others: Sequence[Callable[[], Aggregate]] = ()) -> R:
        """Run ``command`` on the batch for ``agent`` acting on ``holder``'s credits, with
        the holder's consent (:meth:`_consent`) saved with the batch."""
        grantors = self._consent(batch_id, holder=holder, agent=agent, scope=scope,
                                 quantity=quantity, record=record)
        return self._on_batch(batch_id, command, *[(lambda g=g: g) for g in grantors],
                              *others)
