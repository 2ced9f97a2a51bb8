"""Delivering feed items to subscribers: signed POSTs, in log order, at least once.

Each request carries one event (the JSON of a feed item) and the headers

``Carbon-Ledger-Webhook-Id``   the subscription
``Carbon-Ledger-Event-Type``   the feed type, e.g. ``trade.settled``
``Carbon-Ledger-Position``     the event's position in the log (deduplicate on it)
``Carbon-Ledger-Timestamp``    Unix seconds when the request was signed
``Carbon-Ledger-Signature``    ``v1=`` + hex HMAC-SHA256, keyed with the subscription's
                               secret, of ``<timestamp>.<body>`` (the raw body bytes)

A subscription gets its events one at a time in log order; its cursor advances only on a
2xx. A failure (another status, a timeout, a refused address) is recorded in the delivery
log and the same event is retried after an exponential backoff; later events wait for it.
The worker runs in every server process but delivers only while holding the ``webhooks``
lease (:mod:`ledger.leases`), so one process delivers at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from api.webhooks.settings import WebhookSettings
from api.webhooks.store import Subscription, WebhookStore
from api.webhooks.urls import check_destination
from ledger.domain.errors import LedgerError, NotFoundError
from ledger.feed import PRIVILEGED_ROLES, FeedItem, Viewer, read_feed
from ledger.leases import Lease
from ledger.runtime import LedgerRuntime

__all__ = ["DeliveryWorker", "Outcome", "item_json", "post", "sign", "viewer_of"]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Carbon-Ledger-Signature"
TIMESTAMP_HEADER = "Carbon-Ledger-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Carbon-Ledger-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def item_json(item: FeedItem) -> dict[str, Any]:
    return {"position": item.position, "type": item.type, "aggregate_id": item.aggregate_id,
            "occurred_at": item.occurred_at.isoformat(), "payload": item.payload}


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    error: str | None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None  # a 3xx is a failed delivery, never followed (it could point inside)


_opener = urllib.request.build_opener(_NoRedirects())


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        status = int(error.code)
    except (OSError, ValueError) as error:
        return Outcome(False, None, f"{type(error).__name__}: {error}")
    return Outcome(200 <= status < 300, status, None if 200 <= status < 300
                   else f"the receiver answered {status}")


def viewer_of(runtime: LedgerRuntime, participant: str) -> Viewer | None:
    """What ``participant`` may see now; ``None`` if it is unknown or suspended."""
    try:
        found = runtime.ledger.participant(UUID(participant))
    except NotFoundError:
        return None
    if getattr(found, "suspended", False):
        return None
    return Viewer(participant=participant,
                  privileged=bool(PRIVILEGED_ROLES & {str(r) for r in found.roles}))


class DeliveryWorker:
    """Sends due subscriptions their next events. ``tick()`` is one pass (the tests call it);
    ``start()`` runs passes in a thread while holding the lease."""

    def __init__(self, runtime: LedgerRuntime, store: WebhookStore, settings: WebhookSettings,
                 *, send: Callable[[str, bytes, dict[str, str], float], Outcome] = post,
                 clock: Callable[[], float] = time.time, lease_ttl: float = 15.0) -> None:
        self.runtime = runtime
        self.store = store
        self.settings = settings
        self.send = send
        self.clock = clock
        self.lease = Lease(runtime.engine, "webhooks", ttl=lease_ttl)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.is_deliverer = False

    def tick(self) -> int:
        """One pass over the due subscriptions; returns the number of events delivered."""
        delivered = 0
        for subscription in self.store.due():
            if self._thread is not None and not self.lease.acquire():
                break  # renewed between subscriptions: a slow receiver must not lose it
            try:
                delivered += self._serve(subscription)
            except Exception:  # one subscription's trouble must not stop the others
                logger.exception("webhook subscription %s failed", subscription.id)
        return delivered

    def _serve(self, subscription: Subscription) -> int:
        viewer = viewer_of(self.runtime, subscription.participant)
        if viewer is None:
            return 0  # a suspended subscriber receives nothing until reinstated
        page = read_feed(self.runtime.ledger, after=subscription.cursor,
                         limit=self.settings.batch, viewer=viewer,
                         types=subscription.event_types)
        delivered = 0
        for item in page.items:
            outcome = self._deliver(subscription, item)
            if not outcome.succeeded:
                failures = subscription.failures + 1
                self.store.postpone(subscription, failures,
                                    self.clock() + self.settings.retry_delay(failures))
                return delivered
            if not self.store.advance(subscription, item.position):
                return delivered  # replayed or deleted meanwhile: start again next pass
            subscription = _moved(subscription, item.position)
            delivered += 1
        if page.next_after > subscription.cursor:  # events it may not see, or of other types
            self.store.advance(subscription, page.next_after)
        return delivered

    def _deliver(self, subscription: Subscription, item: FeedItem) -> Outcome:
        body = json.dumps({**item_json(item), "subscription_id": subscription.id},
                          separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = int(self.clock())
        headers = {"Content-Type": "application/json", "User-Agent": "carbon-ledger-webhooks",
                   "Carbon-Ledger-Webhook-Id": subscription.id,
                   "Carbon-Ledger-Event-Type": item.type,
                   "Carbon-Ledger-Position": str(item.position),
                   TIMESTAMP_HEADER: str(timestamp),
                   SIGNATURE_HEADER: sign(subscription.secret, timestamp, body)}
        started = time.monotonic()
        try:
            check_destination(subscription.url, self.settings)
        except LedgerError as refused:
            outcome = Outcome(False, None, str(refused))
        else:
            outcome = self.send(subscription.url, body, headers, self.settings.timeout_s)
        self.store.record(subscription.id, position=item.position, event_type=item.type,
                          attempt=subscription.failures + 1, succeeded=outcome.succeeded,
                          status_code=outcome.status_code, error=outcome.error,
                          duration_ms=int((time.monotonic() - started) * 1000))
        return outcome

    # ------------------------------------------------------------ the thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.is_deliverer:
            self.lease.release()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.is_deliverer = self.lease.acquire()
                if self.is_deliverer:
                    self.tick()
            except Exception:
                logger.exception("webhook delivery pass failed")
            self._stop.wait(self.settings.interval_s)


def _moved(subscription: Subscription, cursor: int) -> Subscription:
    return replace(subscription, cursor=cursor, failures=0)
