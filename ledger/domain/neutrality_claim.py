"""Neutrality claims: an event's (or company's, product's) footprint, neutralised by retirements.

The claim is met exactly when the credits retired for it reach its footprint. Donated
personal points are recorded too, but only retired credits count toward neutrality.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import DuplicateRecordError, LimitExceededError
from ledger.domain.limits import MAX_COUNT, MAX_TOTAL_G
from ledger.domain.quantities import require_grams
from ledger.domain.text import check_text

__all__ = ["NeutralityClaim"]


class NeutralityClaim(Aggregate):
    @event("Registered")
    def __init__(self, organiser: str, event_name: str, footprint_g: int, scope: str,
                 actor: str) -> None:
        self.organiser = organiser
        self.event_name = event_name
        self.footprint_g = footprint_g
        self.scope = scope
        self.retired_g = 0
        self.donated_points = 0
        self.retirements: list[str] = []

    @classmethod
    def register(cls, claim_id: UUID, *, organiser: UUID, event_name: str, footprint_g: int,
                 scope: str, actor: UUID) -> NeutralityClaim:
        event_name = check_text(event_name, "event_name")
        scope = check_text(scope, "scope") if scope.strip() else "event"
        require_grams(footprint_g, "footprint_g")
        return cls._create(cls.Registered, id=claim_id, organiser=str(organiser),
                           event_name=event_name, footprint_g=footprint_g,
                           scope=scope, actor=str(actor))

    @property
    def met(self) -> bool:
        return self.retired_g >= self.footprint_g

    @property
    def outstanding_g(self) -> int:
        return max(0, self.footprint_g - self.retired_g)

    def count_retirement(self, *, retirement_id: UUID, batch: UUID, quantity: int,
                         actor: UUID) -> None:
        require_grams(quantity)
        if str(retirement_id) in self.retirements:
            raise DuplicateRecordError(f"retirement {retirement_id} already counted")
        if self.retired_g + quantity > MAX_TOTAL_G or len(self.retirements) >= MAX_COUNT:
            raise LimitExceededError(
                f"the claim {self.event_name!r} cannot count more retirements: its total "
                f"would pass {MAX_TOTAL_G} g or {MAX_COUNT} retirements",
                claim=str(self.id), retired_g=self.retired_g, requested=quantity)
        self._retirement_counted(retirement_id=str(retirement_id), batch=str(batch),
                                 quantity=quantity, met=self.retired_g + quantity
                                 >= self.footprint_g, actor=str(actor))

    def receive_donation(self, *, account: UUID, points: int, actor: UUID) -> None:
        require_grams(points, "points")
        if self.donated_points + points > MAX_TOTAL_G:
            raise LimitExceededError(
                f"the claim {self.event_name!r} cannot receive {points} more points: its "
                f"total would pass {MAX_TOTAL_G}", claim=str(self.id),
                donated_points=self.donated_points, requested=points)
        self._donation_received(account=str(account), points=points, actor=str(actor))

    @event("RetirementCounted")
    def _retirement_counted(self, retirement_id: str, batch: str, quantity: int, met: bool,
                            actor: str) -> None:
        self.retirements.append(retirement_id)
        self.retired_g += quantity

    @event("DonationReceived")
    def _donation_received(self, account: str, points: int, actor: str) -> None:
        self.donated_points += points
