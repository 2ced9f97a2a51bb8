"""Webhook subscriptions of the authenticated participant, their delivery log and replays.
Delivery: :mod:`api.webhooks.delivery`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request

from api.access import READ, WRITE
from api.deps import IDEMPOTENCY_HEADER, AuthenticatorDep, CallerDep, RuntimeDep
from api.schemas.feed import (
    DeliveryPage,
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
)
from api.webhooks.settings import WebhookSettings
from api.webhooks.store import Subscription, WebhookStore, expand_types
from api.webhooks.urls import check_destination, check_url

__all__ = ["router"]

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_MAX = 2**63 - 1
WebhookId = Annotated[UUID, Path(description="the subscription")]


async def get_store(request: Request) -> WebhookStore:
    return request.app.state.webhooks


async def get_settings(request: Request) -> WebhookSettings:
    return request.app.state.webhook_settings


StoreDep = Annotated[WebhookStore, Depends(get_store)]
# Bound by V2 request signatures like every write's. Subscriptions are API records, not
# ledger commands: a retried POST is recognised by its URL (409 naming the first).
IdempotencyKey = Annotated[str | None, Header(
    alias=IDEMPOTENCY_HEADER, max_length=200,
    description="signed with the request (V2 signatures); not replayed")]
SettingsDep = Annotated[WebhookSettings, Depends(get_settings)]


def _public(s: Subscription) -> WebhookPublic:
    return WebhookPublic(
        id=UUID(s.id), url=s.url, event_types=sorted(s.event_types), cursor=s.cursor,
        failures=s.failures, created_at=datetime.fromisoformat(s.created_at),
        next_attempt_at=datetime.fromtimestamp(s.next_attempt_at, UTC)
        if s.next_attempt_at else None)


@router.post("", status_code=201, response_model=WebhookCreated, responses=WRITE)
def subscribe(body: WebhookCreate, caller: CallerDep, authenticator: AuthenticatorDep,
              runtime: RuntimeDep, store: StoreDep, settings: SettingsDep,
              _key: IdempotencyKey = None) -> WebhookCreated:
    """Subscribe a URL to event types; the signing secret is in this response only. One
    subscription per URL per participant (a retried request is a 409 naming the first)."""
    authenticator.require_signature(caller)
    url = check_url(body.url)
    types = expand_types(body.event_types)
    check_destination(url, settings)
    head = runtime.ledger.recorder.max_notification_id() or 0
    after = head if body.after is None else min(body.after, head)
    created = store.subscribe(str(caller.id), url, types, after=after,
                              limit=settings.max_subscriptions)
    return WebhookCreated(**_public(created).model_dump(), secret=created.secret)


@router.get("", response_model=list[WebhookPublic], responses=READ)
def list_webhooks(caller: CallerDep, store: StoreDep) -> list[WebhookPublic]:
    """The caller's subscriptions (secrets are never shown again)."""
    return [_public(s) for s in store.of_participant(str(caller.id))]


@router.get("/{webhook_id}", response_model=WebhookPublic, responses=READ)
def get_webhook(webhook_id: WebhookId, caller: CallerDep, store: StoreDep) -> WebhookPublic:
    return _public(store.get(str(webhook_id), str(caller.id)))


@router.delete("/{webhook_id}", response_model=WebhookPublic, responses=WRITE)
def delete_webhook(webhook_id: WebhookId, caller: CallerDep, authenticator: AuthenticatorDep,
                   store: StoreDep, _key: IdempotencyKey = None) -> WebhookPublic:
    """Stop deliveries and forget the subscription and its delivery log; returns it."""
    authenticator.require_signature(caller)
    deleted = _public(store.get(str(webhook_id), str(caller.id)))
    store.delete(str(webhook_id), str(caller.id))
    return deleted


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, responses=READ)
def deliveries(webhook_id: WebhookId, caller: CallerDep, store: StoreDep,
               after: Annotated[int, Query(ge=0, le=_MAX)] = 0,
               limit: Annotated[int, Query(ge=1, le=500)] = 100) -> DeliveryPage:
    """Delivery attempts, oldest first: each event's position, attempt, status or error."""
    store.get(str(webhook_id), str(caller.id))
    rows = store.deliveries(str(webhook_id), after=after, limit=limit)
    return DeliveryPage(
        items=[DeliveryPublic(**{**r.__dict__,
                                 "attempted_at": datetime.fromisoformat(r.attempted_at)})
               for r in rows],
        next_after=rows[-1].id if len(rows) == limit else None)


@router.post("/{webhook_id}/replay", response_model=WebhookPublic, responses=WRITE)
def replay(webhook_id: WebhookId, caller: CallerDep, authenticator: AuthenticatorDep,
           store: StoreDep, start: Annotated[int, Query(
               alias="from", ge=1, le=_MAX, description="deliver again from this position")],
           _key: IdempotencyKey = None) -> WebhookPublic:
    """Deliver the subscription's events again from position ``from`` (inclusive), in order,
    on the worker's next pass."""
    authenticator.require_signature(caller)
    return _public(store.replay(str(webhook_id), str(caller.id), start))
