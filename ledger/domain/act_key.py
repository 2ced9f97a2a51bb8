"""The normal key of an act stored before act identities were normalised.

A behaviour reported before issue 15 has the id of its exact text
(:func:`ledger.domain.ids.legacy_behaviour_id`), so a later report of the same act under
another spelling derives another id and would not collide with it. Indexing the old ledger
(``Ledger.index_legacy_acts``, CLI ``carbon-ledger index-legacy-acts``) records, for each such
behaviour, an ``ActKey`` under the act's normal id naming the behaviour: from then on every
spelling of the act collides with that key in the event store, as with a behaviour reported
after the change. The behaviour's own events are not touched.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

__all__ = ["ActKey"]


class ActKey(Aggregate):
    """The normal id of an act, pointing at the behaviour stored under its exact-text id."""

    @event("Indexed")
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    @classmethod
    def index(cls, key_id: UUID, *, behaviour: UUID) -> ActKey:
        return cls._create(cls.Indexed, id=key_id, behaviour=str(behaviour))
