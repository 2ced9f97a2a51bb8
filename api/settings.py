"""Settings of the HTTP API: which ledger, and how strict request signing is.

The ledger is configured as everywhere else (``ledger.runtime.Settings``: data directory,
database, anchoring; ``CARBON_LEDGER_*`` variables). The API adds, from the environment
(flags of ``carbon-ledger serve`` override it):

``CARBON_LEDGER_SIGNATURE_WINDOW_S``  accepted clock skew of signed requests, seconds (300)
``CARBON_LEDGER_API_ANCHORING``       ``0`` to leave anchoring to another process (default 1)
``CARBON_LEDGER_API_WEBHOOKS``        ``0`` to leave webhook delivery to another process (1)
``CARBON_LEDGER_MAX_BODY_BYTES``      largest request body with an API key (32 MiB)
``CARBON_LEDGER_MAX_ANONYMOUS_BODY_BYTES``  largest body without one (64 KiB)
``CARBON_LEDGER_MAX_JSON_DEPTH``      deepest nesting of a JSON body (32)
``CARBON_LEDGER_READY_MAX_LAG_EVENTS``  ``/readyz`` fails beyond this projector lag (10000)
``CARBON_LEDGER_READY_MAX_LAG_S``     ... or when the oldest unprojected event is older (60)
``CARBON_LEDGER_READY_TIMEOUT_S``     ``/readyz``, ``/metrics``: wait for the database (2)
``CARBON_LEDGER_METRICS_TOKEN``       if set, ``/metrics`` needs ``Bearer <token>``
``CARBON_LEDGER_PUBLIC_BASE_URL``     the public address of this API, e.g.
                                      ``https://ledger.example`` (default: each request's own
                                      base URL, i.e. its Host header: set it in production)
                                      where certificate PDFs' QR codes point

The body limits (see :mod:`api.limits`) fit the largest legitimate request: a bulk report
of 10,000 behaviours with every text field at its maximum length in three-byte UTF-8 is
about 31 MB, 1,000 trade settlements about 4 MB; the deepest legitimate body (a trade
settlement that retires on delivery for a claim) nests 5 deep.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from api.certificate_pdf import public_base_url
from api.webhooks.settings import WebhookSettings
from ledger.domain.participant import ParticipantKind
from ledger.runtime import Settings

__all__ = ["SIGNED_KINDS", "ApiSettings"]

# Participants whose write requests must carry an Ed25519 signature (non-repudiation).
SIGNED_KINDS = frozenset({ParticipantKind.BANK, ParticipantKind.EXCHANGE,
                          ParticipantKind.REGISTRY_OPERATOR})


@dataclass(frozen=True)
class ApiSettings:
    ledger: Settings = field(default_factory=Settings)
    signature_window_s: int = 300
    signed_kinds: frozenset[str] = SIGNED_KINDS
    anchoring: bool = True  # run the anchorer (while holding the lease) in the server
    max_body_bytes: int = 32 * 1024 * 1024
    max_anonymous_body_bytes: int = 64 * 1024
    max_json_depth: int = 32
    ready_max_lag_events: int = 10_000
    ready_max_lag_s: float = 60.0
    ready_timeout_s: float = 2.0
    metrics_token: str | None = None
    public_base_url: str | None = None  # checked by api.certificate_pdf.public_base_url
    # webhook delivery (see api.webhooks.settings for its CARBON_LEDGER_WEBHOOK_* variables)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    deliver_webhooks: bool = True  # run the delivery worker (while holding the lease)

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None,
                 signature_window_s: int | None = None,
                 anchoring: bool | None = None) -> ApiSettings:
        """Settings from arguments, else the environment, else the defaults."""
        env = os.environ
        window = signature_window_s
        if window is None:
            window = int(env.get("CARBON_LEDGER_SIGNATURE_WINDOW_S", "300"))
        if anchoring is None:
            anchoring = env.get("CARBON_LEDGER_API_ANCHORING", "1") != "0"
        limits: dict[str, object] = {name: int(env[f"CARBON_LEDGER_{name.upper()}"]) for name in (
            "max_body_bytes", "max_anonymous_body_bytes", "max_json_depth",
            "ready_max_lag_events") if env.get(f"CARBON_LEDGER_{name.upper()}")}
        limits |= {name: float(env[f"CARBON_LEDGER_{name.upper()}"]) for name in (
            "ready_max_lag_s", "ready_timeout_s") if env.get(f"CARBON_LEDGER_{name.upper()}")}
        if env.get("CARBON_LEDGER_METRICS_TOKEN"):
            limits["metrics_token"] = env["CARBON_LEDGER_METRICS_TOKEN"]
        if env.get("CARBON_LEDGER_PUBLIC_BASE_URL"):
            limits["public_base_url"] = public_base_url(env["CARBON_LEDGER_PUBLIC_BASE_URL"])
        return cls(ledger=Settings.from_env(data_dir), signature_window_s=window,
                   anchoring=anchoring, webhooks=WebhookSettings.from_env(),
                   deliver_webhooks=env.get("CARBON_LEDGER_API_WEBHOOKS", "1") != "0",
                   **limits)  # type: ignore[arg-type]

    @classmethod
    def for_data_dir(cls, data_dir: str | Path, **options: int | bool) -> ApiSettings:
        return cls(ledger=Settings(data_dir=Path(data_dir)), **options)
