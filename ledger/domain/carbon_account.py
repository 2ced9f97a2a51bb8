"""Carbon accounts (碳账户): a person's points. Points are earned by reported behaviours
(1 g CO2e = 1 point, counted by the behaviour index) and spent here, by redemption for a
reward or donation to an event."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import InsufficientBalanceError
from ledger.domain.ids import uuid5
from ledger.domain.quantities import require_grams
from ledger.domain.text import check_text

__all__ = ["CarbonAccount", "carbon_account_id"]

_NS = UUID("0b3c2f7e-5d1a-5c48-8e6f-2d9a4b7c1e30")


def carbon_account_id(account: UUID) -> UUID:
    return uuid5(_NS, str(account))


class CarbonAccount(Aggregate):
    """Spending side of a person's points. Earned points are passed in by the application
    from the behaviour index; because earned points only ever grow, a stale figure can only
    refuse a spend, never allow an overdraft."""

    @event("Opened")
    def __init__(self, account: str) -> None:
        self.account = account
        self.spent = 0

    @classmethod
    def open(cls, account: UUID) -> CarbonAccount:
        return cls._create(cls.Opened, id=carbon_account_id(account), account=str(account))

    def _check_spend(self, points: int, earned: int) -> None:
        require_grams(points, "points")
        if self.spent + points > earned:
            raise InsufficientBalanceError(
                f"account has {earned - self.spent} points, {points} requested",
                requested=points, available=earned - self.spent,
            )

    def redeem(self, *, points: int, reward: str, earned: int, actor: UUID) -> None:
        """Redeem points for a reward (权益兑换)."""
        reward = check_text(reward, "reward")
        self._check_spend(points, earned)
        self._redeemed(account=self.account, points=points, reward=reward,
                       actor=str(actor))

    def donate(self, *, points: int, claim: UUID, event_name: str, earned: int,
               actor: UUID) -> None:
        """Donate points (碳捐赠) to an event's neutrality claim."""
        self._check_spend(points, earned)
        self._donated(account=self.account, points=points, claim=str(claim),
                      event_name=event_name, actor=str(actor))

    @event("PointsRedeemed")
    def _redeemed(self, account: str, points: int, reward: str, actor: str) -> None:
        self.spent += points

    @event("PointsDonated")
    def _donated(self, account: str, points: int, claim: str, event_name: str, actor: str) -> None:
        self.spent += points
