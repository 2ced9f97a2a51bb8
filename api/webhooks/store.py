"""Webhook subscriptions and their delivery log: API-owned tables (their own ``MetaData``,
in the read-model database, like the idempotency table), so they survive restarts and are
untouched by a rebuild of the read models.

A subscription's ``cursor`` is the last log position delivered to it (or skipped as not
visible to it); it advances only after a 2xx, by compare-and-set, so a replay or a deletion
made meanwhile is never overwritten by the worker.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)

from ledger.domain.errors import (
    DuplicateRecordError,
    LimitExceededError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.feed import EVENT_TYPES

__all__ = ["CATEGORIES", "Delivery", "Subscription", "WebhookStore", "expand_types", "metadata"]

metadata = MetaData()

subscriptions = Table(
    "api_webhook_subscriptions", metadata,
    Column("id", String(36), primary_key=True),
    Column("participant", String(36), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("event_types", Text, nullable=False),  # comma-separated feed types
    Column("secret", String(80), nullable=False),
    Column("cursor", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    Column("created_at", String(40), nullable=False),
)

deliveries = Table(
    "api_webhook_deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscription", String(36), nullable=False, index=True),
    Column("position", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("attempted_at", String(40), nullable=False),
    Column("duration_ms", Integer, nullable=False),
)

# Subscribable names: a category or an exact feed type.
CATEGORIES: dict[str, frozenset[str]] = {
    "settlements": frozenset({"trade.settled"}),
    "pledges": frozenset({"pledge.registered", "pledge.released", "pledge.enforced"}),
    "retirements": frozenset({"credits.retired"}),
    "issuances": frozenset({"batch.issued", "batch.imported"}),
    "transfers": frozenset({"credits.transferred"}),
    "listings": frozenset({"listing.opened", "listing.cancelled"}),
}


def expand_types(names: list[str]) -> frozenset[str]:
    """Feed types named by ``names`` (categories or types); a ``ValidationError`` for an
    unknown name or none."""
    if not names:
        raise ValidationError("name at least one event type or category", field="event_types")
    chosen: set[str] = set()
    for name in names:
        if name in CATEGORIES:
            chosen |= CATEGORIES[name]
        elif name in EVENT_TYPES:
            chosen.add(name)
        else:
            known = ", ".join(sorted(CATEGORIES) + sorted(EVENT_TYPES))
            raise ValidationError(f"unknown event type {name!r} (known: {known})",
                                  field="event_types")
    return frozenset(chosen)


@dataclass(frozen=True)
class Subscription:
    id: str
    participant: str
    url: str
    event_types: frozenset[str]
    secret: str
    cursor: int
    failures: int
    next_attempt_at: float
    created_at: str

    @classmethod
    def of(cls, row: Any) -> Subscription:
        return cls(id=row.id, participant=row.participant, url=row.url,
                   event_types=frozenset(t for t in row.event_types.split(",") if t),
                   secret=row.secret, cursor=int(row.cursor), failures=int(row.failures),
                   next_attempt_at=float(row.next_attempt_at), created_at=row.created_at)


@dataclass(frozen=True)
class Delivery:
    id: int
    position: int
    event_type: str
    attempt: int
    succeeded: bool
    status_code: int | None
    error: str | None
    attempted_at: str
    duration_ms: int


def _now() -> str:
    return datetime.now(UTC).isoformat()


class WebhookStore:
    def __init__(self, engine: Engine, clock: Any = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def create_tables(self) -> None:
        metadata.create_all(self.engine)

    # ------------------------------------------------------------ subscriptions

    def subscribe(self, participant: str, url: str, event_types: frozenset[str], *,
                  after: int, limit: int) -> Subscription:
        """A new subscription delivering events after position ``after``; its secret is
        generated here."""
        with self.engine.begin() as conn:
            count = conn.execute(select(func.count()).select_from(subscriptions).where(
                subscriptions.c.participant == participant)).scalar_one()
            same = conn.execute(select(subscriptions.c.id).where(
                subscriptions.c.participant == participant, subscriptions.c.url == url)).first()
            if same is not None:  # also what makes a retried POST harmless
                raise DuplicateRecordError(
                    f"this participant already has webhook subscription {same.id} for this URL",
                    subscription=same.id)
            if count >= limit:
                raise LimitExceededError(
                    f"a participant has at most {limit} webhook subscriptions", limit=limit)
            values = {"id": str(uuid.uuid4()), "participant": participant, "url": url,
                      "event_types": ",".join(sorted(event_types)),
                      "secret": "whsec_" + secrets.token_urlsafe(32), "cursor": after,
                      "failures": 0, "next_attempt_at": 0.0, "created_at": _now()}
            conn.execute(insert(subscriptions).values(**values))
        return self.get(str(values["id"]))

    def get(self, subscription_id: str, participant: str | None = None) -> Subscription:
        """The subscription (of ``participant``, when given); else ``RecordNotFoundError``
        (another participant's subscription is not told apart from a missing one)."""
        query = select(subscriptions).where(subscriptions.c.id == subscription_id)
        if participant is not None:
            query = query.where(subscriptions.c.participant == participant)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise RecordNotFoundError(f"no webhook subscription {subscription_id}",
                                      subscription=subscription_id)
        return Subscription.of(row)

    def of_participant(self, participant: str) -> list[Subscription]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(subscriptions).where(
                subscriptions.c.participant == participant)
                .order_by(subscriptions.c.created_at, subscriptions.c.id)).all()
        return [Subscription.of(row) for row in rows]

    def due(self) -> list[Subscription]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(subscriptions).where(
                subscriptions.c.next_attempt_at <= self.clock())
                .order_by(subscriptions.c.id)).all()
        return [Subscription.of(row) for row in rows]

    def delete(self, subscription_id: str, participant: str) -> None:
        self.get(subscription_id, participant)
        with self.engine.begin() as conn:
            conn.execute(delete(deliveries).where(deliveries.c.subscription == subscription_id))
            conn.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))

    def replay(self, subscription_id: str, participant: str, start: int) -> Subscription:
        """Deliver again from position ``start`` (inclusive), now."""
        self.get(subscription_id, participant)
        with self.engine.begin() as conn:
            conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id)
                         .values(cursor=max(start - 1, 0), failures=0, next_attempt_at=0.0))
        return self.get(subscription_id, participant)

    # ------------------------------------------------------------ the worker's writes

    def advance(self, subscription: Subscription, cursor: int) -> bool:
        """Move the cursor from where ``subscription`` had it to ``cursor`` and clear its
        failures; ``False`` if it was changed meanwhile (replayed, deleted)."""
        with self.engine.begin() as conn:
            done = conn.execute(update(subscriptions).where(
                subscriptions.c.id == subscription.id,
                subscriptions.c.cursor == subscription.cursor)
                .values(cursor=cursor, failures=0, next_attempt_at=0.0))
        return bool(done.rowcount)

    def postpone(self, subscription: Subscription, failures: int, until: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(subscriptions).where(
                subscriptions.c.id == subscription.id,
                subscriptions.c.cursor == subscription.cursor)
                .values(failures=failures, next_attempt_at=until))

    def record(self, subscription_id: str, *, position: int, event_type: str, attempt: int,
               succeeded: bool, status_code: int | None, error: str | None,
               duration_ms: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(deliveries).values(
                subscription=subscription_id, position=position, event_type=event_type,
                attempt=attempt, succeeded=succeeded, status_code=status_code,
                error=error[:1000] if error else None, attempted_at=_now(),
                duration_ms=duration_ms))

    def deliveries(self, subscription_id: str, *, after: int, limit: int) -> list[Delivery]:
        """Attempts after delivery id ``after``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(deliveries).where(
                deliveries.c.subscription == subscription_id, deliveries.c.id > after)
                .order_by(deliveries.c.id).limit(limit)).all()
        return [Delivery(id=r.id, position=int(r.position), event_type=r.event_type,
                         attempt=r.attempt, succeeded=bool(r.succeeded),
                         status_code=r.status_code, error=r.error, attempted_at=r.attempted_at,
                         duration_ms=r.duration_ms) for r in rows]
