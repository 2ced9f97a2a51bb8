"""Commands on points: a person redeems or donates the points its behaviours earned."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.application.core import LedgerCore
from ledger.domain.carbon_account import CarbonAccount, carbon_account_id
from ledger.domain.errors import LedgerError
from ledger.domain.participant import Role
from ledger.domain.quantities import require_grams


class PointCommands(LedgerCore):
    """Redeeming and donating points."""

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

