"""The event feed and webhook subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from api.schemas.common import RequestModel, ResponseModel
from ledger.feed import FeedItem

__all__ = ["DeliveryPage", "DeliveryPublic", "FeedEvent", "FeedPagePublic", "WebhookCreate",
           "WebhookCreated", "WebhookPublic"]


class FeedEvent(ResponseModel):
    """One domain event as the feed shows it."""

    position: int = Field(description="the event's place in the log (its notification id)")
    type: str = Field(description="stable public name, e.g. `trade.settled`")
    aggregate_id: UUID
    occurred_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, item: FeedItem) -> FeedEvent:
        return cls(position=item.position, type=item.type, aggregate_id=item.aggregate_id,
                   occurred_at=item.occurred_at, payload=item.payload)


class FeedPagePublic(ResponseModel):
    items: list[FeedEvent]
    next_after: int = Field(description="pass as `after` for the next page (the last "
                            "position read, whether or not its event was shown to you)")
    head: int = Field(description="the log's last position when this page was read")


class WebhookCreate(RequestModel):
    url: str = Field(max_length=2048, description="http(s) URL receiving signed POSTs")
    event_types: list[str] = Field(min_length=1, max_length=32, description=(
        "categories (`settlements`, `pledges`, `retirements`, `issuances`, `transfers`, "
        "`listings`) or feed types (`trade.settled`...)"))
    after: int | None = Field(default=None, ge=0, le=2**63 - 1, description=(
        "deliver events after this position (default: the current head, i.e. new events)"))


class WebhookPublic(ResponseModel):
    id: UUID
    url: str
    event_types: list[str]
    cursor: int = Field(description="the last position delivered (or skipped as not yours)")
    failures: int = Field(description="consecutive failed attempts of the next event")
    next_attempt_at: datetime | None
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="the signing secret, shown once")


class DeliveryPublic(ResponseModel):
    id: int
    position: int
    event_type: str
    attempt: int
    succeeded: bool
    status_code: int | None
    error: str | None
    attempted_at: datetime
    duration_ms: int


class DeliveryPage(ResponseModel):
    items: list[DeliveryPublic]
    next_after: int | None = Field(description="pass as `after` for the next page, if any")
