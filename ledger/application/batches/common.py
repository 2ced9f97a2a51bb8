"""What the commands on a batch's credits share: :func:`batch_command` (the retry of a
whole command), the batch lock and the read of cached copies (:meth:`BatchCommands._commanding`),
one domain command saved atomically (:meth:`BatchCommands._on_batch`), and a holder's
consent (:meth:`BatchCommands._with_consent`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.application import clock
from ledger.application.core import LedgerCore
from ledger.application.retry import StaleRead, first_attempt
from ledger.domain.credit_batch import CreditBatch
from ledger.domain.errors import LedgerError
from ledger.domain.mandates import MandateScope
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
        checked = first_attempt() and self.repository.checks_read_sets
        with self._batch_locks.holding(batch_id), \
                self.repository.fast_forwarded(batch_id, *participants,
                                               check_at_commit=checked):
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
        result = command(batch)
        self.save(batch, *(make() for make in others))
        return result

    def _with_consent(self, batch_id: UUID, *, holder: UUID, agent: UUID,
                      scope: MandateScope, quantity: int, record: UUID,
                      command: Callable[[CreditBatch], R],
                      others: Sequence[Callable[[], Aggregate]] = ()) -> R:
        """Run ``command`` on the batch for ``agent`` acting on ``holder``'s credits: the
        holder's own request needs nothing more; anyone else needs a mandate of the holder in
        force for ``scope`` and ``quantity``, checked on the holder's participant read in the
        same attempt and saved with the batch (its ``MandateExercised`` event), so a
        revocation saved meanwhile makes this attempt conflict and the enclosing
        :func:`batch_command` decide again."""
        if holder == agent:
            return self._on_batch(batch_id, command, *others)

        now = clock.now()
        grantor = self.participant(holder)
        grantor.mandate_for(agent=agent, scope=scope, quantity=quantity, now=now)
        batch = self.batch(batch_id)
        result = command(batch)
        grantor.exercise_mandate(agent=agent, scope=scope, batch=batch_id, record=record,
                                 quantity=quantity, now=now, actor=agent)
        self.save(batch, grantor, *(make() for make in others))
        return result
