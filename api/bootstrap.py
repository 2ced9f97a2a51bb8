"""``python -m api.bootstrap``: register the first registry operator of an empty ledger and
print its API key (every other participant is then registered through the API).

    python -m api.bootstrap --data-dir data --name "Hubei carbon-inclusion registry" \\
        --public-key <64 hex digits of its Ed25519 public key>
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from ledger.domain.errors import LedgerError
from ledger.domain.participant import ParticipantKind
from ledger.runtime import LedgerRuntime, Settings

__all__ = ["Bootstrapped", "bootstrap_operator", "main"]


@dataclass(frozen=True)
class Bootstrapped:
    participant_id: UUID
    key_id: str
    secret: str


def bootstrap_operator(runtime: LedgerRuntime, name: str,
                       public_key: str | None = None) -> Bootstrapped:
    """Register the first registry operator (the ledger must have no participant yet) and
    issue its API key."""
    runtime.sync()
    if runtime.views.participants():
        raise LedgerError("the ledger already has participants; register more through the "
                          "API as a registry operator")
    ledger = runtime.ledger
    operator = ledger.register_participant(kind=ParticipantKind.REGISTRY_OPERATOR.value,
                                           name=name, public_key=public_key)
    key_id, secret = ledger.issue_api_key(actor=operator, participant_id=operator)
    runtime.sync()
    return Bootstrapped(participant_id=operator, key_id=key_id, secret=secret)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.bootstrap",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="ledger data directory (default ./data, or "
                        "CARBON_LEDGER_DATA_DIR)")
    parser.add_argument("--name", required=True, help="the registry operator's name")
    parser.add_argument("--public-key", help="its Ed25519 public key, 64 hex digits")
    args = parser.parse_args(argv)
    try:
        with LedgerRuntime(Settings.from_env(args.data_dir)) as runtime:
            done = bootstrap_operator(runtime, args.name, args.public_key)
    except LedgerError as error:
        print(f"bootstrap: error [{error.code}]: {error}", file=sys.stderr)
        return 2
    print(f"registry operator {done.participant_id}")
    print(f"API key {done.key_id}: {done.secret}")
    print("(the secret is shown once; only its SHA-256 is stored)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
