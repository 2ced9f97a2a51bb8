"""Trades settled by an exchange. The trade's id derives from the exchange and its own trade
id, so a replayed settlement collides in the event store and returns the first result."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

__all__ = ["Trade"]


class Trade(Aggregate):
    """The settlement record of one exchange trade."""

    @event("Settled")
    def __init__(self, exchange: str, trade_ref: str, terms: dict[str, Any],
                 batch: str, ranges: list[list[int]], retirement_id: str | None) -> None:
        self.exchange = exchange
        self.trade_ref = trade_ref
        self.terms = terms
        self.batch = batch
        self.ranges = ranges
        self.retirement_id = retirement_id

    @classmethod
    def record(cls, trade_id: UUID, *, exchange: UUID, trade_ref: str, terms: dict[str, Any],
               batch: UUID, ranges: list[list[int]], retirement_id: UUID | None) -> Trade:
        return cls._create(cls.Settled, id=trade_id, exchange=str(exchange), trade_ref=trade_ref,
                           terms=terms, batch=str(batch), ranges=ranges,
                           retirement_id=str(retirement_id) if retirement_id else None)
