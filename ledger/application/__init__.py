"""The ledger application: loads aggregates, calls one command, saves atomically.

Every public method of :class:`Ledger` is one command. It checks the actor's role, loads the
aggregates the command touches, calls the domain, and saves all changed aggregates in one
transaction, so a command either happens completely or not at all. Optimistic-concurrency
conflicts are retried with fresh state by one helper, :func:`~ledger.application.retry.retrying`
(counted in :attr:`Ledger.retries`); uniqueness conflicts (a re-reported act, a replayed
trade id) are turned into domain errors or idempotent replies.

Read-side questions the write side needs (points earned by a person; which unissued
behaviours fall in a period) are answered by a :class:`BehaviourQueries` implementation,
normally the behaviour index projection.

The package holds one module per feature; :class:`Ledger` composes their command mixins:

* :mod:`.core`: construction, saving (with the command's record), snapshots, lookups;
* :mod:`.context`: :class:`CommandContext`, :class:`DuplicateRequestError`;
* :mod:`.retry`: the one retry of a command that lost a race;
* :mod:`.participants` (with mandates), :mod:`.methodologies`, :mod:`.behaviours`,
  :mod:`.points`, :mod:`.issuance` (with imports), :mod:`.claims`;
* :mod:`.batches`: the commands on a batch's credits, their shared plumbing in
  :mod:`.batches.common`.
"""

from __future__ import annotations

from ledger.application.batches.corrections import CorrectionCommands
from ledger.application.batches.pledges import PledgeCommands
from ledger.application.batches.retirement import RetirementCommands
from ledger.application.batches.settlement import (
    SettlementCommands,
    TradeInstruction,
    TradeResult,
)
from ledger.application.batches.tokens import TokenCommands
from ledger.application.batches.transfers import TransferCommands
from ledger.application.behaviours import BehaviourCommands, BehaviourReport, BehaviourResult
from ledger.application.claims import ClaimCommands
from ledger.application.context import CommandContext, DuplicateRequestError
from ledger.application.issuance import IssuanceCommands
from ledger.application.methodologies import MethodologyCommands
from ledger.application.participants import ParticipantCommands
from ledger.application.points import PointCommands
from ledger.application.queries import BehaviourQueries, UnissuedBehaviours
from ledger.application.retry import RetryStats

__all__ = [
    "BehaviourQueries",
    "BehaviourReport",
    "BehaviourResult",
    "CommandContext",
    "DuplicateRequestError",
    "Ledger",
    "RetryStats",
    "TradeInstruction",
    "TradeResult",
    "UnissuedBehaviours",
]


class Ledger(ParticipantCommands, MethodologyCommands, BehaviourCommands, PointCommands,
             IssuanceCommands, ClaimCommands, TransferCommands, SettlementCommands,
             PledgeCommands, RetirementCommands, CorrectionCommands, TokenCommands):
    """The carbon ledger's write side: every command of every feature module."""

    # The library names an application by its class unless told: the environment's
    # variable prefix and stored names depend on it, so it is stated here, on the class
    # the ledger is made from.
    name = "CarbonLedger"
