"""Keys that must be unique across aggregates, claimed in the event store itself.

A listing reference is the exchange's own id for a listing, whatever batch it lists; an
imported batch's block label names one batch of the whole ledger; a retirement made by an
on-chain burn has an id derived from the burn, whatever batch the bridge names. The
aggregates that hold those records (each credit batch) can only check their own, so each key
is also claimed by a :class:`UniqueKey` whose id derives from the key (``uuid5``): a second
claim, by any process, is version 1 of an aggregate that exists, refused by the event store
in the same transaction as the command that needed the key.

A pledge made on a holding (issue #17) claims its id the same way, with the holding as the
owner: the bank's release or enforcement names only the batch and the pledge, and finds the
holding through the claim.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.ids import uuid5

__all__ = ["KeyKind", "UniqueKey", "unique_key_id"]

_NS = UUID("5a7c1e94-3b2d-5f60-8e1a-c4d9b7f2a013")


class KeyKind(StrEnum):
    LISTING = "listing"  # key: the listing id (exchange + listing ref)
    BLOCK = "block"  # key: a batch's block label
    RETIREMENT = "retirement"  # key: the id of a retirement made by an on-chain burn
    PLEDGE = "pledge"  # key: a pledge id; owner: the pledgor's holding, which holds it


def unique_key_id(kind: KeyKind, key: str) -> UUID:
    return uuid5(_NS, f"{kind.value}\x1f{key}")


class UniqueKey(Aggregate):
    """A claimed key and what claimed it."""

    @event("Claimed")
    def __init__(self, kind: str, key: str, owner: str) -> None:
        self.kind = kind
        self.key = key
        self.owner = owner

    @classmethod
    def claim(cls, kind: KeyKind, key: str, owner: UUID) -> UniqueKey:
        return cls._create(cls.Claimed, id=unique_key_id(kind, key), kind=kind.value, key=key,
                           owner=str(owner))
