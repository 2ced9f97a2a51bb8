"""Settings of webhook delivery, from the environment:

``CARBON_LEDGER_WEBHOOK_ALLOWED_HOSTS``  comma-separated host names or IP addresses that may
                                         resolve to private addresses (none)
``CARBON_LEDGER_WEBHOOK_ALLOW_PRIVATE``  ``1`` to deliver to any private address (0)
``CARBON_LEDGER_WEBHOOK_TIMEOUT_S``      seconds to wait for a receiver (10)
``CARBON_LEDGER_WEBHOOK_RETRY_BASE_S``   first retry delay; doubled each failure (2)
``CARBON_LEDGER_WEBHOOK_RETRY_MAX_S``    longest retry delay (3600)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["WebhookSettings"]


@dataclass(frozen=True)
class WebhookSettings:
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allow_private: bool = False
    timeout_s: float = 10.0
    retry_base_s: float = 2.0
    retry_max_s: float = 3600.0
    interval_s: float = 1.0  # how often the worker looks for new events
    batch: int = 100  # events sent to one subscription per pass, at most
    max_subscriptions: int = 20  # per participant

    @classmethod
    def from_env(cls) -> WebhookSettings:
        env = os.environ
        hosts = frozenset(h.strip().lower() for h in
                          env.get("CARBON_LEDGER_WEBHOOK_ALLOWED_HOSTS", "").split(",")
                          if h.strip())
        floats = {name: float(env[f"CARBON_LEDGER_WEBHOOK_{name.upper()}"])
                  for name in ("timeout_s", "retry_base_s", "retry_max_s")
                  if env.get(f"CARBON_LEDGER_WEBHOOK_{name.upper()}")}
        return cls(allowed_hosts=hosts,
                   allow_private=env.get("CARBON_LEDGER_WEBHOOK_ALLOW_PRIVATE", "0") == "1",
                   **floats)

    def retry_delay(self, failures: int) -> float:
        """Exponential backoff: base, 2 base, 4 base... capped at ``retry_max_s``."""
        return float(min(self.retry_max_s, self.retry_base_s * 2 ** min(failures - 1, 40)))
