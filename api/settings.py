"""Settings of the HTTP API: which ledger, and how strict request signing is.

The ledger is configured as everywhere else (``ledger.runtime.Settings``: data directory,
database, anchoring; ``CARBON_LEDGER_*`` variables). The API adds, from the environment
(flags of ``carbon-ledger serve`` override it):

``CARBON_LEDGER_SIGNATURE_WINDOW_S``  accepted clock skew of signed requests, seconds (300)
``CARBON_LEDGER_API_ANCHORING``       ``0`` to leave anchoring to another process (default 1)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

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
        return cls(ledger=Settings.from_env(data_dir), signature_window_s=window,
                   anchoring=anchoring)

    @classmethod
    def for_data_dir(cls, data_dir: str | Path, **options: int | bool) -> ApiSettings:
        return cls(ledger=Settings(data_dir=Path(data_dir)), **options)
