"""The read-side questions the write side asks (:class:`BehaviourQueries`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


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


