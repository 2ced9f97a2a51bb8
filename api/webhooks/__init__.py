"""Webhooks: participants' subscriptions to the event feed (:mod:`ledger.feed`), delivered
signed, in log order and at least once by a background worker. See api/README.md, "Event feed
and webhooks"."""

from api.webhooks.delivery import DeliveryWorker, sign
from api.webhooks.settings import WebhookSettings
from api.webhooks.store import Subscription, WebhookStore

__all__ = ["DeliveryWorker", "Subscription", "WebhookSettings", "WebhookStore", "sign"]
