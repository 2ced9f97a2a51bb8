"""The event feed: the ledger's domain events, read from the event store's notification log,
as public feed items with stable type names, filtered by who may see them.

Each item's ``position`` is the event's notification id (its place in the log), so a reader
resumes after the last position it saw and never misses an event: the log is read directly,
not the read models. Only the topics of :data:`CATALOGUE` are read; the rest of the log
(behaviours, carbon accounts, API keys, mandates, command records...) never appears.

Who sees what follows the public read endpoints:

* **public** items (``batch.issued``, ``batch.imported``, ``batch.corrected``,
  ``credits.retired``) are on the public register already; anyone sees them.
* **party** items (trades, pledges, listings, transfers, exports, cancellations) are seen by
  the participants the event names as parties and by registry operators and auditors
  (:data:`PRIVILEGED_ROLES`), like ``GET /pledges/{id}``.
* a trade settled with retire-on-delivery is ``trade.settled`` for its parties and, for
  everyone else, the public ``credits.retired`` it also made (without the trade's price).

Payloads carry participant ids, never names (``GET /participants/{id}`` shows what is public
about a participant; individuals are pseudonymous there) and never secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic

from ledger.domain.credit_batch import CreditBatch
from ledger.domain.holding import Holding
from ledger.projections.moves import batch_of

__all__ = [
    "CATALOGUE",
    "EVENT_TYPES",
    "PRIVILEGED_ROLES",
    "FeedItem",
    "FeedPage",
    "Viewer",
    "read_feed",
]

PRIVILEGED_ROLES = frozenset({"issuer", "auditor"})  # as api.access.PRIVILEGED
MAX_SCAN = 1000  # notifications read for one page, at most (a page may hold fewer items)


@dataclass(frozen=True)
class Viewer:
    """Who reads: anonymous (``participant`` None) sees public items only."""

    participant: str | None = None
    privileged: bool = False

    def sees(self, parties: Iterable[str]) -> bool:
        return self.privileged or (self.participant is not None and self.participant in parties)


@dataclass(frozen=True)
class FeedItem:
    position: int
    type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]
    public: bool
    parties: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem]
    next_after: int  # the last position read: the next page starts after it
    head: int  # the log's last position when the page was read


# (public type, parties(event) -> participant ids or None when public, payload(event))
@dataclass(frozen=True)
class _Entry:
    type: str
    parties: Callable[[Any], tuple[str, ...]] | None
    payload: Callable[[Any], dict[str, Any]]


def _serials(event: Any) -> list[list[int]]:
    return [list(r) for r in event.ranges]


def _issued(event: Any) -> dict[str, Any]:
    return {"batch_id": str(event.originator_id), "block": event.block,
            "registry": event.registry, "vintage": event.vintage,
            "methodology_id": event.methodology, "methodology": event.methodology_label,
            "region": event.region, "project_type": event.project_type,
            "quantity_g": event.quantity, "holder": event.holder,
            "serials": [[event.serial_start, event.serial_start + event.quantity]]}


def _retired(event: Any) -> dict[str, Any]:
    return {"retirement_id": event.retirement_id, "batch_id": batch_of(event),
            "holder": event.holder, "quantity_g": event.quantity,
            "serials": _serials(event), "details": dict(event.details)}


def _moved(*names: str) -> Callable[[Any], dict[str, Any]]:
    def payload(event: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"batch_id": batch_of(event)}
        out.update({name: getattr(event, name) for name in names})
        out["quantity_g"] = event.quantity
        out["serials"] = _serials(event)
        return out
    return payload


def _trade(event: Any) -> dict[str, Any]:
    out = _moved("trade_id", "trade_ref", "listing_id", "exchange", "seller", "buyer",
                 "price_per_tonne", "currency", "retirement_id")(event)
    out["retirement"] = dict(event.retirement) if event.retirement is not None else None
    return out


def _attrs(*names: str) -> Callable[[Any], tuple[str, ...]]:
    return lambda event: tuple(str(getattr(event, name)) for name in names)


CATALOGUE: dict[type[Any], _Entry] = {
    CreditBatch.Issued: _Entry("batch.issued", None, _issued),
    CreditBatch.Imported: _Entry("batch.imported", None, _issued),
    CreditBatch.Corrected: _Entry("batch.corrected", None, lambda e: {
        "batch_id": str(e.originator_id), "field": e.field, "previous": e.previous,
        "value": e.value, "reason": e.reason}),
    CreditBatch.Retired: _Entry("credits.retired", None, _retired),
    **{settled: _Entry("trade.settled", _attrs("exchange", "seller", "buyer"), _trade)
       for settled in (CreditBatch.TradeSettled, Holding.TradeSettled)},
    **{pledged: _Entry("pledge.registered", _attrs("holder", "bank"),
                       _moved("pledge_id", "holder", "bank", "loan_reference"))
       for pledged in (CreditBatch.Pledged, Holding.Pledged)},
    **{released: _Entry("pledge.released", _attrs("holder", "actor"),
                        _moved("pledge_id", "holder"))
       for released in (CreditBatch.PledgeReleased, Holding.PledgeReleased)},
    **{enforced: _Entry("pledge.enforced", _attrs("holder", "bank"),
                        _moved("pledge_id", "holder", "bank"))
       for enforced in (CreditBatch.PledgeEnforced, Holding.PledgeEnforced)},
    CreditBatch.Transferred: _Entry("credits.transferred", _attrs("sender", "recipient"),
                                    _moved("sender", "recipient")),
    Holding.Retired: _Entry("credits.retired", None, _retired),
    Holding.Transferred: _Entry("credits.transferred", _attrs("sender", "recipient"),
                                _moved("sender", "recipient")),
    **{escrowed: _Entry("listing.opened", _attrs("exchange", "seller"),
                        _moved("listing_id", "listing_ref", "exchange", "seller"))
       for escrowed in (CreditBatch.Escrowed, Holding.Escrowed)},
    **{cancelled: _Entry("listing.cancelled", _attrs("actor", "seller"),
                         _moved("listing_id", "seller"))
       for cancelled in (CreditBatch.ListingCancelled, Holding.ListingCancelled)},
    CreditBatch.Exported: _Entry("credits.exported", _attrs("holder"),
                                 _moved("export_id", "holder", "destination")),
    CreditBatch.Cancelled: _Entry("credits.cancelled", _attrs("holder"),
                                  _moved("cancellation_id", "holder", "reason")),
}
TOPICS: dict[str, _Entry] = {get_topic(cls): entry for cls, entry in CATALOGUE.items()}
EVENT_TYPES = frozenset(entry.type for entry in CATALOGUE.values())
_TOPIC_LIST = sorted(TOPICS)


def _item(position: int, event: DomainEventProtocol[Any], entry: _Entry) -> FeedItem:
    parties = entry.parties(event) if entry.parties is not None else ()
    return FeedItem(position=position, type=entry.type,
                    aggregate_id=str(event.originator_id), occurred_at=event.timestamp,
                    payload=entry.payload(event), public=entry.parties is None,
                    parties=tuple(sorted(set(parties))))


def view(item: FeedItem, event: Any, viewer: Viewer) -> FeedItem | None:
    """``item`` as ``viewer`` may see it, or ``None``."""
    if item.public or viewer.sees(item.parties):
        return item
    if item.type == "trade.settled" and event.retirement is not None:
        # retire-on-delivery: the retirement is on the public register, the trade is not
        payload = {"retirement_id": event.retirement_id, "batch_id": batch_of(event),
                   "holder": event.buyer, "quantity_g": event.quantity,
                   "serials": _serials(event), "details": dict(event.retirement)}
        return FeedItem(position=item.position, type="credits.retired",
                        aggregate_id=item.aggregate_id, occurred_at=item.occurred_at,
                        payload=payload, public=True)
    return None


def read_feed(app: Application, *, after: int, limit: int, viewer: Viewer,
              types: Mapping[str, object] | frozenset[str] | None = None,
              max_scan: int = MAX_SCAN) -> FeedPage:
    """Up to ``limit`` items after position ``after`` that ``viewer`` may see (of ``types``,
    if given), reading at most ``max_scan`` notifications of the catalogue's topics.

    ``next_after`` is the last position read, seen or not: a page with no items but a
    larger ``next_after`` means the reader skipped events it may not see."""
    recorder = app.recorder
    head = recorder.max_notification_id() or 0
    items: list[FeedItem] = []
    cursor, scanned = after, 0
    while len(items) < limit and scanned < max_scan and cursor < head:
        wanted = min(500, max_scan - scanned)
        notifications = recorder.select_notifications(
            start=cursor, limit=wanted, stop=head, topics=_TOPIC_LIST, inclusive_of_start=False)
        for notification in notifications:
            cursor, scanned = notification.id, scanned + 1
            event = app.mapper.to_domain_event(notification)
            seen = view(_item(notification.id, event, TOPICS[notification.topic]), event, viewer)
            if seen is not None and (types is None or seen.type in types):
                items.append(seen)
                if len(items) >= limit:
                    break
        else:
            if len(notifications) < wanted:  # every catalogue event up to the head is read
                cursor = head
    return FeedPage(items=items, next_after=cursor, head=head)
